"""Twin state-action value networks for SAC-style clipped double-Q learning."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from rl_control.models.mlp import mlp


class TwinQ(nn.Module):
    """Two independent Q(s, a) MLPs; inputs are (normalised obs, unit-space action)."""

    def __init__(
        self,
        obs_dim: int,
        act_dim: int,
        hidden: Sequence[int] = (256, 256),
        activation: str = "relu",
    ) -> None:
        super().__init__()
        self.q1 = mlp(obs_dim + act_dim, 1, hidden, activation)
        self.q2 = mlp(obs_dim + act_dim, 1, hidden, activation)

    def forward(self, obs: torch.Tensor, act: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Both Q estimates, each of shape [B]."""
        x = torch.cat([obs, act], dim=-1)
        return self.q1(x).squeeze(-1), self.q2(x).squeeze(-1)

    def min_q(self, obs: torch.Tensor, act: torch.Tensor) -> torch.Tensor:
        """Elementwise minimum of the two estimates (counters overestimation)."""
        q1, q2 = self(obs, act)
        return torch.minimum(q1, q2)
