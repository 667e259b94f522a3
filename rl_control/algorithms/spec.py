"""What an algorithm is built for: spaces, number of envs, and the task when one is known."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym
import numpy as np


def _flat_bounds(name: str, values: Any) -> tuple[float, ...]:
    arr = np.asarray(values, dtype=np.float64).reshape(-1)
    if arr.size == 0:
        raise ValueError(f"algorithm spec: {name} must have at least one entry")
    return tuple(float(v) for v in arr)


@dataclass(frozen=True)
class AlgorithmSpec:
    """The problem an algorithm is built for.

    ``action_low``/``action_high`` are the env's action bounds (flattened); ``task`` is the
    task's definition (reward, termination, dynamics functions) when the caller has one, for
    model-based algorithms; None otherwise.
    """

    obs_dim: int
    action_low: tuple[float, ...]
    action_high: tuple[float, ...]
    num_envs: int
    task: Any | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if int(self.num_envs) <= 0:
            raise ValueError(f"num_envs must be positive, got {self.num_envs}")
        if int(self.obs_dim) <= 0:
            raise ValueError(f"obs_dim must be positive, got {self.obs_dim}")
        low = _flat_bounds("action_low", self.action_low)
        high = _flat_bounds("action_high", self.action_high)
        if len(low) != len(high):
            raise ValueError(
                f"algorithm spec: action_low has {len(low)} entries, action_high {len(high)}"
            )
        # frozen dataclass: normalise the fields through object.__setattr__
        object.__setattr__(self, "obs_dim", int(self.obs_dim))
        object.__setattr__(self, "num_envs", int(self.num_envs))
        object.__setattr__(self, "action_low", low)
        object.__setattr__(self, "action_high", high)

    @property
    def act_dim(self) -> int:
        return len(self.action_low)

    @classmethod
    def from_spaces(
        cls, obs_space: gym.Space, action_space: gym.Space, num_envs: int, task: Any = None
    ) -> AlgorithmSpec:
        """The spec of an env with a flat observation space and a Box action space."""
        if not isinstance(action_space, gym.spaces.Box):
            raise ValueError(f"algorithms need a Box action space, got {action_space}")
        if obs_space.shape is None:
            raise ValueError(f"algorithms need an observation space with a shape, got {obs_space}")
        obs_dim = int(np.prod(obs_space.shape))
        return cls(obs_dim, action_space.low, action_space.high, num_envs, task)


def check_policy_dims(policy: Any, spec: AlgorithmSpec) -> None:
    """A given policy must match the spec's observation and action sizes."""
    have = (getattr(policy, "obs_dim", None), getattr(policy, "act_dim", None))
    if have != (spec.obs_dim, spec.act_dim):
        raise ValueError(
            f"policy has (obs_dim, act_dim)={have}, the spec needs "
            f"({spec.obs_dim}, {spec.act_dim})"
        )
