"""Embedded nodes' /rosout, parameter services and /parameter_events, in one process and
across processes (the peer of conftest.py declares gain, mode, limits, nested.* parameters)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from rl_control.ros import middleware as mw
from rl_control.ros.middleware.embedded import parameter_services as ps
from rl_control.ros.middleware.embedded.rosout import ROSOUT_QOS
from rl_control.ros.middleware.params import ParameterNotDeclaredError, Parameters

LOG = "rcl_interfaces/msg/Log"


@pytest.fixture(scope="module")
def node(domain_env: dict[str, str], peer) -> Iterator[mw.Node]:
    n = mw.create_node("param_tester")
    yield n
    mw.shutdown()


def spin_until(node: mw.Node, done: Callable[[], bool], timeout: float = 10.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end and not done():
        mw.spin_once(node, 0.02)
    return done()


def call(node: mw.Node, service: str, **fields: Any) -> Any:
    srv_type = {
        "list_parameters": "ListParameters", "get_parameters": "GetParameters",
        "get_parameter_types": "GetParameterTypes", "describe_parameters": "DescribeParameters",
        "set_parameters": "SetParameters", "set_parameters_atomically": "SetParametersAtomically",
    }[service]  # fmt: skip
    srv = f"rcl_interfaces/srv/{srv_type}"
    client = node.create_client(srv, f"/peer/{service}")
    assert client.wait_for_service(10.0), service
    return client.call(mw.service_class(srv).Request(**fields), timeout=5.0)


def param(name: str, value: Any) -> Any:
    value_cls = mw.message_class("rcl_interfaces/msg/ParameterValue")
    return mw.message_class("rcl_interfaces/msg/Parameter")(
        name=name, value=ps.to_value_msg(value, value_cls)
    )


# -- /rosout ------------------------------------------------------------------------------
def test_log_reaches_rosout_subscriber_as_rcl_fills_it(node: mw.Node) -> None:
    got: list[Any] = []
    node.create_subscription(LOG, "/rosout", got.append, ROSOUT_QOS)
    talker = mw.create_node("talker", namespace="/robot1/arm")
    Log = mw.message_class(LOG)
    before = time.time()
    talker.get_logger().debug("hidden below the default level")
    talker.get_logger().warn("hot motor")
    assert spin_until(node, lambda: any(m.msg == "hot motor" for m in got))
    (log,) = [m for m in got if m.name == "robot1.arm.talker"]
    assert (log.level, log.msg) == (Log.WARN, "hot motor") and Log.WARN == 30
    assert log.file == __file__ and log.line > 0
    assert log.function == "test_log_reaches_rosout_subscriber_as_rcl_fills_it"
    assert before - 1 < mw.stamp_to_seconds(log.stamp) < time.time() + 1
    talker.destroy()


def test_peer_log_reaches_late_joining_subscriber(node: mw.Node) -> None:
    """/rosout is transient-local: a subscriber created after the log still gets it."""
    got: list[Any] = []
    node.create_subscription(LOG, "/rosout", got.append, ROSOUT_QOS)
    assert spin_until(node, lambda: any(m.name == "peer" and m.msg == "peer ready" for m in got))
    log = next(m for m in got if m.msg == "peer ready")
    assert log.level == 20 and log.file.endswith("mw_peer.py") and log.function == "main"


# -- parameter services across processes --------------------------------------------------
def test_list_parameters_with_prefixes_and_depth(node: mw.Node) -> None:
    result = call(node, "list_parameters").result
    assert set(result.names) >= {"use_sim_time", "gain", "mode", "limits", "nested.depth"}
    assert set(result.prefixes) == {"nested", "nested.deeper"}
    result = call(node, "list_parameters", prefixes=["nested"], depth=1).result
    assert result.names == ["nested.depth"] and result.prefixes == ["nested"]


def test_get_parameters_and_types(node: mw.Node) -> None:
    values = call(node, "get_parameters", names=["mode", "limits", "nested.deeper.flag"]).values
    assert [ps.from_value_msg(v) for v in values] == ["fast", [1.0, 2.0], True]
    types = call(node, "get_parameter_types", names=["gain", "nested.depth"]).types
    assert list(types) == [ps.DOUBLE, ps.INTEGER]
    assert call(node, "get_parameters", names=["gain", "nobody"]).values == []
    (desc,) = call(node, "describe_parameters", names=["limits"]).descriptors
    assert (desc.name, desc.type, desc.dynamic_typing) == ("limits", ps.DOUBLE_ARRAY, False)


def test_set_parameters_coerces_and_refuses_with_reasons(node: mw.Node) -> None:
    events: list[Any] = []
    node.create_subscription(
        "rcl_interfaces/msg/ParameterEvent", "/parameter_events", events.append, ps.EVENTS_QOS
    )
    results = call(
        node, "set_parameters",
        parameters=[param("gain", 4), param("mode", 3), param("nobody", 1.0)],
    ).results  # fmt: skip
    assert [r.successful for r in results] == [True, False, False]
    assert "expected str" in results[1].reason and "not declared" in results[2].reason
    (gain,) = call(node, "get_parameters", names=["gain"]).values
    assert (gain.type, gain.double_value) == (ps.DOUBLE, 4.0)  # int -> float, as overrides
    assert spin_until(node, lambda: any(e.changed_parameters for e in events))
    event = next(e for e in events if e.changed_parameters)
    assert event.node == "/peer" and [p.name for p in event.changed_parameters] == ["gain"]


def test_set_parameters_atomically_is_all_or_nothing(node: mw.Node) -> None:
    bad = call(node, "set_parameters_atomically",
               parameters=[param("mode", "slow"), param("limits", "wide")]).result  # fmt: skip
    assert not bad.successful and "limits" in bad.reason
    (mode,) = call(node, "get_parameters", names=["mode"]).values
    assert mode.string_value == "fast"
    good = call(node, "set_parameters_atomically",
                parameters=[param("mode", "slow"), param("limits", [0.5])]).result  # fmt: skip
    assert good.successful
    values = call(node, "get_parameters", names=["mode", "limits"]).values
    assert [ps.from_value_msg(v) for v in values] == ["slow", [0.5]]


def test_setting_use_sim_time_switches_the_clock(node: mw.Node) -> None:
    local = mw.create_node("switcher")
    assert local.now() > 1e9  # wall time
    services = local._param_services
    request = mw.service_class("rcl_interfaces/srv/SetParametersAtomically").Request(
        parameters=[param("use_sim_time", True)]
    )
    response = mw.service_class("rcl_interfaces/srv/SetParametersAtomically").Response()
    assert services._set_atomically(request, response).result.successful
    assert local.get_parameter("use_sim_time") is True
    assert spin_until(local, lambda: local.now() == pytest.approx(42.5))  # the peer's /clock
    local.destroy()


# -- pure helpers -------------------------------------------------------------------------
def test_list_names_follows_rclpy_semantics() -> None:
    names = ["a", "b.c", "b.d.e", "f.g"]
    assert ps.list_names(names, [], 0) == (names, ["b", "b.d", "f"])
    assert ps.list_names(names, [], 1) == (["a"], [])
    assert ps.list_names(names, ["b"], 1) == (["b.c"], ["b"])
    assert ps.list_names(names, ["b"], 0) == (["b.c", "b.d.e"], ["b", "b.d"])


@pytest.mark.parametrize(
    "value, ptype",
    [(True, ps.BOOL), (3, ps.INTEGER), (2.5, ps.DOUBLE), ("x", ps.STRING),
     (b"\x01", ps.BYTE_ARRAY), ([True], ps.BOOL_ARRAY), ([1, 2], ps.INTEGER_ARRAY),
     ([1, 2.5], ps.DOUBLE_ARRAY), (["a"], ps.STRING_ARRAY), (None, ps.NOT_SET)],
)  # fmt: skip
def test_parameter_value_round_trip(value: Any, ptype: int) -> None:
    msg = ps.to_value_msg(value, mw.message_class("rcl_interfaces/msg/ParameterValue"))
    assert msg.type == ptype
    back = ps.from_value_msg(msg)
    assert back == ([1.0, 2.5] if ptype == ps.DOUBLE_ARRAY else value)


def test_empty_list_takes_the_declared_type() -> None:
    assert ps.parameter_type([], hint=[1.5]) == ps.DOUBLE_ARRAY
    assert ps.parameter_type([]) == ps.STRING_ARRAY


def test_parameters_set_many_checks_all_before_storing() -> None:
    params = Parameters({})
    params.declare("a", 1.0)
    params.declare("b", "x")
    with pytest.raises(TypeError, match="'b'"):
        params.set_many({"a": 2, "b": 3})
    assert params.get("a") == 1.0
    with pytest.raises(ParameterNotDeclaredError):
        params.set_many({"c": 1})
    with pytest.raises(TypeError, match="cannot unset"):
        params.set_many({"a": None})
    assert params.set_many({"a": 2}) == {"a": 2.0}


def test_value_without_ros_type_is_reported_as_not_set(node: mw.Node) -> None:
    local = mw.create_node("oddball")
    local.declare_parameter("table", {"a": 1})  # declaring must not fail on the event
    srv = mw.service_class("rcl_interfaces/srv/GetParameters")
    response = local._param_services._get(srv.Request(names=["table"]), srv.Response())
    assert [v.type for v in response.values] == [ps.NOT_SET]
    local.destroy()
