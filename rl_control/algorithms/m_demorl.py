"""M-DeMoRL (dmd-mpc-m-demorl.txt, Algorithm 1): SAC accelerated by DMD-MPC on a learned model.

Outer loop: SAC acts in the real env (D_ENV) and learns from batches mixing D_ENV and D_MPC
by ``real_ratio``. Every ``model_train_freq`` env steps the probabilistic ensemble is refit
on D_ENV (line 6) and the inner loop runs (lines 8-16): start states drawn uniformly from
D_ENV, M particles per start around the actor's shift over a horizon H from a schedule,
cost −Σγ^h r − γ^H V(x_H), the elite mean and the DMD step (eq. 9), then μ_t played through
the model; its transitions fill D_MPC (a FIFO; the paper re-initialises it every iteration,
which a capacity of one iteration's worth reproduces). Rollouts with non-finite or exploding
predictions are dropped and counted.

V(x) = min(Q1, Q2)(x, tanh(mean π(x))): SAC's pessimistic critic at the actor's deterministic
action, the same estimate SAC bootstraps with (without the entropy bonus, which scores
exploration, not the task). Rewards and termination as in
:mod:`rl_control.algorithms.model_based` (the task's exact functions when it has them).

``mpc_acts: true`` is the public code's variant (UtkarshMishra04/DMD-MPC-RL), which differs
from the paper: the planner chooses the behaviour actions in the real env
(:class:`~rl_control.mpc.actor_mppi.ActorMixedMPPI`, once the model has been fit; SAC's
uniform warm-up before), there is one replay buffer only (D_ENV, no D_MPC: ``imagine`` fills
nothing and every SAC batch is real, so ``real_ratio``, ``starts_schedule``,
``horizon_schedule``, ``elite_fraction``, ``weighting``, ``alpha`` and ``sigma`` do not act),
H = ``act_horizon`` (3) fixed, ``num_samples`` (100) open-loop samples plus
``act_actor_fraction`` (5 %) actor-proposed sequences, softmax weights with κ = ``act_kappa``
(1, MPPI-like) instead of hard elites, variance blended ``act_var_blend`` (0.1 old / 0.9 new),
and the critic's Q(x_{H−1}, u_{H−1}) as terminal value (here SAC's min(Q1, Q2); the public
code uses Q1). Evaluation and deployment use the SAC actor in both variants.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from rl_control.algorithms.config import require
from rl_control.algorithms.model_based import (
    ModelBasedSAC,
    ModelConfig,
    check_schedule,
    linear_schedule,
)
from rl_control.algorithms.registry import register_algorithm
from rl_control.algorithms.replay_buffer import ReplayBuffer
from rl_control.algorithms.sac import SAC, SACConfig
from rl_control.algorithms.spec import AlgorithmSpec
from rl_control.models.ensemble import GaussianEnsemble
from rl_control.mpc.actor_mppi import ActorMixedMPPI
from rl_control.mpc.dmd_mpc import DMDMPCPlanner
from rl_control.mpc.dmd_parts import critic_value
from rl_control.mpc.sampling import ELITE_WEIGHTINGS
from rl_control.policies.base import PolicyOutput


@dataclass
class MDeMoRLConfig(ModelConfig):
    """``sac``: SACConfig keys. Paper: H 5→15, M=100, p=10%, up to 10k starts per iteration."""

    sac: dict[str, Any] = field(default_factory=dict)
    real_ratio: float = 0.5  # share of D_ENV in SAC batches (paper: D_ENV ∪ D_MPC)
    num_samples: int = 100  # M
    elite_fraction: float = 0.1  # p
    alpha: float = 0.5  # DMD step size of eq. 9 (not given in the paper)
    weighting: str = "return"  # eq. 14's reward-weighted elite mean; "uniform": plain CEM
    sigma: str | float = "policy"  # u ~ the actor (footnote 3), or N(mean, sigma²) unit space
    horizon_schedule: list[int] = field(default_factory=lambda: [0, 50000, 5, 15])
    starts_schedule: list[int] = field(default_factory=lambda: [0, 50000, 100, 10000])
    plan_batch: int = 256  # starts planned together (memory: plan_batch · M particles)
    mpc_buffer_size: int = 150000
    exact_reward: bool = True
    # the public code's variant (module docstring): the planner acts, one buffer
    mpc_acts: bool = False
    act_horizon: int = 3
    act_iterations: int = 5
    act_actor_fraction: float = 0.05
    act_kappa: float = 1.0
    act_var_blend: float = 0.1
    act_particles: int = 4

    def __post_init__(self) -> None:
        self.check_model()
        for key in ("act_horizon", "act_iterations", "act_particles"):
            require(int(getattr(self, key)) >= 1, f"{key} must be >= 1, got {getattr(self, key)}")
        frac = self.act_actor_fraction
        require(0 <= frac < 1, f"act_actor_fraction must be in [0, 1), got {frac}")
        require(self.act_kappa > 0, f"act_kappa must be > 0, got {self.act_kappa}")
        require(0 <= self.act_var_blend <= 1,
                f"act_var_blend must be in [0, 1], got {self.act_var_blend}")  # fmt: skip
        require(0 <= self.real_ratio <= 1, f"real_ratio must be in [0, 1], got {self.real_ratio}")
        require(self.num_samples >= 1, "num_samples must be >= 1")
        require(0 < self.elite_fraction <= 1, "elite_fraction must be in (0, 1]")
        require(0 <= self.alpha <= 1, f"alpha must be in [0, 1], got {self.alpha}")
        require(
            self.weighting in ELITE_WEIGHTINGS,
            f"weighting must be one of {ELITE_WEIGHTINGS}, got {self.weighting!r}",
        )
        if self.sigma != "policy":
            try:
                self.sigma = float(self.sigma)
            except (TypeError, ValueError):
                raise ValueError(
                    f"sigma must be 'policy' or a number, got {self.sigma!r}"
                ) from None
            require(self.sigma > 0, f"sigma must be > 0, got {self.sigma}")
        check_schedule("horizon_schedule", self.horizon_schedule, 1)
        check_schedule("starts_schedule", self.starts_schedule, 0)
        require(self.plan_batch >= 1 and self.mpc_buffer_size >= 1,
                "plan_batch and mpc_buffer_size must be >= 1")  # fmt: skip
        require(isinstance(self.sac, Mapping), "sac must be a mapping of SAC config keys")


class MDeMoRL(ModelBasedSAC):
    """Algorithm 1: the inner DMD-MPC loop fills D_MPC after every model refit."""

    name = "m_demorl"
    config_cls = MDeMoRLConfig
    config: MDeMoRLConfig

    def __init__(self, spec: AlgorithmSpec, config: MDeMoRLConfig, sac: SAC,
                 model: GaussianEnsemble, real: ReplayBuffer, imagined: ReplayBuffer,
                 seed: int = 0) -> None:  # fmt: skip
        super().__init__(spec, config, sac, model, real, imagined, seed)
        self.planner = DMDMPCPlanner(
            self.planner_step, self.shift_policy, self.terminal_value, self.terminated_fn(),
            config.num_samples, config.elite_fraction, config.alpha, self.sac_config.gamma,
            config.weighting, self.planner_reward(),
        )  # fmt: skip
        self.behaviour: ActorMixedMPPI | None = None
        if config.mpc_acts:
            self.behaviour = ActorMixedMPPI(
                self.planner, self.q_value, spec.act_dim, config.act_horizon,
                config.num_samples, config.act_actor_fraction, config.act_iterations,
                config.act_kappa, config.act_var_blend, config.act_particles, self.generator,
            )  # fmt: skip

    @property
    def sac_config(self) -> SACConfig:
        return self.sac.config

    @classmethod
    def build(cls, spec: AlgorithmSpec, config: Mapping[str, Any] | MDeMoRLConfig,
              seed: int = 0) -> MDeMoRL:  # fmt: skip
        cfg = cls.make_config(config)
        parts = cls.build_parts(spec, cfg, seed, cfg.real_ratio, cfg.mpc_buffer_size)
        return cls(spec, cfg, *parts, seed)

    # --- the planner's callbacks ----------------------------------------------------------
    def shift_policy(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(tanh of the actor's mean, a sample around it) in unit space (eqs. 10-11)."""
        sigma = self.config.sigma
        return self.actor_actions(obs, None if sigma == "policy" else float(sigma))

    def terminal_value(self, obs: torch.Tensor) -> torch.Tensor:
        """min(Q1, Q2) at the actor's deterministic action."""
        return critic_value(self.policy, self.sac.critic, obs)

    def q_value(self, obs: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        """min(Q1, Q2)(x, u): the behaviour planner's terminal value (``mpc_acts``)."""
        return self.sac.critic.min_q(self.policy.normalize_obs(obs), u)

    # --- behaviour (mpc_acts) -------------------------------------------------------------
    def act(self, obs: np.ndarray) -> PolicyOutput:
        """SAC's action, or with ``mpc_acts`` the planner's once the model has been fit."""
        if self.behaviour is None or self.model_trainings == 0:
            return self.sac.act(obs)
        x = self.policy.obs_tensor(obs)
        with torch.no_grad():
            action = self.policy.from_unit(self.behaviour.act(x)).numpy().astype(np.float64)
        return PolicyOutput(action, action.copy(), np.zeros(len(action)))

    def record(
        self,
        obs: np.ndarray,
        out: PolicyOutput,
        reward: np.ndarray,
        terminated: np.ndarray,
        truncated: np.ndarray,
        next_obs: np.ndarray,
    ) -> None:
        super().record(obs, out, reward, terminated, truncated, next_obs)
        done = np.nonzero(np.asarray(terminated) | np.asarray(truncated))[0]
        if self.behaviour is not None and len(done):
            self.behaviour.reset(done)  # a new episode starts without a warm start

    # --- inner loop -----------------------------------------------------------------------
    def imagine(self) -> dict[str, float]:
        """Algorithm 1, lines 8-16: plan from D_ENV starts, roll μ_t out, fill D_MPC."""
        cfg, steps = self.config, self.sac.num_timesteps
        if cfg.mpc_acts:  # one buffer: the planner's real transitions are all SAC learns from
            return {"mpc_transitions": 0.0, "mpc_acts": 1.0}
        horizon = linear_schedule(steps, cfg.horizon_schedule)
        starts = linear_schedule(steps, cfg.starts_schedule)
        added = dropped = failed = 0
        for first in range(0, starts, cfg.plan_batch):
            n = min(cfg.plan_batch, starts - first)
            x0 = self.real.sample(n, self.generator)["obs"]
            plan = self.planner.plan(x0, horizon)
            roll = self.planner.rollout(x0, plan.mu)
            keep = roll.alive & ~roll.invalid[:, None]
            dropped += int(roll.invalid.sum())
            failed += int(plan.failed.sum())
            if keep.any():
                self.imagined.add(
                    roll.obs[keep].numpy(), roll.actions[keep].numpy(),
                    roll.rewards[keep].numpy(), roll.next_obs[keep].numpy(),
                    roll.terminated[keep].numpy(),
                )  # fmt: skip
                added += int(keep.sum())
        self.dropped_rollouts += dropped
        return {
            "mpc_horizon": float(horizon), "mpc_starts": float(starts),
            "mpc_transitions": float(added), "mpc_dropped_rollouts": float(dropped),
            "mpc_failed_starts": float(failed),
            "mpc_exact_reward": float(self.uses_exact_reward()),
        }  # fmt: skip


register_algorithm("m_demorl", MDeMoRL.build)
