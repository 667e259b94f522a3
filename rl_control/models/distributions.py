"""Diagonal Gaussian densities: the one implementation of log-prob, entropy and KL.

Every Gaussian policy (actor-critic, squashed SAC actor, MPC policy) and every algorithm that
scores actions (PPO, TRPO, PPO-MPC) goes through these functions, so a change of formula or
of floating-point order happens in one place.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

LOG_2PI = math.log(2 * math.pi)
#: entropy of a unit-variance Gaussian per dimension: 0.5 (1 + log 2 pi)
_ENTROPY_CONST = 0.5 * (1.0 + LOG_2PI)


def gaussian_log_prob(u: torch.Tensor, mean: torch.Tensor, log_std: torch.Tensor) -> torch.Tensor:
    """Log-density of a diagonal Gaussian, summed over the last axis."""
    z = (u - mean) * torch.exp(-log_std)
    return gaussian_log_prob_of_noise(z.square(), log_std)


def gaussian_log_prob_of_noise(z_sq: torch.Tensor, log_std: torch.Tensor) -> torch.Tensor:
    """Log-density given the squared standardised sample ``((u - mean) / std)^2``.

    Sampling code knows the drawn noise, so it needs no re-standardisation."""
    return (-0.5 * z_sq - log_std - 0.5 * LOG_2PI).sum(-1)


def gaussian_entropy(log_std: torch.Tensor) -> torch.Tensor:
    """Entropy of a diagonal Gaussian, summed over the last axis."""
    return (log_std + _ENTROPY_CONST).sum(-1)


def gaussian_kl(
    mean0: torch.Tensor, log_std0: torch.Tensor, mean1: torch.Tensor, log_std1: torch.Tensor
) -> torch.Tensor:
    """KL(N0 || N1) of diagonal Gaussians, summed over the last axis."""
    var0, var1 = torch.exp(2 * log_std0), torch.exp(2 * log_std1)
    kl = log_std1 - log_std0 + (var0 + (mean0 - mean1).square()) / (2 * var1) - 0.5
    return kl.sum(-1)


@dataclass
class DiagGaussian:
    """A batch of diagonal Gaussians over unit-space actions.

    ``mean`` is [B, act_dim]; ``log_std`` is [B, act_dim] or, for a state-independent std,
    [act_dim] (broadcast: fewer autograd nodes, and its entropy is computed once).
    """

    mean: torch.Tensor
    log_std: torch.Tensor

    def log_prob(self, u: torch.Tensor) -> torch.Tensor:
        """log N(u; mean, std) [B]."""
        return gaussian_log_prob(u, self.mean, self.log_std)

    def entropy(self) -> torch.Tensor:
        """Mean entropy over the batch (a scalar)."""
        entropy = gaussian_entropy(self.log_std)
        return entropy if entropy.ndim == 0 else entropy.mean()

    def kl(self, other: DiagGaussian) -> torch.Tensor:
        """KL(self || other) per sample [B]."""
        return gaussian_kl(self.mean, self.log_std, other.mean, other.log_std)

    def expanded(self) -> DiagGaussian:
        """The same distribution with ``log_std`` expanded to the mean's shape."""
        return DiagGaussian(self.mean, self.log_std.expand_as(self.mean))

    def frozen(self) -> DiagGaussian:
        """A detached copy (the behaviour policy of an update)."""
        return DiagGaussian(self.mean.detach(), self.log_std.detach().clone())
