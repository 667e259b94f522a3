"""The importance-sampled objective of Guided Policy Search (Levine & Koltun 2013), in torch.

Samples are whole trajectories i = 1..m of a fixed horizon H; a trajectory that ended early
(termination) is padded with zero reward and zero log-density increments, so its weight
stays at its final value and the estimate charges the policy for the rewards it lost.
With q the fused mixture of every distribution that produced samples in the set (weights by
their sample counts; dynamics and start distribution cancel in the ratio),

    log w_{i,t}(θ) = Σ_{s≤t} log π_θ(u_s^i | x_s^i) − log q(τ_{i,1:t}),
    log q(τ_{i,1:t}) = logsumexp_j ( log c_j + Σ_{s≤t} log π_j(u_s^i | x_s^i) ),
    Φ(θ) = Σ_t [ Σ_i softmax_i(log w_{·,t})_i r_t^i + w_r log Z_t ],
    log Z_t = logsumexp_i log w_{i,t}.

Everything stays in log space (no ratio is ever exponentiated before normalising), so long
prefixes do not overflow. Degenerate weights — all mass on one sample, or non-finite
log-densities — are detected and counted by :func:`phi`; non-finite samples are left out and
weights may be truncated at ``clip`` times their median (after Ionides 2008) before
normalising.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch


def log_mixture_prefix(component_logp: torch.Tensor, counts: torch.Tensor) -> torch.Tensor:
    """log q(τ_{i,1:t}) [m, H] from per-step log-densities [J, m, H] of J sampling
    distributions with ``counts`` [J] samples each (the fused mixture's weights)."""
    log_c = torch.log(counts.to(component_logp.dtype) / counts.sum())
    return torch.logsumexp(log_c[:, None, None] + component_logp.cumsum(-1), 0)


@dataclass
class PhiStats:
    """Diagnostics of one evaluation of Φ."""

    value: float  # Σ_t Σ_i ŵ_{i,t} r_t^i: the self-normalised estimate of the return
    log_z: float  # Σ_t log Z_t
    min_ess: float  # smallest effective sample size over t
    degenerate_steps: int  # steps t whose normalised weight sits on one sample
    dropped_samples: int  # samples left out for non-finite log-densities
    clipped: int  # (sample, step) weights truncated


def phi(logp: torch.Tensor, logq: torch.Tensor, rewards: torch.Tensor, w_r: float,
        clip: float = 0.0, degenerate: float = 0.99) -> tuple[torch.Tensor, PhiStats]:  # fmt: skip
    """Φ(θ) (differentiable in ``logp``) and its diagnostics.

    ``logp`` [m, H]: log π_θ(u_t^i | x_t^i), zero after a trajectory's end; ``logq`` [m, H]:
    :func:`log_mixture_prefix`; ``rewards`` [m, H], zero after the end. ``clip`` > 0 caps each
    weight at clip × the median weight at its step; a step counts as degenerate when one
    sample carries more than ``degenerate`` of its normalised weight.
    """
    logw = logp.cumsum(-1) - logq
    finite = torch.isfinite(logw).all(-1) & torch.isfinite(rewards).all(-1)
    dropped = int((~finite).sum())
    if not bool(finite.any()):  # nothing usable: a constant Φ with a zero gradient
        zero = (logp * 0.0).nan_to_num(0.0).sum()
        nan = float("nan")
        return zero, PhiStats(nan, nan, 0.0, logw.shape[1], dropped, 0)
    logw, r = logw[finite], rewards[finite]
    m = logw.shape[0]
    clipped = 0
    if clip > 0:
        # relative to the median, not the mean: one dominant weight also dominates the mean
        cap = (logw.median(0).values + math.log(clip)).detach()
        clipped = int((logw > cap).sum())
        logw = torch.minimum(logw, cap)
    log_z = torch.logsumexp(logw, 0)  # [H]
    weights = torch.exp(logw - log_z)  # normalised over samples, per step
    value = (weights * r).sum()
    objective = value + w_r * log_z.sum()
    with torch.no_grad():
        ess = 1.0 / weights.square().sum(0)
        degenerate_steps = int((weights.max(0).values > degenerate).sum()) if m > 1 else 0
    stats = PhiStats(float(value.detach()), float(log_z.detach().sum()), float(ess.min()),
                     degenerate_steps,
                     dropped, clipped)  # fmt: skip
    return objective, stats


def adapt_w_r(w_r: float, improved: bool, factor: float, low: float, high: float) -> float:
    """Algorithm 1, lines 11-15: decrease w_r when the new policy beat the best so far (trust
    the importance-sampled estimate more), increase it otherwise (stay near the samples)."""
    return max(w_r / factor, low) if improved else min(w_r * factor, high)
