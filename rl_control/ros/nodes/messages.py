"""Message <-> rl_control.roles conversions shared by the nodes (attribute access only, so
the same code runs on rclpy messages and on the embedded back-end's)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from rl_control.robot.sensors import (
    BasePose,
    ImuReading,
    SensorReadings,
    decode_step_tag,
    encode_step_tag,
)
from rl_control.ros import middleware as mw

if TYPE_CHECKING:  # torch-free at run time: the bridge and estimator never load torch
    from rl_control.robot.safety import DiagnosticRecord
    from rl_control.roles.policy_server import ActionResult, PolicyUpdate
    from rl_control.roles.robot_state import Transform


def _set_xyz(vec: Any, values: np.ndarray) -> None:
    vec.x, vec.y, vec.z = (float(v) for v in values[:3])


def _set_quat(quat: Any, xyzw: np.ndarray) -> None:
    quat.x, quat.y, quat.z, quat.w = (float(v) for v in xyzw[:4])


def _xyz(vec: Any) -> np.ndarray:
    return np.array([vec.x, vec.y, vec.z], dtype=np.float64)


_TYPES = {
    "joint_state": "sensor_msgs/msg/JointState",
    "imu": "sensor_msgs/msg/Imu",
    "odometry": "nav_msgs/msg/Odometry",
    "transform": "geometry_msgs/msg/TransformStamped",
    "tf": "tf2_msgs/msg/TFMessage",
    "clock": "rosgraph_msgs/msg/Clock",
    "time": "builtin_interfaces/msg/Time",
    "policy_update": "rl_control_msgs/msg/PolicyUpdate",
}


class Messages:
    """Conversions with the message classes looked up once (a lookup costs ~30 µs)."""

    def __init__(self) -> None:
        self.cls = {key: mw.message_class(name) for key, name in _TYPES.items()}

    def stamp(self, msg: Any, t: float) -> None:
        """Set msg.header.stamp to ``t`` seconds."""
        msg.header.stamp = mw.seconds_to_stamp(t, self.cls["time"])

    def joint_state(self, r: SensorReadings) -> Any:
        """sensor_msgs/JointState; frame_id carries the lock-step (step, episode) tag."""
        msg = self.cls["joint_state"]()
        self.stamp(msg, r.stamp)
        msg.header.frame_id = encode_step_tag(r.step, r.episode) if r.step >= 0 else ""
        msg.name = list(r.joint_names)
        msg.position, msg.velocity, msg.effort = (
            [float(v) for v in arr] for arr in (r.position, r.velocity, r.effort)
        )
        return msg

    def positions(self, t: float, positions: dict[str, float]) -> Any:
        """sensor_msgs/JointState of named positions only (the URDF's joints)."""
        msg = self.cls["joint_state"]()
        self.stamp(msg, t)
        msg.name, msg.position = list(positions), [float(v) for v in positions.values()]
        return msg

    def imu(self, r: SensorReadings, frame: str) -> Any:
        msg = self.cls["imu"]()
        self.stamp(msg, r.stamp)
        msg.header.frame_id = frame
        _set_quat(msg.orientation, r.imu.orientation_xyzw)
        _set_xyz(msg.angular_velocity, r.imu.angular_velocity)
        _set_xyz(msg.linear_acceleration, r.imu.linear_acceleration)
        return msg

    def odometry(self, t: float, base: BasePose, odom_frame: str, base_frame: str) -> Any:
        msg = self.cls["odometry"]()
        self.stamp(msg, t)
        msg.header.frame_id, msg.child_frame_id = odom_frame, base_frame
        _set_xyz(msg.pose.pose.position, base.position)
        _set_quat(msg.pose.pose.orientation, base.orientation_xyzw)
        _set_xyz(msg.twist.twist.linear, base.linear_velocity)
        _set_xyz(msg.twist.twist.angular, base.angular_velocity)
        return msg

    def tf(self, t: float, base: BasePose, parent: str, child: str) -> Any:
        transform = self.cls["transform"]()
        self.stamp(transform, t)
        transform.header.frame_id, transform.child_frame_id = parent, child
        _set_xyz(transform.transform.translation, base.position)
        _set_quat(transform.transform.rotation, base.orientation_xyzw)
        msg = self.cls["tf"]()
        msg.transforms = [transform]
        return msg

    def clock(self, t: float) -> Any:
        msg = self.cls["clock"]()
        msg.clock = mw.seconds_to_stamp(t, self.cls["time"])
        return msg

    def readings(self, js: Any, imu_msg: Any | None, odom: Any | None = None) -> SensorReadings:
        """SensorReadings from a JointState (+ Imu, + Odometry for the base pose); step -1
        when the header has no lock-step tag."""
        tag = decode_step_tag(js.header.frame_id)
        step, episode = tag if tag is not None else (-1, -1)
        imu_reading = None
        if imu_msg is not None:
            q = imu_msg.orientation
            imu_reading = ImuReading(
                np.array([q.x, q.y, q.z, q.w], dtype=np.float64),
                _xyz(imu_msg.angular_velocity), _xyz(imu_msg.linear_acceleration),
            )  # fmt: skip
        base = None
        if odom is not None:
            pose, twist = odom.pose.pose, odom.twist.twist
            o = pose.orientation
            base = BasePose(
                _xyz(pose.position), np.array([o.x, o.y, o.z, o.w], dtype=np.float64),
                _xyz(twist.linear), _xyz(twist.angular),
            )  # fmt: skip
        n = len(js.name)
        effort = mw.to_numpy(js.effort) if len(js.effort) == n else np.zeros(n)
        return SensorReadings(
            mw.stamp_to_seconds(js.header.stamp), step, episode, list(js.name),
            mw.to_numpy(js.position), mw.to_numpy(js.velocity), effort, imu_reading, base,
        )  # fmt: skip

    def policy_update_msg(self, update: PolicyUpdate) -> Any:
        msg = self.cls["policy_update"]()
        msg.version, msg.format, msg.checksum = update.version, update.format, update.checksum
        msg.data = bytes(update.data)
        return msg

    def policy_update(self, msg: Any) -> PolicyUpdate:
        from rl_control.roles.policy_server import PolicyUpdate

        data = msg.data
        data = bytes(data) if not isinstance(data, bytes) else data
        return PolicyUpdate(int(msg.version), str(msg.format), str(msg.checksum), data)


def action(out: Any, result: ActionResult, stamp: Any) -> Any:
    """Fill rl_control_msgs/Action ``out`` from the policy's result (stamp: the observation's)."""
    out.header.stamp = stamp
    out.step, out.episode = result.step, result.episode
    out.policy_version = result.policy_version
    out.action, out.mean = [float(v) for v in result.action], [float(v) for v in result.mean]
    out.log_prob = result.log_prob
    return out


def diagnostics(records: list[DiagnosticRecord], prefix: str, hardware_id: str) -> Any:
    """diagnostic_msgs/DiagnosticArray (unstamped) of safety records, names after ``prefix``."""
    array = mw.message_class("diagnostic_msgs/msg/DiagnosticArray")()
    status_cls = mw.message_class("diagnostic_msgs/msg/DiagnosticStatus")
    kv_cls = mw.message_class("diagnostic_msgs/msg/KeyValue")
    as_bytes = isinstance(status_cls().level, bytes)  # rclpy: bytes; embedded: int
    array.status = [
        status_cls(
            level=bytes([r.level]) if as_bytes else r.level,
            name=prefix + r.name, message=r.message, hardware_id=hardware_id,
            values=[kv_cls(key=k, value=v) for k, v in r.values.items()],
        )
        for r in records
    ]  # fmt: skip
    return array


def plan_markers(result: ActionResult, stamp: Any, frame: str) -> Any:
    """visualization_msgs/MarkerArray: the plan [H, state_dim] as a line strip through its
    first two state entries."""
    marker = mw.message_class("visualization_msgs/msg/Marker")()
    marker.header.stamp, marker.header.frame_id = stamp, frame
    marker.ns, marker.id, marker.type = "mpc_plan", 0, 4  # LINE_STRIP
    marker.scale.x = 0.01
    marker.color.r, marker.color.g, marker.color.a = 1.0, 0.3, 1.0
    marker.pose.orientation.w = 1.0
    Point = mw.message_class("geometry_msgs/msg/Point")
    plan = np.asarray(result.info["plan"], dtype=np.float64).reshape(len(result.info["plan"]), -1)
    marker.points = [
        Point(x=float(s[0]), y=float(s[1]) if s.size > 1 else 0.0, z=0.0) for s in plan
    ]
    out = mw.message_class("visualization_msgs/msg/MarkerArray")()
    out.markers = [marker]
    return out


def training_stats(row: dict[str, Any]) -> Any:
    """rl_control_msgs/TrainingStats of a metrics row (numeric extras as names/values)."""
    msg = mw.message_class("rl_control_msgs/msg/TrainingStats")()
    msg.env_steps, msg.episodes = int(row["env_steps"]), int(row["episodes"])
    msg.policy_version = int(row.get("policy_version", 0))
    ret = float(row.get("train_return", math.nan))
    msg.mean_return = msg.last_return = ret
    msg.steps_per_second = float(row.get("steps_per_s", math.nan))
    msg.policy_loss = float(row.get("policy_loss", row.get("actor_loss", math.nan)))
    msg.value_loss = float(row.get("value_loss", row.get("critic_loss", math.nan)))
    msg.entropy = float(row.get("entropy", math.nan))
    extra = {k: v for k, v in row.items() if isinstance(v, (int, float)) and k != "env_steps"}
    msg.names, msg.values = list(extra), [float(v) for v in extra.values()]
    return msg


def odometry_tf(odom: Any) -> Any:
    """tf2_msgs/TFMessage with the odometry's pose as header.frame_id -> child_frame_id."""
    tfm = mw.message_class("tf2_msgs/msg/TFMessage")()
    transform = mw.message_class("geometry_msgs/msg/TransformStamped")()
    transform.header, transform.child_frame_id = odom.header, odom.child_frame_id
    pose = odom.pose.pose
    t = transform.transform.translation
    t.x, t.y, t.z = pose.position.x, pose.position.y, pose.position.z
    transform.transform.rotation = pose.orientation
    tfm.transforms = [transform]
    return tfm


def transforms(stamp: Any, items: list[Transform]) -> Any:
    """tf2_msgs/TFMessage of the role's 4x4 transforms, all at ``stamp``."""
    from rl_control.robot.urdf import matrix_to_quaternion

    tfm = mw.message_class("tf2_msgs/msg/TFMessage")()
    cls = mw.message_class("geometry_msgs/msg/TransformStamped")
    out = []
    for item in items:
        transform = cls()
        transform.header.stamp = stamp
        transform.header.frame_id, transform.child_frame_id = item.parent, item.child
        _set_xyz(transform.transform.translation, item.matrix[:3, 3])
        _set_quat(transform.transform.rotation, matrix_to_quaternion(item.matrix))
        out.append(transform)
    tfm.transforms = out
    return tfm


def imu_arrays(msg: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A sensor_msgs/Imu's orientation (x, y, z, w), angular velocity and acceleration."""
    q = msg.orientation
    xyzw = np.array([q.x, q.y, q.z, q.w], dtype=np.float64)
    return xyzw, _xyz(msg.angular_velocity), _xyz(msg.linear_acceleration)


def point_markers(points: dict[str, np.ndarray], stamp: Any, frame: str) -> Any:
    """visualization_msgs/MarkerArray: one sphere per named point (ns = its name)."""
    cls = mw.message_class("visualization_msgs/msg/Marker")
    out = mw.message_class("visualization_msgs/msg/MarkerArray")()
    markers = []
    for name, xyz in points.items():
        marker = cls()
        marker.header.stamp, marker.header.frame_id = stamp, frame
        marker.ns, marker.id, marker.type = name, 0, 2  # SPHERE
        marker.scale.x = marker.scale.y = marker.scale.z = 0.03
        marker.color.g, marker.color.b, marker.color.a = 0.8, 1.0, 1.0
        _set_xyz(marker.pose.position, xyz)
        marker.pose.orientation.w = 1.0
        markers.append(marker)
    out.markers = markers
    return out
