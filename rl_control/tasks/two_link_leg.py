"""Two-link (2R) leg tracking a semi-elliptical foot trajectory (M-DeMoRL paper, Sec. V).

The hip is fixed in the air; hip and knee are torque-controlled revolute joints about the
lateral axis, control at 500 Hz. Frame: x forward, z up, origin at the hip. Joint angles are
measured from the downward vertical, positive swinging the foot forward, so the foot is at
p = (l1 sin q1 + l2 sin(q1+q2), −l1 cos q1 − l2 cos(q1+q2)).
State s = (q1, q2, q̇1, q̇2); time t enters through the gait phase φ = 2π t / period.

The paper gives only the control rate, the reward and "1000 interactions per epoch"; the
rest is chosen here and documented on :class:`TwoLinkLegParams`:
- the desired foot path is a semi-ellipse: swing along the upper half of an ellipse of
  half-length ``step_length/2`` and height ``step_height`` centred at ``center``, stance
  back along its chord, p_d = (c_x − a cos φ, c_z + b·max(sin φ, 0));
- the reward is r = 0.8 exp(−‖e_p‖²) + 0.2 exp(−‖e_v‖²) with errors measured in units of
  1/``error_scale`` metres (default decimetres: in metres the exponent of a 5 cm error is
  −0.0025 and the reward would be flat); ``error_scale=1`` gives the SI formula;
- an episode is 1000 steps (2 s, four gait cycles), matching the paper's epochs.

All functions are pure, batched over leading axes, and work on numpy arrays and torch
tensors alike, so the env, MPC models and nodes share them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from rl_control.tasks.base import StateLayout, TaskDefinition, joint_indices

if TYPE_CHECKING:
    from rl_control.robot.sensors import SensorReadings

STATE_NAMES = ("q_hip", "q_knee", "qd_hip", "qd_knee")
JOINT_NAMES = ("hip", "knee")
#: the task state: the joint state and the time that moves the tracking target
LAYOUT = StateLayout(tuple((name, 1) for name in STATE_NAMES) + (("t", 1),))
OBS_NAMES = STATE_NAMES + ("ex", "ez", "cos_phase", "sin_phase")
POSITION_WEIGHT = 0.8
VELOCITY_WEIGHT = 0.2


@dataclass(frozen=True)
class TwoLinkLegParams:
    """Leg, trajectory and task parameters (SI units); choices where the paper is silent."""

    thigh_length: float = 0.15
    shank_length: float = 0.15
    thigh_mass: float = 0.25  # uniform rods: centre of mass mid-link, inertia m l²/12
    shank_mass: float = 0.15
    joint_damping: float = 0.0  # viscous, N·m·s/rad
    gravity: float = 9.81
    max_torque: float = 3.0  # N·m per joint (a small BLDC leg)
    dt: float = 0.002  # 500 Hz torque control, one physics step per control step
    max_steps: int = 1000
    period: float = 0.5  # s per gait cycle
    step_length: float = 0.10  # chord of the semi-ellipse
    step_height: float = 0.05
    center: tuple[float, float] = (0.0, -0.22)  # middle of the chord, hip frame
    error_scale: float = 10.0  # errors in decimetres inside the exponentials
    init_noise: float = 0.05  # rad, uniform around the IK solution of p_d(0)

    def __post_init__(self) -> None:
        for name in (
            "thigh_length",
            "shank_length",
            "thigh_mass",
            "shank_mass",
            "dt",
            "max_torque",
            "period",
            "error_scale",
        ):
            if not getattr(self, name) > 0:
                raise ValueError(f"TwoLinkLegParams.{name} must be > 0")
        reach = math.hypot(*self.center) + max(self.step_length / 2, self.step_height)
        if reach >= self.thigh_length + self.shank_length:
            raise ValueError("TwoLinkLegParams: the foot trajectory leaves the leg's reach")


def _lib(x: Any) -> Any:
    """numpy for numpy/scalars, torch for tensors (imported lazily: numpy users need no torch)."""
    if isinstance(x, np.ndarray | np.generic | float | int):
        return np
    import torch

    return torch


def _stack(lib: Any, parts: list[Any], axis: int = -1) -> Any:
    """``lib.stack(parts, axis)``; a plain array for numpy scalars (np.stack costs ~3 µs)."""
    if lib is np and isinstance(parts[0], np.generic | float):
        return np.array(parts)
    return lib.stack(parts, axis)


def forward_kinematics(q: Any, params: TwoLinkLegParams = TwoLinkLegParams()) -> Any:
    """Foot position p = (x, z) [..., 2] in the hip frame from joint angles q [..., 2]."""
    lib = _lib(q)
    l1, l2 = params.thigh_length, params.shank_length
    q1, q12 = q[..., 0], q[..., 0] + q[..., 1]
    return _stack(
        lib, [l1 * lib.sin(q1) + l2 * lib.sin(q12), -l1 * lib.cos(q1) - l2 * lib.cos(q12)], -1
    )


def foot_velocity(state: Any, params: TwoLinkLegParams = TwoLinkLegParams()) -> Any:
    """Foot velocity ṗ = J(q) q̇ [..., 2] from the state [..., 4]."""
    lib = _lib(state)
    l1, l2 = params.thigh_length, params.shank_length
    q1, q12 = state[..., 0], state[..., 0] + state[..., 1]
    w1, w12 = state[..., 2], state[..., 2] + state[..., 3]
    return _stack(
        lib,
        [
            l1 * lib.cos(q1) * w1 + l2 * lib.cos(q12) * w12,
            l1 * lib.sin(q1) * w1 + l2 * lib.sin(q12) * w12,
        ],
        -1,
    )


def inverse_kinematics(p: Any, params: TwoLinkLegParams = TwoLinkLegParams()) -> np.ndarray:
    """Joint angles [..., 2] reaching foot position p [..., 2] with the knee bent backwards."""
    p = np.asarray(p, dtype=np.float64)
    l1, l2 = params.thigh_length, params.shank_length
    x, z = p[..., 0], p[..., 1]
    cos_knee = (x**2 + z**2 - l1**2 - l2**2) / (2 * l1 * l2)
    if np.any(np.abs(cos_knee) > 1):
        raise ValueError(f"inverse_kinematics: foot position {p.tolist()} is out of reach")
    knee = -np.arccos(cos_knee)  # negative: the shank folds backwards, like a quadruped's leg
    hip = np.arctan2(x, -z) - np.arctan2(l2 * np.sin(knee), l1 + l2 * np.cos(knee))
    return np.stack([hip, knee], -1)


def phase(t: Any, params: TwoLinkLegParams = TwoLinkLegParams()) -> Any:
    """Gait phase φ = 2π t / period (not wrapped)."""
    return 2 * math.pi * t / params.period


def desired_foot(t: Any, params: TwoLinkLegParams = TwoLinkLegParams()) -> tuple[Any, Any]:
    """(p_d, ṗ_d) [..., 2] of the semi-elliptical trajectory at time t [...]."""
    lib = _lib(t)
    phi = phase(t, params)
    omega = 2 * math.pi / params.period
    a, b = params.step_length / 2, params.step_height
    cx, cz = params.center
    sin, cos = lib.sin(phi), lib.cos(phi)
    swing = sin > 0  # upper half of the ellipse; the stance half is flattened onto the chord
    pos = _stack(lib, [cx - a * cos, cz + b * (sin * swing)], -1)
    vel = _stack(lib, [a * omega * sin, b * omega * (cos * swing)], -1)
    return pos, vel


def tracking_errors(
    state: Any, t: Any, params: TwoLinkLegParams = TwoLinkLegParams()
) -> tuple[Any, Any]:
    """(p − p_d, ṗ − ṗ_d) [..., 2] in metres and m/s."""
    p_d, v_d = desired_foot(t, params)
    return forward_kinematics(state[..., :2], params) - p_d, foot_velocity(state, params) - v_d


def reward_terms(
    state: Any, t: Any, params: TwoLinkLegParams = TwoLinkLegParams(), errors: Any = None
) -> dict:
    """The two tracking terms of r = 0.8 exp(−‖p − p_d‖²) + 0.2 exp(−‖ṗ − ṗ_d‖²).

    ``errors``: :func:`tracking_errors` already computed for (state, t), to reuse them.
    """
    lib = _lib(state)
    e_p, e_v = errors if errors is not None else tracking_errors(state, t, params)
    k2 = params.error_scale**2
    return {
        "position": POSITION_WEIGHT * lib.exp(-k2 * (e_p**2).sum(-1)),
        "velocity": VELOCITY_WEIGHT * lib.exp(-k2 * (e_v**2).sum(-1)),
    }


def reward(state: Any, t: Any, params: TwoLinkLegParams = TwoLinkLegParams()) -> Any:
    """r(s, t); equals 1 exactly on the desired trajectory."""
    terms = reward_terms(state, t, params)
    return terms["position"] + terms["velocity"]


def observation(
    state: Any, t: Any, params: TwoLinkLegParams = TwoLinkLegParams(), errors: Any = None
) -> Any:
    """(q, q̇, p − p_d, cos φ, sin φ) [..., 8]: the phase makes the tracking task Markov.

    ``errors``: :func:`tracking_errors` already computed for (state, t), to reuse them.
    """
    lib = _lib(state)
    if errors is None:
        p_d, _ = desired_foot(t, params)
        err = forward_kinematics(state[..., :2], params) - p_d
    else:
        err = errors[0]
    phi = phase(t, params)
    cat = np.concatenate if lib is np else lib.cat
    return cat([state, err, _stack(lib, [lib.cos(phi), lib.sin(phi)], -1)], -1)


def terminated(state: Any, params: TwoLinkLegParams = TwoLinkLegParams()) -> Any:
    """The fixed-hip leg has no failure state: never terminates (only truncation)."""
    if _lib(state) is np:
        return np.zeros(np.shape(state)[:-1], dtype=bool)
    return state[..., 0] != state[..., 0].detach()  # False everywhere, same device/shape


def sample_initial_state(
    rng: np.random.Generator, params: TwoLinkLegParams = TwoLinkLegParams()
) -> np.ndarray:
    """At rest near the IK solution of the trajectory's start point p_d(0)."""
    p0, _ = desired_foot(np.float64(0.0), params)
    q0 = inverse_kinematics(p0, params)
    q = q0 + rng.uniform(-params.init_noise, params.init_noise, size=2)
    return np.concatenate([q, np.zeros(2)])


def _joints(state: Any) -> Any:
    return LAYOUT.get(state, "q_hip", "qd_knee")


def estimate(readings: SensorReadings, params: TwoLinkLegParams) -> np.ndarray:
    """Joint positions and rates, then the episode time (the target moves with it)."""
    idx = joint_indices(readings, JOINT_NAMES)
    return np.concatenate(
        [readings.position[idx], readings.velocity[idx], [readings.episode_time]]
    )


def _initial_state(rng: np.random.Generator, params: TwoLinkLegParams) -> np.ndarray:
    return np.concatenate([sample_initial_state(rng, params), [0.0]])


def targets(state: np.ndarray, params: TwoLinkLegParams) -> dict[str, np.ndarray]:
    """The desired foot position at the state's time, in the hip frame (x forward, z up)."""
    p_d, _ = desired_foot(np.float64(LAYOUT.get(state, "t")), params)
    return {"foot_target": np.array([p_d[0], 0.0, p_d[1]])}


def _dynamics(params: TwoLinkLegParams) -> Any:
    """The rigid-body model from the leg's URDF (two_link_leg_model.py; imported here lazily:
    it imports this module)."""
    from rl_control.tasks.two_link_leg_model import LegDynamics

    return LegDynamics(params)


def _differentiable(params: TwoLinkLegParams) -> Any:
    from rl_control.tasks.two_link_leg_model import differentiable_step

    return differentiable_step(params)


DEFINITION = TaskDefinition(
    name="two_link_leg",
    params_cls=TwoLinkLegParams,
    layout=LAYOUT,
    joint_names=JOINT_NAMES,
    env_id="rl_control/TwoLinkLeg-v0",
    entry_point="rl_control.envs.two_link_leg:TwoLinkLegEnv",
    action_bounds=lambda p: (np.full(2, -p.max_torque), np.full(2, p.max_torque)),
    dt=lambda p: p.dt,
    max_steps=lambda p: p.max_steps,
    observation=lambda s, p: observation(_joints(s), LAYOUT.get(s, "t"), p),
    reward=lambda s, a, s2, p: reward(_joints(s2), LAYOUT.get(s2, "t"), p),
    reward_terms=lambda s, a, s2, p: reward_terms(_joints(s2), LAYOUT.get(s2, "t"), p),
    terminated=lambda s, p: terminated(_joints(s), p),
    estimate=estimate,
    sample_initial_state=_initial_state,
    targets=targets,
    dynamics=_dynamics,
    differentiable=_differentiable,
)
