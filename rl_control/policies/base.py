"""The one act/reset interface shared by neural policies and MPC planners.

Every policy kind (Gaussian MLP, MPC over an LCS model, sampling planners) implements
:class:`Policy`, so the training runner, `rl-control eval` and the ROS policy node use
any of them unchanged. Observations and actions are numpy arrays, batched on the first axis.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass
class PolicyOutput:
    """What a policy returns for a batch of N observations.

    action: [N, act_dim] the action to apply (sampled unless deterministic).
    mean: [N, act_dim] the deterministic action (distribution mean or planner optimum).
    log_prob: [N] log-density of ``action`` under the policy (0 for deterministic planners).
    info: extra per-batch arrays, e.g. ``value`` [N], ``solve_time`` [N], ``plan`` [N, H, obs].
    """

    action: np.ndarray
    mean: np.ndarray
    log_prob: np.ndarray
    info: dict[str, Any] = field(default_factory=dict)


class Policy(ABC):
    """A controller mapping observations to actions; stateless unless it says otherwise."""

    #: registry name, stored in checkpoints so :func:`rl_control.policies.load_policy` rebuilds it
    kind: str = ""

    @abstractmethod
    def act(self, obs: np.ndarray, deterministic: bool = False) -> PolicyOutput:
        """Act on a batch ``obs`` of shape [N, obs_dim]."""

    def reset(self, env_ids: np.ndarray | None = None) -> None:  # noqa: B027 (optional hook)
        """Forget per-episode state (warm starts, previous plans) for ``env_ids`` (all if None).

        Stateless policies keep this default, which does nothing."""

    def predict(self, obs: np.ndarray, deterministic: bool = True) -> np.ndarray:
        """SB3-style deployment call: one observation [obs_dim] or a batch [N, obs_dim]."""
        obs = np.asarray(obs, dtype=np.float64)
        single = obs.ndim == 1
        out = self.act(obs[None] if single else obs, deterministic=deterministic)
        action = out.mean if deterministic else out.action
        return action[0] if single else action

    @abstractmethod
    def get_config(self) -> dict[str, Any]:
        """Constructor keyword arguments (plain YAML/JSON types) that rebuild this policy."""

    @abstractmethod
    def get_state(self) -> dict[str, Any]:
        """Learned parameters (tensors or arrays), enough with the config to restore the policy."""

    @abstractmethod
    def set_state(self, state: dict[str, Any]) -> None:
        """Load parameters produced by :meth:`get_state`."""
