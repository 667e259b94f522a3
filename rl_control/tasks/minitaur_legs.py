"""Minitaur leg kinematics: foot positions and velocities in the base frame from motor states.

Each leg is a symmetric five-bar: two coaxial motors, upper links of ``UPPER`` m, lower links
of ``LOWER`` m meeting at the foot. In the leg's plane (the x-z plane of its chassis side,
rolled by ``ROLL`` about x), a motor of sign ``s`` at (task-convention) angle θ points its
upper link along (s sin θ, cos θ); the foot lies on the bisector of the two upper links at
r(δ) = l1 cos δ + sqrt(l2² − l1² sin² δ) from the motor axis, δ being half their spread.
Numbers from pybullet_data's quadruped/minitaur.urdf (chassis offsets, motor origins, link
lengths, knee anchors); the PyBullet world is the reference in test/tasks/test_minitaur_legs.py.

Pure numpy, one reading at a time (the estimator's use).
"""

from __future__ import annotations

import numpy as np

from rl_control.tasks.minitaur import JOINT_NAMES, LEGS

UPPER, LOWER = 0.115, 0.2  # m: motor axis -> knee (0.06 + 0.055), knee -> foot anchor
HIP_X = 0.21  # m: motor axes at x = ±HIP_X in the chassis frames
CHASSIS_Y = 0.10  # m: chassis sides at y = ±CHASSIS_Y ...
ROLL = 0.0872665  # rad: ... rolled by ±ROLL about x (left +, right −)
#: the foot's y in its rolled chassis frame (where the two lower links meet)
FOOT_Y = {"left": -0.01, "right": 0.005}
#: height of the foot point above the ground when it stands (the box foot sinks into the
#: compliant contact; measured at the settled standing pose)
FOOT_HEIGHT = 0.003
#: N·m of extension torque above which a leg carries the robot: on a trotting gait the
#: PyBullet contacts give stance 10th percentile 0.52, swing 90th percentile 0.05
STANCE_TORQUE = 0.3


def _leg_frames() -> list[tuple[np.ndarray, np.ndarray, float, float, int, int]]:
    """Per leg: chassis origin, chassis rotation, hip x, foot y, and the motor indices of
    its forward-pointing (s = +1) and backward-pointing (s = −1) motors."""
    frames = []
    for leg in LEGS:
        side = "left" if leg.endswith("left") else "right"
        sign = 1.0 if side == "left" else -1.0
        c, s = np.cos(sign * ROLL), np.sin(sign * ROLL)
        rot = np.array([[1.0, 0.0, 0.0], [0.0, c, -s], [0.0, s, c]])
        origin = np.array([0.0, sign * CHASSIS_Y, 0.0])
        hip_x = HIP_X if leg.startswith("front") else -HIP_X
        order = ("R", "L") if side == "left" else ("L", "R")  # the forward motor first
        forward, backward = (JOINT_NAMES.index(f"motor_{leg}{m}_joint") for m in order)
        frames.append((origin, rot, hip_x, FOOT_Y[side], forward, backward))
    return frames


FRAMES = _leg_frames()


def feet(q: np.ndarray, qdot: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Foot positions and velocities [4, 3] in the base frame (legs in ``LEGS`` order) from
    the 8 motor angles and rates (task order and convention)."""
    q, qdot = np.asarray(q, dtype=np.float64), np.asarray(qdot, dtype=np.float64)
    if q.shape != (8,) or qdot.shape != (8,):
        raise ValueError(f"Minitaur legs need 8 motor angles and rates, got {q.shape}, "
                         f"{qdot.shape}")  # fmt: skip
    pos, vel = np.zeros((4, 3)), np.zeros((4, 3))
    for i, (origin, rot, hip_x, foot_y, a, b) in enumerate(FRAMES):
        phi, delta = 0.5 * (q[b] - q[a]), np.pi - 0.5 * (q[a] + q[b])
        dphi, ddelta = 0.5 * (qdot[b] - qdot[a]), -0.5 * (qdot[a] + qdot[b])
        sin_d, cos_d = np.sin(delta), np.cos(delta)
        root = np.sqrt(max(LOWER**2 - (UPPER * sin_d) ** 2, 1e-12))
        r = UPPER * cos_d + root
        dr = (-UPPER * sin_d - UPPER**2 * sin_d * cos_d / root) * ddelta
        sin_p, cos_p = np.sin(phi), np.cos(phi)
        plane = np.array([hip_x + r * sin_p, foot_y, -r * cos_p])
        plane_rate = np.array([dr * sin_p + r * cos_p * dphi, 0.0,
                               -dr * cos_p + r * sin_p * dphi])  # fmt: skip
        pos[i], vel[i] = origin + rot @ plane, rot @ plane_rate
    return pos, vel


def extension_torque(effort: np.ndarray) -> np.ndarray:
    """Per leg [4], the two motors' summed torque (task convention): positive extends the
    leg, as a foot pressing on the ground needs."""
    effort = np.asarray(effort, dtype=np.float64)
    return np.array([effort[a] + effort[b] for *_, a, b in FRAMES])
