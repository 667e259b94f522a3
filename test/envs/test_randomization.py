"""Domain randomisation: draws stay in the configured ranges, are reproducible under a seed,
and change the simulated robot; built from the config's ``env.domain_randomization``."""

import dataclasses

import numpy as np
import pytest

from rl_control.envs.minitaur import MinitaurEnv
from rl_control.envs.randomization import (
    DomainRandomization,
    PhysicsVariation,
    RandomizationParams,
    draw,
)
from rl_control.envs.registration import make_env
from rl_control.tasks.registry import make_task

NOMINAL = {
    "base_mass_scale": (1.0, 1.0), "leg_mass_scale": (1.0, 1.0), "joint_friction": (0.0, 0.0),
    "motor_strength": (1.0, 1.0), "ground_friction": (1.0, 1.0), "latency": (0.0, 0.0),
    "noise_angle": (0.0, 0.0), "noise_velocity": (0.0, 0.0), "noise_torque": (0.0, 0.0),
    "noise_orientation": (0.0, 0.0),
}  # fmt: skip
STAND = np.full(8, np.pi / 2, np.float32)


def gait(n: int) -> np.ndarray:
    t = np.arange(n)[:, None] * 0.01
    return (STAND + 0.3 * np.sin(2 * np.pi * 2.0 * t + np.arange(8))).astype(np.float32)


def trajectory(env, seed: int, n: int = 15) -> np.ndarray:
    out = [env.reset(seed=seed)[0]]
    out += [env.step(a)[0] for a in gait(n)]
    return np.stack(out)


def test_draws_stay_in_the_configured_ranges():
    params = RandomizationParams(base_mass_scale=(0.5, 0.6), latency=(0.002, 0.002))
    rng = np.random.default_rng(0)
    draws = [draw(rng, params) for _ in range(300)]
    ranges = dataclasses.asdict(params)
    noise = ("noise_angle", "noise_velocity", "noise_torque", "noise_orientation")
    for d in draws:
        values = dataclasses.asdict(d)
        for name, (low, high) in ranges.items():
            value = values["noise_std"][noise.index(name)] if name in noise else values[name]
            assert low <= value <= high, name
        assert d.latency == 0.002  # an equal pair fixes the value
    masses = np.array([d.base_mass_scale for d in draws])
    assert masses.min() < 0.51 and masses.max() > 0.59  # the whole range is used


def test_same_seed_same_physics_and_episodes_differ():
    def wrapped():
        return DomainRandomization(MinitaurEnv(), RandomizationParams())

    a, b = wrapped(), wrapped()
    first = [a.reset(seed=7)[1]["variation"] for _ in range(1)]
    first += [a.reset()[1]["variation"] for _ in range(2)]
    again = [b.reset(seed=7)[1]["variation"]] + [b.reset()[1]["variation"] for _ in range(2)]
    assert first == again
    assert first[0] != first[1] != first[2]  # each episode its own physics
    assert a.reset(seed=8)[1]["variation"] != first[0]
    assert np.array_equal(trajectory(wrapped(), 3), trajectory(wrapped(), 3))


def test_nominal_ranges_change_nothing_and_latency_matches_the_env_parameter():
    plain = trajectory(MinitaurEnv(), 0)
    assert np.array_equal(
        trajectory(DomainRandomization(MinitaurEnv(), RandomizationParams(**NOMINAL)), 0), plain
    )
    late = RandomizationParams(**{**NOMINAL, "latency": (0.01, 0.01)})
    delayed = trajectory(DomainRandomization(MinitaurEnv(), late), 0)
    assert np.array_equal(delayed, trajectory(MinitaurEnv(latency=0.01), 0))
    assert not np.array_equal(delayed, plain)


def test_a_draw_changes_mass_motor_strength_and_friction():
    env = MinitaurEnv(physics_substeps=1)  # one physics step: the torques of the reset state
    env.reset(seed=0)
    mass = env.total_mass()
    full = env.step(gait(1)[0])[0]
    env.apply_variation(PhysicsVariation(base_mass_scale=1.5, leg_mass_scale=1.5))
    assert env.total_mass() == pytest.approx(1.5 * mass)
    env.apply_variation(PhysicsVariation(motor_strength=0.5))
    assert env.total_mass() == pytest.approx(mass)
    env.reset(seed=0)
    weak = env.step(gait(1)[0])[0]
    assert np.allclose(weak[16:24], 0.5 * full[16:24], rtol=1e-5, atol=1e-6)  # τ halved
    stiff = MinitaurEnv()
    stiff.apply_variation(PhysicsVariation(joint_friction=0.5))
    moving = np.abs(trajectory(MinitaurEnv(), 0)[-1, 8:16]).mean()
    assert np.abs(trajectory(stiff, 0)[-1, 8:16]).mean() < 0.5 * moving


def test_built_from_the_env_config_key_with_one_line_errors():
    env = make_env("minitaur_tg", seed=1, domain_randomization={"latency": [0.0, 0.004]})
    assert isinstance(env, DomainRandomization) and env.params.latency == (0.0, 0.004)
    assert env.params.motor_strength == (0.8, 1.2)  # unnamed ranges keep their defaults
    # the wrapper key is an env setting, not a task parameter
    assert make_task("minitaur_tg", {"domain_randomization": {}}).act_dim == 8
    with pytest.raises(ValueError, match="unknown domain_randomization key.*'mass'"):
        make_env("minitaur", domain_randomization={"mass": [1, 2]})
    with pytest.raises(ValueError, match="domain_randomization.latency must be"):
        make_env("minitaur", domain_randomization={"latency": [0.01, 0.0]})
    with pytest.raises(ValueError, match="cannot randomise"):
        make_env("soft_wall_cartpole", domain_randomization={})
