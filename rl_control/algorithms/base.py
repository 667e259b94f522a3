"""The algorithm contract used by the in-process runner and by the ROS trainer node alike.

Data reaches an algorithm one vectorised step at a time through :meth:`Algorithm.record`,
whether it came from gymnasium envs in this process or from topics in the node graph;
learning happens only in :meth:`Algorithm.update`, never while recording.
"""

from __future__ import annotations

import contextlib
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np
import torch

from rl_control.algorithms.config import config_from_dict
from rl_control.policies.base import Policy, PolicyOutput


@contextlib.contextmanager
def seeded_init(seed: int) -> Iterator[None]:
    """Build networks from ``seed`` without touching torch's global RNG."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield


class Algorithm(ABC):
    """A learning rule around a :class:`Policy`."""

    #: registry name used by configs and the CLI (``ppo``, ``trpo``, ``sac``, ...)
    name: str = ""
    #: on-policy algorithms drop transitions produced by stale policy versions
    on_policy: bool = True

    #: the config dataclass :meth:`build` fills from a plain dict (set by each algorithm)
    config_cls: type

    policy: Policy
    #: incremented by every :meth:`update`; actions carry it so stale data can be dropped
    policy_version: int = 0

    # Concrete algorithms also offer ``build(spec, config, seed)``: it creates the policy under
    # the seed and the storage or buffer, and passes them to ``__init__`` (registry builders).

    @classmethod
    def make_config(cls, config: Mapping[str, Any] | Any | None) -> Any:
        """``config`` as a ``config_cls`` instance; dict keys are validated by name."""
        if isinstance(config, cls.config_cls):
            return config
        if config is not None and not isinstance(config, Mapping):
            raise TypeError(f"algorithm config must be a mapping, got {type(config).__name__}")
        return config_from_dict(cls.config_cls, cls.name, dict(config or {}))

    @abstractmethod
    def act(self, obs: np.ndarray) -> PolicyOutput:
        """Exploration action for a batch of raw observations [N, obs_dim]."""

    @property
    def uniform_exploration(self) -> bool:
        """Whether :meth:`act` draws uniformly in the action bounds now (an off-policy
        warm-up, ``policy.uniform_act``): a policy node acting for it does the same."""
        return False

    @abstractmethod
    def record(
        self,
        obs: np.ndarray,
        out: PolicyOutput,
        reward: np.ndarray,
        terminated: np.ndarray,
        truncated: np.ndarray,
        next_obs: np.ndarray,
    ) -> None:
        """Store one vectorised step. ``next_obs`` is the true next observation (before reset)."""

    @abstractmethod
    def ready(self) -> bool:
        """True when enough data has been recorded for :meth:`update`."""

    def records_until_ready(self) -> int | None:
        """How many more :meth:`record` calls make :meth:`ready` true (None: not known)."""
        return None

    @abstractmethod
    def update(self) -> dict[str, float]:
        """Learn from the recorded data; returns scalar statistics for logging."""

    @abstractmethod
    def state_dict(self) -> dict[str, Any]:
        """Everything needed to resume: policy, critics, optimisers, normalisers, counters."""

    @abstractmethod
    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore from :meth:`state_dict`."""
