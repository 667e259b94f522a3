"""GI-PPO's baselines on PPO's machinery (rollouts, GAE, critic, minibatch epochs):

- ``lr``: REINFORCE with a baseline, policy term −E[log π_θ(u|s)·Â] (Â: normalised GAE).
- ``rp``: the reparameterised (analytic) policy gradient through the task's differentiable
  step, policy term −E[Σ_l γ^l r_{t+l} + γ^H V(s_{t+H}) − V(s_t)] over a truncated window of
  H = ``window`` steps (Xu et al.), actions g_θ(s, ε) with the rollout's own noise.
- ``lr_rp``: the two interpolated by their sample variances (Parmas et al. 2018, as in the
  GI-PPO code): k_LR = σ²_RP / (σ²_LR + σ²_RP), policy term k_LR·L_LR + (1 − k_LR)·L_RP,
  σ² the trace of the covariance of ``var_samples`` per-sample actor gradients (their first
  ``var_params`` entries), estimated once per update.

Each replaces only PPO's policy term; with ``n_epochs: 1`` and one full-batch minibatch each
is one plain gradient step per rollout, as in the paper's baselines.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from rl_control.algorithms.analytic import AnalyticConfig, AnalyticContext, AnalyticPPO
from rl_control.algorithms.config import require
from rl_control.algorithms.ppo import PPO, PPOConfig, UpdateContext
from rl_control.algorithms.registry import register_algorithm
from rl_control.models.distributions import DiagGaussian

Term = tuple[torch.Tensor, DiagGaussian, dict[str, torch.Tensor]]


def _diagnostics(dist: DiagGaussian, mb: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    with torch.no_grad():
        log_ratio = dist.log_prob(mb["actions"]) - mb["log_probs"]
        approx_kl = ((torch.exp(log_ratio) - 1) - log_ratio).mean()
    return {"approx_kl": approx_kl, "clip_fraction": torch.zeros(())}


def lr_loss(dist: DiagGaussian, mb: dict[str, torch.Tensor]) -> torch.Tensor:
    """−E[log π(u|s)·Â]: the likelihood-ratio (score-function) surrogate."""
    return -(dist.log_prob(mb["actions"]) * mb["advantages"]).mean()


@dataclass
class LRConfig(PPOConfig):
    """Plain policy-gradient defaults: one full-batch step per rollout."""

    n_epochs: int = 1
    batch_size: int = 1_000_000  # one minibatch: the whole rollout


class LR(PPO):
    """REINFORCE with a learned baseline (the critic) on PPO's machinery."""

    name = "lr"
    config_cls = LRConfig

    def policy_term(self, mb: dict[str, torch.Tensor], ctx: UpdateContext) -> Term:
        dist = self.policy.distribution(mb["obs"])
        return lr_loss(dist, mb), dist, _diagnostics(dist, mb)


@dataclass
class RPConfig(AnalyticConfig):
    """RP defaults: one full-batch step per rollout."""

    n_epochs: int = 1
    batch_size: int = 1_000_000


class RP(AnalyticPPO):
    """Analytic policy gradient through the differentiable task, truncated window."""

    name = "rp"
    config_cls = RPConfig

    def rp_loss(self, mb: dict[str, torch.Tensor], ctx: AnalyticContext) -> tuple:
        """(−E[windowed return − V], the minibatch distribution)."""
        u, dist = self.reparam_actions(mb, ctx)
        adv = self.analytic_advantage(ctx, mb["index"], u, lam=1.0)
        return -adv.mean(), dist

    def policy_term(self, mb: dict[str, torch.Tensor], ctx: UpdateContext) -> Term:
        assert isinstance(ctx, AnalyticContext)
        loss, dist = self.rp_loss(mb, ctx)
        return loss, dist, _diagnostics(dist, mb)


@dataclass
class LRRPConfig(RPConfig):
    """RP settings plus the variance estimate's sizes (the GI-PPO code's 16 and 512)."""

    var_samples: int = 16
    var_params: int = 512

    def __post_init__(self) -> None:
        super().__post_init__()
        require(self.var_samples >= 2, f"var_samples must be >= 2, got {self.var_samples}")
        require(self.var_params >= 1, f"var_params must be >= 1, got {self.var_params}")


@dataclass
class LRRPContext(AnalyticContext):
    k_lr: float = 0.5


class LRRP(RP):
    """Inverse-variance interpolation of the LR and RP gradients (Parmas et al.)."""

    name = "lr_rp"
    config_cls = LRRPConfig
    config: LRRPConfig

    def begin_update(self, data: dict[str, torch.Tensor]) -> LRRPContext:
        base = super().begin_update(data)
        ctx = LRRPContext(**vars(base))
        idx = torch.randperm(len(data["obs"]), generator=self.generator)[: self.config.var_samples]
        mb = {k: v[idx] for k, v in data.items()}
        u, dist = self.reparam_actions(mb, ctx)
        lr_each = -dist.log_prob(mb["actions"]) * mb["advantages"]
        rp_each = -self.analytic_advantage(ctx, mb["index"], u, lam=1.0)
        var_lr, var_rp = (self._gradient_variance(x) for x in (lr_each, rp_each))
        ctx.k_lr = var_rp / (var_lr + var_rp + 1e-8)
        return ctx

    def _gradient_variance(self, losses: torch.Tensor) -> float:
        """Trace of the covariance of the per-sample actor gradients of ``losses``."""
        params = self.policy.actor_parameters()
        rows = []
        for loss in losses:
            grads = torch.autograd.grad(loss, params, retain_graph=True, allow_unused=True)
            flat = [g.reshape(-1) for g in grads if g is not None]
            rows.append(torch.cat(flat)[: self.config.var_params])
        return torch.stack(rows).var(dim=0).sum().item()

    def policy_term(self, mb: dict[str, torch.Tensor], ctx: UpdateContext) -> Term:
        assert isinstance(ctx, LRRPContext)
        rp, dist = self.rp_loss(mb, ctx)
        loss = ctx.k_lr * lr_loss(dist, mb) + (1.0 - ctx.k_lr) * rp
        return loss, dist, _diagnostics(dist, mb)

    def finish_update(self, ctx: UpdateContext, stats: dict[str, float], *args: Any) -> dict:
        assert isinstance(ctx, LRRPContext)
        stats["k_lr"] = ctx.k_lr
        return super().finish_update(ctx, stats, *args)


DIFFERENTIABLE = ("differentiable",)
register_algorithm("lr", LR.build)
register_algorithm("rp", RP.build, DIFFERENTIABLE)
register_algorithm("lr_rp", LRRP.build, DIFFERENTIABLE)
