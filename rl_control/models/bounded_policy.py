"""Shared plumbing of neural policies: observation normaliser and action-bound scaling.

Networks work in a unit action space u in [-1, 1] (for bounded kinds) and the env action is
``center + half_range * u``, so a ±100 N force and a ±0.5 rad joint target get the same
exploration from the same initial std. Log-probabilities are reported in u space.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from rl_control.models.normalizer import RunningMeanStd
from rl_control.policies.base import Policy, PolicyOutput


def _bounds(low: Sequence[float], high: Sequence[float], act_dim: int) -> tuple[list, list]:
    low_l = [float(v) for v in np.asarray(low, dtype=np.float64).reshape(-1)]
    high_l = [float(v) for v in np.asarray(high, dtype=np.float64).reshape(-1)]
    if len(low_l) != act_dim or len(high_l) != act_dim:
        raise ValueError(
            f"action bounds need {act_dim} entries, got low={len(low_l)} high={len(high_l)}"
        )
    if not (np.all(np.isfinite(low_l)) and np.all(np.isfinite(high_l))):
        raise ValueError(f"action bounds must be finite, got low={low_l} high={high_l}")
    if not np.all(np.asarray(high_l) > np.asarray(low_l)):
        raise ValueError(f"action_high must exceed action_low, got {low_l} / {high_l}")
    return low_l, high_l


class BoundedPolicy(nn.Module, Policy):
    """Base of the torch policy kinds; subclasses set ``self._config`` and build networks."""

    def __init__(
        self,
        obs_dim: int,
        act_dim: int,
        action_low: Sequence[float],
        action_high: Sequence[float],
        normalize_obs: bool,
    ) -> None:
        nn.Module.__init__(self)
        if int(obs_dim) <= 0 or int(act_dim) <= 0:
            raise ValueError(f"obs_dim and act_dim must be positive, got {obs_dim}, {act_dim}")
        self.obs_dim, self.act_dim = int(obs_dim), int(act_dim)
        low, high = _bounds(action_low, action_high, self.act_dim)
        self.action_low, self.action_high = low, high
        low_t, high_t = torch.tensor(low), torch.tensor(high)
        self.register_buffer("action_center", (high_t + low_t) / 2)
        self.register_buffer("action_half_range", (high_t - low_t) / 2)
        self.normalize_obs_enabled = bool(normalize_obs)
        self.obs_rms = RunningMeanStd(self.obs_dim)
        # sampling uses its own generator so acting never touches torch's global RNG
        self.generator = torch.Generator()
        self._config: dict[str, Any] = {}

    # --- conversions -------------------------------------------------------------------
    def obs_tensor(self, obs: np.ndarray) -> torch.Tensor:
        """Validate a numpy batch [N, obs_dim] and return it as float32."""
        arr = np.asarray(obs, dtype=np.float32)
        if arr.ndim != 2 or arr.shape[1] != self.obs_dim:
            raise ValueError(
                f"expected observations of shape [N, {self.obs_dim}], got {arr.shape}"
            )
        if not np.isfinite(arr).all():
            raise ValueError("non-finite observation passed to the policy")
        return torch.from_numpy(arr)

    def normalize_obs(self, obs: torch.Tensor) -> torch.Tensor:
        """Apply the running normaliser (identity when ``normalize_obs`` is off)."""
        return self.obs_rms.normalize(obs) if self.normalize_obs_enabled else obs

    def to_unit(self, action: torch.Tensor) -> torch.Tensor:
        """Env action -> unit action space."""
        return (action - self.action_center) / self.action_half_range

    def from_unit(self, u: torch.Tensor) -> torch.Tensor:
        """Unit action space -> env action."""
        return self.action_center + self.action_half_range * u

    def from_unit_numpy(self, u: torch.Tensor) -> np.ndarray:
        """:meth:`from_unit` as a float64 numpy batch, computed in float32 like the tensor op.

        numpy's elementwise ops on a few values cost a fraction of torch's dispatch; the buffers
        are read on every call, so loaded or moved state is always honoured.
        """
        center, half = self.action_center.numpy(), self.action_half_range.numpy()
        return (center + half * u.numpy()).astype(np.float64)

    def uniform_act(self, n: int) -> PolicyOutput:
        """``n`` actions uniform in the action bounds, drawn from :attr:`generator` (an
        off-policy warm-up); mean the bounds' centre, log-prob the unit-space density 2^-d."""
        u = torch.rand((n, self.act_dim), generator=self.generator) * 2 - 1
        log_prob = np.full(n, -self.act_dim * math.log(2.0))
        return PolicyOutput(self.from_unit_numpy(u), self.from_unit_numpy(torch.zeros_like(u)),
                            log_prob)  # fmt: skip

    # --- Policy persistence --------------------------------------------------------------
    def get_config(self) -> dict[str, Any]:
        return dict(self._config)

    def get_state(self) -> dict[str, Any]:
        return {k: v.detach().clone() for k, v in self.state_dict().items()}

    def set_state(self, state: dict[str, Any]) -> None:
        own = self.state_dict()
        missing = sorted(set(own) - set(state))
        unexpected = sorted(set(state) - set(own))
        if missing or unexpected:
            raise ValueError(
                f"{self.kind} state mismatch: missing {missing}, unexpected {unexpected}"
            )
        for key, value in state.items():
            shape = tuple(torch.as_tensor(value).shape)
            if shape != tuple(own[key].shape):
                raise ValueError(f"{self.kind} state {key!r}: shape {shape} != {own[key].shape}")
        self.load_state_dict({k: torch.as_tensor(v) for k, v in state.items()})
