"""The PyBullet world of a task env behind the :class:`~rl_control.robot.port.RobotIO` port.

Joint sensors come from the env's public :meth:`~rl_control.envs.bullet.BulletEnv.joint_sensors`
and the base pose, twist and a synthetic IMU from its :meth:`physics_handles`. Commands step
the env; its reward and termination are discarded (the trainer computes them from the
estimated state).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rl_control.envs.bullet import BulletEnv, pybullet  # pybullet imported there, silenced
from rl_control.robot.description import joint_positions, model_joint_names
from rl_control.robot.sensors import BasePose, ImuReading, SensorReadings


class PyBulletRobot:
    """A :class:`BulletEnv` as a robot: read, apply, home, at the task's control period.

    ``joint_names`` name the joints the env's sensors report; when their number differs from
    the sensors' (a task that names none), the model's own joint names are used.
    """

    def __init__(self, env: Any, joint_names: tuple[str, ...], period: float) -> None:
        inner = env.unwrapped
        if not isinstance(inner, BulletEnv):
            raise ValueError(f"{type(inner).__name__} is not a PyBullet env (BulletEnv)")
        if not period > 0:
            raise ValueError(f"the control period must be > 0 s, got {period}")
        self.env, self.inner, self.period = env, inner, float(period)
        self.cid, self.body = inner.physics_handles()
        count = len(inner.joint_sensors()[0])
        names = list(joint_names) if len(joint_names) == count else inner.joint_names()
        self._names = names
        self.floating = pybullet.getDynamicsInfo(self.body, -1, physicsClientId=self.cid)[0] > 0
        self.gravity = float(
            pybullet.getPhysicsEngineParameters(physicsClientId=self.cid).get(
                "gravityAccelerationZ", -9.81
            )
        )
        self.time = 0.0  # seconds of commands applied, across homes
        self._last_velocity: np.ndarray | None = None
        self._latest: SensorReadings | None = None
        self._model_names: list[str] | None = None

    @property
    def joint_names(self) -> list[str]:
        return list(self._names)

    def read(self) -> SensorReadings:
        """The readings of the current physics state (the same until the next command)."""
        if self._latest is None:
            self._latest = self._sense()
        return self._latest

    def apply(self, command: np.ndarray) -> None:
        self.env.step(np.asarray(command).astype(np.float32))  # reward/termination ignored
        self.time += self.period
        self._latest = self._sense()

    def apply_effort(self, effort: np.ndarray) -> None:
        """Hold joint efforts for one period (an effort interface under a position task;
        envs that cannot raise ValueError): the world's own actuator model is bypassed."""
        self.inner.step_effort(np.asarray(effort, dtype=np.float64))
        self.time += self.period
        self._latest = self._sense()

    def home(self, seed: int | None = None, options: dict | None = None) -> SensorReadings:
        self.env.reset(seed=seed, options=options)
        self._last_velocity = None  # the finite-difference acceleration must not span a reset
        self._latest = self._sense()
        return self._latest

    def close(self) -> None:
        self.env.close()

    def model_positions(self) -> dict[str, float]:
        """Every movable joint's raw position, named as in the robot's URDF
        (:func:`~rl_control.robot.description.robot_description`): the joint TF tree's input."""
        if self._model_names is None:
            self._model_names = model_joint_names(self.cid, self.body, self._names)
        return joint_positions(self.cid, self.body, self._model_names)

    def _sense(self) -> SensorReadings:
        q, v, tau = self.inner.joint_sensors()
        imu, base = self._base() if self.floating else (None, None)
        return SensorReadings(self.time, -1, -1, self.joint_names, q, v, tau, imu, base)

    def _base(self) -> tuple[ImuReading, BasePose]:
        pos, orn = pybullet.getBasePositionAndOrientation(self.body, physicsClientId=self.cid)
        lin, ang = pybullet.getBaseVelocity(self.body, physicsClientId=self.cid)
        rot = np.array(pybullet.getMatrixFromQuaternion(orn)).reshape(3, 3)  # body -> world
        lin, ang = np.asarray(lin), np.asarray(ang)
        last = self._last_velocity
        accel = np.zeros(3) if last is None else (lin - last) / self.period
        self._last_velocity = lin
        # an accelerometer measures specific force: acceleration minus gravity, in the body frame
        specific = rot.T @ (accel - np.array([0.0, 0.0, self.gravity]))
        orn = np.asarray(orn, dtype=np.float64)
        imu = ImuReading(orn, rot.T @ ang, specific)
        base = BasePose(np.asarray(pos, dtype=np.float64), orn, rot.T @ lin, rot.T @ ang)
        return imu, base
