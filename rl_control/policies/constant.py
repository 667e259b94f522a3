"""A policy that acts one fixed action whatever it observes.

The reference rows of the experiments (a trajectory generator alone is the zero residual, a
hand-set foot shift is a constant one, the cart-pole's zero force) and a safe stand-in on a
robot: registered as kind ``constant``, so it deploys through `policy_node` like any other.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from rl_control.policies.base import Policy, PolicyOutput
from rl_control.policies.registry import register_policy


@register_policy("constant")
class ConstantPolicy(Policy):
    """Acts ``action`` (one entry per action dimension) for every observation."""

    def __init__(self, action: Sequence[float]) -> None:
        a = np.asarray(action, dtype=np.float64).reshape(-1)
        if a.size == 0 or not np.isfinite(a).all():
            raise ValueError(f"constant policy action must be finite and non-empty, got {a}")
        self.action = a

    @classmethod
    def zeros(cls, act_dim: int) -> ConstantPolicy:
        return cls([0.0] * act_dim)

    def act(self, obs: np.ndarray, deterministic: bool = False) -> PolicyOutput:
        n = len(obs)
        a = np.tile(self.action, (n, 1))
        return PolicyOutput(action=a, mean=a.copy(), log_prob=np.zeros(n), info={})

    def get_config(self) -> dict[str, Any]:
        return {"action": self.action.tolist()}

    def get_state(self) -> dict[str, Any]:
        return {}

    def set_state(self, state: dict[str, Any]) -> None:
        del state  # nothing is learned
