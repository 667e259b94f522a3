"""Sensor readings exchanged between a bridge and the state estimator (ROS-free form).

Quaternions are stored in ROS order (x, y, z, w), the order of geometry_msgs/Quaternion and of
PyBullet; only :mod:`rl_control.roles.estimator` converts to transforms3d's (w, x, y, z).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class ImuReading:
    """What sensor_msgs/Imu carries: body orientation, body-frame rates and acceleration."""

    orientation_xyzw: np.ndarray  # [4]
    angular_velocity: np.ndarray  # [3] rad/s, body frame
    linear_acceleration: np.ndarray  # [3] m/s², body frame, gravity included (specific force)


@dataclass
class BasePose:
    """Ground-truth base pose and twist (nav_msgs/Odometry: pose in world, twist in body)."""

    position: np.ndarray  # [3]
    orientation_xyzw: np.ndarray  # [4]
    linear_velocity: np.ndarray  # [3] body frame
    angular_velocity: np.ndarray  # [3] body frame


@dataclass
class SensorReadings:
    """One control step's sensor snapshot of a bridge, stamped with (simulated) time."""

    stamp: float
    step: int
    episode: int
    joint_names: list[str]
    position: np.ndarray
    velocity: np.ndarray
    effort: np.ndarray
    imu: ImuReading | None = None
    base: BasePose | None = None
    #: action actually applied to reach this step (after clipping or a miss fallback)
    applied_action: np.ndarray = field(default_factory=lambda: np.zeros(0))
    #: seconds since the episode began (filled in by the estimator, which tracks episodes)
    episode_time: float = 0.0


#: the episode number (uint32 max, as rl_control_msgs carry it) of a gated hardware bridge's
#: readings while no episode runs (homing, holding home, fault, e-stop): the trainer ends
#: its episode at the first one and records none of them
BETWEEN_EPISODES = 2**32 - 1


def encode_step_tag(step: int, episode: int) -> str:
    """Lock-step tag carried in JointState.header.frame_id (unused by ROS for joint states)."""
    return f"step={int(step)};episode={int(episode)}"


def decode_step_tag(tag: str) -> tuple[int, int] | None:
    """(step, episode) from :func:`encode_step_tag`, or None for a plain (hardware) header."""
    if not tag.startswith("step="):
        return None
    try:
        fields = dict(part.split("=", 1) for part in tag.split(";"))
        return int(fields["step"]), int(fields["episode"])
    except (KeyError, ValueError):
        expected = "'step=<k>;episode=<e>'"
        raise ValueError(f"malformed lock-step tag {tag!r}; expected {expected}") from None
