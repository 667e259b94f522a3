"""Facade behaviour on the embedded back-end inside one process: selection, parameters,
timers, QoS, conversions and the discovery configuration."""

from __future__ import annotations

import array
import os
import time
from collections.abc import Iterator

import numpy as np
import pytest

from rl_control.ros import middleware as mw
from rl_control.ros.middleware.embedded.config import cyclone_config, discovery_range, domain_id


@pytest.fixture()
def node(domain_env: dict[str, str]) -> Iterator[mw.Node]:
    n = mw.create_node("facade_test", ["--ros-args", "-p", "rate:=5", "-p", "gain:=2"])
    yield n
    mw.shutdown()


def test_forced_backend_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RL_CONTROL_MIDDLEWARE", "zenoh")
    with pytest.raises(ValueError, match="RL_CONTROL_MIDDLEWARE='zenoh'"):
        mw.backend_name()
    monkeypatch.setenv("RL_CONTROL_MIDDLEWARE", "rclpy")
    try:
        import rclpy  # noqa: F401
    except ImportError:
        with pytest.raises(RuntimeError, match="rclpy is not importable"):
            mw.backend_name()
    monkeypatch.setenv("RL_CONTROL_MIDDLEWARE", "embedded")
    assert mw.backend_name() == "embedded"


def test_parameters(node: mw.Node) -> None:
    assert node.declare_parameter("rate", 1) == 5
    assert node.declare_parameter("gain", 1.0) == 2.0  # int override coerced to float
    assert isinstance(node.get_parameter("gain"), float)
    assert node.declare_parameter("frame", "base") == "base"
    with pytest.raises(ValueError, match="'missing' is not declared"):
        node.get_parameter("missing")
    with pytest.raises(ValueError, match="already declared"):
        node.declare_parameter("rate", 2)


def test_parameter_type_mismatch_is_type_error(domain_env: dict[str, str]) -> None:
    n = mw.create_node("typed", ["--ros-args", "-p", "flag:=notabool"])
    try:
        with pytest.raises(TypeError, match="parameter 'flag'"):
            n.declare_parameter("flag", False)
    finally:
        mw.shutdown()


def test_in_process_pubsub_timer_and_latched_qos(node: mw.Node) -> None:
    cls = mw.message_class("std_msgs/msg/Float64MultiArray")
    latched = node.create_publisher("std_msgs/msg/Float64MultiArray", "cmd", mw.QOS_LATCHED)
    latched.publish(cls(data=np.array([1.0, 2.0])))
    got: list = []
    # Transient-local: a subscriber created after the publish still receives the sample.
    node.create_subscription("std_msgs/msg/Float64MultiArray", "/cmd", got.append, mw.QOS_LATCHED)
    ticks: list[float] = []
    start = time.monotonic()
    node.create_timer(0.02, lambda: ticks.append(time.monotonic()))
    mw.spin_for(node, 0.3)
    elapsed = time.monotonic() - start
    assert got and list(got[0].data) == [1.0, 2.0]
    # fires repeatedly, and never more often than its period however the spin was delayed
    # (missed periods are skipped, not burst)
    assert 2 <= len(ticks) <= elapsed / 0.02 + 1, (len(ticks), elapsed)


def test_raw_subscription_gets_every_message_undecoded(node: mw.Node) -> None:
    type_ = "sensor_msgs/msg/JointState"
    cls = mw.message_class(type_)
    pub = node.create_publisher(type_, "joints", 100)
    raw: list = []
    decoded: list = []
    node.create_subscription(type_, "joints", raw.append, mw.QoS(depth=100), raw=True)
    node.create_subscription(type_, "joints", decoded.append, mw.QoS(depth=100))
    deadline = time.monotonic() + 5.0
    while pub.get_subscription_count() < 2 and time.monotonic() < deadline:
        node.spin_once(0.01)
    for k in range(20):
        pub.publish(cls(name=["a", "b"], position=[float(k), -1.0]))
    while (len(raw) < 20 or len(decoded) < 20) and time.monotonic() < deadline:
        node.spin_once(0.05)
    assert len(raw) == 20 and all(isinstance(b, bytes) for b in raw)
    # the bytes are the message's CDR: deserialize gives back what the decoded reader got
    back = mw.deserialize(type_, raw[-1])
    assert list(back.name) == ["a", "b"] and list(back.position) == [19.0, -1.0]
    assert list(back.position) == list(decoded[-1].position)


@pytest.mark.parametrize("raw", [False, True])
def test_a_destroyed_subscription_leaves_the_domain(node: mw.Node, raw: bool) -> None:
    """Its reader is gone at once: the writer no longer matches it (so sends nothing to it)
    and its callback never runs again; destroying it twice, or from inside a callback of
    another subscription, is handled."""
    type_ = "std_msgs/msg/Float64MultiArray"
    cls = mw.message_class(type_)
    pub = node.create_publisher(type_, "values", 10)
    got, other = [], []

    def destroy_the_first(msg) -> None:
        other.append(msg)
        if len(other) == 1:  # the second's callback destroys the first, mid-dispatch
            node.destroy_subscription(sub)

    sub = node.create_subscription(type_, "values", got.append, 10, raw=raw)
    node.create_subscription(type_, "values", destroy_the_first, 10)
    deadline = time.monotonic() + 5.0
    while pub.get_subscription_count() < 2 and time.monotonic() < deadline:
        node.spin_once(0.01)
    pub.publish(cls(data=[1.0]))
    while not other and time.monotonic() < deadline:
        node.spin_once(0.05)
    while pub.get_subscription_count() > 1 and time.monotonic() < deadline:
        node.spin_once(0.01)
    assert pub.get_subscription_count() == 1  # only the second reader is matched now
    received = len(got)
    pub.publish(cls(data=[2.0]))
    while len(other) < 2 and time.monotonic() < deadline:
        node.spin_once(0.05)
    assert len(other) == 2 and len(got) == received <= 1
    with pytest.raises(ValueError, match="not a live subscription of /facade_test"):
        node.destroy_subscription(sub)


def test_callbacks_of_one_node_never_overlap(node: mw.Node) -> None:
    import threading

    active, overlaps = [0], [0]

    def slow() -> None:
        active[0] += 1
        overlaps[0] += active[0] > 1
        time.sleep(0.005)
        active[0] -= 1

    node.create_timer(0.001, slow)
    threads = [threading.Thread(target=mw.spin_for, args=(node, 0.2)) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert overlaps[0] == 0


def test_publish_wrong_type_and_bad_inputs(node: mw.Node) -> None:
    pub = node.create_publisher("std_msgs/msg/String", "s")
    with pytest.raises(TypeError, match="takes String, got Bool"):
        pub.publish(mw.message_class("std_msgs/msg/Bool")())
    with pytest.raises(ValueError, match="positive number"):
        node.create_timer(0, lambda: None)
    with pytest.raises(TypeError, match="qos must be"):
        node.create_publisher("std_msgs/msg/String", "s", qos="reliable")
    with pytest.raises(ValueError, match="invalid topic name"):
        node.create_publisher("std_msgs/msg/String", "bad//name")


def test_conversions() -> None:
    np.testing.assert_array_equal(mw.to_numpy(array.array("d", [1, 2])), [1.0, 2.0])
    t = mw.message_class("builtin_interfaces/msg/Time")
    stamp = mw.seconds_to_stamp(1.25, t)
    assert (stamp.sec, stamp.nanosec) == (1, 250_000_000)
    assert mw.stamp_to_seconds(stamp) == 1.25
    with pytest.raises(ValueError, match="non-finite"):
        mw.seconds_to_stamp(float("nan"), t)


def test_discovery_configuration() -> None:
    assert discovery_range({}) == "LOCALHOST"
    xml = cyclone_config({})
    assert "<AllowMulticast>false</AllowMulticast>" in xml and 'address="127.0.0.1"' in xml
    assert cyclone_config({"ROS_AUTOMATIC_DISCOVERY_RANGE": "SUBNET"}) is None
    off = cyclone_config({"ROS_AUTOMATIC_DISCOVERY_RANGE": "OFF"})
    assert "<Peers></Peers>" in off and "127.0.0.1" not in off
    assert "10.0.0.2" in cyclone_config({"ROS_STATIC_PEERS": "10.0.0.2"})
    assert cyclone_config({"CYCLONEDDS_URI": "file://x.xml"}) is None
    with pytest.raises(ValueError, match="ROS_AUTOMATIC_DISCOVERY_RANGE"):
        discovery_range({"ROS_AUTOMATIC_DISCOVERY_RANGE": "GALAXY"})
    assert domain_id({"ROS_DOMAIN_ID": "42"}) == 42
    with pytest.raises(ValueError, match="outside 0..232"):
        domain_id({"ROS_DOMAIN_ID": "300"})
    assert os.environ["ROS_DOMAIN_ID"]  # the fixture's private domain is in effect


def test_trigger_and_empty_services_in_process(node: mw.Node) -> None:
    import threading

    server = mw.create_node("server")
    calls: list[str] = []

    def trigger(req, resp):
        calls.append("trigger")
        resp.success, resp.message = True, "reset done"
        return resp

    def empty(req, resp):
        calls.append("empty")
        return resp

    def broken(req, resp):
        raise RuntimeError("boom")

    server.create_service("std_srvs/srv/Trigger", "reset", trigger)
    server.create_service("std_srvs/srv/Empty", "~/pause", empty)
    server.create_service("std_srvs/srv/Trigger", "broken", broken)
    spinner = threading.Thread(target=mw.spin_for, args=(server, 3.0), daemon=True)
    spinner.start()
    trig = node.create_client("std_srvs/srv/Trigger", "/reset")
    resp = trig.call(mw.service_class("std_srvs/srv/Trigger").Request(), timeout=3.0)
    assert (resp.success, resp.message) == (True, "reset done")
    pause = node.create_client("std_srvs/srv/Empty", "/server/pause")
    pause.call(mw.service_class("std_srvs/srv/Empty").Request(), timeout=3.0)
    assert calls == ["trigger", "empty"]
    with pytest.raises(TypeError, match="takes Trigger_Request"):
        trig.call(mw.service_class("std_srvs/srv/Empty").Request())
    # A failing handler is logged by the server and the caller times out; the server lives on.
    bad = node.create_client("std_srvs/srv/Trigger", "/broken")
    with pytest.raises(TimeoutError, match="no reply"):
        bad.call(mw.service_class("std_srvs/srv/Trigger").Request(), timeout=0.5)
    resp = trig.call(mw.service_class("std_srvs/srv/Trigger").Request(), timeout=3.0)
    assert resp.success


def test_hold_interrupts_ignores_sigint_in_the_main_thread_only() -> None:
    import signal
    import threading

    before = signal.getsignal(signal.SIGINT)
    try:
        worker = threading.Thread(target=mw.hold_interrupts)
        worker.start()
        worker.join()
        assert signal.getsignal(signal.SIGINT) is before  # signals belong to the main thread
        mw.hold_interrupts()
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGINT, before)
