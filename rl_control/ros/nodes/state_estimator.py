"""state_estimator: joint_states (+ imu) -> observation (rl_control_msgs/Observation).

The observation keeps the sensor timestamp and the bridge's lock-step (step, episode) tag;
a tagged joint-state sample waits for the imu and odom of its own stamp (the role's rule).
odom (nav_msgs/Odometry) and /tf odom_frame -> base_frame carry the base pose: the sim
bridge's ground truth relayed, or with base_source:=legs (real legs: ground_truth/odom is
not even subscribed to) the estimate from the IMU and leg kinematics
(:mod:`rl_control.roles.leg_odometry`), one per joint state. A task with targets (the 2R
leg's foot target) has them on task_markers, in base_frame. The task's parameters are the
`config`'s env section (the trainer's and the bridge's).
The logic is :class:`rl_control.roles.estimator_role.EstimatorRole`'s.
"""

from __future__ import annotations

import sys
from typing import Any

from rl_control.robot.sensors import decode_step_tag
from rl_control.roles.estimator_role import EstimatorRole
from rl_control.roles.graph_env import graph_env_settings, graph_task
from rl_control.roles.leg_odometry import make_state_estimator
from rl_control.roles.params import STATE_ESTIMATOR, declare
from rl_control.ros import middleware as mw
from rl_control.ros.launch.checks import exit_on_config_error
from rl_control.ros.nodes import messages as m
from rl_control.ros.nodes.realtime import apply_node_realtime
from rl_control.ros.run_loop import Unit, main_argv, run_units


class StateEstimatorNode:
    """Topics and parameters of the estimator, bound to an :class:`EstimatorRole`."""

    def __init__(self, node: mw.Node) -> None:
        self.msgs, p = m.Messages(), declare(node, STATE_ESTIMATOR)
        self.p, self.frames = p, (p["odom_frame"], p["base_frame"])
        settings = graph_env_settings(p["config"], p["task"])  # the task's parameters
        task = graph_task(p["task"], settings, "the state estimator")
        estimator = make_state_estimator(task, p["base_source"])
        self.role = EstimatorRole(estimator, p["max_input_age"], node.get_logger().warn)
        self.Observation = mw.message_class("rl_control_msgs/msg/Observation")
        pub = node.create_publisher
        self.obs_pub = pub("rl_control_msgs/msg/Observation", "observation", 10)
        self.odom_pub = pub("nav_msgs/msg/Odometry", "odom", 10)
        self.marker_pub = pub("visualization_msgs/msg/MarkerArray", "task_markers", 1)
        self.tf_pub = pub("tf2_msgs/msg/TFMessage", "/tf", 10) if p["publish_tf"] else None
        sub = node.create_subscription
        sub("sensor_msgs/msg/Imu", "imu", self.on_imu, 10)
        sub("sensor_msgs/msg/JointState", "joint_states", self.on_joint_states, 10)
        if p["base_source"] == "odometry":
            sub("nav_msgs/msg/Odometry", "ground_truth/odom", self.on_odom, 10)
        apply_node_realtime(node, p)  # last: the DDS threads exist, all are raised

    def on_imu(self, msg: Any) -> None:
        self.role.on_imu(mw.stamp_to_seconds(msg.header.stamp), msg)
        self.flush()

    def on_joint_states(self, msg: Any) -> None:
        lock_step = decode_step_tag(msg.header.frame_id) is not None
        stamp = mw.stamp_to_seconds(msg.header.stamp)
        for sample in self.role.on_joint_states(stamp, msg, lock_step):
            self.publish_estimate(*sample)

    def flush(self) -> None:
        """Estimate the held lock-step sample once its side inputs are in (the role's rule)."""
        for sample in self.role.ready():
            self.publish_estimate(*sample)

    def publish_estimate(self, msg: Any, imu: Any, odom: Any) -> None:
        est = self.role.estimate(self.msgs.readings(msg, imu, odom))
        if est is None:
            return
        out = self.Observation()
        out.header.stamp = msg.header.stamp
        out.step, out.episode = est.step, est.episode
        out.names, out.state = list(est.names), [float(v) for v in est.state]
        self.obs_pub.publish(out)
        targets = self.role.targets(est.state)
        if targets:
            self.marker_pub.publish(m.point_markers(targets, msg.header.stamp, self.frames[1]))
        if est.base is not None:  # real legs: the leg odometry's base pose
            self.publish_odom(self.msgs.odometry(est.stamp, est.base, *self.frames))

    def on_odom(self, msg: Any) -> None:
        self.role.on_odom(mw.stamp_to_seconds(msg.header.stamp), msg)
        # simulation: the ground truth is the estimate, republished in the estimator's frames
        msg.header.frame_id, msg.child_frame_id = self.frames
        self.publish_odom(msg)
        self.flush()

    def publish_odom(self, msg: Any) -> None:
        self.odom_pub.publish(msg)
        if self.tf_pub is not None:
            self.tf_pub.publish(m.odometry_tf(msg))


def compose(argv: list[str]) -> Unit:
    node = mw.create_node("state_estimator", argv)
    estimator = StateEstimatorNode(node)
    node.get_logger().info(f"estimating {estimator.p['task']} state from joint_states")
    return Unit(node, tick=estimator.flush, spin_timeout=0.1)


@exit_on_config_error("state_estimator")
def main(argv: list[str] | None = None) -> int:
    return run_units([compose(main_argv(argv))])


if __name__ == "__main__":
    sys.exit(main())
