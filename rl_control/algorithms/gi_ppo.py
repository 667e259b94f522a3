"""Gradient-informed PPO (Son et al., "Gradient Informed Proximal Policy Optimization").

PPO plus a pre-update step (:meth:`GIPPO.begin_update`):

1. ∂A/∂a of the rollout's actions from the task's differentiable step (truncated GAE of
   :func:`~rl_control.algorithms.analytic.windowed_advantage`; for one-step tasks ∂r/∂a),
   and the α-policy target g_α(s, ε) = a + α·∂A/∂a with a = g_θ̄(s, ε) (:func:`alpha_actions`);
2. regression of the actor to it on reparameterised actions with the same ε
   (``gi_iters`` Adam steps on E‖g_θ(s, ε) − g_α(s, ε)‖², its own optimiser); a regression
   whose loss ends above where it started restores the actor and retries at the learning
   rate / ``lr_factor`` (up to ``gi_tries`` times);
3. α, by one of two rules (``alpha_rule``):

   ``"code"`` (default): the public code's rule (SonSang/gippo, ``train_actor_no_ppo`` and
   ``adjust_next_alpha_by_policy_diff``; :func:`adapt_alpha`), α adapted for the next update:
   after a converged regression α ← α·f (``alpha_factor``, 1.1) while the determinant ratio
   det(∂g_θ/∂ε)/det(∂g_θ̄/∂ε) (= Π σ_θ/σ_θ̄, Lemma 4.4's estimate of det(I + α∇²A)) stays
   within 1 ± ``alpha_interval`` on every sample, else α ← α/f; α ← α/f also when the
   out-of-range ratio of π_θ/π_θ̄ against ``clip_range`` exceeds ``max_oorr`` or the estimated
   improvement Σ Â(π_θ/π_θ̄ − 1) is negative and below −1 in its running standardisation;
   α ≤ ``max_alpha``; α starts at ``alpha_init``. A failed regression leaves α and lowers
   the regression learning rate by ``lr_factor`` (floor 1e-5). From 1e-5 this rule moves α
   by at most ×1.1 per update: ≤ 6.7e-5 after 20 updates.

   ``"slides"``: the slides' criteria (gi-ppo-slides, "Adjust α for next iteration") used as
   constraints on α itself, this update: the α-policy must pass the variance test (Lemma
   4.4's determinant ratio within 1 ± ``alpha_interval``), the bias test (PPO's estimate of
   the α-policy's improvement, Prop. 4.3: Σ Â(π_α/π_θ̄ − 1) > 0) and keep the out-of-range
   ratio under ``max_oorr`` ("adjust α to maintain this value under a certain threshold"),
   with a converged regression. The slides give these tests but no step sizes or start (they
   defer to the paper's Section 4.3.1, which is not in ../shared/papers/), so the search
   (:func:`alpha_candidates`) is ours: candidates from ``search_factor``^``search_up`` times
   the last accepted α down by ``search_factor`` per try, ``search_steps`` tries (each a
   regression from θ̄), α ≤ ``max_alpha``; the first that passes (:func:`slides_admissible`)
   is this update's α-policy. If none passes the actor is restored to θ̄ and this update is
   plain PPO (π_h = π_θ̄: the slides' α = 0 safeguard); the next search starts from the
   smallest α tried.
4. PPO's update with importance-sampling density π_h = ½(π_θ̄ + π_α) (π_α: the fitted
   actor) in place of the behaviour log-prob (:func:`mixed_log_prob`), so PPO's ratio is
   π_θ/π_h; where some |log π_α − log π_θ̄| > 4 the code's fallback π_h = π_α is used.

Fall-backs (:data:`FALLBACKS`), each a per-update stat ``fallback_<kind>`` (1: it happened in
this update's pre-update step) and a running total ``fallbacks_<kind>`` kept in the
state_dict:

- ``regression_retry``: a regression try's loss ended above its start, the actor was restored
  and a retry at a lower learning rate converged;
- ``regression_failed``: every try failed (the actor is θ̄ again; "code": α kept, the
  regression learning rate lowered; "slides": that candidate rejected);
- ``alpha_variance`` / ``alpha_oorr`` / ``alpha_bias``: α lowered for the determinant test,
  the out-of-range ratio or the improvement estimate ("code": the next α divided by f, each
  cause that held; "slides": a rejected candidate failed that test);
- ``plain_ppo``: the PPO step ran with π_h = π_θ̄ (the actor restored: "code" after a failed
  regression, "slides" when no candidate passed);
- ``pi_h_alpha``: π_h = π_α, the numerical fallback above.
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

ALPHA_RULES = ("code", "slides")
#: the kinds of fall-back of the pre-update step (module docstring)
FALLBACKS = ("regression_retry", "regression_failed", "alpha_variance", "alpha_oorr",
             "alpha_bias", "plain_ppo", "pi_h_alpha")  # fmt: skip


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
    alpha_rule: str = "code"  # "code" (the public code's) or "slides" (module docstring)
    search_factor: float = 2.0  # "slides": ratio between successive α candidates
    search_up: int = 2  # "slides": the first candidate is search_factor^search_up × last α
    search_steps: int = 6  # "slides": candidates tried per update

    def __post_init__(self) -> None:
        super().__post_init__()
        require(self.alpha_rule in ALPHA_RULES,
                f"alpha_rule must be one of {ALPHA_RULES}, got {self.alpha_rule!r}")  # fmt: skip
        require(self.search_factor > 1, f"search_factor must be > 1, got {self.search_factor}")
        require(self.search_up >= 0 and self.search_steps >= 1,
                "search_up must be >= 0 and search_steps >= 1")  # fmt: skip
        require(self.alpha_init > 0, f"alpha_init must be > 0, got {self.alpha_init}")
        require(0 < self.alpha_interval < 1, "alpha_interval must be in (0, 1)")
        require(self.alpha_factor > 1, f"alpha_factor must be > 1, got {self.alpha_factor}")
        require(self.gi_iters >= 2, f"gi_iters must be >= 2, got {self.gi_iters}")
        require(self.gi_tries >= 1, f"gi_tries must be >= 1, got {self.gi_tries}")
        require(self.lr_factor > 1, f"lr_factor must be > 1, got {self.lr_factor}")


def alpha_actions(actions: torch.Tensor, grad: torch.Tensor, alpha: float) -> torch.Tensor:
    """g_α(s, ε) = a + α·∇_a A with a = g_θ̄(s, ε)."""
    return actions + alpha * grad


def log_gap_exceeded(
    old_log_prob: torch.Tensor, alpha_log_prob: torch.Tensor, max_log_gap: float = 4.0
) -> bool:
    """Some |log π_α − log π_θ̄| > max_log_gap: where :func:`mixed_log_prob` uses π_α."""
    return bool(((alpha_log_prob - old_log_prob).abs() > max_log_gap).any())


def mixed_log_prob(
    old_log_prob: torch.Tensor, alpha_log_prob: torch.Tensor, max_log_gap: float = 4.0
) -> torch.Tensor:
    """log π_h = log ½(π_θ̄ + π_α); log π_α where some |log π_α − log π_θ̄| > max_log_gap."""
    if log_gap_exceeded(old_log_prob, alpha_log_prob, max_log_gap):
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


def lowering_causes(
    det_ratio: tuple[float, float], oorr: float, bad_bias: bool, cfg: GIPPOConfig
) -> set[str]:
    """The α tests a fitted α-policy failed, as :data:`FALLBACKS` kinds."""
    inside = 1 - cfg.alpha_interval <= det_ratio[0] and det_ratio[1] <= 1 + cfg.alpha_interval
    failed = {"alpha_variance": not inside, "alpha_oorr": oorr > cfg.max_oorr,
              "alpha_bias": bad_bias}  # fmt: skip
    return {kind for kind, hit in failed.items() if hit}


def alpha_candidates(last: float, cfg: GIPPOConfig) -> list[float]:
    """The "slides" rule's α candidates, largest first (module docstring, step 3)."""
    top = last * cfg.search_factor**cfg.search_up
    return [min(top / cfg.search_factor**k, cfg.max_alpha) for k in range(cfg.search_steps)]


def slides_admissible(
    converged: bool, det_ratio: tuple[float, float], oorr: float, perf: float, cfg: GIPPOConfig
) -> bool:
    """The slides' three tests on a fitted α-policy (module docstring, step 3, "slides")."""
    low, high = 1 - cfg.alpha_interval, 1 + cfg.alpha_interval
    variance = low <= det_ratio[0] and det_ratio[1] <= high
    return converged and variance and oorr <= cfg.max_oorr and perf > 0


@dataclass
class AlphaStats:
    """How far the fitted actor π_α is from π_θ̄ on the rollout."""

    det_ratio: tuple[float, float]  # (min, max) over samples of Π σ_α/σ_θ̄
    oorr: float  # fraction of samples with |π_α/π_θ̄ − 1| > clip_range
    perf: float  # Σ Â (π_α/π_θ̄ − 1): PPO's estimate of the improvement
    log_prob: torch.Tensor  # log π_α of the rollout's actions


@dataclass
class RuleResult:
    """What an α rule did this update."""

    alpha: float  # α of this update's α-policy (0: none, plain PPO)
    converged: bool  # the (last) regression converged
    loss: float  # its final loss
    stats: AlphaStats
    tries: int  # candidates tried
    fallbacks: set[str]  # :data:`FALLBACKS` kinds that happened


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
        self.fallbacks = dict.fromkeys(FALLBACKS, 0)  # running totals, checkpointed

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

    def regress(self, ctx: AnalyticContext, target: torch.Tensor) -> tuple[bool, float, int]:
        """Fit g_θ(s, ε) to ``target``; (converged, final loss, failed tries). Restores θ̄
        after each failed try."""
        cfg, params, opt = self.config, self.policy.actor_parameters(), self.optimizers["gi"]
        backup = [p.detach().clone() for p in params]
        lr, mb = self.gi_lr, {"index": ctx.data["index"], "obs": ctx.data["obs"]}
        first = last = float("nan")
        for tried in range(cfg.gi_tries):
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
                return True, last, tried
            with torch.no_grad():
                for p, b in zip(params, backup, strict=True):
                    p.copy_(b)
            _drop_nonfinite_state(opt, params)
            lr /= cfg.lr_factor
        return False, last, cfg.gi_tries

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

    def alpha_stats(self, ctx: AnalyticContext) -> AlphaStats:
        """:class:`AlphaStats` of the actor as it is now against the rollout's π_θ̄."""
        data, cfg = ctx.data, self.config
        assert ctx.old is not None
        with torch.no_grad():
            new = self.policy.distribution(data["obs"])
            det = torch.exp((new.log_std - ctx.old.log_std).expand_as(new.mean).sum(-1))
            alpha_lp = new.log_prob(data["actions"])
            ratio = torch.exp((alpha_lp - data["log_probs"]).clamp(max=16.0))
            oorr = ((ratio - 1).abs() > cfg.clip_range).float().mean().item()
            perf = (data["advantages"] * (ratio - 1)).sum().item()
        return AlphaStats((det.min().item(), det.max().item()), oorr, perf, alpha_lp)

    def _code_rule(self, ctx: AnalyticContext, actions: torch.Tensor,
                   grad: torch.Tensor) -> RuleResult:  # fmt: skip
        """Fit g_α at the current α, then adapt α for the next update ("code")."""
        cfg, alpha = self.config, self.alpha
        converged, reg_loss, failed = self.regress(ctx, alpha_actions(actions, grad, alpha))
        st = self.alpha_stats(ctx)
        worse = self._worse(st.perf)
        self.alpha = adapt_alpha(alpha, converged, st.det_ratio, st.oorr, worse, cfg)
        kinds = self._regression_kinds(converged, failed)
        if converged:  # adapt_alpha's reasons to lower α (a restored actor passes them all)
            kinds |= lowering_causes(st.det_ratio, st.oorr, worse, cfg)
        else:
            self.gi_lr = max(self.gi_lr / cfg.lr_factor, cfg.min_gi_learning_rate)
            kinds.add("plain_ppo")  # π_α = π_θ̄, so π_h = π_θ̄
        return RuleResult(alpha, converged, reg_loss, st, 1, kinds)

    @staticmethod
    def _regression_kinds(converged: bool, failed: int) -> set[str]:
        if not converged:
            return {"regression_failed"}
        return {"regression_retry"} if failed else set()

    def _slides_rule(self, ctx: AnalyticContext, actions: torch.Tensor,
                     grad: torch.Tensor) -> RuleResult:  # fmt: skip
        """The largest candidate α whose fitted α-policy passes the slides' tests, or 0 (the
        actor restored: plain PPO this update)."""
        cfg, params = self.config, self.policy.actor_parameters()
        backup = [p.detach().clone() for p in params]
        candidates, kinds = alpha_candidates(self.alpha, cfg), set()
        for tries, alpha in enumerate(candidates, 1):
            converged, reg_loss, failed = self.regress(ctx, alpha_actions(actions, grad, alpha))
            st = self.alpha_stats(ctx)
            kinds |= self._regression_kinds(converged, failed)
            if slides_admissible(converged, st.det_ratio, st.oorr, st.perf, cfg):
                self.alpha = alpha
                return RuleResult(alpha, converged, reg_loss, st, tries, kinds)
            if converged:  # a failed regression is θ̄ again: its tests say nothing of α
                kinds |= lowering_causes(st.det_ratio, st.oorr, st.perf <= 0, cfg)
            with torch.no_grad():
                for p, b in zip(params, backup, strict=True):
                    p.copy_(b)
        self.alpha = candidates[-1]
        st = self.alpha_stats(ctx)
        return RuleResult(0.0, converged, reg_loss, st, len(candidates), kinds | {"plain_ppo"})

    def begin_update(self, data: dict[str, torch.Tensor]) -> GIContext:
        base = super().begin_update(data)
        ctx = GIContext(**vars(base), info={})
        assert ctx.old is not None
        actions, grad = self.action_gradient(ctx)
        rule = self._code_rule if self.config.alpha_rule == "code" else self._slides_rule
        res = rule(ctx, actions, grad)
        st, gap = res.stats, self.config.max_log_gap
        if log_gap_exceeded(data["log_probs"], st.log_prob, gap):
            res.fallbacks.add("pi_h_alpha")
        data["log_probs"] = mixed_log_prob(data["log_probs"], st.log_prob, gap)
        for kind in res.fallbacks:
            self.fallbacks[kind] += 1
        ctx.info = {
            "alpha": res.alpha, "next_alpha": self.alpha, "gi_learning_rate": self.gi_lr,
            "regression_loss": res.loss, "regression_converged": float(res.converged),
            "det_ratio_min": st.det_ratio[0], "det_ratio_max": st.det_ratio[1],
            "out_of_range_ratio": st.oorr, "est_improvement": st.perf, "alpha_tries": res.tries,
            "grad_norm_mean": grad.norm(dim=-1).mean().item(),
            **{f"fallback_{k}": float(k in res.fallbacks) for k in FALLBACKS},
            **{f"fallbacks_{k}": float(n) for k, n in self.fallbacks.items()},
        }  # fmt: skip
        return ctx

    def finish_update(self, ctx: UpdateContext, stats: dict[str, float], *args: Any) -> dict:
        assert isinstance(ctx, GIContext)
        stats.update(ctx.info)
        return super().finish_update(ctx, stats, *args)

    def _extra_state(self) -> dict[str, Any]:
        return {**super()._extra_state(), "alpha": self.alpha, "gi_lr": self.gi_lr,
                "perf": list(self._perf), "fallbacks": dict(self.fallbacks)}  # fmt: skip

    def _load_extra_state(self, state: dict[str, Any]) -> None:
        super()._load_extra_state(state)
        self.alpha = float(state.get("alpha", self.config.alpha_init))
        self.gi_lr = float(state.get("gi_lr", self.config.gi_learning_rate))
        self._perf = list(state.get("perf", [0.0, 0.0, 0]))
        saved = state.get("fallbacks", {})  # checkpoints from before the counters: zeros
        self.fallbacks = {k: int(saved.get(k, 0)) for k in FALLBACKS}


register_algorithm("gi_ppo", GIPPO.build, ("differentiable",))


def _drop_nonfinite_state(opt: torch.optim.Optimizer, params: list[torch.Tensor]) -> None:
    """Forget the optimiser's moments of a parameter once they hold a NaN or inf: a try that
    diverged would otherwise poison every later try and update through Adam's averages even
    though the parameters themselves were restored. Finite moments are kept (ordinary
    retries continue from them, so runs without a divergence are unchanged)."""
    for p in params:
        state = opt.state.get(p)
        if state and any(torch.is_tensor(v) and not torch.isfinite(v).all()
                         for v in state.values()):  # fmt: skip
            del opt.state[p]
