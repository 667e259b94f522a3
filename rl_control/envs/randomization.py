"""Domain randomisation: a gymnasium wrapper that redraws the robot's physics every episode.

Driven by config: ``env: {domain_randomization: {base_mass_scale: [0.8, 1.2], ...}}`` in a
training YAML (``make_env`` builds the wrapper from that key; the other ``env`` keys stay
the task's parameters). Every range is uniform [low, high]; an equal pair fixes a value and
the nominal pair (1, 1) or (0, 0) switches a dimension off. Each draw comes from the wrapped
env's seeded ``np_random``, so a seed fixes the whole sequence of episodes' physics.

The env applies a draw through ``apply_variation(PhysicsVariation)`` (the Minitaur's
``MinitaurEnv`` implements it). Leg lengths are not randomised: PyBullet cannot change a
loaded body's link geometry, and rebuilding the URDF per episode would mean generating one.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np

from rl_control.tasks.params import RANDOMIZATION_KEY as CONFIG_KEY

Range = tuple[float, float]


@dataclass(frozen=True)
class RandomizationParams:
    """Uniform ranges (low, high) of each randomised quantity (Tan et al. 2018's, roughly)."""

    base_mass_scale: Range = (0.8, 1.2)  # times the URDF's base mass
    leg_mass_scale: Range = (0.8, 1.2)  # times the URDF's link masses (motors, legs)
    joint_friction: Range = (0.0, 0.05)  # N·m of Coulomb friction at every joint
    motor_strength: Range = (0.8, 1.2)  # times the actuator's torque (and its limit)
    ground_friction: Range = (0.5, 1.25)  # lateral friction coefficient of the floor
    latency: Range = (0.0, 0.01)  # s of observation latency
    #: Gaussian sensor-noise std per block (angles, velocities, torques, orientation)
    noise_angle: Range = (0.0, 0.01)  # rad
    noise_velocity: Range = (0.0, 0.1)  # rad/s
    noise_torque: Range = (0.0, 0.05)  # N·m
    noise_orientation: Range = (0.0, 0.005)  # quaternion units

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            try:
                low, high = (float(v) for v in value)
            except (TypeError, ValueError):
                raise ValueError(
                    f"{CONFIG_KEY}.{f.name} must be a [low, high] pair, got {value!r}"
                ) from None
            if not (np.isfinite(low) and np.isfinite(high) and 0 <= low <= high):
                raise ValueError(
                    f"{CONFIG_KEY}.{f.name} must be finite with 0 <= low <= high, got {value!r}"
                )
            object.__setattr__(self, f.name, (low, high))
        for name in ("base_mass_scale", "leg_mass_scale", "motor_strength"):
            if getattr(self, name)[0] <= 0:
                raise ValueError(f"{CONFIG_KEY}.{name} must stay above 0")

    @classmethod
    def from_config(cls, config: dict[str, Any] | None) -> RandomizationParams:
        """From the config mapping; unknown names raise ValueError naming them."""
        config = dict(config or {})
        known = sorted(f.name for f in dataclasses.fields(cls))
        unknown = sorted(set(config) - set(known))
        if unknown:
            raise ValueError(f"unknown {CONFIG_KEY} key(s) {unknown}; known: {known}")
        return cls(**config)


@dataclass(frozen=True)
class PhysicsVariation:
    """One draw: the values an env applies for an episode (nominal by default)."""

    base_mass_scale: float = 1.0
    leg_mass_scale: float = 1.0
    joint_friction: float = 0.0
    motor_strength: float = 1.0
    ground_friction: float = 1.0
    latency: float = 0.0
    noise_std: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)


_NOISE = ("noise_angle", "noise_velocity", "noise_torque", "noise_orientation")
#: the ranges that perturb what the env observes rather than its physics (the node graph's
#: estimator reads the bridge's sensors, so it cannot honour them)
SENSOR_RANGES = ("latency", *_NOISE)


def draw(rng: np.random.Generator, params: RandomizationParams) -> PhysicsVariation:
    """One variation, every value uniform in its range (a fixed number of draws, in order)."""
    names = [f.name for f in dataclasses.fields(params)]
    values = {n: float(rng.uniform(*getattr(params, n))) for n in names}
    noise = tuple(values.pop(n) for n in _NOISE)
    return PhysicsVariation(**values, noise_std=noise)  # type: ignore[arg-type]


class DomainRandomization(gym.Wrapper):
    """Redraws the physics at every reset; ``info["variation"]`` holds the episode's draw.

    A reset first resets the env (seeding its generator when a seed is given), draws from
    that generator, applies the draw, and resets again (no seed) so the episode starts under
    it: the initial observation already has the drawn latency and noise.
    """

    def __init__(self, env: gym.Env, params: RandomizationParams | None = None) -> None:
        super().__init__(env)
        if not callable(getattr(env.unwrapped, "apply_variation", None)):
            raise ValueError(
                f"{CONFIG_KEY}: env {type(env.unwrapped).__name__} cannot randomise its physics "
                "(it has no apply_variation)"
            )
        self.params = params or RandomizationParams()
        self.variation = PhysicsVariation()

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[Any, dict[str, Any]]:
        self.env.reset(seed=seed, options=options)
        self.variation = draw(self.env.unwrapped.np_random, self.params)
        self.env.unwrapped.apply_variation(self.variation)
        obs, info = self.env.reset(options=options)
        info["variation"] = dataclasses.asdict(self.variation)
        return obs, info
