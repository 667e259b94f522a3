"""hardware_bridge: real legs on ros2_control topics, every command through the safety core.

In: the robot's joint_states (any order), IMU, `action`, `step_gate` (`trainer_gate`). Out: the
controller's Float64MultiArray, the readings in policy order (`state_topic`, `imu_out_topic`),
/diagnostics. Services: SERVICES (Trigger), `pause` (SetBool), the lifecycle's (`managed`).
Logic: HardwareBridgeRole and Ros2ControlRobot (rl_control.roles, rl_control.robot)."""

from __future__ import annotations

import sys
import time
from typing import Any

from rl_control.robot.config import check_robot_task, load_robot_config
from rl_control.robot.ros2_control import Ros2ControlRobot
from rl_control.robot.safety import DiagnosticRecord
from rl_control.robot.sensors import SensorReadings
from rl_control.roles.hardware_role import HardwareBridgeRole
from rl_control.roles.params import HARDWARE_BRIDGE, declare
from rl_control.ros import middleware as mw
from rl_control.ros.launch.checks import exit_on_config_error
from rl_control.ros.lifecycle import LifecycleServices
from rl_control.ros.nodes import messages as m
from rl_control.ros.nodes.realtime import apply_node_realtime
from rl_control.ros.run_loop import main_argv, run_node

SERVICES = ("home", "activate", "passive", "estop", "release_estop", "reset")
TRIGGER, SERVICE_TYPES = "std_srvs/srv/Trigger", {"pause": "std_srvs/srv/SetBool"}


class HardwareBridgeNode:
    """Topics, services and parameters of the hardware bridge, bound to its role."""

    def __init__(self, node: mw.Node) -> None:
        self.node, self.msgs, p = node, m.Messages(), declare(node, HARDWARE_BRIDGE)
        self.p, self.base_frame = p, p["base_frame"]
        self.config = config = load_robot_config(p["robot"], p["robot_namespace"])
        check_robot_task(config, p["task"])
        pub = node.create_publisher
        self._command_pub = pub("std_msgs/msg/Float64MultiArray", config.topics["command"], 10)
        self._command_cls = mw.message_class("std_msgs/msg/Float64MultiArray")
        warn, extra = node.get_logger().warn, p["allow_extra_joints"]
        self.robot = Ros2ControlRobot(config, self.send, time.monotonic, warn, extra)
        self.role = role = HardwareBridgeRole(
            self.robot, self.publish, self.diagnostics, p["auto_home"], p["auto_activate"],
            p["diagnostics_period"], time.monotonic, p["trainer_gate"], p["grant_timeout"],
            p["managed"], p["answer_on_arrival"],
        )  # fmt: skip
        self.pubs = {"js": pub("sensor_msgs/msg/JointState", p["state_topic"], 10),
                     "imu": pub("sensor_msgs/msg/Imu", p["imu_out_topic"], 10),
                     "diag": pub("diagnostic_msgs/msg/DiagnosticArray", "/diagnostics", 10),
                     }  # fmt: skip
        sub = node.create_subscription
        sub("sensor_msgs/msg/JointState", config.topics["joint_states"], self.on_joint_state, 10)
        if config.topics["imu"]:
            sub("sensor_msgs/msg/Imu", config.topics["imu"], self.on_imu, 10)
        sub("rl_control_msgs/msg/Action", "action", lambda msg: role.on_action(
            msg.step, msg.episode, mw.to_numpy(msg.action), msg.policy_version), 10)  # fmt: skip
        if p["trainer_gate"]:
            sub("rl_control_msgs/msg/StepGate", "step_gate", lambda msg: role.on_grant(
                msg.step, msg.episode, msg.min_policy_version), 10)  # fmt: skip
        for name in (*SERVICES, "pause"):
            node.create_service(SERVICE_TYPES.get(name, TRIGGER), name, self._service(name))
        self.lifecycle = LifecycleServices(node, role.lifecycle) if p["managed"] else None
        apply_node_realtime(node, p)  # last: the DDS threads exist, all are raised

    def on_joint_state(self, msg: Any) -> None:
        self.role.on_joint_state(mw.stamp_to_seconds(msg.header.stamp), list(msg.name),
                                 msg.position, msg.velocity, msg.effort)  # fmt: skip

    def on_imu(self, msg: Any) -> None:
        self.robot.on_imu(mw.stamp_to_seconds(msg.header.stamp), *m.imu_arrays(msg))

    def send(self, command: list[float]) -> None:
        self._command_pub.publish(self._command_cls(data=command))

    def publish(self, r: SensorReadings) -> None:
        if r.imu is not None:
            self.pubs["imu"].publish(self.msgs.imu(r, self.base_frame))
        self.pubs["js"].publish(self.msgs.joint_state(r))  # last: the estimator fires on it

    def diagnostics(self, records: list[DiagnosticRecord]) -> None:
        array = m.diagnostics(records, f"{self.node.fully_qualified_name}: ", self.config.robot)
        self.msgs.stamp(array, self.node.now())
        self.pubs["diag"].publish(array)

    def close(self) -> None:
        """Damp the joints (one passive command), then log what the bridge did."""
        self.robot.close()
        self.node.get_logger().info(f"stopped: {self.role.summary()}")

    def _service(self, name: str) -> Any:
        def serve(request: Any, response: Any) -> Any:  # pause: a SetBool (data)
            data = bool(getattr(request, "data", 0))
            response.success, response.message = self.role.service(name, data)
            return response

        return serve


@exit_on_config_error("hardware_bridge")
def main(argv: list[str] | None = None) -> int:
    node = mw.create_node("hardware_bridge", main_argv(argv))
    bridge = HardwareBridgeNode(node)
    node.get_logger().info(f"{bridge.config.robot} hardware bridge up (passive)")
    return run_node(node, bridge.role.tick, bridge.role.spin_timeout, bridge.close)


if __name__ == "__main__":
    sys.exit(main())
