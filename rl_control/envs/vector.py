"""A synchronous vector of gymnasium envs with explicit, same-step auto-reset.

Unlike gymnasium's own vector envs (whose auto-reset semantics changed between releases),
:meth:`SyncVectorEnv.step` returns both the true next observation of every env (needed to
bootstrap truncated episodes) and the observation to act on next (the reset one where an
episode ended), so rollout code never guesses.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import gymnasium as gym
import numpy as np


@dataclass
class VectorStep:
    """Result of one vectorised step; arrays are batched over envs on axis 0."""

    obs: np.ndarray  # observation to act on next (reset where an episode ended)
    reward: np.ndarray
    terminated: np.ndarray
    truncated: np.ndarray
    next_obs: np.ndarray  # true next observation, before any reset
    infos: list[dict]
    #: per-env return and length of episodes that ended this step (NaN / 0 where none ended)
    episode_return: np.ndarray
    episode_length: np.ndarray


def check_actions(actions: np.ndarray, num_envs: int) -> np.ndarray:
    """``actions`` as a float64 (num_envs, action size) array; non-finite ones are refused."""
    actions = np.asarray(actions, dtype=np.float64).reshape(num_envs, -1)
    if not np.all(np.isfinite(actions)):
        raise ValueError(f"non-finite action passed to the envs: {actions}")
    return actions


class SyncVectorEnv:
    """Steps ``len(env_fns)`` envs in this process; actions are clipped to the action space."""

    def __init__(self, env_fns: Sequence[Callable[[], gym.Env]]) -> None:
        if not env_fns:
            raise ValueError("SyncVectorEnv needs at least one env")
        self.envs = [fn() for fn in env_fns]
        self.num_envs = len(self.envs)
        self.observation_space = self.envs[0].observation_space
        self.action_space = self.envs[0].action_space
        self._returns = np.zeros(self.num_envs)
        self._lengths = np.zeros(self.num_envs, dtype=np.int64)

    def reset(self, seed: int | None = None) -> np.ndarray:
        """Reset all envs; env i is seeded with ``seed + i`` when a seed is given."""
        obs = [
            env.reset(seed=None if seed is None else seed + i)[0]
            for i, env in enumerate(self.envs)
        ]
        self._returns[:] = 0.0
        self._lengths[:] = 0
        return np.stack(obs)

    def step(self, actions: np.ndarray) -> VectorStep:
        actions = check_actions(actions, self.num_envs)
        low, high = self.action_space.low, self.action_space.high
        obs, next_obs, infos = [], [], []
        reward = np.zeros(self.num_envs)
        terminated = np.zeros(self.num_envs, dtype=bool)
        truncated = np.zeros(self.num_envs, dtype=bool)
        ep_return = np.full(self.num_envs, np.nan)
        ep_length = np.zeros(self.num_envs, dtype=np.int64)
        for i, env in enumerate(self.envs):
            a = np.clip(actions[i], low, high).astype(self.action_space.dtype)
            o, r, term, trunc, info = env.step(a)
            reward[i], terminated[i], truncated[i] = r, term, trunc
            next_obs.append(o)
            infos.append(info)
            self._returns[i] += r
            self._lengths[i] += 1
            if term or trunc:
                ep_return[i], ep_length[i] = self._returns[i], self._lengths[i]
                self._returns[i], self._lengths[i] = 0.0, 0
                o, _ = env.reset()
            obs.append(o)
        return VectorStep(
            np.stack(obs),
            reward,
            terminated,
            truncated,
            np.stack(next_obs),
            infos,
            ep_return,
            ep_length,
        )

    def close(self) -> None:
        for env in self.envs:
            env.close()
