"""Test helpers: a tiny continuous control env and a minimal collect-and-update loop.

The real runner lives in rl_control/training/; this loop only exercises the Algorithm
contract (act -> env step -> record -> update) the way that runner and the ROS trainer do.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np

from rl_control.algorithms.base import Algorithm
from rl_control.envs.vector import SyncVectorEnv
from rl_control.policies.base import Policy


class PointMass1D(gym.Env):
    """Drive a 1-D point mass to the origin with a force in [-2, 2]; 50-step episodes.

    Reward 1 - x^2 - 0.1 v^2 - 0.01 a^2 per step; leaving |x| <= 2 terminates (losing the
    remaining positive rewards), so both termination and truncation occur.
    """

    def __init__(self, horizon: int = 50) -> None:
        self.observation_space = gym.spaces.Box(-np.inf, np.inf, (2,), np.float32)
        self.action_space = gym.spaces.Box(-2.0, 2.0, (1,), np.float32)
        self.horizon = horizon
        self.state = np.zeros(2)
        self.t = 0

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        self.state = np.array([self.np_random.uniform(-1.0, 1.0), 0.0])
        self.t = 0
        return self.state.astype(np.float32), {}

    def step(self, action: np.ndarray):
        a = float(np.clip(action[0], -2.0, 2.0))
        x, v = self.state
        v = v + 0.1 * (a - 0.2 * v)
        x = x + 0.1 * v
        self.state = np.array([x, v])
        self.t += 1
        reward = 1.0 - x * x - 0.1 * v * v - 0.01 * a * a
        terminated = abs(x) > 2.0
        truncated = self.t >= self.horizon and not terminated
        return self.state.astype(np.float32), reward, terminated, truncated, {}


def make_vec(num_envs: int) -> SyncVectorEnv:
    return SyncVectorEnv([PointMass1D for _ in range(num_envs)])


def train(algo: Algorithm, num_envs: int, total_steps: int, seed: int) -> list[dict]:
    """Collect with ``algo.act``, feed ``algo.record``, update when ready; returns the stats."""
    env = make_vec(num_envs)
    obs = env.reset(seed=seed)
    stats = []
    for _ in range(total_steps // num_envs):
        out = algo.act(obs)
        step = env.step(out.action)
        algo.record(obs, out, step.reward, step.terminated, step.truncated, step.next_obs)
        obs = step.obs
        if algo.ready():
            stats.append(algo.update())
    env.close()
    return stats


def evaluate(policy: Policy, episodes: int = 16, seed: int = 1234) -> float:
    """Mean deterministic return over ``episodes`` episodes (one per env)."""
    env = make_vec(episodes)
    obs = env.reset(seed=seed)
    returns = np.full(episodes, np.nan)
    while np.isnan(returns).any():
        step = env.step(policy.act(obs, deterministic=True).mean)
        done = np.isnan(returns) & ~np.isnan(step.episode_return)
        returns[done] = step.episode_return[done]
        obs = step.obs
    env.close()
    return float(returns.mean())
