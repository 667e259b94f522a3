"""Deterministic evaluation of a policy on its own env (shared by the runner and the CLI)."""

from __future__ import annotations

from dataclasses import dataclass

import gymnasium as gym
import numpy as np

from rl_control.policies.base import Policy

#: evaluation episodes start from seeds ``train_seed + EVAL_SEED_OFFSET + i``, apart from
#: the training envs' seeds, and identical at every evaluation so curves compare like with like
EVAL_SEED_OFFSET = 10_000


@dataclass
class EvalResult:
    """Returns and lengths of the evaluated episodes."""

    returns: np.ndarray
    lengths: np.ndarray

    @property
    def mean(self) -> float:
        return float(np.mean(self.returns))

    @property
    def std(self) -> float:
        return float(np.std(self.returns))


def evaluate(
    policy: Policy, env: gym.Env, episodes: int, seed: int, max_steps: int = 1_000_000
) -> EvalResult:
    """Run ``episodes`` episodes with the deterministic action; episode i is reset with seed+i.

    ``max_steps`` bounds an episode of an env that never truncates.
    """
    if episodes < 1:
        raise ValueError(f"episodes must be at least 1, got {episodes}")
    returns = np.zeros(episodes)
    lengths = np.zeros(episodes, dtype=np.int64)
    for i in range(episodes):
        obs, _ = env.reset(seed=seed + i)
        policy.reset()
        done = False
        while not done and lengths[i] < max_steps:
            obs = np.asarray(obs, dtype=np.float64)
            if not np.all(np.isfinite(obs)):
                raise ValueError(f"non-finite observation from the eval env: {obs}")
            action = policy.act(obs[None], deterministic=True).mean[0]
            if not np.all(np.isfinite(action)):
                raise ValueError(f"non-finite action from the policy during evaluation: {action}")
            # clipped like SyncVectorEnv does in training, so eval sees the same actuation
            action = np.clip(action, env.action_space.low, env.action_space.high)
            obs, reward, terminated, truncated, _ = env.step(action.astype(env.action_space.dtype))
            returns[i] += float(reward)
            lengths[i] += 1
            done = terminated or truncated
    return EvalResult(returns, lengths)
