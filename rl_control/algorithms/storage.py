"""Rollout storage for on-policy algorithms and the one GAE implementation.

Truncated episodes are bootstrapped when they are recorded (``reward += gamma * V(next_obs)``,
SB3 style) and then marked done like terminations, so GAE needs only one ``dones`` array.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch


def compute_gae(
    rewards: torch.Tensor,
    values: torch.Tensor,
    dones: torch.Tensor,
    last_values: torch.Tensor,
    gamma: float,
    lam: float,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Generalised advantage estimates and returns for [T, N] rollouts.

    ``dones[t]`` marks that step t ended its episode (no bootstrap from step t+1);
    ``last_values`` [N] is V(next observation) after the final step.
    Returns (advantages, returns = advantages + values).
    """
    rewards, values, dones = (
        torch.as_tensor(x, dtype=torch.float32) for x in (rewards, values, dones)
    )
    last_values = torch.as_tensor(last_values, dtype=torch.float32)
    if not rewards.shape == values.shape == dones.shape or rewards.ndim != 2:
        raise ValueError(
            f"GAE needs equal [T, N] rewards/values/dones, got {tuple(rewards.shape)}, "
            f"{tuple(values.shape)}, {tuple(dones.shape)}"
        )
    if last_values.shape != rewards.shape[1:]:
        raise ValueError(
            f"last_values must have shape [N]={rewards.shape[1]}, got {last_values.shape}"
        )
    advantages = torch.zeros_like(rewards)
    gae = torch.zeros_like(last_values)
    next_values = last_values
    for t in reversed(range(rewards.shape[0])):
        not_done = 1.0 - dones[t]
        delta = rewards[t] + gamma * next_values * not_done - values[t]
        gae = delta + gamma * lam * not_done * gae
        advantages[t] = gae
        next_values = values[t]
    return advantages, advantages + values


def minibatches(
    data: dict[str, torch.Tensor], batch_size: int, generator: torch.Generator
) -> Iterator[dict[str, torch.Tensor]]:
    """Shuffled minibatches over the first axis of every tensor in ``data`` (last may be short)."""
    n = len(next(iter(data.values())))
    perm = torch.randperm(n, generator=generator)
    for start in range(0, n, batch_size):
        idx = perm[start : start + batch_size]
        yield {k: v[idx] for k, v in data.items()}


class RolloutStorage:
    """Fixed-size [num_steps, num_envs] buffers of what the acting policy saw and did."""

    def __init__(self, num_steps: int, num_envs: int, obs_dim: int, act_dim: int) -> None:
        if num_steps <= 0 or num_envs <= 0:
            raise ValueError(f"rollout size must be positive, got {num_steps} x {num_envs}")
        self.num_steps, self.num_envs = num_steps, num_envs
        shape = (num_steps, num_envs)
        self.obs = torch.zeros(*shape, obs_dim)
        self.actions = torch.zeros(*shape, act_dim)
        self.log_probs = torch.zeros(shape)
        self.values = torch.zeros(shape)
        self.rewards = torch.zeros(shape)
        self.dones = torch.zeros(shape)
        self.advantages = torch.zeros(shape)
        self.returns = torch.zeros(shape)
        self.last_obs = torch.zeros(num_envs, obs_dim)  # raw next obs after the final step
        self.step = 0

    @property
    def full(self) -> bool:
        return self.step >= self.num_steps

    def add(
        self,
        obs: torch.Tensor,
        actions: torch.Tensor,
        log_probs: torch.Tensor,
        values: torch.Tensor,
        rewards: torch.Tensor,
        dones: torch.Tensor,
        next_obs: torch.Tensor,
    ) -> None:
        """Store one vectorised step (rewards already include truncation bootstraps)."""
        if self.full:
            raise RuntimeError("rollout storage is full; call update() before recording more")
        t = self.step
        self.obs[t], self.actions[t], self.log_probs[t] = obs, actions, log_probs
        self.values[t], self.rewards[t], self.dones[t] = values, rewards, dones
        self.last_obs.copy_(next_obs)
        self.step += 1

    def compute_returns(self, last_values: torch.Tensor, gamma: float, lam: float) -> None:
        self.advantages, self.returns = compute_gae(
            self.rewards, self.values, self.dones, last_values, gamma, lam
        )

    def flat(self) -> dict[str, torch.Tensor]:
        """All stored steps flattened to [T*N, ...]."""
        n = self.num_steps * self.num_envs
        return {
            "obs": self.obs.reshape(n, -1),
            "actions": self.actions.reshape(n, -1),
            "log_probs": self.log_probs.reshape(n),
            "values": self.values.reshape(n),
            "advantages": self.advantages.reshape(n),
            "returns": self.returns.reshape(n),
        }

    def reset(self) -> None:
        self.step = 0
