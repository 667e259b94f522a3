"""PPO: clipped surrogate (default) or adaptive-KL-penalty surrogate, over the on-policy base."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F

from rl_control.algorithms.config import adam, require
from rl_control.algorithms.on_policy import OnPolicyAlgorithm, OnPolicyConfig
from rl_control.algorithms.storage import minibatches
from rl_control.models.distributions import DiagGaussian

PPO_MODES = ("clip", "kl_penalty")
_STAT_KEYS = ("policy_loss", "value_loss", "entropy", "approx_kl", "clip_fraction")


@dataclass
class PPOConfig(OnPolicyConfig):
    """SB3 PPO defaults; ``mode: kl_penalty`` selects the adaptive-KL variant of the paper."""

    n_epochs: int = 10
    clip_range: float = 0.2
    clip_range_vf: float | None = None
    ent_coef: float = 0.0
    vf_coef: float = 0.5
    max_grad_norm: float = 0.5
    target_kl: float | None = None
    mode: str = "clip"
    kl_target: float = 0.01  # d_targ of the KL-penalty variant
    kl_beta_init: float = 1.0

    def __post_init__(self) -> None:
        super().__post_init__()
        require(self.mode in PPO_MODES, f"ppo mode must be one of {PPO_MODES}, got {self.mode!r}")
        require(self.n_epochs > 0, f"n_epochs must be > 0, got {self.n_epochs}")
        require(self.clip_range > 0, f"clip_range must be > 0, got {self.clip_range}")
        require(self.kl_target > 0, f"kl_target must be > 0, got {self.kl_target}")
        require(self.kl_beta_init > 0, f"kl_beta_init must be > 0, got {self.kl_beta_init}")


def clipped_surrogate(
    ratio: torch.Tensor, advantages: torch.Tensor, clip: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """-E[min(r A, clip(r, 1-eps, 1+eps) A)] and the fraction of clipped samples."""
    unclipped = ratio * advantages
    clipped = ratio.clamp(1 - clip, 1 + clip) * advantages
    with torch.no_grad():
        clip_fraction = ((ratio - 1).abs() > clip).float().mean()
    return -torch.min(unclipped, clipped).mean(), clip_fraction


def clipped_surrogate_loss(
    log_prob: torch.Tensor, old_log_prob: torch.Tensor, advantages: torch.Tensor, clip: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """:func:`clipped_surrogate` of the ratio exp(log_prob - old_log_prob)."""
    return clipped_surrogate(torch.exp(log_prob - old_log_prob), advantages, clip)


def adapt_kl_beta(beta: float, kl: float, kl_target: float) -> float:
    """PPO paper's rule: halve beta when d < d_targ/1.5, double it when d > d_targ*1.5."""
    if kl < kl_target / 1.5:
        return beta / 2.0
    if kl > kl_target * 1.5:
        return beta * 2.0
    return beta


def clip_grad_norm(params: list[torch.Tensor], max_norm: float) -> None:
    """``torch.nn.utils.clip_grad_norm_`` (same formula, eps 1e-6) in four foreach kernels.

    The library version's device/dtype grouping and checks cost as much as the arithmetic
    for a dozen small gradients; here every gradient is a CPU float32 tensor.
    """
    grads = [p.grad for p in params if p.grad is not None]
    if not grads:
        return
    total = torch.linalg.vector_norm(torch.stack(torch._foreach_norm(grads)))
    torch._foreach_mul_(grads, (max_norm / (total + 1e-6)).clamp(max=1.0))


@dataclass
class UpdateContext:
    """What one PPO update shares across its minibatches (subclasses add their own)."""

    #: the flattened rollout the minibatches are drawn from
    data: dict[str, torch.Tensor]
    #: the behaviour policy on the whole rollout (for the KL terms); None if not formed
    old: DiagGaussian | None


class PPO(OnPolicyAlgorithm):
    """Proximal policy optimisation (Schulman et al. 2017).

    The minibatch loss is a sum of named terms (:meth:`loss_terms`): ``policy`` (surrogate),
    any :meth:`extra_loss_terms` of a subclass, ``value`` and ``entropy``, weighted by
    :meth:`loss_coefs`. Subclasses add a term instead of rewriting the update.
    """

    name = "ppo"
    config_cls = PPOConfig
    config: PPOConfig
    #: per-minibatch statistics averaged over the update, in this order
    stat_keys: tuple[str, ...] = _STAT_KEYS

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.kl_beta = self.config.kl_beta_init

    def _build_optimizers(self) -> None:
        params = list(self.policy.parameters())
        self.optimizers = {"policy": adam(params, self.config.learning_rate)}

    # --- the update, in hooks -------------------------------------------------------------
    def begin_update(self, data: dict[str, torch.Tensor]) -> UpdateContext:
        """Freeze the behaviour policy on the rollout (its means ride along in minibatches)."""
        with torch.no_grad():
            old = self.policy.distribution(data["obs"]).frozen()
        data["old_mean"] = old.mean
        if old.log_std.ndim > 1:  # a per-sample std is minibatched like the means
            data["old_log_std"] = old.log_std
        return UpdateContext(data, old)

    def policy_term(
        self, mb: dict[str, torch.Tensor], ctx: UpdateContext
    ) -> tuple[torch.Tensor, DiagGaussian, dict[str, torch.Tensor]] | None:
        """(surrogate loss, minibatch distribution, diagnostics); None: stop (target_kl)."""
        cfg = self.config
        dist = self.policy.distribution(mb["obs"])
        log_ratio = dist.log_prob(mb["actions"]) - mb["log_probs"]
        ratio, adv = torch.exp(log_ratio), mb["advantages"]
        with torch.no_grad():
            approx_kl = ((ratio - 1) - log_ratio).mean()
        if cfg.target_kl is not None and approx_kl.item() > 1.5 * cfg.target_kl:
            return None  # SB3: stop before stepping past the KL budget
        if cfg.mode == "clip":
            pg_loss, clip_frac = clipped_surrogate(ratio, adv, cfg.clip_range)
        else:
            assert ctx.old is not None
            old = DiagGaussian(mb["old_mean"], mb.get("old_log_std", ctx.old.log_std))
            kl = old.kl(dist)  # formed before the surrogate, as autograd's order is kept
            pg_loss = -(ratio * adv).mean() + self.kl_beta * kl.mean()
            clip_frac = torch.zeros(())
        return pg_loss, dist, {"approx_kl": approx_kl, "clip_fraction": clip_frac}

    def extra_loss_terms(
        self, mb: dict[str, torch.Tensor], ctx: UpdateContext
    ) -> dict[str, torch.Tensor]:
        """Further loss terms of a subclass (weighted by :meth:`loss_coefs`); none here."""
        return {}

    def value_term(self, mb: dict[str, torch.Tensor]) -> torch.Tensor:
        """MSE of V against the returns, optionally clipped around the rollout's values."""
        cfg = self.config
        values = self.policy.value(mb["obs"])
        if cfg.clip_range_vf is not None:
            delta = (values - mb["values"]).clamp(-cfg.clip_range_vf, cfg.clip_range_vf)
            values = mb["values"] + delta
        return F.mse_loss(values, mb["returns"])

    def loss_terms(
        self, mb: dict[str, torch.Tensor], ctx: UpdateContext
    ) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]] | None:
        """(named loss terms, diagnostics) of a minibatch; None stops the update early.

        Terms are formed in a fixed order (policy, extras, value, entropy): autograd
        accumulates shared gradients in that order, so fixed-seed runs reproduce.
        """
        out = self.policy_term(mb, ctx)
        if out is None:
            return None
        pg_loss, dist, diagnostics = out
        terms = {"policy": pg_loss, **self.extra_loss_terms(mb, ctx)}
        terms["value"] = self.value_term(mb)
        terms["entropy"] = dist.entropy()
        return terms, diagnostics

    def loss_coefs(self) -> dict[str, float]:
        """Weight of each term in the loss (entropy is a bonus: negative weight)."""
        return {"policy": 1.0, "value": self.config.vf_coef, "entropy": -self.config.ent_coef}

    def total_loss(self, terms: dict[str, torch.Tensor]) -> torch.Tensor:
        """sum_k coef_k * term_k in float32 (a term may be float64, like PPO-MPC's L_PRED);
        a zero entropy weight leaves that term out of the graph."""
        coefs = self.loss_coefs()
        loss = terms["policy"]
        for name, term in terms.items():
            coef = coefs[name]
            if name == "policy" or (name == "entropy" and coef == 0.0):
                continue
            loss = loss + coef * term.float()
        return loss

    def optimizer_step(self, loss: torch.Tensor) -> None:
        """One gradient step on ``loss`` with the gradient norm clipped."""
        opt = self.optimizers["policy"]
        opt.zero_grad()
        loss.backward()
        clip_grad_norm(list(self.policy.parameters()), self.config.max_grad_norm)
        opt.step()

    def minibatch_stats(
        self, terms: dict[str, torch.Tensor], diagnostics: dict[str, torch.Tensor]
    ) -> torch.Tensor:
        """This minibatch's statistics in :attr:`stat_keys` order, as one tensor."""
        named = {
            "policy_loss": terms["policy"], "value_loss": terms["value"],
            "entropy": terms["entropy"], **diagnostics,
        }  # fmt: skip
        with torch.no_grad():
            return torch.stack([named[k] for k in self.stat_keys])

    def finish_update(
        self, ctx: UpdateContext, stats: dict[str, float], n_updates: int, stopped: bool
    ) -> dict[str, float]:
        """Statistics after the epochs: the KL moved, and the KL-penalty weight adapted."""
        cfg, data = self.config, ctx.data
        assert ctx.old is not None
        with torch.no_grad():
            kl = ctx.old.kl(self.policy.distribution(data["obs"])).mean().item()
        stats.update(kl=kl, n_updates=float(n_updates), early_stop=float(stopped))
        if cfg.mode == "kl_penalty":
            self.kl_beta = adapt_kl_beta(self.kl_beta, kl, cfg.kl_target)
            stats["kl_beta"] = self.kl_beta
        return stats

    def _update_policy(self, data: dict[str, torch.Tensor]) -> dict[str, float]:
        cfg = self.config
        ctx = self.begin_update(data)
        # per-minibatch statistics summed as one tensor: a single conversion at the end
        sums: torch.Tensor | None = None
        n_updates, stopped = 0, False
        for _ in range(cfg.n_epochs):
            for mb in minibatches(ctx.data, cfg.batch_size, self.generator):
                out = self.loss_terms(mb, ctx)
                if out is None:
                    stopped = True
                    break
                terms, diagnostics = out
                self.optimizer_step(self.total_loss(terms))
                n_updates += 1
                row = self.minibatch_stats(terms, diagnostics)
                sums = row if sums is None else sums + row
            if stopped:
                break
        stats: dict[str, float] = {}
        if sums is not None:
            stats = dict(zip(self.stat_keys, (sums / n_updates).tolist(), strict=True))
        return self.finish_update(ctx, stats, n_updates, stopped)

    def _extra_state(self) -> dict[str, Any]:
        return {"kl_beta": self.kl_beta}

    def _load_extra_state(self, state: dict[str, Any]) -> None:
        self.kl_beta = float(state.get("kl_beta", self.config.kl_beta_init))
