"""A ros2_control robot behind the :class:`~rl_control.robot.port.RobotIO` port, ROS-free.

A node binds the topics: it calls :meth:`Ros2ControlRobot.on_joint_state` and
:meth:`~Ros2ControlRobot.on_imu` from its subscriptions, :meth:`~Ros2ControlRobot.tick` once
per control period from a timer, and passes a publish function that sends the forwarding
controller's std_msgs/Float64MultiArray. Joint states arrive in any order and are mapped by
name; readings and actions are in policy order and the policy frame
(``robot = direction * policy + offset``, see :mod:`rl_control.robot.config`). Every command
goes through the :class:`~rl_control.robot.safety.SafetyCore`.

:meth:`~Ros2ControlRobot.apply` submits one fresh policy action (it feeds the watchdog):
call it once per action that arrives, never with a held one, or the watchdog cannot see a
stalled policy. :meth:`~Ros2ControlRobot.home` starts homing and returns at once.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from rl_control.robot.config import RobotConfig, check_joint_names
from rl_control.robot.safety import WARN, DiagnosticRecord, SafetyCore
from rl_control.robot.sensors import ImuReading, SensorReadings

#: sends one command array, robot order (the node wraps it in a Float64MultiArray)
PublishCommand = Callable[[list[float]], None]


def _ignore(_: str) -> None:
    return None


class Ros2ControlRobot:
    """Maps policy order <-> robot order and feeds the safety core from callbacks."""

    def __init__(
        self,
        config: RobotConfig,
        publish: PublishCommand,
        clock: Callable[[], float] = time.monotonic,
        log: Callable[[str], None] = _ignore,
        allow_extra_joints: bool = False,
    ) -> None:
        self.config, self._publish, self.clock = config, publish, clock
        self.period = config.loop_period  # tick() (the PD loop) runs at pd_period
        self.allow_extra = bool(allow_extra_joints)
        self.safety = SafetyCore(config, clock, log)
        self.order = config.controller_joints
        index = config.robot_index()  # robot slot -> policy slot
        self._to_policy = np.argsort(index)  # policy slot -> robot slot
        self._index = index
        j = config.joints
        self.direction = np.array([x.direction for x in j])
        self.offset = np.array([x.offset for x in j])
        self.scale = np.array([x.action_scale for x in j])
        self.position_targets = config.policy_output == "position"
        self._names_checked: tuple[str, ...] | None = None
        n = len(j)
        self._q, self._v, self._tau = np.zeros(n), np.zeros(n), np.zeros(n)  # policy frame
        self._stamp = 0.0
        self._imu: ImuReading | None = None
        self.sent = 0
        self.measured = False  # an accepted joint state has arrived

    @property
    def joint_names(self) -> list[str]:
        return list(self.config.policy_joints)

    # --- policy <-> robot ------------------------------------------------------------
    def to_robot(self, policy: np.ndarray) -> np.ndarray:
        """Policy order -> robot order."""
        return np.asarray(policy)[self._index]

    def to_policy(self, robot: np.ndarray) -> np.ndarray:
        """Robot order -> policy order."""
        return np.asarray(robot)[self._to_policy]

    def action_target(self, action: np.ndarray) -> np.ndarray:
        """A policy action as the safety core's target: robot frame, robot order."""
        command = self.direction * (self.scale * np.asarray(action, dtype=np.float64))
        if self.position_targets:
            command = command + self.offset
        return self.to_robot(command)

    # --- callbacks -------------------------------------------------------------------
    def on_joint_state(
        self, stamp: float, names: Sequence[str], position: Any, velocity: Any, effort: Any
    ) -> bool:
        """A sensor_msgs/JointState (names in any order; effort may be empty)."""
        names = tuple(names)
        if names != self._names_checked:
            try:
                check_joint_names(self.config, names, self.allow_extra)
            except ValueError as err:
                self.safety.record(WARN, "joint_state_names", str(err))
                return False
            if len(set(names)) != len(names):
                self.safety.record(WARN, "joint_state_names", f"names repeat: {list(names)}")
                return False
            self._names_checked = names
        try:
            slots = [names.index(name) for name in self.order]
            q = np.asarray(position, dtype=np.float64)[slots]
            v = np.asarray(velocity, dtype=np.float64)[slots]
            tau = np.asarray(effort, dtype=np.float64)
            tau = tau[slots] if tau.size else np.zeros(len(slots))
        except (IndexError, ValueError, TypeError):
            self.safety.record(WARN, "joint_state_bad_size", "arrays do not match the names")
            return False
        if not self.safety.on_joint_state(stamp, q, v):
            return False
        d, off = self.direction, self.offset
        self._q = d * (self.to_policy(q) - off)
        self._v, self._tau = d * self.to_policy(v), d * self.to_policy(np.nan_to_num(tau))
        self._stamp, self.measured = float(stamp), True
        return True

    def on_imu(self, stamp: float, orientation_xyzw: Any, angular: Any, linear: Any) -> bool:
        """A sensor_msgs/Imu (body frame, quaternion x, y, z, w)."""
        try:
            values = np.concatenate([np.ravel(orientation_xyzw), np.ravel(angular),
                                     np.ravel(linear)]).astype(np.float64)  # fmt: skip
        except (ValueError, TypeError):
            values = np.zeros(0)
        if not self.safety.on_imu(stamp, values):
            return False
        self._imu = ImuReading(values[:4], values[4:7], values[7:10])
        return True

    # --- RobotIO -----------------------------------------------------------------------
    def read(self) -> SensorReadings:
        """The latest accepted sensors, policy order and frame (step and episode -1)."""
        return SensorReadings(
            self._stamp, -1, -1, self.joint_names, self._q.copy(), self._v.copy(),
            self._tau.copy(), self._imu,
        )  # fmt: skip

    def apply(self, command: np.ndarray) -> None:
        """Submit one fresh policy action (it reaches the joints at the next :meth:`tick`)."""
        try:
            action = np.asarray(command, dtype=np.float64).reshape(len(self.order))
            target = self.action_target(action)
        except (ValueError, TypeError):
            target = np.full(1, np.nan)  # refused, and counted, by the safety core
        self.safety.on_command(target)

    def home(self, seed: int | None = None, options: dict | None = None) -> SensorReadings:
        """Start homing from the measured pose (it runs over the next ticks)."""
        self.safety.start_homing()
        return self.read()

    def close(self) -> None:
        """Leave the joints damped: one passive command, then nothing more is sent."""
        self.safety.passive()
        self.tick()

    # --- control loop ------------------------------------------------------------------
    def tick(self) -> np.ndarray | None:
        """One control period: the safety core's command, published (robot order)."""
        command = self.safety.step()
        if command is not None:
            self._publish([float(x) for x in command])
            self.sent += 1
        return command

    def diagnostics(self) -> list[DiagnosticRecord]:
        return self.safety.diagnostics()
