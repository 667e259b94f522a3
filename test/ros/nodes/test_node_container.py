"""node_container: several nodes in one process and one spin (Node.join), a message between
them handled within one host spin, ticks and clean-up of every unit, and its command line."""

import signal
import time

import pytest

from rl_control.ros import middleware as mw
from rl_control.ros.nodes.node_container import PLUGINS, compose_all, parse_groups
from rl_control.ros.run_loop import Unit, run_units


@pytest.fixture
def embedded(monkeypatch, ros_domain):
    monkeypatch.setenv("RL_CONTROL_MIDDLEWARE", "embedded")
    previous = signal.getsignal(signal.SIGINT)
    yield
    mw.shutdown()
    signal.signal(signal.SIGINT, previous)  # hold_interrupts() ignores SIGINT from then on


def _wait_matched(publisher, timeout: float = 10.0) -> None:
    end = time.monotonic() + timeout
    while publisher.get_subscription_count() == 0 and time.monotonic() < end:
        time.sleep(0.01)
    assert publisher.get_subscription_count() > 0


def test_a_joined_nodes_callbacks_run_in_the_hosts_spin(embedded) -> None:
    """host -> guest -> host: the guest's reply, published inside the host's spin, is there
    for the host's next spin; the guest itself is never spun."""
    host, guest = mw.create_node("host"), mw.create_node("guest")
    guest.join(host)
    UInt = mw.message_class("std_msgs/msg/UInt32")
    got_guest, got_host = [], []
    reply = guest.create_publisher("std_msgs/msg/UInt32", "pong", 10)

    def on_ping(msg):
        got_guest.append(msg.data)
        reply.publish(UInt(data=msg.data + 1))

    guest.create_subscription("std_msgs/msg/UInt32", "ping", on_ping, 10)  # after join
    host.create_subscription("std_msgs/msg/UInt32", "pong", lambda m: got_host.append(m.data), 10)
    ping = host.create_publisher("std_msgs/msg/UInt32", "ping", 10)
    _wait_matched(ping)
    _wait_matched(reply)
    ping.publish(UInt(data=1))
    host.spin_once(5.0)  # in process: delivered at once, the guest's callback runs here
    assert got_guest == [1]
    start = time.monotonic()
    host.spin_once(5.0)
    assert got_host == [2] and time.monotonic() - start < 1.0  # it did not wait for a timeout
    with pytest.raises(ValueError, match="cannot join"):
        host.join(guest)  # a node that hosts others does not become a guest


def test_run_units_ticks_every_unit_and_closes_each_in_reverse_order(embedded) -> None:
    events = []

    def unit(name: str, stop_after: int | None) -> Unit:
        ticks = []

        def tick():
            ticks.append(1)
            return 4 if stop_after is not None and len(ticks) >= stop_after else None

        return Unit(mw.create_node(name), tick, 0.0, lambda: events.append((name, mw.ok())))

    units = [unit("first", None), unit("second", 3)]
    assert run_units(units) == 4  # the guest's exit code ends the container
    assert events == [("second", True), ("first", True)] and not mw.ok()


def test_parse_groups_splits_each_nodes_ros_arguments() -> None:
    argv = [
        "sim_bridge", "--ros-args", "-r", "__node:=sim_bridge", "-p", "seed:=3", "--",
        "policy_node", "--ros-args", "-r", "action:=act", "--",
        "--ros-args", "-r", "__node:=worker_container",
    ]  # fmt: skip
    assert parse_groups(argv) == [
        ("sim_bridge", ["--ros-args", "-r", "__node:=sim_bridge", "-p", "seed:=3", "--"]),
        ("policy_node", ["--ros-args", "-r", "action:=act", "--"]),
    ]
    assert set(PLUGINS) == {"sim_bridge", "state_estimator", "policy_node"}
    with pytest.raises(ValueError, match="unknown composable node 'trainer_node'"):
        parse_groups(["trainer_node", "--ros-args", "--"])
    with pytest.raises(ValueError, match="expected --ros-args"):
        parse_groups(["sim_bridge", "-p", "x:=1", "--"])
    with pytest.raises(ValueError, match="no -- ends"):
        parse_groups(["sim_bridge", "--ros-args", "-p", "x:=1"])
    with pytest.raises(ValueError, match="no composable node"):
        parse_groups(["--ros-args", "-r", "__node:=c"])


def test_compose_all_builds_the_nodes_with_their_own_parameters(embedded) -> None:
    units = compose_all(parse_groups([
        "state_estimator", "--ros-args", "-r", "__node:=est", "-p", "task:=soft_wall_cartpole",
        "--", "policy_node", "--ros-args", "-r", "__ns:=/w1", "-p", "numpy_forward:=false", "--",
    ]))  # fmt: skip
    estimator, policy = (u.node for u in units)
    assert estimator.fully_qualified_name == "/est"
    assert policy.fully_qualified_name == "/w1/policy_node"
    assert policy.get_parameter("numpy_forward") is False
    assert estimator.get_parameter("task") == "soft_wall_cartpole"
    for unit in units:
        unit.node.destroy()


def _parameter(name: str, value):
    """An rcl_interfaces/Parameter as launch_ros sends it (typed)."""
    from rl_control.ros.middleware.embedded.parameter_services import parameter_type, to_value_msg

    value_msg = to_value_msg(value, mw.message_class("rcl_interfaces/msg/ParameterValue"))
    assert value_msg.type == parameter_type(value)
    return mw.message_class("rcl_interfaces/msg/Parameter")(name=name, value=value_msg)


def test_an_empty_container_loads_nodes_as_ros2_launch_asks(embedded) -> None:
    """As launch_ros does for a <node_container> (rl_control.ros.component_container): the
    container starts empty, then each <composable_node> is a LoadNode request (name,
    namespace, remaps, typed parameters);
    the loaded node runs in the container's process under its name, list_nodes lists it,
    and an unknown plugin is refused in the response's words."""
    from node_processes import start_nodes, stop_nodes

    procs = start_nodes([("node_container", ["--ros-args", "-r", "__node:=worker_container",
                                             "-r", "__ns:=/w0"])])  # fmt: skip
    me = mw.create_node("launcher")
    try:
        load = me.create_client("composition_interfaces/srv/LoadNode",
                                "/w0/worker_container/_container/load_node")  # fmt: skip
        listing = me.create_client("composition_interfaces/srv/ListNodes",
                                   "/w0/worker_container/_container/list_nodes")  # fmt: skip
        assert load.wait_for_service(30.0)
        request_cls = mw.service_class("composition_interfaces/srv/LoadNode").Request
        request = request_cls(
            package_name="rl_control", plugin_name="state_estimator", node_name="estimator",
            node_namespace="/w0", remap_rules=["observation:=obs_here"],
            parameters=[_parameter("task", "two_link_leg"), _parameter("publish_tf", False),
                        _parameter("max_input_age", 0.02)],
        )  # fmt: skip
        response = load.call(request, timeout=30.0)
        assert response.success, response.error_message
        assert response.full_node_name == "/w0/estimator" and response.unique_id == 1
        end = time.monotonic() + 10.0  # its (remapped) publisher is on the domain
        while time.monotonic() < end and me.get_publisher_names("/w0/obs_here") != [
            "/w0/estimator"
        ]:
            me.spin_once(0.05)
        assert me.get_publisher_names("/w0/obs_here") == ["/w0/estimator"]
        names = listing.call(mw.service_class("composition_interfaces/srv/ListNodes").Request())
        assert list(names.full_node_names) == ["/w0/estimator"]
        assert list(names.unique_ids) == [1]
        bad = load.call(request_cls(package_name="rl_control", plugin_name="talker"))
        assert not bad.success and "unknown composable node rl_control/talker" in (
            bad.error_message)  # fmt: skip
        wrong = load.call(
            request_cls(plugin_name="policy_node", parameters=[_parameter("num_threads", "many")])
        )
        assert not wrong.success, wrong
        assert (
            wrong.error_message == "policy_node: parameter 'num_threads': expected int, got 'many'"
        )
    finally:
        me.destroy()
        stop_nodes(procs)
