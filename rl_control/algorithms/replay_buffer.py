"""A fixed-capacity ring buffer of transitions for off-policy algorithms, and the buffer
interface SAC samples through."""

from __future__ import annotations

from typing import Protocol

import numpy as np
import torch


class TransitionBuffer(Protocol):
    """What SAC needs of a buffer: :class:`ReplayBuffer`, or one mixing several sources."""

    def __len__(self) -> int: ...

    def add(
        self,
        obs: np.ndarray,
        actions: np.ndarray,
        rewards: np.ndarray,
        next_obs: np.ndarray,
        terminated: np.ndarray,
    ) -> None: ...

    def sample(self, batch_size: int, generator: torch.Generator) -> dict[str, torch.Tensor]: ...


class ReplayBuffer:
    """Stores (obs, unit action, reward, next_obs, terminated); truncation is not stored
    because a truncated transition is bootstrapped like any non-terminal one."""

    def __init__(self, capacity: int, obs_dim: int, act_dim: int) -> None:
        if capacity <= 0:
            raise ValueError(f"replay buffer capacity must be positive, got {capacity}")
        self.capacity = int(capacity)
        # one row per transition, columns [obs | next_obs | action | reward | terminated]:
        # sampling is then a single row gather; the named fields are column views of it
        widths = [obs_dim, obs_dim, act_dim, 1, 1]
        self._data = np.zeros((self.capacity, sum(widths)), dtype=np.float32)
        self._splits = np.cumsum(widths)[:-1].tolist()
        self.obs, self.next_obs, self.actions, rewards, terminated = np.split(
            self._data, self._splits, axis=1
        )
        self.rewards, self.terminated = rewards[:, 0], terminated[:, 0]
        self.pos = 0
        self.size = 0

    def __len__(self) -> int:
        return self.size

    def add(
        self,
        obs: np.ndarray,
        actions: np.ndarray,
        rewards: np.ndarray,
        next_obs: np.ndarray,
        terminated: np.ndarray,
    ) -> None:
        """Append a batch of N transitions, overwriting the oldest when full."""
        n = len(obs)
        idx = (self.pos + np.arange(n)) % self.capacity
        self.obs[idx], self.actions[idx], self.rewards[idx] = obs, actions, rewards
        self.next_obs[idx], self.terminated[idx] = next_obs, terminated
        self.pos = int((self.pos + n) % self.capacity)
        self.size = min(self.size + n, self.capacity)

    def sample(self, batch_size: int, generator: torch.Generator) -> dict[str, torch.Tensor]:
        """Uniformly sampled (with replacement) batch as float32 tensors."""
        if self.size == 0:
            raise RuntimeError("cannot sample from an empty replay buffer")
        idx = torch.randint(self.size, (batch_size,), generator=generator).numpy()
        rows = torch.from_numpy(self._data[idx])
        obs, next_obs, actions, rewards, terminated = rows.tensor_split(self._splits, dim=1)
        return {
            "obs": obs, "actions": actions, "rewards": rewards[:, 0],
            "next_obs": next_obs, "terminated": terminated[:, 0],
        }  # fmt: skip
