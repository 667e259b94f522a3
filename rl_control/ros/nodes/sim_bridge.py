"""sim_bridge: a task's PyBullet world on topics (lock-step for training, or free-running).

Publishes /clock (at most every `clock_period` wall seconds), joint_states (the lock-step
tag in header.frame_id), imu, ground_truth/odom and /tf odom -> <base_frame>_ground_truth
(floating bases only), with each /clock robot_joint_states (URDF names); takes
`action` (rl_control_msgs/Action) or, if `command_topic` is set, ros2_control-style
std_msgs/Float64MultiArray commands; serves `reset` (std_srvs/Trigger, message
"step=<k>;episode=<e>") and `pause` (std_srvs/SetBool). With `trainer_gate` (training) a
lock-step also waits for the trainer's `step_gate` grant. The world is the `config`'s env
section (`graph_env`, as `rl-control train` builds it). Logic: roles/bridge_role.py.
"""

from __future__ import annotations

import sys
import time
from typing import Any

from rl_control.robot.pybullet import PyBulletRobot
from rl_control.robot.sensors import SensorReadings
from rl_control.roles.bridge import LockStepBridge
from rl_control.roles.bridge_role import BridgeRole
from rl_control.roles.graph_env import graph_env, graph_env_settings, graph_task
from rl_control.roles.params import SIM_BRIDGE, declare
from rl_control.ros import middleware as mw
from rl_control.ros.launch.checks import exit_on_config_error
from rl_control.ros.nodes import messages as m
from rl_control.ros.run_loop import Unit, main_argv, run_units


class SimBridgeNode:
    """Topics, services and parameters of the sim bridge, bound to a :class:`BridgeRole`."""

    def __init__(self, node: mw.Node) -> None:
        self.node, self.msgs, p = node, m.Messages(), declare(node, SIM_BRIDGE)
        self.p, self.seed, self.odom_frame = p, p["seed"], p["odom_frame"]
        # ground truth gets a frame of its own: the estimator owns base_frame
        self.base_frame, self.truth = p["base_frame"], p["base_frame"] + "_ground_truth"
        settings = graph_env_settings(p["config"], p["task"])  # the run's env section
        task = graph_task(p["task"], settings, "the sim bridge")
        env = graph_env(p["task"], settings, render_mode="human" if p["gui"] else None)
        self.robot = PyBulletRobot(env, task.joint_names, task.dt)
        bridge = LockStepBridge(
            self.robot, task, timeout=p["step_timeout"], hold_on_miss=True,
            gated=p["lock_step"] & p["trainer_gate"], clock=time.monotonic,
        )  # fmt: skip
        self.role = BridgeRole(
            bridge, task, self.publish, p["lock_step"], p["reset_on_termination"],
            p["real_time_factor"], p["clock_period"], time.monotonic, node.get_logger().warn,
        )  # fmt: skip
        pub, sub, role = node.create_publisher, node.create_subscription, self.role
        self.pubs = {
            "clock": pub("rosgraph_msgs/msg/Clock", "/clock", mw.QOS_CLOCK),
            "js": pub("sensor_msgs/msg/JointState", "joint_states", 10),
            "imu": pub("sensor_msgs/msg/Imu", "imu", 10),
            "odom": pub("nav_msgs/msg/Odometry", "ground_truth/odom", 10),
            "tf": pub("tf2_msgs/msg/TFMessage", "/tf", 10),
            "urdf_js": pub("sensor_msgs/msg/JointState", "robot_joint_states", 10),
        }
        sub("rl_control_msgs/msg/Action", "action", lambda msg: role.on_action(
            msg.step, mw.to_numpy(msg.action), msg.policy_version), 10)  # fmt: skip
        if bridge.gated:
            sub("rl_control_msgs/msg/StepGate", "step_gate", lambda msg: role.on_grant(
                msg.step, msg.episode, msg.min_policy_version), 10)  # fmt: skip
        if p["command_topic"]:
            sub("std_msgs/msg/Float64MultiArray", p["command_topic"],
                lambda msg: role.on_command(mw.to_numpy(msg.data)), 10)  # fmt: skip
        node.create_service("std_srvs/srv/Trigger", "reset", self.on_reset)
        node.create_service("std_srvs/srv/SetBool", "pause", self.on_pause)

    def publish(self, r: SensorReadings, with_clock: bool) -> None:
        msgs, pubs = self.msgs, self.pubs
        if with_clock:  # throttled like /clock: only rviz's joint TF tree reads them
            pubs["clock"].publish(msgs.clock(r.stamp))
            pubs["urdf_js"].publish(msgs.positions(r.stamp, self.robot.model_positions()))
        if r.imu is not None:
            pubs["imu"].publish(msgs.imu(r, self.base_frame))
        if r.base is not None:
            pubs["odom"].publish(msgs.odometry(r.stamp, r.base, self.odom_frame, self.truth))
            pubs["tf"].publish(msgs.tf(r.stamp, r.base, self.odom_frame, self.truth))
        pubs["js"].publish(msgs.joint_state(r))  # last: the estimator fires on joint states

    def on_reset(self, _: Any, response: Any) -> Any:
        response.success, response.message = True, self.role.reset_message()
        return response

    def on_pause(self, request: Any, response: Any) -> Any:
        response.success, response.message = True, self.role.pause(bool(request.data))
        return response


def compose(argv: list[str]) -> Unit:
    # the node, its first episode started, as the run loop drives it
    node = mw.create_node("sim_bridge", argv)
    bridge = SimBridgeNode(node)
    bridge.role.start(bridge.seed)
    mode = "lock-step" if bridge.p["lock_step"] else "free-running"
    node.get_logger().info(f"{bridge.p['task']} bridge up ({mode})")
    return Unit(node, bridge.role.tick, bridge.role.spin_timeout, bridge.robot.close)


@exit_on_config_error("sim_bridge")
def main(argv: list[str] | None = None) -> int:
    return run_units([compose(main_argv(argv))])


if __name__ == "__main__":
    sys.exit(main())
