"""Minitaur quadruped walking (Krolicki & Sutavani's TRPO/PPO locomotion slides).

Observation (28): 8 motor angles, 8 motor velocities, 8 motor torques, base orientation
quaternion (x, y, z, w). Action (8): desired motor angles, tracked by a PD actuator model
τ = clip(kp (q_d − q) − kd q̇, ±torque_limit) evaluated at every physics sub-step.
Reward: forward progress along x − w·Δt·|τ·q̇|. Terminated when the base is below 0.13 m,
truncated at 1000 control steps.

Motor angles use one convention for all legs (PyBullet's joint angle times the motor's
direction), as in the public pybullet minitaur example, so π/2 on every motor is the
standing pose whatever the side.

Pure functions, batched over leading axes, numpy or torch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from rl_control.tasks.base import LegModel, StateLayout, TaskDefinition

if TYPE_CHECKING:
    from rl_control.robot.sensors import SensorReadings

NUM_MOTORS = 8
OBS_DIM = 3 * NUM_MOTORS + 4
#: observation blocks, in order: (name, start, stop)
OBS_BLOCKS = (
    ("motor_angles", 0, 8),
    ("motor_velocities", 8, 16),
    ("motor_torques", 16, 24),
    ("base_orientation", 24, 28),
)
STANDING_ANGLE = math.pi / 2
LEGS = ("front_left", "back_left", "front_right", "back_right")
JOINT_NAMES = tuple(f"motor_{leg}{side}_joint" for leg in LEGS for side in "LR")
#: the task state: the observation's blocks (quaternion x, y, z, w), then the base's x and z
LAYOUT = StateLayout(
    (("angle", 8), ("velocity", 8), ("torque", 8), ("qx", 1), ("qy", 1), ("qz", 1), ("qw", 1),
     ("base_x", 1), ("base_z", 1))
)  # fmt: skip


@dataclass(frozen=True)
class MinitaurParams:
    """Actuator, timing, task and sensor parameters (SI units)."""

    control_dt: float = 0.01  # one action per 10 ms ...
    physics_substeps: int = 5  # ... integrated in 2 ms physics steps (PD at 500 Hz)
    kp: float = 8.0  # N·m/rad: a Minitaur motor's PWM gain 1.0 through its electrical model
    kd: float = 0.3  # N·m·s/rad
    torque_limit: float = 3.5  # N·m: the motor's saturation torque
    energy_weight: float = 0.005
    min_height: float = 0.13
    max_steps: int = 1000
    #: action box: desired angles within standing ± action_range (rad)
    action_range: float = math.pi / 2
    #: observation latency in seconds (slides: 0.001–0.002 s); interpolated at physics rate
    latency: float = 0.0
    #: Gaussian sensor noise std per block: angles, velocities, torques, orientation
    noise_std: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)
    #: physics steps holding the standing pose before the first episode (lets it land)
    settle_steps: int = 500

    @property
    def physics_dt(self) -> float:
        return self.control_dt / self.physics_substeps

    def __post_init__(self) -> None:
        for name in ("control_dt", "kp", "torque_limit", "max_steps", "physics_substeps"):
            if not getattr(self, name) > 0:
                raise ValueError(f"MinitaurParams.{name} must be > 0")
        for name in ("kd", "energy_weight", "latency", "settle_steps"):
            if getattr(self, name) < 0:
                raise ValueError(f"MinitaurParams.{name} must be >= 0")
        if not 0 < self.action_range <= math.pi:
            raise ValueError("MinitaurParams.action_range must be in (0, pi]")
        if len(self.noise_std) != 4 or min(self.noise_std) < 0:
            raise ValueError("MinitaurParams.noise_std needs 4 non-negative stds (one per block)")


def _lib(x: Any) -> Any:
    if isinstance(x, np.ndarray | np.generic | float | int):
        return np
    import torch

    return torch


def pd_torque(desired: Any, angle: Any, velocity: Any, params: MinitaurParams) -> Any:
    """PD actuator model τ = clip(kp (q_d − q) − kd q̇, ±torque_limit)."""
    raw = params.kp * (desired - angle) - params.kd * velocity
    return _lib(raw).clip(raw, -params.torque_limit, params.torque_limit)


def observation(angles: Any, velocities: Any, torques: Any, orientation: Any) -> Any:
    """The 28-D observation from its four blocks [..., 8], [..., 8], [..., 8], [..., 4]."""
    lib = _lib(angles)
    cat = np.concatenate if lib is np else lib.cat
    return cat([angles, velocities, torques, orientation], -1)


def split_observation(obs: Any) -> dict[str, Any]:
    """The named blocks of a 28-D observation (views, not copies)."""
    return {name: obs[..., a:b] for name, a, b in OBS_BLOCKS}


def reward_terms(
    x_before: Any, x_after: Any, torques: Any, velocities: Any, params: MinitaurParams
) -> dict[str, Any]:
    """Forward progress along x and the energy penalty −w·Δt·|τ·q̇| (Δt = control step)."""
    power = (torques * velocities).sum(-1)
    return {
        "forward": x_after - x_before,
        "energy": -params.energy_weight * params.control_dt * abs(power),
    }


def reward(
    x_before: Any, x_after: Any, torques: Any, velocities: Any, params: MinitaurParams
) -> Any:
    """r = (x_n − x_{n−1}) − w·Δt·|τ·q̇|."""
    terms = reward_terms(x_before, x_after, torques, velocities, params)
    return terms["forward"] + terms["energy"]


def terminated(base_height: Any, params: MinitaurParams) -> Any:
    """True where the base has fallen below ``min_height``."""
    return base_height < params.min_height


def noise_scale(params: MinitaurParams) -> np.ndarray:
    """Per-entry noise std [28] expanded from the per-block stds."""
    return np.repeat(np.asarray(params.noise_std, dtype=np.float64), [8, 8, 8, 4])


def graph_limits(p: MinitaurParams) -> dict[str, str]:
    """The sensor settings the node graph cannot reproduce: the env delays and perturbs its
    own observation, while the graph's estimator reads the bridge's sensors as they are (and
    delaying or perturbing those would also move the trainer's reward and termination, which
    the env computes on the true state)."""
    limits = {}
    if p.latency > 0:
        limits["latency"] = "the env delays its observation; the bridge's sensors are not"
    if any(v > 0 for v in p.noise_std):
        limits["noise_std"] = "the env adds noise to its observation; the bridge's are exact"
    return limits


def estimate(readings: SensorReadings, params: MinitaurParams) -> np.ndarray:
    """Motor states and the IMU quaternion, then the base position (odometry) x and z."""
    from rl_control.roles.estimator import quadruped_state  # IMU conventions live there

    if readings.base is None:
        raise ValueError("the minitaur estimate needs the base pose (odometry)")
    base = readings.base.position
    return np.concatenate([quadruped_state(readings, JOINT_NAMES), [base[0], base[2]]])


def legs(params: MinitaurParams) -> LegModel:
    """The four five-bar legs (:mod:`rl_control.tasks.minitaur_legs`)."""
    from rl_control.tasks import minitaur_legs  # it imports this module's names

    return LegModel(
        JOINT_NAMES, len(LEGS), minitaur_legs.feet, minitaur_legs.FOOT_HEIGHT,
        minitaur_legs.extension_torque, minitaur_legs.STANCE_TORQUE,
    )  # fmt: skip


def _state_reward_terms(s: Any, a: Any, s2: Any, p: MinitaurParams) -> dict[str, Any]:
    x, x2 = LAYOUT.get(s, "base_x"), LAYOUT.get(s2, "base_x")
    return reward_terms(x, x2, LAYOUT.get(s2, "torque"), LAYOUT.get(s2, "velocity"), p)


def _state_reward(s: Any, a: Any, s2: Any, p: MinitaurParams) -> Any:
    x, x2 = LAYOUT.get(s, "base_x"), LAYOUT.get(s2, "base_x")
    return reward(x, x2, LAYOUT.get(s2, "torque"), LAYOUT.get(s2, "velocity"), p)


DEFINITION = TaskDefinition(
    name="minitaur",
    params_cls=MinitaurParams,
    layout=LAYOUT,
    joint_names=JOINT_NAMES,
    env_id="rl_control/Minitaur-v0",
    entry_point="rl_control.envs.minitaur:MinitaurEnv",
    action_bounds=lambda p: (
        np.full(NUM_MOTORS, STANDING_ANGLE - p.action_range),
        np.full(NUM_MOTORS, STANDING_ANGLE + p.action_range),
    ),
    dt=lambda p: p.control_dt,
    max_steps=lambda p: p.max_steps,
    observation=lambda s, p: LAYOUT.get(s, "angle", "qw"),
    reward=_state_reward,
    reward_terms=_state_reward_terms,
    terminated=lambda s, p: terminated(LAYOUT.get(s, "base_z"), p),
    estimate=estimate,
    legs=legs,
    graph_limits=graph_limits,
)
