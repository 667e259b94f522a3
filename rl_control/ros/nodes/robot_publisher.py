"""robot_publisher: robot_description and the URDF's joint TF tree (robot_state_publisher's job).

Publishes the task's URDF on robot_description (std_msgs/String, latched), the fixed joints
on /tf_static (latched) and the moving joints on /tf from `robot_joint_states`
(sensor_msgs/JointState in URDF names; the sim bridge publishes PyBullet's joints there, the
hardware launch remaps it to the policy's joint states). Works the same on rclpy and on the
embedded back-end, so rviz's RobotModel and TF displays find every link. The logic is
:class:`rl_control.roles.robot_state.RobotStateRole`'s.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

from rl_control.robot.description import task_urdf
from rl_control.roles.params import ROBOT_PUBLISHER, declare
from rl_control.roles.robot_state import RobotStateRole
from rl_control.ros import middleware as mw
from rl_control.ros.launch.checks import exit_on_config_error
from rl_control.ros.nodes import messages as m
from rl_control.ros.run_loop import main_argv, run_node


class RobotPublisherNode:
    """robot_description, /tf_static and /tf of one URDF, bound to a :class:`RobotStateRole`."""

    def __init__(self, node: mw.Node) -> None:
        p = declare(node, ROBOT_PUBLISHER)
        self.node, self.p = node, p
        source = p["description"]
        self.urdf = _read(source) if source else task_urdf(p["task"])
        self.role = RobotStateRole(
            self.urdf, p["base_frame"], p["publish_period"], p["odom_frame"], time.monotonic,
            node.get_logger().warn,
        )  # fmt: skip
        pub = node.create_publisher
        description = pub("std_msgs/msg/String", "robot_description", mw.QOS_LATCHED)
        description.publish(mw.message_class("std_msgs/msg/String")(data=self.urdf))
        self.static = pub("tf2_msgs/msg/TFMessage", "/tf_static", mw.QOS_LATCHED)
        self.static.publish(m.transforms(node_stamp(node), self.role.static_transforms()))
        self.tf = pub("tf2_msgs/msg/TFMessage", "/tf", 10)
        node.create_subscription(
            "sensor_msgs/msg/JointState", "robot_joint_states", self.on_joint_states, 10
        )

    def on_joint_states(self, msg: Any) -> None:
        moving = self.role.on_joint_state(list(msg.name), list(msg.position))
        if moving:
            self.tf.publish(m.transforms(msg.header.stamp, moving))


def _read(path: str) -> str:
    if not Path(path).is_file():
        raise ValueError(f"description {path!r} is not a file")
    return Path(path).read_text()


def node_stamp(node: mw.Node) -> Any:
    """The node's current time as a builtin_interfaces/Time."""
    return mw.seconds_to_stamp(node.now(), mw.message_class("builtin_interfaces/msg/Time"))


@exit_on_config_error("robot_publisher")
def main(argv: list[str] | None = None) -> int:
    node = mw.create_node("robot_publisher", main_argv(argv))
    publisher = RobotPublisherNode(node)
    model = publisher.role.model
    node.get_logger().info(
        f"robot_description of {model.name!r}: {len(model.links)} links, "
        f"{len(model.moving_joints)} moving joints"
    )
    return run_node(node, spin_timeout=0.1)


if __name__ == "__main__":
    sys.exit(main())
