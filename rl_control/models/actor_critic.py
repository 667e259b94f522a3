"""Neural policy kinds: Gaussian actor-critic (PPO/TRPO) and tanh-squashed Gaussian (SAC)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from rl_control.models.bounded_policy import BoundedPolicy
from rl_control.models.distributions import (
    DiagGaussian,
    gaussian_entropy,
    gaussian_log_prob,
    gaussian_log_prob_of_noise,
)
from rl_control.models.mlp import mlp
from rl_control.policies.base import PolicyOutput
from rl_control.policies.registry import register_policy


@register_policy("gaussian_mlp")
class GaussianActorCritic(BoundedPolicy):
    """Gaussian policy with a state-independent learnable log-std and a separate value MLP.

    Torch methods take *normalised* observations (see :meth:`normalize_obs`) and unit-space
    actions, because on-policy algorithms store what the acting policy actually saw.
    """

    def __init__(
        self,
        obs_dim: int,
        act_dim: int,
        action_low: Sequence[float],
        action_high: Sequence[float],
        hidden: Sequence[int] = (64, 64),
        activation: str = "tanh",
        init_log_std: float = 0.0,
        normalize_obs: bool = True,
        ortho_init: bool = True,
    ) -> None:
        super().__init__(obs_dim, act_dim, action_low, action_high, normalize_obs)
        hidden = [int(h) for h in hidden]
        self.mean_net = mlp(obs_dim, act_dim, hidden, activation, ortho_init, output_gain=0.01)
        self.value_net = mlp(obs_dim, 1, hidden, activation, ortho_init, output_gain=1.0)
        self.log_std = nn.Parameter(torch.full((self.act_dim,), float(init_log_std)))
        self._config = dict(
            obs_dim=self.obs_dim, act_dim=self.act_dim, action_low=self.action_low,
            action_high=self.action_high, hidden=hidden, activation=activation,
            init_log_std=float(init_log_std), normalize_obs=self.normalize_obs_enabled,
            ortho_init=bool(ortho_init),
        )  # fmt: skip

    def actor_parameters(self) -> list[nn.Parameter]:
        return [*self.mean_net.parameters(), self.log_std]

    def critic_parameters(self) -> list[nn.Parameter]:
        return list(self.value_net.parameters())

    def distribution(self, nobs: torch.Tensor) -> DiagGaussian:
        """Unit-space action distribution; its log-std is the shared [act_dim] parameter."""
        return DiagGaussian(self.mean_net(nobs), self.log_std)

    def evaluate(
        self, nobs: torch.Tensor, actions_u: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(log_prob [B], entropy [B], value [B]) of unit-space actions."""
        dist = self.distribution(nobs).expanded()
        return dist.log_prob(actions_u), gaussian_entropy(dist.log_std), self.value(nobs)

    def value(self, nobs: torch.Tensor) -> torch.Tensor:
        return self.value_net(nobs).squeeze(-1)

    @torch.inference_mode()
    def act(self, obs: np.ndarray, deterministic: bool = False) -> PolicyOutput:
        nobs = self.normalize_obs(self.obs_tensor(obs))
        mean = self.mean_net(nobs)
        log_std = self.log_std.expand_as(mean)
        if deterministic:
            u, z_sq = mean, torch.zeros_like(mean)
        else:
            noise = torch.randn(mean.shape, generator=self.generator)
            u, z_sq = mean + torch.exp(log_std) * noise, noise.square()
        # (u - mean) / std is the drawn noise: its density needs no re-standardisation
        log_prob = gaussian_log_prob_of_noise(z_sq, log_std)
        return PolicyOutput(
            action=self.from_unit_numpy(u),
            mean=self.from_unit_numpy(mean),
            log_prob=log_prob.numpy().astype(np.float64),
            info={"value": self.value(nobs).numpy().astype(np.float64)},
        )


@register_policy("squashed_gaussian_mlp")
class SquashedGaussianActor(BoundedPolicy):
    """u = tanh(z), z ~ N(mu(s), sigma(s)); log-probs include the tanh Jacobian (SAC)."""

    LOG_STD_MIN, LOG_STD_MAX = -20.0, 2.0

    def __init__(
        self,
        obs_dim: int,
        act_dim: int,
        action_low: Sequence[float],
        action_high: Sequence[float],
        hidden: Sequence[int] = (256, 256),
        activation: str = "relu",
        normalize_obs: bool = False,
    ) -> None:
        super().__init__(obs_dim, act_dim, action_low, action_high, normalize_obs)
        hidden = [int(h) for h in hidden]
        self.net = mlp(obs_dim, 2 * act_dim, hidden, activation)
        self._config = dict(
            obs_dim=self.obs_dim, act_dim=self.act_dim, action_low=self.action_low,
            action_high=self.action_high, hidden=hidden, activation=activation,
            normalize_obs=self.normalize_obs_enabled,
        )  # fmt: skip

    def mean_log_std(self, nobs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Pre-squash mean and clamped log-std."""
        mean, log_std = self.net(nobs).chunk(2, dim=-1)
        return mean, log_std.clamp(self.LOG_STD_MIN, self.LOG_STD_MAX)

    @staticmethod
    def _log_det_tanh(z: torch.Tensor) -> torch.Tensor:
        # log(1 - tanh(z)^2) in a form that stays finite for large |z|
        return (2.0 * (math.log(2.0) - z - F.softplus(-2.0 * z))).sum(-1)

    def sample(
        self, nobs: torch.Tensor, deterministic: bool = False
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Reparameterised unit-space action [B, act_dim] and its log-prob [B]."""
        return self._sample(*self.mean_log_std(nobs), deterministic)

    def _sample(
        self, mean: torch.Tensor, log_std: torch.Tensor, deterministic: bool
    ) -> tuple[torch.Tensor, torch.Tensor]:
        if deterministic:
            z, z_sq = mean, torch.zeros_like(mean)
        else:
            noise = torch.randn(mean.shape, generator=self.generator)
            z, z_sq = mean + torch.exp(log_std) * noise, noise.square()
        # (z - mean) / std is the drawn noise, identically in the parameters: its Gaussian
        # density term needs no recomputation (same value, same gradients, fewer ops)
        log_prob = gaussian_log_prob_of_noise(z_sq, log_std) - self._log_det_tanh(z)
        return torch.tanh(z), log_prob

    def log_prob(self, nobs: torch.Tensor, actions_u: torch.Tensor) -> torch.Tensor:
        """Log-density of given unit-space actions (clamped just inside (-1, 1))."""
        mean, log_std = self.mean_log_std(nobs)
        z = torch.atanh(actions_u.clamp(-1 + 1e-6, 1 - 1e-6))
        return gaussian_log_prob(z, mean, log_std) - self._log_det_tanh(z)

    @torch.inference_mode()
    def act(self, obs: np.ndarray, deterministic: bool = False) -> PolicyOutput:
        nobs = self.normalize_obs(self.obs_tensor(obs))
        mean, log_std = self.mean_log_std(nobs)
        u, log_prob = self._sample(mean, log_std, deterministic)
        return PolicyOutput(
            action=self.from_unit_numpy(u),
            mean=self.from_unit_numpy(torch.tanh(mean)),
            log_prob=log_prob.numpy().astype(np.float64),
        )
