"""fake_ros2_control: a task's PyBullet world posing as a ros2_control robot.

Publishes the robot config's joint_states topic (sensor_msgs/JointState, robot joint names in
its own order) and, for floating bases, its IMU topic; takes std_msgs/Float64MultiArray on
the config's command topic and, like a forwarding controller, applies the last one forever.
Runs in real time at the task's control period, or at the robot YAML's faster `pd_period`
(joint states that fast, for the bridge's inner PD loop). For trying the hardware bridge
without legs: :class:`rl_control.robot.fake_ros2_control.FakeRos2ControlRobot` holds the
logic.
"""

from __future__ import annotations

import dataclasses
import sys
import time
from typing import Any

from rl_control.envs.registration import make_env
from rl_control.robot.config import load_robot_config
from rl_control.robot.fake_ros2_control import FakeRos2ControlRobot, fake_env_params
from rl_control.robot.pybullet import PyBulletRobot
from rl_control.roles.params import FAKE_ROS2_CONTROL, declare
from rl_control.ros import middleware as mw
from rl_control.ros.launch.checks import exit_on_config_error
from rl_control.ros.nodes import messages as m
from rl_control.ros.run_loop import main_argv, run_node
from rl_control.tasks.registry import make_task


class FakeRos2ControlNode:
    """The fake robot's topics, paced by :meth:`tick`."""

    def __init__(self, node: mw.Node) -> None:
        self.node, self.msgs, p = node, m.Messages(), declare(node, FAKE_ROS2_CONTROL)
        self.p, self.imu_frame = p, p["imu_frame"]
        config = load_robot_config(p["robot"], p["robot_namespace"])
        params = fake_env_params(config)  # a bridge PD loop faster than the task: as fast
        task = make_task(config.task, params)
        self.sim = PyBulletRobot(make_env(config.task, **params), task.joint_names, task.dt)
        self.sim.home(seed=p["seed"])
        self.fake = FakeRos2ControlRobot(self.sim, config)
        pub = node.create_publisher
        self.js = pub("sensor_msgs/msg/JointState", config.topics["joint_states"], 10)
        imu = config.topics["imu"]
        self.imu = pub("sensor_msgs/msg/Imu", imu, 10) if imu else None
        node.create_subscription("std_msgs/msg/Float64MultiArray", config.topics["command"],
                                 lambda msg: self.fake.command(list(msg.data)), 10)  # fmt: skip
        self._next = time.monotonic()

    def spin_timeout(self) -> float:
        return max(0.0, self._next - time.monotonic())

    def tick(self) -> None:
        now = time.monotonic()
        if now < self._next:
            return
        self._next = max(self._next + self.fake.period, now - self.fake.period)
        self.fake.step()
        self.publish()

    def close(self) -> None:
        """Log the commands taken (what reached the robot), then end the simulation."""
        self.node.get_logger().info(
            f"stopped: {self.fake.received} commands applied, {self.fake.rejected} rejected"
        )
        self.sim.close()

    def publish(self) -> None:
        names, q, v, tau = self.fake.joint_state()
        msg: Any = self.msgs.cls["joint_state"]()
        self.msgs.stamp(msg, self.node.now())
        msg.name = names
        msg.position, msg.velocity, msg.effort = ([float(x) for x in a] for a in (q, v, tau))
        readings = dataclasses.replace(self.sim.read(), stamp=self.node.now())
        if self.imu is not None and readings.imu is not None:
            self.imu.publish(self.msgs.imu(readings, self.imu_frame))
        self.js.publish(msg)


@exit_on_config_error("fake_ros2_control")  # a bad robot YAML or robot_namespace: one line
def main(argv: list[str] | None = None) -> int:
    node = mw.create_node("fake_ros2_control", main_argv(argv))
    fake = FakeRos2ControlNode(node)
    node.get_logger().info(f"fake ros2_control robot {fake.p['robot']} up")
    return run_node(node, fake.tick, fake.spin_timeout, fake.close)


if __name__ == "__main__":
    sys.exit(main())
