"""sim_bridge + state_estimator processes over the embedded back-end: lock-step stepping,
the reset service and observations tagged with (step, episode)."""

import time

import pytest
from node_processes import start_nodes, stop_nodes

from rl_control.ros import middleware as mw


@pytest.fixture
def graph(monkeypatch, ros_domain):
    monkeypatch.setenv("RL_CONTROL_MIDDLEWARE", "embedded")
    args = ["--ros-args", "-p", "step_timeout:=30.0"]
    procs = start_nodes((("sim_bridge", args), ("state_estimator", [])))
    node = mw.create_node("test_driver")
    yield node
    node.destroy()
    mw.shutdown()
    stop_nodes(procs)


def _spin_until(node, predicate, timeout=20.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        node.spin_once(0.05)
        if predicate():
            return True
    return False


def test_lock_step_advances_only_on_the_tagged_action(graph) -> None:
    node = graph
    observations = []
    node.create_subscription(
        "rl_control_msgs/msg/Observation", "observation", observations.append, 10
    )
    action_pub = node.create_publisher("rl_control_msgs/msg/Action", "action", 10)
    assert _spin_until(node, lambda: observations), "no observation from bridge + estimator"
    first = observations[-1]
    assert list(first.names) == ["x", "theta", "x_dot", "theta_dot"]
    Action = mw.message_class("rl_control_msgs/msg/Action")
    action_pub.publish(Action(step=first.step + 5, action=[10.0]))  # wrong step: ignored
    _spin_until(node, lambda: False, timeout=1.0)
    assert max(o.step for o in observations) == first.step
    action_pub.publish(Action(step=first.step, action=[10.0]))
    assert _spin_until(node, lambda: observations[-1].step == first.step + 1)
    assert mw.stamp_to_seconds(observations[-1].header.stamp) > mw.stamp_to_seconds(
        first.header.stamp
    )
    reset = node.create_client("std_srvs/srv/Trigger", "reset")
    response = reset.call(mw.service_class("std_srvs/srv/Trigger").Request(), timeout=10)
    assert response.success and response.message == f"step={first.step + 2};episode=1"
    assert _spin_until(node, lambda: observations[-1].episode == 1)
