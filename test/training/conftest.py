"""A tiny deterministic env so runner tests do not depend on PyBullet or the task registry."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import pytest


class PointMass(gym.Env):
    """1-D point mass pushed toward the origin: obs (x, v), force in [-1, 1], 50-step episodes."""

    def __init__(self, horizon: int = 50, nan_at: int | None = None) -> None:
        self.observation_space = gym.spaces.Box(-np.inf, np.inf, (2,), np.float64)
        self.action_space = gym.spaces.Box(-1.0, 1.0, (1,), np.float32)
        self.horizon, self.nan_at = horizon, nan_at
        self.state = np.zeros(2)
        self.t = 0
        self.total_steps = 0

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple:
        super().reset(seed=seed)
        self.state = self.np_random.uniform(-1.0, 1.0, size=2)
        self.t = 0
        return self.state.copy(), {}

    def step(self, action: np.ndarray) -> tuple:
        x, v = self.state
        v = 0.9 * v + 0.1 * float(action[0])
        x = x + 0.1 * v
        self.state = np.array([x, v])
        self.t += 1
        self.total_steps += 1
        obs = self.state.copy()
        if self.nan_at is not None and self.total_steps >= self.nan_at:
            obs[0] = np.nan
        return obs, 1.0 - x * x, bool(abs(x) > 3.0), self.t >= self.horizon, {}


def make_point_mass(task: str, seed: int | None = None, **params: Any) -> gym.Env:
    """Stand-in for rl_control.envs.registration.make_env with one task, 'point_mass'."""
    if task != "point_mass":
        raise ValueError(f"unknown task {task!r}")
    env = PointMass(**params)
    if seed is not None:
        env.reset(seed=seed)
    return env


@pytest.fixture
def env_factory():
    return make_point_mass
