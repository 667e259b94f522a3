"""PPO: clipped surrogate (default) or adaptive-KL-penalty surrogate, over the on-policy base."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F

from rl_control.algorithms.config import adam, require
from rl_control.algorithms.on_policy import OnPolicyAlgorithm, OnPolicyConfig
from rl_control.algorithms.storage import minibatches
from rl_control.models.actor_critic import gaussian_kl, gaussian_log_prob

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


def clipped_surrogate_loss(
    log_prob: torch.Tensor, old_log_prob: torch.Tensor, advantages: torch.Tensor, clip: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """-E[min(r A, clip(r, 1-eps, 1+eps) A)] and the fraction of clipped samples."""
    ratio = torch.exp(log_prob - old_log_prob)
    unclipped = ratio * advantages
    clipped = ratio.clamp(1 - clip, 1 + clip) * advantages
    clip_fraction = ((ratio - 1).abs() > clip).float().mean()
    return -torch.min(unclipped, clipped).mean(), clip_fraction


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


class PPO(OnPolicyAlgorithm):
    """Proximal policy optimisation (Schulman et al. 2017)."""

    name = "ppo"
    config: PPOConfig

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.kl_beta = self.config.kl_beta_init

    def _build_optimizers(self) -> None:
        params = list(self.policy.parameters())
        self.optimizers = {"policy": adam(params, self.config.learning_rate)}

    def _update_policy(self, data: dict[str, torch.Tensor]) -> dict[str, float]:
        cfg, policy = self.config, self.policy
        opt, params = self.optimizers["policy"], list(policy.parameters())
        with torch.no_grad():  # the behaviour policy, for the KL terms
            data["old_mean"] = policy.mean_net(data["obs"])
            old_log_std = policy.log_std.detach().clone()
        # per-minibatch statistics summed as one tensor: a single conversion at the end
        sums, n_updates, stopped = torch.zeros(len(_STAT_KEYS)), 0, False
        clip, entropy_const = cfg.clip_range, 0.5 * (1.0 + math.log(2 * math.pi))
        for _ in range(cfg.n_epochs):
            for mb in minibatches(data, cfg.batch_size, self.generator):
                mean = policy.mean_net(mb["obs"])
                log_std = policy.log_std  # [act_dim], broadcast: fewer autograd nodes
                log_ratio = gaussian_log_prob(mb["actions"], mean, log_std) - mb["log_probs"]
                ratio, adv = torch.exp(log_ratio), mb["advantages"]
                with torch.no_grad():
                    approx_kl = ((ratio - 1) - log_ratio).mean()
                if cfg.target_kl is not None and approx_kl.item() > 1.5 * cfg.target_kl:
                    stopped = True  # SB3: stop before stepping past the KL budget
                    break
                if cfg.mode == "clip":  # clipped_surrogate_loss, sharing the ratio computed above
                    pg_loss = -torch.min(ratio * adv, ratio.clamp(1 - clip, 1 + clip) * adv).mean()
                    with torch.no_grad():
                        clip_frac = ((ratio - 1).abs() > clip).float().mean()
                else:
                    kl = gaussian_kl(mb["old_mean"], old_log_std, mean, log_std)
                    pg_loss = -(ratio * adv).mean() + self.kl_beta * kl.mean()
                    clip_frac = torch.zeros(())
                values = policy.value(mb["obs"])
                if cfg.clip_range_vf is not None:
                    delta = (values - mb["values"]).clamp(-cfg.clip_range_vf, cfg.clip_range_vf)
                    values = mb["values"] + delta
                value_loss = F.mse_loss(values, mb["returns"])
                # the entropy of a state-independent std is the same for every sample
                entropy = (policy.log_std + entropy_const).sum()
                loss = pg_loss + cfg.vf_coef * value_loss
                if cfg.ent_coef != 0.0:
                    loss = loss - cfg.ent_coef * entropy
                opt.zero_grad()
                loss.backward()
                clip_grad_norm(params, cfg.max_grad_norm)
                opt.step()
                n_updates += 1
                with torch.no_grad():
                    sums += torch.stack([pg_loss, value_loss, entropy, approx_kl, clip_frac])
            if stopped:
                break
        stats: dict[str, float] = {}
        if n_updates:
            means = (sums / n_updates).tolist()
            stats = dict(zip(_STAT_KEYS, means, strict=True))
        with torch.no_grad():
            mean = policy.mean_net(data["obs"])
            kl_t = gaussian_kl(data["old_mean"], old_log_std, mean, policy.log_std).mean()
            kl = kl_t.item()
        stats.update(kl=kl, n_updates=float(n_updates), early_stop=float(stopped))
        if cfg.mode == "kl_penalty":
            self.kl_beta = adapt_kl_beta(self.kl_beta, kl, cfg.kl_target)
            stats["kl_beta"] = self.kl_beta
        return stats

    def _extra_state(self) -> dict[str, Any]:
        return {"kl_beta": self.kl_beta}

    def _load_extra_state(self, state: dict[str, Any]) -> None:
        self.kl_beta = float(state.get("kl_beta", self.config.kl_beta_init))
