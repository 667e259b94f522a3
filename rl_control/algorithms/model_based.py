"""What model-based SAC variants share: an ensemble refit on D_ENV every ``model_train_freq``
env steps and SAC learning from a :class:`MixedBuffer` of real and imagined transitions.

Subclasses (M-DeMoRL, MBPO) decide how the imagined data is made, in ``imagine``. Model steps
take unit-space actions (what SAC stores); rewards come from the task's exact function when
the spec's task determines its state from the observation and ``exact_reward`` is set, else
from the model; termination from the task when available, else never.
"""

from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from rl_control.algorithms.base import Algorithm, seeded_init
from rl_control.algorithms.config import require
from rl_control.algorithms.mixed_buffer import MixedBuffer
from rl_control.algorithms.replay_buffer import ReplayBuffer
from rl_control.algorithms.sac import SAC
from rl_control.algorithms.spec import AlgorithmSpec
from rl_control.models.ensemble import MEMBER_MODES, GaussianEnsemble
from rl_control.mpc.dmd_mpc import RewardStep
from rl_control.mpc.dmd_parts import ExactReward, actor_shift, ensemble_step, exact_reward_step
from rl_control.mpc.observed_task import ObservedTask, observed_task
from rl_control.policies.base import PolicyOutput


def linear_schedule(step: int, schedule: list[int]) -> int:
    """[x0, x1, y0, y1]: y0 until step x0, linearly to y1 at x1, then y1 (MBPO's form)."""
    x0, x1, y0, y1 = schedule
    if step <= x0 or x1 <= x0:
        return int(y0) if step <= x0 else int(y1)
    frac = min(1.0, (step - x0) / (x1 - x0))
    return int(round(y0 + frac * (y1 - y0)))


def check_schedule(name: str, schedule: list[int], minimum: int) -> None:
    require(
        len(schedule) == 4 and schedule[1] >= schedule[0] and min(schedule[2:]) >= minimum,
        f"{name} must be [from_step, to_step, start, end] with values >= {minimum}, "
        f"got {schedule}",
    )


@dataclass
class ModelConfig:
    """Ensemble and its training (PETS/MBPO defaults)."""

    num_members: int = 7
    num_elites: int = 5
    model_hidden: list[int] = field(default_factory=lambda: [200, 200, 200, 200])
    model_activation: str = "silu"
    model_lr: float = 1e-3
    model_batch_size: int = 256
    model_epochs: int = 100  # most passes over D_ENV per refit
    model_patience: int = 5  # MBPO: stop after 5 epochs without a 1 % validation gain
    holdout_ratio: float = 0.2
    model_train_freq: int = 250  # env steps between retrainings (MBPO)
    member_mode: str = "per_particle"
    explode_factor: float = 10.0  # |prediction| > factor · (max |data| + 1) is exploding

    def check_model(self) -> None:
        require(1 <= self.num_elites <= self.num_members,
                f"num_elites must be in [1, num_members], got {self.num_elites}")  # fmt: skip
        require(self.model_train_freq >= 1, "model_train_freq must be >= 1")
        require(self.model_epochs >= 1, "model_epochs must be >= 1")
        require(self.model_patience >= 1, "model_patience must be >= 1")
        require(0 <= self.holdout_ratio < 1, "holdout_ratio must be in [0, 1)")
        require(
            self.member_mode in MEMBER_MODES,
            f"member_mode must be one of {MEMBER_MODES}, got {self.member_mode!r}",
        )


class ModelBasedSAC(Algorithm):
    """SAC on a :class:`MixedBuffer` plus a refit ensemble: what M-DeMoRL and MBPO share.

    Subclasses fill the model buffer in :meth:`imagine` after each refit.
    """

    on_policy = False
    config: ModelConfig

    def __init__(self, spec: AlgorithmSpec, config: Any, sac: SAC, model: GaussianEnsemble,
                 real: ReplayBuffer, imagined: ReplayBuffer, seed: int = 0) -> None:  # fmt: skip
        self.spec, self.config, self.sac, self.model = spec, config, sac, model
        self.real, self.imagined = real, imagined
        self.policy = sac.policy
        self.model_optimizer = model.make_optimizer(config.model_lr)
        self.generator = torch.Generator().manual_seed(seed + 2)
        self.observed: ObservedTask | None = observed_task(spec.task)
        self.last_model_step = 0
        self.model_trainings = 0
        self.dropped_rollouts = 0  # imagined rollouts with non-finite/exploding predictions
        self.policy_version = 0
        self.exact_reward = (
            None if self.observed is None
            else ExactReward(self.observed, spec.action_low, spec.action_high)
        )  # fmt: skip

    @staticmethod
    def build_parts(
        spec: AlgorithmSpec, cfg: Any, seed: int, real_ratio: float, mpc_buffer_size: int
    ) -> tuple[SAC, GaussianEnsemble, ReplayBuffer, ReplayBuffer]:
        """SAC on a mixed buffer (same seed as plain SAC) and the ensemble under seed + 1."""
        sac_cfg = SAC.make_config(dict(cfg.sac))
        real = ReplayBuffer(sac_cfg.buffer_size, spec.obs_dim, spec.act_dim)
        imagined = ReplayBuffer(mpc_buffer_size, spec.obs_dim, spec.act_dim)
        sac = SAC.build(spec, sac_cfg, seed, buffer=MixedBuffer(real, imagined, real_ratio))
        with seeded_init(seed + 1):
            model = GaussianEnsemble(
                spec.obs_dim,
                spec.act_dim,
                cfg.num_members,
                cfg.num_elites,
                cfg.model_hidden,
                cfg.model_activation,
            )
        return sac, model, real, imagined

    # --- model pieces ---------------------------------------------------------------------
    def uses_exact_reward(self) -> bool:
        return bool(getattr(self.config, "exact_reward", False)) and self.observed is not None

    def model_step(
        self, obs: torch.Tensor, u: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """One ensemble step from unit actions: (next_obs, reward, invalid)."""
        cfg = self.config
        exact = self.exact_reward if self.uses_exact_reward() else None
        return ensemble_step(
            self.model, obs, u, self.generator, cfg.member_mode,  # type: ignore[arg-type]
            cfg.explode_factor, exact,
        )  # fmt: skip

    def planner_step(
        self, obs: torch.Tensor, u: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """:meth:`model_step` for the DMD-MPC planner: with the exact reward the planner scores
        all its steps at once (:meth:`planner_reward`), so this checks the states only."""
        if not self.uses_exact_reward():
            return self.model_step(obs, u)
        cfg = self.config
        return ensemble_step(
            self.model, obs, u, self.generator, cfg.member_mode,  # type: ignore[arg-type]
            cfg.explode_factor, check_reward=False,
        )  # fmt: skip

    def planner_reward(self) -> RewardStep | None:
        """The planner's batched exact reward (None: the model's reward, step by step)."""
        if not self.uses_exact_reward() or self.exact_reward is None:
            return None
        return exact_reward_step(self.model, self.exact_reward, self.config.explode_factor)

    def terminated_fn(self) -> Any:
        return self.observed.terminated if self.observed is not None else None

    def actor_actions(
        self, obs: torch.Tensor, sigma: float | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(tanh of the actor's mean, a sample) in unit space, noise from this generator: from
        the actor itself, or with ``sigma`` N(tanh(mean), sigma²) clipped to [-1, 1]."""
        return actor_shift(self.policy, obs, self.generator, sigma)

    def train_model(self) -> dict[str, float]:
        """Refit the ensemble on all of D_ENV (Algorithm 1, lines 5-7)."""
        n = len(self.real)
        r = self.real
        data = [torch.from_numpy(np.ascontiguousarray(a[:n]))
                for a in (r.obs, r.actions, r.rewards, r.next_obs)]  # fmt: skip
        cfg = self.config
        stats = self.model.fit(*data, self.model_optimizer, self.generator, cfg.model_epochs,
                               cfg.model_batch_size, cfg.holdout_ratio,
                               patience=cfg.model_patience)  # fmt: skip
        self.model_trainings += 1
        return stats

    def imagine(self) -> dict[str, float]:
        raise NotImplementedError

    # --- Algorithm ------------------------------------------------------------------------
    def act(self, obs: np.ndarray) -> PolicyOutput:
        return self.sac.act(obs)

    @property
    def uniform_exploration(self) -> bool:
        return self.sac.uniform_exploration

    def record(
        self,
        obs: np.ndarray,
        out: PolicyOutput,
        reward: np.ndarray,
        terminated: np.ndarray,
        truncated: np.ndarray,
        next_obs: np.ndarray,
    ) -> None:
        self.sac.record(obs, out, reward, terminated, truncated, next_obs)

    def ready(self) -> bool:
        return self.sac.ready()

    def update(self) -> dict[str, float]:
        stats: dict[str, float] = {}
        steps = self.sac.num_timesteps
        # after a resume D_ENV refills from empty: no refit on fewer than learning_starts rows
        enough = len(self.real) >= max(2, self.sac.config.learning_starts)
        if steps - self.last_model_step >= self.config.model_train_freq and enough:
            self.last_model_step = steps
            stats.update(self.train_model())
            stats.update(self.imagine())
        stats.update(self.sac.update())
        self.policy_version = self.sac.policy_version
        return stats

    def state_dict(self) -> dict[str, Any]:
        """SAC's state, the ensemble and its optimiser, generator and counters (no buffers,
        like SAC: they refill, and the model is refit once D_ENV has data again)."""
        return copy.deepcopy({
            "algorithm": self.name,
            "config": dataclasses.asdict(self.config),  # type: ignore[call-overload]
            "sac": self.sac.state_dict(),
            "model": self.model.state_dict(),
            "model_optimizer": self.model_optimizer.state_dict(),
            "generator": self.generator.get_state(),
            "counters": [self.last_model_step, self.model_trainings, self.dropped_rollouts],
        })  # fmt: skip

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if state.get("algorithm") != self.name:
            raise ValueError(
                f"state_dict is for algorithm {state.get('algorithm')!r}, not {self.name!r}"
            )
        self.sac.load_state_dict(state["sac"])
        self.model.load_state_dict(state["model"])
        self.model_optimizer.load_state_dict(state["model_optimizer"])
        self.generator.set_state(state["generator"])
        self.last_model_step, self.model_trainings, self.dropped_rollouts = state["counters"]
        self.policy_version = self.sac.policy_version
