"""Sampling-based optimisers over control sequences, and the DMD-MPC step.

Control sequences are tensors [..., M, H, act_dim] (M samples of H steps, any leading batch
of problems); a cost function maps them to costs [..., M]. :func:`elite_mean` is the CEM
update with an elite fraction (the indicator utility of eq. 13 of the M-DeMoRL paper, with the
return-weighted form of its eq. 14 as an option), :func:`mppi_mean` the MPPI one (softmax
weights), and :func:`dmd_step` eq. 9: μ_t = (1 − α) μ̃_t + α g_t (Wagener et al. 2019).
:class:`CEM` and :class:`MPPI` iterate them around a Gaussian with fixed-mean sampling.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch

#: sequences [..., M, H, act_dim] -> costs [..., M]
CostFunction = Callable[[torch.Tensor], torch.Tensor]
ELITE_WEIGHTINGS = ("uniform", "return")


def num_elites(num_samples: int, elite_fraction: float) -> int:
    """ceil(p·M), at least one."""
    if not 0 < elite_fraction <= 1:
        raise ValueError(f"elite_fraction must be in (0, 1], got {elite_fraction}")
    return max(1, math.ceil(elite_fraction * num_samples - 1e-9))


def elite_mean(
    samples: torch.Tensor,
    costs: torch.Tensor,
    elite_fraction: float,
    weighting: str = "uniform",
) -> torch.Tensor:
    """Mean [..., H, A] of the lowest-cost ``elite_fraction`` of ``samples`` [..., M, H, A].

    ``uniform``: the plain CEM mean (eq. 13's indicator of C ≤ C_max). ``return``: eq. 14's
    "reward weighted mean", weights = worst finite cost − cost, so every elite weighs > 0 and
    better ones more (the paper's C_i read as returns; as costs the worst elite would weigh
    most). Samples of infinite cost (invalid) weigh nothing even when chosen; a problem with
    no finite cost gets a zero mean.
    """
    if weighting not in ELITE_WEIGHTINGS:
        raise ValueError(f"weighting must be one of {ELITE_WEIGHTINGS}, got {weighting!r}")
    k = num_elites(samples.shape[-3], elite_fraction)
    best = torch.topk(costs, k, dim=-1, largest=False)
    idx = best.indices[..., None, None].expand(*best.indices.shape, *samples.shape[-2:])
    elites = torch.gather(samples, -3, idx)
    finite = torch.isfinite(best.values)
    if weighting == "uniform":
        w = finite.to(samples.dtype)
    else:
        worst = torch.where(torch.isfinite(costs), costs, -torch.inf).amax(-1, keepdim=True)
        w = torch.where(finite, worst - best.values + 1e-8, torch.zeros_like(best.values))
    w = w / w.sum(-1, keepdim=True).clamp_min(1e-30)
    return (w[..., None, None] * elites).sum(-3)


def mppi_weights(costs: torch.Tensor, temperature: float) -> torch.Tensor:
    """w = softmax(−C / temperature) over the last axis (the M samples); +inf costs weigh 0."""
    if not temperature > 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    return torch.softmax(-costs / temperature, dim=-1)


def mppi_mean(samples: torch.Tensor, costs: torch.Tensor, temperature: float) -> torch.Tensor:
    """Σ_i w_i U_i with w = softmax(−C / temperature) over the M samples (MPPI)."""
    w = mppi_weights(costs, temperature)
    return (w[..., None, None] * samples).sum(-3)


def dmd_step(shift_mean: torch.Tensor, g: torch.Tensor, alpha: float) -> torch.Tensor:
    """Eq. 9: μ_t = (1 − α) μ̃_t + α g_t, the mirror-descent step on the expectation parameter."""
    if not 0 <= alpha <= 1:
        raise ValueError(f"DMD step size alpha must be in [0, 1], got {alpha}")
    return (1.0 - alpha) * shift_mean + alpha * g


def gaussian_sequences(
    mean: torch.Tensor,
    std: torch.Tensor | float,
    num_samples: int,
    low: torch.Tensor | float,
    high: torch.Tensor | float,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """``num_samples`` sequences [..., M, H, A] ~ N(mean, std²) clipped to [low, high]."""
    mean = mean.unsqueeze(-3)
    shape = (*mean.shape[:-3], num_samples, *mean.shape[-2:])
    noise = torch.randn(shape, generator=generator, dtype=mean.dtype)
    std = torch.as_tensor(std, dtype=mean.dtype)
    if std.dim() >= 2:
        std = std.unsqueeze(-3)
    low, high = (torch.as_tensor(b, dtype=mean.dtype) for b in (low, high))
    return torch.clamp(mean + std * noise, low, high)


@dataclass
class CEM:
    """Cross-entropy method: refit a diagonal Gaussian to the elites, ``iterations`` times.

    ``smoothing`` blends the new mean/std with the old ones (0: plain CEM).
    """

    num_samples: int = 100
    elite_fraction: float = 0.1
    iterations: int = 5
    init_std: float = 0.5
    min_std: float = 1e-3
    smoothing: float = 0.0
    weighting: str = "uniform"

    def __post_init__(self) -> None:
        num_elites(self.num_samples, self.elite_fraction)  # validates the fraction
        if self.num_samples < 1 or self.iterations < 1 or not self.init_std > 0:
            raise ValueError("CEM: num_samples and iterations must be >= 1, init_std > 0")
        if self.weighting not in ELITE_WEIGHTINGS:
            raise ValueError(
                f"weighting must be one of {ELITE_WEIGHTINGS}, got {self.weighting!r}"
            )

    def optimize(
        self,
        cost_fn: CostFunction,
        init_mean: torch.Tensor,
        low: torch.Tensor | float,
        high: torch.Tensor | float,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """The optimised mean sequence [..., H, A] starting from ``init_mean``."""
        mean = init_mean.clone()
        std = torch.full_like(mean, self.init_std)
        k = num_elites(self.num_samples, self.elite_fraction)
        for _ in range(self.iterations):
            samples = gaussian_sequences(mean, std, self.num_samples, low, high, generator)
            costs = cost_fn(samples)
            new_mean = elite_mean(samples, costs, self.elite_fraction, self.weighting)
            idx = torch.topk(costs, k, dim=-1, largest=False).indices
            idx = idx[..., None, None].expand(*idx.shape, *samples.shape[-2:])
            elites = torch.gather(samples, -3, idx)
            new_std = elites.std(-3, unbiased=False).clamp_min(self.min_std)
            a = self.smoothing
            mean, std = a * mean + (1 - a) * new_mean, a * std + (1 - a) * new_std
        return mean


@dataclass
class MPPI:
    """Model-predictive path integral: softmax-weighted means, fixed sampling std."""

    num_samples: int = 100
    temperature: float = 1.0
    iterations: int = 3
    noise_std: float = 0.5

    def __post_init__(self) -> None:
        if self.num_samples < 1 or self.iterations < 1 or not self.noise_std > 0:
            raise ValueError("MPPI: num_samples and iterations must be >= 1, noise_std > 0")
        if not self.temperature > 0:
            raise ValueError(f"temperature must be > 0, got {self.temperature}")

    def optimize(
        self,
        cost_fn: CostFunction,
        init_mean: torch.Tensor,
        low: torch.Tensor | float,
        high: torch.Tensor | float,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """The optimised mean sequence [..., H, A] starting from ``init_mean``."""
        mean = init_mean.clone()
        for _ in range(self.iterations):
            samples = gaussian_sequences(
                mean, self.noise_std, self.num_samples, low, high, generator
            )
            mean = mppi_mean(samples, cost_fn(samples), self.temperature)
        return mean
