"""A tiny rail env and its task definition for the model-based SAC tests (no PyBullet)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np

from rl_control.tasks.base import StateLayout, TaskDefinition


class Rail(gym.Env):
    """x' = x + 0.1 v, v' = 0.9 v + 0.1 a; reward 1 − x'²; 40-step episodes."""

    def __init__(self) -> None:
        self.observation_space = gym.spaces.Box(-np.inf, np.inf, (2,), np.float64)
        self.action_space = gym.spaces.Box(-1.0, 1.0, (1,), np.float32)
        self.state, self.t = np.zeros(2), 0

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple:
        super().reset(seed=seed)
        self.state, self.t = self.np_random.uniform(-1.0, 1.0, 2), 0
        return self.state.copy(), {}

    def step(self, action: np.ndarray) -> tuple:
        x, v = self.state
        v = 0.9 * v + 0.1 * float(np.clip(action[0], -1, 1))
        self.state, self.t = np.array([x + 0.1 * v, v]), self.t + 1
        return self.state.copy(), 1.0 - self.state[0] ** 2, False, self.t >= 40, {}


@dataclass(frozen=True)
class RailParams:
    pass


RAIL_TASK = TaskDefinition(
    name="dmd_rail", params_cls=RailParams, layout=StateLayout((("x", 1), ("v", 1))),
    joint_names=(),
    env_id="none", entry_point="none", action_bounds=lambda p: (np.array([-1.0]), np.array([1.0])),
    dt=lambda p: 0.1, max_steps=lambda p: 40, observation=lambda s, p: s,
    reward=lambda s, a, s2, p: 1.0 - s2[..., 0] ** 2, terminated=lambda s, p: abs(s[..., 0]) > 3,
).bind()  # fmt: skip


def feed(algo: Any, steps: int, env: gym.Env | None = None) -> list[dict]:
    """Run ``algo`` on the rail for ``steps`` steps, updating when ready; the update stats."""
    env, stats = env or Rail(), []
    obs, _ = env.reset(seed=0)
    for _ in range(steps):
        out = algo.act(obs[None])
        nxt, r, term, trunc, _ = env.step(out.action[0])
        algo.record(obs[None], out, np.array([r]), np.array([term]), np.array([trunc]), nxt[None])
        obs = env.reset()[0] if trunc else nxt
        if algo.ready():
            stats.append(algo.update())
    return stats
