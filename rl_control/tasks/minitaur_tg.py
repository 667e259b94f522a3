"""Minitaur with a trajectory-generator action space (Tan et al. 2018; PMTG, Iscen et al. 2018).

The policy no longer commands the 8 motor angles directly: an open-loop trotting reference in
*leg space* does, and the policy adds a bounded residual. Per leg, with both motors of the
leg at angles (m_a, m_b):

    swing s = the leg's rotation about the hip, extension e = how far the foot is out,
    m_a = e − σ s,  m_b = e + σ s   (σ = +1 for the left legs, −1 for the right legs)

(the leg model of PyBullet's Minitaur trotting env). The reference of a leg with phase φ is
``e = e0 + A_e cos φ``, ``s = s0 + A_s sin φ``: the foot goes round an ellipse once per
period. Diagonal legs (front-left with back-right, back-left with front-right) share their
phase and the two pairs are half a period apart: a trot at ``step_frequency`` (2 Hz).

Action: 8 residuals in leg space, swings of the 4 legs then their extensions, each within
±``residual_bound`` (0.25, Tan et al.); with ``modulate`` two more in [−1, 1] set the
generator's frequency (f0 + a·``frequency_range``) and amplitude scale (1 + a·
``amplitude_range``) for the step (PMTG). The generator's phase advances by 2π f Δt per
control step. Observation: the raw task's 28-D one plus (sin φ, cos φ) of the first pair.
Reward and termination are the raw task's (:mod:`rl_control.tasks.minitaur`).

The graph's state estimate reads the phase off the episode clock (``readings.episode_time``,
kept by the estimator): without ``modulate`` the generator's phase is a function of the time
since the episode began, :func:`clock_phase`, which the env uses too. With ``modulate`` the
phase integrates the policy's frequency actions, so that variant has no estimate from sensor
readings and the estimate refuses it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from rl_control.tasks import minitaur as mt
from rl_control.tasks.base import StateLayout, TaskDefinition

if TYPE_CHECKING:
    from rl_control.robot.sensors import SensorReadings

NUM_LEGS = 4
#: +1 for the left legs, −1 for the right ones (legs in the order of ``minitaur.LEGS``)
LEG_SIGNS = np.array([1.0, 1.0, -1.0, -1.0])
#: phase offset of each leg: front-left and back-right lead, back-left and front-right follow
LEG_PHASE_OFFSETS = np.array([0.0, math.pi, math.pi, 0.0])
OBS_DIM = mt.OBS_DIM + 2
LAYOUT = StateLayout(mt.LAYOUT.fields + (("phase_sin", 1), ("phase_cos", 1)))


@dataclass(frozen=True)
class MinitaurTGParams(mt.MinitaurParams):
    """The raw task's parameters plus the trajectory generator's (rad, Hz)."""

    step_frequency: float = 2.0  # Hz: Tan et al.'s trotting reference
    swing_amplitude: float = 0.3  # rad: PyBullet's Minitaur trotting env
    extension_amplitude: float = 0.35  # rad: ditto
    #: leg extension the reference oscillates about: the standing pose's (motors at π/2)
    #: that every episode starts from (PyBullet's trotting env uses 2.0 from its own reset)
    extension_center: float = mt.STANDING_ANGLE
    swing_center: float = 0.0
    residual_bound: float = 0.25  # rad in leg space (Tan et al.: ±0.25)
    #: PMTG: two extra actions modulate the generator's frequency and amplitude
    modulate: bool = False
    frequency_range: float = 1.0  # Hz: f = step_frequency + a·frequency_range, a ∈ [−1, 1]
    amplitude_range: float = 0.5  # amplitude scale 1 + a·amplitude_range

    def __post_init__(self) -> None:
        super().__post_init__()
        for name in ("step_frequency", "residual_bound"):
            if not getattr(self, name) > 0:
                raise ValueError(f"MinitaurTGParams.{name} must be > 0")
        for name in ("swing_amplitude", "extension_amplitude"):
            if getattr(self, name) < 0:
                raise ValueError(f"MinitaurTGParams.{name} must be >= 0")
        if not 0 <= self.frequency_range < self.step_frequency:
            raise ValueError("MinitaurTGParams.frequency_range must be in [0, step_frequency)")
        if not 0 <= self.amplitude_range <= 1:
            raise ValueError("MinitaurTGParams.amplitude_range must be in [0, 1]")


def _lib(x: Any) -> Any:
    return np if isinstance(x, np.ndarray | np.generic | float | int) else __import__("torch")


def leg_to_motor(swing: Any, extension: Any) -> Any:
    """Motor angles [..., 8] (L then R motor of each leg) from swing and extension [..., 4]."""
    lib = _lib(swing)
    signs = LEG_SIGNS if lib is np else lib.as_tensor(LEG_SIGNS, dtype=swing.dtype)
    a, b = extension - signs * swing, extension + signs * swing
    return lib.stack([a, b], -1).reshape(*a.shape[:-1], 2 * NUM_LEGS)


def motor_to_leg(motors: Any) -> tuple[Any, Any]:
    """(swing, extension) [..., 4] of motor angles [..., 8]: the inverse of leg_to_motor."""
    a, b = motors[..., 0::2], motors[..., 1::2]
    signs = LEG_SIGNS if _lib(motors) is np else _lib(motors).as_tensor(LEG_SIGNS)
    return (b - a) / 2 * signs, (a + b) / 2


def reference(phase: Any, p: MinitaurTGParams, scale: Any = 1.0) -> tuple[Any, Any]:
    """The trotting reference (swing, extension) [..., 4] at generator phase [...] (rad)."""
    lib = _lib(phase)
    offsets = LEG_PHASE_OFFSETS if lib is np else lib.as_tensor(LEG_PHASE_OFFSETS)
    leg_phase = phase[..., None] + offsets if hasattr(phase, "shape") else phase + offsets
    scale = scale[..., None] if hasattr(scale, "shape") else scale
    swing = p.swing_center + scale * p.swing_amplitude * lib.sin(leg_phase)
    extension = p.extension_center + scale * p.extension_amplitude * lib.cos(leg_phase)
    return swing, extension


def split_action(action: Any, p: MinitaurTGParams) -> tuple[Any, Any, Any]:
    """(swing residual [..., 4], extension residual [..., 4], modulation [..., 2] or None)."""
    mod = action[..., 2 * NUM_LEGS :] if p.modulate else None
    return action[..., :NUM_LEGS], action[..., NUM_LEGS : 2 * NUM_LEGS], mod


def modulation(action: Any, p: MinitaurTGParams) -> tuple[Any, Any]:
    """(frequency Hz, amplitude scale) the action sets: the nominal ones without PMTG."""
    _, _, mod = split_action(action, p)
    if mod is None:
        return p.step_frequency, 1.0
    mod = _lib(mod).clip(mod, -1.0, 1.0)
    return (
        p.step_frequency + p.frequency_range * mod[..., 0],
        1.0 + p.amplitude_range * mod[..., 1],
    )


def motor_targets(action: Any, phase: Any, p: MinitaurTGParams) -> Any:
    """Desired motor angles [..., 8]: reference at ``phase`` plus the clipped residual."""
    lib = _lib(action)
    bound = p.residual_bound
    d_swing, d_ext, _ = split_action(lib.clip(action, -bound, bound), p)
    _, scale = modulation(action, p)
    swing, extension = reference(phase, p, scale)
    return leg_to_motor(swing + d_swing, extension + d_ext)


def next_phase(phase: Any, action: Any, p: MinitaurTGParams) -> Any:
    """The phase one control step later (wrapped into [0, 2π))."""
    frequency, _ = modulation(action, p)
    return (phase + 2 * math.pi * frequency * p.control_dt) % (2 * math.pi)


def clock_phase(t: Any, p: MinitaurTGParams) -> Any:
    """The unmodulated generator's phase ``t`` seconds into an episode, in [0, 2π): the one
    rule the env (steps × control_dt) and the graph's estimate (the episode clock) share."""
    return (2 * math.pi * p.step_frequency * t) % (2 * math.pi)


def estimate(readings: SensorReadings, p: MinitaurTGParams) -> np.ndarray:
    """The raw task's estimate, then (sin φ, cos φ) of the phase at the episode's time."""
    if p.modulate:
        raise ValueError(
            "minitaur_tg with modulate: true has no state estimate from sensor readings: its "
            "generator phase integrates the policy's frequency actions, not the episode clock "
            "(the node graph runs it with modulate: false)"
        )
    phase = clock_phase(readings.episode_time, p)
    return np.concatenate([mt.estimate(readings, p), [math.sin(phase), math.cos(phase)]])


def graph_limits(p: MinitaurTGParams) -> dict[str, str]:
    """The raw task's (latency, sensor noise), and ``modulate``, which has no estimate."""
    limits = mt.graph_limits(p)
    if p.modulate:
        limits["modulate"] = (
            "the generator's phase then integrates the policy's frequency "
            "actions, which no sensor or episode clock gives the graph's estimator"
        )
    return limits


def action_bounds(p: MinitaurTGParams) -> tuple[np.ndarray, np.ndarray]:
    high = np.concatenate(
        [np.full(2 * NUM_LEGS, p.residual_bound), np.ones(2 if p.modulate else 0)]
    )
    return -high, high


def _state_reward_terms(s: Any, a: Any, s2: Any, p: MinitaurTGParams) -> dict[str, Any]:
    x, x2 = LAYOUT.get(s, "base_x"), LAYOUT.get(s2, "base_x")
    return mt.reward_terms(x, x2, LAYOUT.get(s2, "torque"), LAYOUT.get(s2, "velocity"), p)


def _state_reward(s: Any, a: Any, s2: Any, p: MinitaurTGParams) -> Any:
    terms = _state_reward_terms(s, a, s2, p)
    return terms["forward"] + terms["energy"]


def _observation(s: Any, p: MinitaurTGParams) -> Any:
    sensors, phase = LAYOUT.get(s, "angle", "qw"), LAYOUT.get(s, "phase_sin", "phase_cos")
    lib = _lib(s)
    return (np.concatenate if lib is np else lib.cat)([sensors, phase], -1)


DEFINITION = TaskDefinition(
    name="minitaur_tg",
    params_cls=MinitaurTGParams,
    layout=LAYOUT,
    joint_names=mt.JOINT_NAMES,
    env_id="rl_control/MinitaurTG-v0",
    entry_point="rl_control.envs.minitaur_tg:MinitaurTGEnv",
    action_bounds=action_bounds,
    dt=lambda p: p.control_dt,
    max_steps=lambda p: p.max_steps,
    observation=_observation,
    reward=_state_reward,
    reward_terms=_state_reward_terms,
    terminated=lambda s, p: mt.terminated(LAYOUT.get(s, "base_z"), p),
    estimate=estimate,
    legs=mt.legs,
    graph_limits=graph_limits,
)
