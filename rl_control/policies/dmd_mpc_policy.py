"""The ``dmd_mpc`` policy kind: M-DeMoRL's DMD-MPC planner deployed as the controller.

One checkpoint holds the ensemble, the SAC actor and its twin critic. Every :meth:`act`
plans from the current observations with :class:`~rl_control.mpc.dmd_mpc.DMDMPCPlanner`
(shift from the actor, terminal value from the critic, reward from the model or the task's
exact function), returns μ_t's first action and, in ``info["plan"]`` [N, H + 1, obs_dim],
the observations μ_t is predicted to visit (published by policy_node as plan markers, like
the LCS-MPC kind's plan). Actions lie in the bounds: μ_t is a convex combination of unit
actions. The planner keeps nothing between steps (the actor is the warm start), so
:meth:`reset` has nothing to forget. ``deterministic``: the planner's draws restart from
``seed`` at every call, so an observation always gets the same action; otherwise they run
on (seeded by the policy server like any policy's ``generator``).

Built from an M-DeMoRL run by ``rl-control export RUN --kind dmd_mpc``
(:mod:`rl_control.training.planner_export`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from rl_control.models.actor_critic import SquashedGaussianActor
from rl_control.models.ensemble import MEMBER_MODES, GaussianEnsemble
from rl_control.models.q_networks import TwinQ
from rl_control.mpc.dmd_mpc import DMDMPCPlanner
from rl_control.mpc.dmd_parts import ExactReward, actor_shift, critic_value, ensemble_step
from rl_control.mpc.observed_task import observed_task
from rl_control.policies.base import Policy, PolicyOutput
from rl_control.policies.registry import register_policy


def _task(name: str, params: dict[str, Any] | None) -> Any:
    """The bound rl_control task ``name`` (None for none or a plain gymnasium id)."""
    from rl_control.tasks.registry import make_task, require_task_facts

    if not name or require_task_facts(name, (), "dmd_mpc") is None:
        return None
    return make_task(name, params)


@register_policy("dmd_mpc")
class DMDMPCPolicy(Policy):
    """DMD-MPC over a Gaussian ensemble with a squashed-Gaussian actor and a twin critic."""

    def __init__(
        self,
        actor: dict[str, Any],
        critic: dict[str, Any] | None = None,
        model: dict[str, Any] | None = None,
        horizon: int = 15,
        num_samples: int = 100,
        elite_fraction: float = 0.1,
        alpha: float = 0.5,
        gamma: float = 0.99,
        weighting: str = "return",
        sigma: str | float = "policy",
        member_mode: str = "per_particle",
        explode_factor: float = 10.0,
        exact_reward: bool = True,
        task: str = "",
        task_params: dict[str, Any] | None = None,
        seed: int = 0,
    ) -> None:
        """``actor``: SquashedGaussianActor arguments; ``critic``: TwinQ's ``hidden`` and
        ``activation``; ``model``: GaussianEnsemble's ``num_members``, ``num_elites``,
        ``hidden``, ``activation``; the rest as in M-DeMoRL's config."""
        if int(horizon) < 1:
            raise ValueError(f"dmd_mpc: horizon must be >= 1, got {horizon}")
        if member_mode not in MEMBER_MODES:
            raise ValueError(f"dmd_mpc: member_mode must be one of {MEMBER_MODES}, "
                             f"got {member_mode!r}")  # fmt: skip
        if sigma != "policy" and not float(sigma) > 0:
            raise ValueError(f"dmd_mpc: sigma must be 'policy' or > 0, got {sigma!r}")
        critic, model = dict(critic or {}), dict(model or {})
        self.actor = SquashedGaussianActor(**actor)
        self.obs_dim, self.act_dim = self.actor.obs_dim, self.actor.act_dim
        self.critic = TwinQ(self.obs_dim, self.act_dim, **critic)
        self.model = GaussianEnsemble(self.obs_dim, self.act_dim, **model)
        for net in (self.actor, self.critic, self.model):
            net.eval().requires_grad_(False)
        self.horizon, self.seed = int(horizon), int(seed)
        self.sigma = None if sigma == "policy" else float(sigma)
        self.member_mode, self.explode_factor = member_mode, float(explode_factor)
        bound = _task(task, task_params)
        observed = observed_task(bound)
        self.exact = (
            ExactReward(observed, self.actor.action_low, self.actor.action_high)
            if exact_reward and observed is not None else None
        )  # fmt: skip
        self.generator = torch.Generator().manual_seed(self.seed)
        self.planner = DMDMPCPlanner(
            self._model_step, self._shift, self._value,
            observed.terminated if observed is not None else None,
            num_samples, elite_fraction, alpha, gamma, weighting,
        )  # fmt: skip
        self._config = dict(
            actor=self.actor.get_config(), critic=critic, model=model, horizon=self.horizon,
            num_samples=int(num_samples), elite_fraction=float(elite_fraction),
            alpha=float(alpha), gamma=float(gamma), weighting=weighting, sigma=sigma,
            member_mode=member_mode, explode_factor=self.explode_factor,
            exact_reward=bool(exact_reward), task=task, task_params=dict(task_params or {}),
            seed=self.seed,
        )  # fmt: skip

    # --- the planner's callbacks ----------------------------------------------------------
    def _model_step(
        self, obs: torch.Tensor, u: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        return ensemble_step(self.model, obs, u, self.generator, self.member_mode,  # type: ignore[arg-type]
                             self.explode_factor, self.exact)  # fmt: skip

    def _shift(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return actor_shift(self.actor, obs, self.generator, self.sigma)

    def _value(self, obs: torch.Tensor) -> torch.Tensor:
        return critic_value(self.actor, self.critic, obs)

    @property
    def uses_exact_reward(self) -> bool:
        """Whether plans score with the task's exact reward (else the model's)."""
        return self.exact is not None

    # --- Policy ---------------------------------------------------------------------------
    @torch.inference_mode()
    def act(self, obs: np.ndarray, deterministic: bool = False) -> PolicyOutput:
        """Plan from each row of ``obs`` [N, obs_dim]; act with μ_t's first action."""
        x0 = self.actor.obs_tensor(obs)
        if deterministic:
            self.generator.manual_seed(self.seed)
        plan = self.planner.plan(x0, self.horizon)
        roll = self.planner.rollout(x0, plan.mu)
        first = self.actor.from_unit_numpy(plan.mu[:, 0].clamp(-1.0, 1.0))
        visited = torch.cat([x0[:, None], roll.next_obs], 1).numpy().astype(np.float64)
        return PolicyOutput(
            action=first, mean=first.copy(), log_prob=np.zeros(len(first)),
            info={
                "plan": visited,
                "plan_failed": plan.failed.numpy(),
                "value": self._value(x0).numpy().astype(np.float64),
            },
        )  # fmt: skip

    def get_config(self) -> dict[str, Any]:
        return dict(self._config)

    def get_state(self) -> dict[str, Any]:
        return {
            "actor": self.actor.get_state(),
            "critic": {k: v.clone() for k, v in self.critic.state_dict().items()},
            "model": {k: v.clone() for k, v in self.model.state_dict().items()},
        }

    def set_state(self, state: dict[str, Any]) -> None:
        missing = sorted({"actor", "critic", "model"} - set(state))
        if missing:
            raise ValueError(f"dmd_mpc state lacks {missing}")
        self.actor.set_state(state["actor"])
        self.critic.load_state_dict(state["critic"])
        self.model.load_state_dict(state["model"])
