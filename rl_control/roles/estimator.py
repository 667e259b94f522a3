"""State estimation: sensor readings -> the task's state vector, names and timestamp.

The cart-pole and the 2R leg read their state straight from the joint states. The quadruped
adds the base orientation from the IMU: ROS (and PyBullet) order quaternions (x, y, z, w) while
transforms3d uses (w, x, y, z), so the conversion is done here, explicitly, in both directions.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import transforms3d

from rl_control.robot.sensors import BasePose, ImuReading, SensorReadings
from rl_control.tasks.base import Task, joint_indices

if TYPE_CHECKING:
    from rl_control.roles.leg_odometry import LegOdometry


def xyzw_to_wxyz(q: Sequence[float]) -> np.ndarray:
    """ROS/PyBullet quaternion order to transforms3d order."""
    x, y, z, w = np.asarray(q, dtype=np.float64).reshape(4)
    return np.array([w, x, y, z])


def wxyz_to_xyzw(q: Sequence[float]) -> np.ndarray:
    """transforms3d quaternion order to ROS/PyBullet order."""
    w, x, y, z = np.asarray(q, dtype=np.float64).reshape(4)
    return np.array([x, y, z, w])


def imu_orientation(imu: ImuReading, canonical: bool = True) -> np.ndarray:
    """Unit orientation quaternion (w, x, y, z) of an IMU reading; ``canonical`` picks the
    sign with w >= 0 (q and -q are the same rotation)."""
    q = xyzw_to_wxyz(imu.orientation_xyzw)
    norm = float(np.linalg.norm(q))
    if not np.isfinite(norm) or norm < 1e-6:
        raise ValueError(f"IMU orientation is not a quaternion: {imu.orientation_xyzw}")
    q = q / norm
    return -q if canonical and q[0] < 0 else q


def imu_rotation_matrix(imu: ImuReading) -> np.ndarray:
    """Body-to-world rotation matrix of an IMU reading (via transforms3d)."""
    return transforms3d.quaternions.quat2mat(imu_orientation(imu))


def quadruped_state(readings: SensorReadings, motor_names: Sequence[str]) -> np.ndarray:
    """Minitaur-style 28-D state: motor angles, velocities, torques, base quaternion (x,y,z,w).

    The quaternion comes from the IMU (not the ground-truth base pose), as on the robot,
    with the sign as measured (the simulated env's observation does not canonicalise it).
    """
    if readings.imu is None:
        raise ValueError("the quadruped estimator needs an IMU reading")
    idx = joint_indices(readings, tuple(motor_names))
    quat = wxyz_to_xyzw(imu_orientation(readings.imu, canonical=False))
    return np.concatenate(
        [readings.position[idx], readings.velocity[idx], readings.effort[idx], quat]
    )


@dataclass
class EstimatedState:
    """The estimator's output: what the Observation message carries."""

    stamp: float
    step: int
    episode: int
    names: tuple[str, ...]
    state: np.ndarray
    #: the leg odometry's base pose and twist (real legs), for odom and /tf; else None
    base: BasePose | None = None


class StateEstimator:
    """Turns readings into the task state; counts steps itself when readings carry none.

    With ``odometry`` (real legs: no ground truth) the base pose in the readings is replaced
    by the leg odometry's estimate before the task reads it, whatever the readings carried,
    so the state (and the trainer's reward on it) never uses a simulator's ground truth.
    """

    def __init__(self, task: Task, odometry: LegOdometry | None = None) -> None:
        self.task, self.odometry = task, odometry
        self._step = -1
        self.episode = 0
        self._episode_start: tuple[int, int] | None = None  # (episode, first step)

    def estimate(self, readings: SensorReadings) -> EstimatedState:
        """Estimate the state at ``readings.stamp``; non-finite readings raise ValueError."""
        step = readings.step if readings.step >= 0 else self._step + 1
        episode = readings.episode if readings.step >= 0 else self.episode
        start = self._episode_start
        if start is None or start[0] != episode or step < start[1]:  # new or respawned
            self._episode_start = (episode, step)
        readings.episode_time = (step - self._episode_start[1]) * self.task.dt
        base = None
        if self.odometry is not None:
            base = self.odometry.update(readings)
            readings = dataclasses.replace(readings, base=base)
        state = np.asarray(self.task.estimate(readings), dtype=np.float64)
        if state.shape != (len(self.task.state_names),):
            raise ValueError(
                f"{self.task.name} estimate has shape {state.shape}, "
                f"expected ({len(self.task.state_names)},)"
            )
        if not np.all(np.isfinite(state)):
            raise ValueError(f"non-finite estimated state at t={readings.stamp}: {state}")
        if readings.step >= 0:  # lock-step bridge: keep its numbering
            self._step, self.episode = readings.step, readings.episode
        else:  # hardware: steps are counted here, episodes set by whoever resets
            self._step += 1
        return EstimatedState(
            readings.stamp, self._step, self.episode, self.task.state_names, state, base
        )

    def new_episode(self, episode: int) -> None:
        """Start numbering ``episode`` (hardware path; lock-step bridges number their own)."""
        self.episode = int(episode)
