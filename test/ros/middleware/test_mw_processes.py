"""Two embedded-back-end processes exchanging topics and a service on a private domain."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import numpy as np
import pytest

from rl_control.ros import middleware as mw


@pytest.fixture(scope="module")
def node(domain_env: dict[str, str], peer) -> Iterator[mw.Node]:
    n = mw.create_node("tester", ["--ros-args", "-p", "use_sim_time:=true"])
    yield n
    mw.shutdown()


def spin_until(node: mw.Node, done: Callable[[], bool], timeout: float = 10.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if done():
            return True
        mw.spin_once(node, 0.02)
    return done()


def test_backend_is_embedded(node: mw.Node) -> None:
    assert mw.backend_name() == "embedded"


def test_string_round_trip_between_processes(node: mw.Node) -> None:
    got: list[str] = []
    pub = node.create_publisher("std_msgs/msg/String", "/ping")
    node.create_subscription("std_msgs/msg/String", "/pong", lambda m: got.append(m.data))
    cls = mw.message_class("std_msgs/msg/String")
    assert spin_until(node, lambda: pub.get_subscription_count() > 0)
    # Discovery of the reverse path may lag: keep pinging until an echo comes back.
    end = time.monotonic() + 10
    while not got and time.monotonic() < end:
        pub.publish(cls(data="hello"))
        spin_until(node, lambda: bool(got), 0.2)
    assert got and got[0] == "hello"


def test_project_message_round_trip(node: mw.Node) -> None:
    got: list = []
    pub = node.create_publisher("rl_control_msgs/msg/Observation", "/obs_in")
    node.create_subscription("rl_control_msgs/msg/Observation", "/obs_out", got.append)
    msg = mw.message_class("rl_control_msgs/msg/Observation")(
        step=7, episode=2, names=["x", "theta"], state=np.array([0.25, -1.5])
    )
    msg.header.frame_id = "world"
    msg.header.stamp = mw.seconds_to_stamp(3.25)
    end = time.monotonic() + 10
    while not got and time.monotonic() < end:
        pub.publish(msg)
        spin_until(node, lambda: bool(got), 0.2)
    assert got, "no Observation echoed"
    echo = got[0]
    assert (echo.step, echo.episode, echo.names) == (7, 2, ["x", "theta"])
    np.testing.assert_array_equal(mw.to_numpy(echo.state), [0.25, -1.5])
    assert mw.stamp_to_seconds(echo.header.stamp) == pytest.approx(3.25)


def test_service_call_across_processes(node: mw.Node) -> None:
    client = node.create_client("std_srvs/srv/SetBool", "/peer/toggle")
    assert client.wait_for_service(10.0)
    req = mw.service_class("std_srvs/srv/SetBool").Request(data=True)
    resp = client.call(req, timeout=5.0)
    assert (resp.success, resp.message) == (True, "on")
    resp = client.call(mw.service_class("std_srvs/srv/SetBool").Request(data=False), 5.0)
    assert (resp.success, resp.message) == (False, "off")


def test_service_call_to_missing_server_times_out(node: mw.Node) -> None:
    client = node.create_client("std_srvs/srv/Trigger", "/nobody/home")
    with pytest.raises(TimeoutError, match="/nobody/home"):
        client.call(mw.service_class("std_srvs/srv/Trigger").Request(), timeout=0.3)


def test_use_sim_time_follows_clock_topic(node: mw.Node) -> None:
    assert node.get_parameter("use_sim_time") is True
    assert spin_until(node, lambda: node.now() == pytest.approx(42.5))


def test_discovery_info_lists_peer_node(node: mw.Node, domain_env: dict[str, str]) -> None:
    from cyclonedds.sub import DataReader
    from cyclonedds.topic import Topic

    from rl_control.ros.middleware.embedded import _RUNTIME
    from rl_control.ros.middleware.embedded.config import dds_qos

    ctx = _RUNTIME.get_context()
    cls = ctx.types.message_class("rmw_dds_common/msg/ParticipantEntitiesInfo")
    qos = dds_qos(mw.QoS(depth=1, durability="transient_local"), writer=False)
    reader = DataReader(ctx.participant, Topic(ctx.participant, "ros_discovery_info", cls), qos)
    names: set[str] = set()
    end = time.monotonic() + 10
    while "peer" not in names and time.monotonic() < end:
        for info in reader.take(N=32):
            if isinstance(info, cls):
                for entry in info.node_entities_info_seq:
                    names.add(entry.node_name)
                    if entry.node_name == "peer":
                        assert entry.node_namespace == "/"
                        assert len(entry.writer_gid_seq) >= 3 and len(entry.reader_gid_seq) >= 2
        time.sleep(0.05)
    assert "peer" in names
