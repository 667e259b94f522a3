"""Latency history, observation noise wrapper and the NaN/inf guard."""

import gymnasium as gym
import numpy as np
import pytest

from rl_control.envs.two_link_leg import TwoLinkLegEnv
from rl_control.envs.wrappers import FiniteGuard, ObservationHistory, ObservationNoise


def test_history_interpolates_the_observation_latency_seconds_old():
    hist = ObservationHistory(latency=0.003, sample_dt=0.002)
    for k in range(6):
        hist.add(0.002 * k, np.array([10.0 * k, -k]))
    # latest at t = 0.010, so t = 0.007: halfway between samples 3 and 4
    assert np.allclose(hist.delayed(), [35.0, -3.5])


def test_history_before_the_first_sample_returns_the_oldest_and_zero_latency_the_newest():
    hist = ObservationHistory(latency=0.01, sample_dt=0.002)
    hist.add(0.0, np.array([1.0]))
    hist.add(0.002, np.array([2.0]))
    assert hist.delayed().tolist() == [1.0]
    now = ObservationHistory(latency=0.0, sample_dt=0.002)
    now.add(0.0, np.array([1.0]))
    now.add(0.002, np.array([2.0]))
    assert now.delayed().tolist() == [2.0]


def test_history_rejects_bad_use():
    with pytest.raises(ValueError, match="latency"):
        ObservationHistory(latency=-1.0, sample_dt=0.002)
    hist = ObservationHistory(latency=0.0, sample_dt=0.002)
    with pytest.raises(ValueError, match="empty"):
        hist.delayed()
    hist.add(1.0, np.zeros(1))
    with pytest.raises(ValueError, match="not after"):
        hist.add(1.0, np.zeros(1))


def noisy_obs(seed: int, std: float) -> np.ndarray:
    env = ObservationNoise(TwoLinkLegEnv(), std)
    out = [env.reset(seed=seed)[0]]
    out += [env.step(np.zeros(2))[0] for _ in range(5)]
    return np.stack(out)


def test_noise_wrapper_is_seeded_by_the_env():
    clean = noisy_obs(0, 0.0)
    a, b = noisy_obs(0, 0.1), noisy_obs(0, 0.1)
    assert np.array_equal(a, b)
    assert not np.array_equal(a, noisy_obs(1, 0.1))
    assert 0.05 < np.std(a - clean) < 0.2
    with pytest.raises(ValueError, match="noise std"):
        ObservationNoise(TwoLinkLegEnv(), -1.0)


class NanEnv(gym.Env):
    observation_space = gym.spaces.Box(-1.0, 1.0, (2,), np.float32)
    action_space = gym.spaces.Box(-1.0, 1.0, (1,), np.float32)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        return np.zeros(2, np.float32), {}

    def step(self, action):
        return np.array([np.nan, 0.0], np.float32), 0.0, False, False, {}


def test_finite_guard_names_the_bad_action_or_observation():
    env = FiniteGuard(NanEnv())
    env.reset(seed=0)
    with pytest.raises(ValueError, match="non-finite action"):
        env.step(np.array([np.inf], np.float32))
    with pytest.raises(ValueError, match="non-finite observation"):
        env.step(np.array([0.0], np.float32))
