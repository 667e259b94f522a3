"""The ``dmd_mpc`` policy kind: M-DeMoRL's planner deployed as the controller.

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

With ``mpc_acts`` (what a run trained with ``mpc_acts: true`` chose its actions with) the
planner is instead the public code's :class:`~rl_control.mpc.actor_mppi.ActorMixedMPPI` over
the same model, actor and critic: MPPI warm-started from the previous step's solution, which
:meth:`reset` forgets; ``deterministic`` acts with its final mean (draws restarted from
``seed``), otherwise with a sequence drawn by the MPPI weights, as in training; the plan is
that sequence played through the model.

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
from rl_control.mpc.actor_mppi import ActorMixedMPPI
from rl_control.mpc.dmd_mpc import DMDMPCPlanner
from rl_control.mpc.dmd_parts import (
    ExactReward,
    actor_shift,
    critic_value,
    ensemble_step,
    exact_reward_step,
)
from rl_control.mpc.observed_task import observed_task
from rl_control.policies.base import Policy, PolicyOutput
from rl_control.policies.registry import register_policy

#: ActorMixedMPPI's settings a ``mpc_acts`` planner takes (its horizon and M are the policy's)
MPC_ACTS_KEYS = ("actor_fraction", "iterations", "kappa", "var_blend", "particles")


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
        mpc_acts: dict[str, Any] | None = None,
    ) -> None:
        """``actor``: SquashedGaussianActor arguments; ``critic``: TwinQ's ``hidden`` and
        ``activation``; ``model``: GaussianEnsemble's ``num_members``, ``num_elites``,
        ``hidden``, ``activation``; ``mpc_acts``: ActorMixedMPPI's :data:`MPC_ACTS_KEYS`
        to act with the public code's planner (None: DMD-MPC); the rest as in M-DeMoRL's
        config."""
        if int(horizon) < 1:
            raise ValueError(f"dmd_mpc: horizon must be >= 1, got {horizon}")
        if member_mode not in MEMBER_MODES:
            raise ValueError(f"dmd_mpc: member_mode must be one of {MEMBER_MODES}, "
                             f"got {member_mode!r}")  # fmt: skip
        if sigma != "policy" and not float(sigma) > 0:
            raise ValueError(f"dmd_mpc: sigma must be 'policy' or > 0, got {sigma!r}")
        unknown = sorted(set(mpc_acts or {}) - set(MPC_ACTS_KEYS))
        if unknown:
            raise ValueError(f"dmd_mpc: unknown mpc_acts keys {unknown}; "
                             f"known: {list(MPC_ACTS_KEYS)}")  # fmt: skip
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
            None if self.exact is None
            else exact_reward_step(self.model, self.exact, self.explode_factor),
        )  # fmt: skip
        self.mppi = (
            None if mpc_acts is None else ActorMixedMPPI(
                self.planner, self._q_value, self.act_dim, self.horizon, int(num_samples),
                generator=self.generator, **mpc_acts,
            )
        )  # fmt: skip
        self._config = dict(
            actor=self.actor.get_config(), critic=critic, model=model, horizon=self.horizon,
            num_samples=int(num_samples), elite_fraction=float(elite_fraction),
            alpha=float(alpha), gamma=float(gamma), weighting=weighting, sigma=sigma,
            member_mode=member_mode, explode_factor=self.explode_factor,
            exact_reward=bool(exact_reward), task=task, task_params=dict(task_params or {}),
            seed=self.seed, mpc_acts=None if mpc_acts is None else dict(mpc_acts),
        )  # fmt: skip

    # --- the planner's callbacks ----------------------------------------------------------
    def _model_step(
        self, obs: torch.Tensor, u: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        # with the exact reward the planner scores all steps at once: check the states only
        return ensemble_step(self.model, obs, u, self.generator, self.member_mode,  # type: ignore[arg-type]
                             self.explode_factor, check_reward=self.exact is None)  # fmt: skip

    def _shift(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return actor_shift(self.actor, obs, self.generator, self.sigma)

    def _value(self, obs: torch.Tensor) -> torch.Tensor:
        return critic_value(self.actor, self.critic, obs)

    def _q_value(self, obs: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        return self.critic.min_q(self.actor.normalize_obs(obs), u)

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
        if self.mppi is None:
            plan = self.planner.plan(x0, self.horizon)
            mu, failed = plan.mu, plan.failed
        else:
            self.mppi.act(x0, deterministic)
            mu, failed = self.mppi.warm, self.mppi.failed
        assert mu is not None and failed is not None
        draws = self.generator.get_state()  # the markers' rollout leaves the plans' draws alone
        roll = self.planner.rollout(x0, mu)
        self.generator.set_state(draws)
        first = self.actor.from_unit_numpy(mu[:, 0].clamp(-1.0, 1.0))
        visited = torch.cat([x0[:, None], roll.next_obs], 1).numpy().astype(np.float64)
        return PolicyOutput(
            action=first, mean=first.copy(), log_prob=np.zeros(len(first)),
            info={
                "plan": visited,
                "plan_failed": failed.numpy(),
                "value": self._value(x0).numpy().astype(np.float64),
            },
        )  # fmt: skip

    def reset(self, env_ids: np.ndarray | None = None) -> None:
        """Forget the ``mpc_acts`` planner's warm start (DMD-MPC keeps nothing)."""
        if self.mppi is not None:
            self.mppi.reset(env_ids)

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
