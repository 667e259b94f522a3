"""TRPO: natural-gradient step by conjugate gradient, KL-constrained line search.

Follows Schulman et al. 2015 / sb3-contrib: the policy takes one step on the full rollout;
the value function is then fitted by Adam regression on the GAE returns.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch.nn.utils import parameters_to_vector, vector_to_parameters

from rl_control.algorithms.config import adam, require
from rl_control.algorithms.conjugate_gradient import conjugate_gradient
from rl_control.algorithms.on_policy import OnPolicyAlgorithm, OnPolicyConfig
from rl_control.models.distributions import DiagGaussian


@dataclass
class TRPOConfig(OnPolicyConfig):
    """sb3-contrib TRPO defaults; ``target_kl`` is the trust-region size delta."""

    learning_rate: float = 1e-3  # value-function Adam
    batch_size: int = 128  # value-function minibatches
    target_kl: float = 0.01
    cg_max_steps: int = 15
    cg_damping: float = 0.1
    line_search_shrinking_factor: float = 0.8
    line_search_max_iter: int = 10
    n_critic_updates: int = 10
    ent_coef: float = 0.0  # entropy bonus in the surrogate (the locomotion slides' 5.03e-3)

    def __post_init__(self) -> None:
        super().__post_init__()
        require(self.target_kl > 0, f"target_kl must be > 0, got {self.target_kl}")
        require(self.cg_max_steps > 0, f"cg_max_steps must be > 0, got {self.cg_max_steps}")
        require(self.cg_damping >= 0, f"cg_damping must be >= 0, got {self.cg_damping}")
        require(
            0 < self.line_search_shrinking_factor < 1,
            f"line_search_shrinking_factor must be in (0, 1), got "
            f"{self.line_search_shrinking_factor}",
        )
        require(self.line_search_max_iter > 0, "line_search_max_iter must be > 0")
        require(self.n_critic_updates >= 0, "n_critic_updates must be >= 0")
        require(self.ent_coef >= 0, f"ent_coef must be >= 0, got {self.ent_coef}")


def _flat_grad(y: torch.Tensor, params: list[torch.Tensor], **kw: bool) -> torch.Tensor:
    return torch.cat([g.reshape(-1) for g in torch.autograd.grad(y, params, **kw)])


class TRPO(OnPolicyAlgorithm):
    """Trust region policy optimisation."""

    name = "trpo"
    config_cls = TRPOConfig
    config: TRPOConfig

    def _build_optimizers(self) -> None:
        params = self.policy.critic_parameters()
        self.optimizers = {"value": adam(params, self.config.learning_rate)}

    def _update_policy(self, data: dict[str, torch.Tensor]) -> dict[str, float]:
        stats = self.trpo_step(data)
        stats["value_loss"] = self.fit_value(
            data, self.optimizers["value"], self.config.n_critic_updates
        )
        return stats

    def _surrogate_and_kl(
        self, data: dict[str, torch.Tensor], old: DiagGaussian
    ) -> tuple[torch.Tensor, torch.Tensor]:
        base = self.policy.distribution(data["obs"])
        # log-prob and KL with the std expanded per sample, the entropy on the shared std:
        # the graph of the recorded baseline runs (autograd's summation order follows it)
        dist = base.expanded()
        ratio = torch.exp(dist.log_prob(data["actions"]) - data["log_probs"])
        surrogate = (ratio * data["advantages"]).mean()
        if self.config.ent_coef != 0.0:
            surrogate = surrogate + self.config.ent_coef * base.entropy()
        kl = old.expanded().kl(dist).mean()
        return surrogate, kl

    def trpo_step(self, data: dict[str, torch.Tensor]) -> dict[str, float]:
        """One natural-gradient step with backtracking; parameters are kept if none passes."""
        cfg, params = self.config, self.policy.actor_parameters()
        with torch.no_grad():
            old = self.policy.distribution(data["obs"]).frozen()
        surrogate, kl = self._surrogate_and_kl(data, old)
        g = _flat_grad(surrogate, params, retain_graph=True)
        kl_grad = _flat_grad(kl, params, create_graph=True)

        def fisher_vector(v: torch.Tensor) -> torch.Tensor:
            # Hessian of the mean KL at the old parameters = Fisher information
            return _flat_grad(kl_grad @ v, params, retain_graph=True) + cfg.cg_damping * v

        old_surrogate = surrogate.detach().item()
        stats = {"policy_loss": -old_surrogate, "kl": 0.0, "line_search_steps": 0.0}
        if not torch.isfinite(g).all() or g.norm().item() == 0.0:
            stats["accepted"] = 0.0
            return stats
        x = conjugate_gradient(fisher_vector, g, cfg.cg_max_steps)
        xhx = (x @ fisher_vector(x)).detach().item()
        full_step = math.sqrt(2 * cfg.target_kl / max(xhx, 1e-12)) * x
        accepted = self._line_search(
            params, full_step, old_surrogate,
            lambda: self._surrogate_and_kl(data, old), stats,
        )  # fmt: skip
        stats["accepted"] = float(accepted)
        return stats

    @torch.no_grad()
    def _line_search(
        self,
        params: list[torch.Tensor],
        full_step: torch.Tensor,
        old_surrogate: float,
        evaluate: Callable[[], tuple[torch.Tensor, torch.Tensor]],
        stats: dict[str, float],
    ) -> bool:
        """Shrink the step until the surrogate improves and mean KL <= delta."""
        cfg = self.config
        old = parameters_to_vector(params).clone()
        coef = 1.0
        for i in range(cfg.line_search_max_iter):
            vector_to_parameters(old + coef * full_step, params)
            surrogate_t, kl_t = evaluate()
            surrogate, kl = surrogate_t.item(), kl_t.item()
            if kl <= cfg.target_kl and surrogate > old_surrogate:
                stats.update(policy_loss=-surrogate, kl=kl)
                stats["line_search_steps"] = float(i + 1)
                return True
            coef *= cfg.line_search_shrinking_factor
        vector_to_parameters(old, params)
        stats["line_search_steps"] = float(cfg.line_search_max_iter)
        return False
