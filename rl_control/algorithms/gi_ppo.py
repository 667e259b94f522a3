"""Gradient-informed PPO (Son et al., "Gradient Informed Proximal Policy Optimization").

PPO plus a pre-update step (:meth:`GIPPO.begin_update`):

1. ∂A/∂a of the rollout's actions from the task's differentiable step (truncated GAE of
   :func:`~rl_control.algorithms.analytic.windowed_advantage`; for one-step tasks ∂r/∂a),
   and the α-policy target g_α(s, ε) = a + α·∂A/∂a with a = g_θ̄(s, ε) (:func:`alpha_actions`);
2. regression of the actor to it on reparameterised actions with the same ε
   (``gi_iters`` Adam steps on E‖g_θ(s, ε) − g_α(s, ε)‖², its own optimiser); a regression
   whose loss ends above where it started restores the actor and retries at the learning
   rate / ``lr_factor`` (up to ``gi_tries`` times);
3. α adapted for the next update by the public code's rule (SonSang/gippo,
   ``adjust_alpha``, implemented in :func:`adapt_alpha`): after a converged regression
   α ← α·f while the determinant ratio det(∂g_θ/∂ε)/det(∂g_θ̄/∂ε) (= Π σ_θ/σ_θ̄, Lemma 4.4's
   estimate of det(I + α∇²A)) stays within 1 ± ``alpha_interval`` on every sample, else α ← α/f;
   α ← α/f also when the out-of-range ratio of π_θ/π_θ̄ against ``clip_range`` exceeds
   ``max_oorr`` or the estimated improvement Σ Â(π_θ/π_θ̄ − 1) is negative and below −1 in
   its running standardisation; α ≤ ``max_alpha``; α starts at ``alpha_init``. A failed
   regression leaves α and lowers the regression learning rate by ``lr_factor`` (floor 1e-5).
4. PPO's update with importance-sampling density π_h = ½(π_θ̄ + π_α) (π_α: the fitted
   actor) in place of the behaviour log-prob (:func:`mixed_log_prob`), so PPO's ratio is
   π_θ/π_h; where some |log π_α − log π_θ̄| > 4 the code's fallback π_h = π_α is used.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch

from rl_control.algorithms.analytic import AnalyticConfig, AnalyticContext, AnalyticPPO
from rl_control.algorithms.config import adam, require
from rl_control.algorithms.ppo import UpdateContext, clip_grad_norm
from rl_control.algorithms.registry import register_algorithm


@dataclass
class GIPPOConfig(AnalyticConfig):
    """PPO settings plus the α-policy's (defaults: the public code's ``gi`` block)."""

    alpha_init: float = 1e-5
    alpha_interval: float = 0.4
    alpha_factor: float = 1.1
    max_alpha: float = 1.0
    max_oorr: float = 0.5
    gi_iters: int = 16
    gi_learning_rate: float = 1e-3
    gi_tries: int = 8
    lr_factor: float = 1.5
    min_gi_learning_rate: float = 1e-5
    max_log_gap: float = 4.0  # beyond it π_h = π_α (the code's numerical fallback)

    def __post_init__(self) -> None:
        super().__post_init__()
        require(self.alpha_init > 0, f"alpha_init must be > 0, got {self.alpha_init}")
        require(0 < self.alpha_interval < 1, "alpha_interval must be in (0, 1)")
        require(self.alpha_factor > 1, f"alpha_factor must be > 1, got {self.alpha_factor}")
        require(self.gi_iters >= 2, f"gi_iters must be >= 2, got {self.gi_iters}")
        require(self.gi_tries >= 1, f"gi_tries must be >= 1, got {self.gi_tries}")
        require(self.lr_factor > 1, f"lr_factor must be > 1, got {self.lr_factor}")


def alpha_actions(actions: torch.Tensor, grad: torch.Tensor, alpha: float) -> torch.Tensor:
    """g_α(s, ε) = a + α·∇_a A with a = g_θ̄(s, ε)."""
    return actions + alpha * grad


def mixed_log_prob(
    old_log_prob: torch.Tensor, alpha_log_prob: torch.Tensor, max_log_gap: float = 4.0
) -> torch.Tensor:
    """log π_h = log ½(π_θ̄ + π_α); log π_α where some |log π_α − log π_θ̄| > max_log_gap."""
    if bool(((alpha_log_prob - old_log_prob).abs() > max_log_gap).any()):
        return alpha_log_prob
    return torch.logaddexp(old_log_prob, alpha_log_prob) - math.log(2.0)


def adapt_alpha(
    alpha: float,
    converged: bool,
    det_ratio: tuple[float, float],
    oorr: float,
    worse: bool,
    cfg: GIPPOConfig,
) -> float:
    """The next α (module docstring, step 3); ``det_ratio`` is (min, max) over samples."""
    nxt = alpha
    if converged:
        inside = 1 - cfg.alpha_interval <= det_ratio[0] and det_ratio[1] <= 1 + cfg.alpha_interval
        nxt = alpha * cfg.alpha_factor if inside else alpha / cfg.alpha_factor
    if oorr > cfg.max_oorr or worse:
        nxt = alpha / cfg.alpha_factor
    return min(nxt, cfg.max_alpha)


@dataclass
class GIContext(AnalyticContext):
    info: dict[str, float]


class GIPPO(AnalyticPPO):
    """GI-PPO: PPO after a regression to the α-policy; see the module docstring."""

    name = "gi_ppo"
    config_cls = GIPPOConfig
    config: GIPPOConfig

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.alpha = self.config.alpha_init
        self.gi_lr = self.config.gi_learning_rate
        self._perf = [0.0, 0.0, 0]  # running mean, M2 and count of the estimated improvement

    def _build_optimizers(self) -> None:
        super()._build_optimizers()
        self.optimizers["gi"] = adam(self.policy.actor_parameters(), self.config.gi_learning_rate)

    def action_gradient(self, ctx: AnalyticContext) -> tuple[torch.Tensor, torch.Tensor]:
        """(a = g_θ̄(s, ε) [B, act], ∂A/∂a there), unit action space, all samples."""
        data = ctx.data
        u = data["actions"].clone().requires_grad_(True)
        adv = self.analytic_advantage(ctx, data["index"], u, self.config.gae_lambda)
        (grad,) = torch.autograd.grad(adv.sum(), u)
        return data["actions"], grad

    def regress(self, ctx: AnalyticContext, target: torch.Tensor) -> tuple[bool, float]:
        """Fit g_θ(s, ε) to ``target``; (converged, final loss). Restores θ̄ on failure."""
        cfg, params, opt = self.config, self.policy.actor_parameters(), self.optimizers["gi"]
        backup = [p.detach().clone() for p in params]
        lr, mb = self.gi_lr, {"index": ctx.data["index"], "obs": ctx.data["obs"]}
        first = last = float("nan")
        for _ in range(cfg.gi_tries):
            for group in opt.param_groups:
                group["lr"] = lr
            for i in range(cfg.gi_iters):
                u, _ = self.reparam_actions(mb, ctx)
                loss = (u - target).square().sum(-1).mean()
                opt.zero_grad()
                loss.backward()
                clip_grad_norm(params, cfg.max_grad_norm)
                opt.step()
                first = loss.item() if i == 0 else first
                last = loss.item() if i == cfg.gi_iters - 1 else last
            if last <= first:
                return True, last
            with torch.no_grad():
                for p, b in zip(params, backup, strict=True):
                    p.copy_(b)
            lr /= cfg.lr_factor
        return False, last

    def _worse(self, perf: float) -> bool:
        """perf < 0 and below −1 in the running standardisation (updated after the test)."""
        mean, m2, count = self._perf
        std = math.sqrt(m2 / count) if count > 0 else 0.0
        normalised = (perf - mean) / (std + 1e-8) if count > 0 else 0.0
        count += 1
        delta = perf - mean
        mean += delta / count
        self._perf = [mean, m2 + delta * (perf - mean), count]
        return perf < 0 and normalised < -1.0

    def begin_update(self, data: dict[str, torch.Tensor]) -> GIContext:
        base = super().begin_update(data)
        ctx = GIContext(**vars(base), info={})
        assert ctx.old is not None
        cfg, alpha = self.config, self.alpha
        actions, grad = self.action_gradient(ctx)
        converged, reg_loss = self.regress(ctx, alpha_actions(actions, grad, alpha))
        with torch.no_grad():
            new = self.policy.distribution(data["obs"])
            log_det = (new.log_std - ctx.old.log_std).expand_as(new.mean).sum(-1)
            det = torch.exp(log_det)
            alpha_lp = new.log_prob(data["actions"])
            ratio = torch.exp((alpha_lp - data["log_probs"]).clamp(max=16.0))
            oorr = ((ratio - 1).abs() > cfg.clip_range).float().mean().item()
            perf = (data["advantages"] * (ratio - 1)).sum().item()
        worse = self._worse(perf)
        self.alpha = adapt_alpha(
            alpha, converged, (det.min().item(), det.max().item()), oorr, worse, cfg
        )
        if not converged:
            self.gi_lr = max(self.gi_lr / cfg.lr_factor, cfg.min_gi_learning_rate)
        data["log_probs"] = mixed_log_prob(data["log_probs"], alpha_lp, cfg.max_log_gap)
        ctx.info = {
            "alpha": alpha, "next_alpha": self.alpha, "gi_learning_rate": self.gi_lr,
            "regression_loss": reg_loss, "regression_converged": float(converged),
            "det_ratio_min": det.min().item(), "det_ratio_max": det.max().item(),
            "out_of_range_ratio": oorr, "est_improvement": perf,
            "grad_norm_mean": grad.norm(dim=-1).mean().item(),
        }  # fmt: skip
        return ctx

    def finish_update(self, ctx: UpdateContext, stats: dict[str, float], *args: Any) -> dict:
        assert isinstance(ctx, GIContext)
        stats.update(ctx.info)
        return super().finish_update(ctx, stats, *args)

    def _extra_state(self) -> dict[str, Any]:
        return {**super()._extra_state(), "alpha": self.alpha, "gi_lr": self.gi_lr,
                "perf": list(self._perf)}  # fmt: skip

    def _load_extra_state(self, state: dict[str, Any]) -> None:
        super()._load_extra_state(state)
        self.alpha = float(state.get("alpha", self.config.alpha_init))
        self.gi_lr = float(state.get("gi_lr", self.config.gi_learning_rate))
        self._perf = list(state.get("perf", [0.0, 0.0, 0]))


register_algorithm("gi_ppo", GIPPO.build, ("differentiable",))
