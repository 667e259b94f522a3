"""MinitaurEnv: gym compliance, 28-D observation, falling, latency, sensor noise, resets."""

import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from rl_control.envs.minitaur import MinitaurEnv
from rl_control.tasks import minitaur as mt

STAND = np.full(8, np.pi / 2, dtype=np.float32)


def actions(n: int, seed: int = 0) -> np.ndarray:
    """Small gait-like motions around the standing pose (keeps the robot up)."""
    t = np.arange(n)[:, None] * 0.01
    phase = np.random.default_rng(seed).uniform(0, 2 * np.pi, 8)
    return (STAND + 0.3 * np.sin(2 * np.pi * 2.0 * t + phase)).astype(np.float32)


def test_passes_gymnasium_env_checker():
    check_env(MinitaurEnv(), skip_render_check=True)


def test_observation_is_28d_with_a_unit_quaternion_and_standing_pose():
    env = MinitaurEnv()
    obs, info = env.reset(seed=0)
    assert obs.shape == (28,) and obs.dtype == np.float32
    blocks = mt.split_observation(obs)
    assert np.linalg.norm(blocks["base_orientation"]) == pytest.approx(1.0, abs=1e-5)
    assert np.allclose(blocks["motor_angles"], np.pi / 2, atol=0.15)
    assert info["base_position"][2] > 0.13
    for a in actions(100):
        obs, reward, term, trunc, info = env.step(a)
        assert not term
    assert info["base_position"][2] > 0.13
    assert np.abs(blocks["motor_torques"]).max() <= env.params.torque_limit


def test_collapsing_legs_terminate_below_013m():
    env = MinitaurEnv()
    env.reset(seed=0)
    for _ in range(200):
        _, _, term, trunc, info = env.step(np.zeros(8, dtype=np.float32))
        if term:
            break
    assert term and not trunc and info["base_position"][2] < 0.13


def test_reward_is_forward_progress_minus_energy_and_truncation_at_max_steps():
    env = MinitaurEnv(max_steps=30)
    _, info = env.reset(seed=0)
    x = info["base_position"][0]
    for i, a in enumerate(actions(30)):
        obs, reward, term, trunc, info = env.step(a)
        terms = info["reward_terms"]
        assert terms["forward"] == pytest.approx(info["base_position"][0] - x, abs=1e-12)
        b = mt.split_observation(obs)
        power = float(b["motor_torques"] @ b["motor_velocities"])
        assert terms["energy"] == pytest.approx(-0.005 * 0.01 * abs(power), rel=1e-4, abs=1e-9)
        assert reward == pytest.approx(terms["forward"] + terms["energy"])
        x = info["base_position"][0]
        assert trunc == (i == 29)


def run(env: MinitaurEnv, seed: int, n: int = 20) -> np.ndarray:
    out = [env.reset(seed=seed)[0]]
    out += [env.step(a)[0] for a in actions(n)]
    return np.stack(out)


def test_reset_restores_identical_physics_and_same_seed_same_trajectory():
    env = MinitaurEnv()
    first = run(env, seed=3)
    again = run(env, seed=3)  # after an episode on the same env
    assert np.array_equal(first, again)
    assert np.array_equal(first, run(MinitaurEnv(), seed=3))


def test_latency_returns_older_observations():
    plain, late = MinitaurEnv(), MinitaurEnv(latency=0.01)
    a, b = run(plain, 0), run(late, 0)
    # one control step (10 ms) of latency: the observation the plain env gave a step earlier
    assert np.allclose(b[2:], a[1:-1], atol=1e-5)
    assert not np.allclose(b[2:], a[2:], atol=1e-3)


def test_sub_step_latency_interpolates_between_physics_samples():
    fast = dict(control_dt=0.002, physics_substeps=1)
    plain, late = MinitaurEnv(**fast), MinitaurEnv(latency=0.001, **fast)
    a, b = run(plain, 0), run(late, 0)
    assert np.allclose(b[2:], (a[1:-1] + a[2:]) / 2, atol=1e-5)


def test_noise_is_reproducible_under_the_seed_and_sized_per_block():
    std = (0.01, 0.1, 0.05, 0.002)
    clean = run(MinitaurEnv(), 0, n=40)
    noisy = run(MinitaurEnv(noise_std=std), 0, n=40)
    assert np.array_equal(noisy, run(MinitaurEnv(noise_std=std), 0, n=40))
    assert not np.array_equal(noisy, run(MinitaurEnv(noise_std=std), 1, n=40))
    diff = noisy - clean  # noise does not touch the physics: the difference is the noise
    for (name, lo, hi), s in zip(mt.OBS_BLOCKS, std, strict=True):
        assert np.std(diff[:, lo:hi]) == pytest.approx(s, rel=0.25), name


def test_bad_inputs_raise():
    env = MinitaurEnv()
    env.reset(seed=0)
    with pytest.raises(ValueError, match="non-finite action"):
        env.step(np.full(8, np.nan))
    with pytest.raises(ValueError, match="8 motor angles"):
        env.step(np.zeros(7))
    with pytest.raises(ValueError, match="noise_std"):
        MinitaurEnv(noise_std=(0.1, 0.1))
    with pytest.raises(ValueError, match="unknown MinitaurParams params \\['kq'\\]"):
        MinitaurEnv(kq=1.0)
