"""Interop with real ROS 2: a plain rclpy node and an embedded-back-end node (in a separate
process) exchange every project message type. Needs a ROS 2 (Jazzy) installation."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import domains  # test/domains.py: one allocator for DDS domain ids
import pytest

rclpy = pytest.importorskip(
    "rclpy", reason="ROS 2 (rclpy) is not installed: interop needs a sourced ROS 2 Jazzy"
)
pytestmark = pytest.mark.ros

REPO = Path(__file__).resolve().parents[3]
TYPES = [
    "rl_control_msgs/msg/Observation", "rl_control_msgs/msg/Action",
    "rl_control_msgs/msg/Transition", "rl_control_msgs/msg/PolicyUpdate",
    "rl_control_msgs/msg/TrainingStats", "rl_control_msgs/msg/Reward",
    "rl_control_msgs/msg/StepGate",
    "sensor_msgs/msg/JointState", "sensor_msgs/msg/Imu", "nav_msgs/msg/Odometry",
    "tf2_msgs/msg/TFMessage", "std_msgs/msg/Float64MultiArray",
    "visualization_msgs/msg/MarkerArray", "rosgraph_msgs/msg/Clock",
    "diagnostic_msgs/msg/DiagnosticArray",
]  # fmt: skip
ECHO = """
import sys
from rl_control.ros import middleware as mw
node = mw.create_node("embedded_echo")
for i, t in enumerate(sys.argv[1:]):
    pub = node.create_publisher(t, f"/interop/out{i}")
    node.create_subscription(t, f"/interop/in{i}", pub.publish)
print("ready", flush=True)
mw.spin(node)
"""


def test_rclpy_and_embedded_exchange_every_project_type() -> None:
    from rosidl_runtime_py.utilities import get_message

    env = dict(
        os.environ, RL_CONTROL_MIDDLEWARE="embedded", RMW_IMPLEMENTATION="rmw_cyclonedds_cpp"
    )
    env["ROS_DOMAIN_ID"] = str(domains.allocate())
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    os.environ.update(ROS_DOMAIN_ID=env["ROS_DOMAIN_ID"], RMW_IMPLEMENTATION="rmw_cyclonedds_cpp")
    proc = subprocess.Popen([sys.executable, "-c", ECHO, *TYPES], env=env,
                            stdout=subprocess.PIPE, text=True)  # fmt: skip
    try:
        assert proc.stdout.readline().strip() == "ready"
        rclpy.init()
        node = rclpy.create_node("plain_rclpy")
        got: dict[int, object] = {}
        pubs = []
        for i, t in enumerate(TYPES):
            cls = get_message(t)
            pubs.append((node.create_publisher(cls, f"/interop/in{i}", 10), cls()))
            node.create_subscription(
                cls, f"/interop/out{i}", lambda m, i=i: got.setdefault(i, m), 10
            )
        end = time.monotonic() + 30
        while len(got) < len(TYPES) and time.monotonic() < end:
            for i, (pub, msg) in enumerate(pubs):
                if i not in got:
                    pub.publish(msg)
            rclpy.spin_once(node, timeout_sec=0.1)
        missing = [TYPES[i] for i in range(len(TYPES)) if i not in got]
        assert not missing, f"no echo for {missing}"
        for i, (_, msg) in enumerate(pubs):
            assert got[i] == msg
    finally:
        proc.kill()
        proc.wait()
        if rclpy.ok():
            rclpy.shutdown()


PARAM_NODE = """
from rl_control.ros import middleware as mw
node = mw.create_node("embedded_params", namespace="/interop")
node.declare_parameter("gain", 1.5)
node.get_logger().warn("embedded says hi")
print("ready", flush=True)
mw.spin(node)
"""


def test_rclpy_reaches_embedded_rosout_and_parameter_services() -> None:
    from rcl_interfaces.msg import Log
    from rclpy.context import Context
    from rclpy.executors import SingleThreadedExecutor
    from rclpy.parameter import Parameter
    from rclpy.parameter_client import AsyncParameterClient
    from rclpy.qos import DurabilityPolicy, QoSProfile

    env = dict(
        os.environ, RL_CONTROL_MIDDLEWARE="embedded", RMW_IMPLEMENTATION="rmw_cyclonedds_cpp"
    )
    env["ROS_DOMAIN_ID"] = str(domains.allocate())
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    os.environ.update(ROS_DOMAIN_ID=env["ROS_DOMAIN_ID"], RMW_IMPLEMENTATION="rmw_cyclonedds_cpp")
    proc = subprocess.Popen([sys.executable, "-c", PARAM_NODE], env=env,
                            stdout=subprocess.PIPE, text=True)  # fmt: skip
    context = Context()  # private: other tests may have initialised the default context
    try:
        assert proc.stdout.readline().strip() == "ready"
        rclpy.init(context=context)
        node = rclpy.create_node("plain_rclpy_params", context=context)
        executor = SingleThreadedExecutor(context=context)
        executor.add_node(node)
        logs: list[Log] = []
        qos = QoSProfile(depth=1000, durability=DurabilityPolicy.TRANSIENT_LOCAL)
        node.create_subscription(Log, "/rosout", logs.append, qos)
        client = AsyncParameterClient(node, "/interop/embedded_params")
        assert client.wait_for_services(timeout_sec=20.0)

        def result(future):
            executor.spin_until_future_complete(future, timeout_sec=10.0)
            assert future.done()
            return future.result()

        assert "gain" in result(client.list_parameters()).result.names
        assert result(client.get_parameters(["gain"])).values[0].double_value == 1.5
        ok, bad = result(
            client.set_parameters([Parameter("gain", value=2.5), Parameter("gain", value="x")])
        ).results
        assert ok.successful and not bad.successful and "expected float" in bad.reason
        assert result(client.get_parameters(["gain"])).values[0].double_value == 2.5
        end = time.monotonic() + 10  # transient-local: the log from start-up still arrives
        while not any(m.msg == "embedded says hi" for m in logs) and time.monotonic() < end:
            executor.spin_once(timeout_sec=0.1)
        log = next(m for m in logs if m.msg == "embedded says hi")
        assert (log.level, log.name) == (Log.WARN, "interop.embedded_params")
    finally:
        proc.kill()
        proc.wait()
        if context.ok():
            rclpy.shutdown(context=context)
