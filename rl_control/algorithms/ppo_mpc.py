"""PPO with an MPC-based policy over a learnable LCS (Bui, You & Duan, Algorithm 1).

The on-policy base collects rollouts, computes GAE and returns; the update minimises
L = L_CLIP + α·L_PRED (eq. 15) by Adam steps on θ = (Θ, log σ), plus the V(s_H) parameters
with ``terminal: learned``, with dμ/dθ from implicit differentiation of the MPC, and regresses
the MLP critic V_φ. L_PRED (eq. 12) is the one-step prediction error of the learnable LCS on
the collected transitions, each state component divided by the std of its one-step change
over the model buffer (raw errors are ~1e-4 and would need an α tuned per unit). MPC solves
of a minibatch are warm-started from the solution recorded at that sample in the previous
pass, and run on ``workers`` processes.
Deviations from the paper: after the joint steps, ``pred_steps`` extra full-batch Adam steps
on α·L_PRED alone (cheap: no MPC solves) let the model follow the data faster, and they use
the last ``model_buffer`` transitions of all updates, not only the current batch: the model is
a one-step predictor, so off-policy data is valid for it, and a batch from a policy that has
just learned to balance excites the dynamics too little (fitting on it alone undid the model).
The terminal value is then refreshed from the new model (``terminal: model_lqr``, see
:mod:`rl_control.mpc.mpc_policy`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from rl_control.algorithms.config import require
from rl_control.algorithms.ppo import PPO, PPOConfig, UpdateContext, clipped_surrogate_loss
from rl_control.algorithms.registry import register_algorithm
from rl_control.algorithms.spec import AlgorithmSpec
from rl_control.algorithms.storage import RolloutStorage
from rl_control.models.distributions import DiagGaussian
from rl_control.mpc.mpc_policy import TERMINAL_MODES, LCSMPCPolicy
from rl_control.policies.base import PolicyOutput


@dataclass
class PPOMPCConfig(PPOConfig):
    """PPO settings plus the MPC policy's; defaults sized for the soft-wall cart-pole."""

    learning_rate: float = 3e-3  # on the scaled θ (relative changes), and the critic
    n_steps: int = 200
    batch_size: int = 100
    n_epochs: int = 4
    max_grad_norm: float = 1.0
    pred_coef: float = 1.0  # α of eq. 15
    pred_steps: int = 200  # extra full-batch Adam steps on α·L_PRED alone (no MPC solves)
    model_buffer: int = 20000  # transitions kept for those steps (all updates, FIFO)
    horizon: int = 10
    smoothing: float = 1e-3
    action_barrier: float = 0.1
    model_perturbation: float = 0.6
    model_seed: int = 1
    terminal_discount: float = 0.99
    init_log_std: float = -1.5
    workers: int = 1
    terminal: str = "model_lqr"  # V(s_H): LQR of the current model, or "learned" by L_CLIP

    def __post_init__(self) -> None:
        super().__post_init__()
        require(self.pred_coef >= 0, f"pred_coef must be >= 0, got {self.pred_coef}")
        require(self.pred_steps >= 0, f"pred_steps must be >= 0, got {self.pred_steps}")
        require(self.model_buffer >= 1, f"model_buffer must be >= 1, got {self.model_buffer}")
        require(self.workers >= 1, f"workers must be >= 1, got {self.workers}")
        require(self.mode == "clip", "ppo_mpc supports mode 'clip' only")
        require(
            self.terminal in TERMINAL_MODES,
            f"terminal must be one of {TERMINAL_MODES}, got {self.terminal!r}",
        )


@dataclass
class MPCUpdateContext(UpdateContext):
    """PPO-MPC's update data: the rollout's raw transitions, MPC warm starts, model buffer."""

    obs: torch.Tensor  # raw float64 states [T*N, n_x]
    act: torch.Tensor
    nxt: torch.Tensor
    warm: np.ndarray  # per-sample MPC solution, refreshed by every successful solve
    buf: torch.Tensor  # model buffer rows [obs | act | next obs]
    scale: torch.Tensor  # per-component std of the one-step change over the buffer
    fails: int = 0
    solves: int = 0


class PPOMPC(PPO):
    """PPO-MPC: the policy is :class:`LCSMPCPolicy`; the critic is its MLP ``value_net``.

    The update is PPO's with its policy term scored through the MPC solve and one extra
    term, ``pred`` (α L_PRED); the model-only steps and the terminal refresh follow it.
    """

    name = "ppo_mpc"
    config_cls = PPOMPCConfig
    config: PPOMPCConfig
    stat_keys = ("policy_loss", "pred_loss", "value_loss", "clip_fraction")

    def __init__(
        self,
        spec: AlgorithmSpec,
        config: PPOMPCConfig,
        policy: LCSMPCPolicy,
        storage: RolloutStorage,
        seed: int = 0,
    ) -> None:
        if not isinstance(policy, LCSMPCPolicy):
            raise ValueError(f"ppo_mpc needs an LCSMPCPolicy, got {type(policy).__name__}")
        super().__init__(spec, config, policy, storage, seed)
        self.terminal_failures = 0  # LQR terminal refreshes without a Riccati solution
        self._transitions: list[tuple[np.ndarray, ...]] = []
        self._model_data = np.zeros((0, 2 * spec.obs_dim + spec.act_dim))

    @classmethod
    def make_policy(cls, spec: AlgorithmSpec, config: PPOMPCConfig) -> LCSMPCPolicy:
        cfg = config
        return LCSMPCPolicy(
            spec.obs_dim, spec.act_dim, list(spec.action_low), list(spec.action_high),
            cfg.horizon, cfg.smoothing, cfg.action_barrier, cfg.model_perturbation,
            cfg.model_seed, cfg.terminal_discount, cfg.init_log_std, cfg.hidden, cfg.workers,
            cfg.terminal,
        )  # fmt: skip

    def _build_optimizers(self) -> None:
        lr = self.config.learning_rate
        self.optimizers = {
            "policy": torch.optim.Adam(self.policy.actor_parameters(), lr=lr),
            "value": torch.optim.Adam(self.policy.critic_parameters(), lr=1e-3),
        }

    def record(
        self,
        obs: np.ndarray,
        out: PolicyOutput,
        reward: np.ndarray,
        terminated: np.ndarray,
        truncated: np.ndarray,
        next_obs: np.ndarray,
    ) -> None:
        before = self.storage.step
        super().record(obs, out, reward, terminated, truncated, next_obs)
        if self.storage.step == before:
            return  # dropped (stale version)
        y = out.info.get("mpc_solution")
        n = self.num_envs
        warm = np.full((n, self.policy.solver.mpc.n_y), np.nan) if y is None else np.asarray(y)
        self._transitions.append(
            (
                np.asarray(obs, np.float64),
                np.asarray(out.action, np.float64).reshape(n, -1),
                np.asarray(next_obs, np.float64),
                warm,
            )
        )

    def update(self) -> dict[str, float]:
        stats = super().update()
        self._transitions = []
        stats["mpc_fallbacks"] = float(self.policy.fallback_count)
        stats["mpc_solves"] = float(self.policy.solve_count)
        return stats

    def prediction_loss(
        self, obs: torch.Tensor, act: torch.Tensor, nxt: torch.Tensor, scale: torch.Tensor
    ) -> torch.Tensor:
        """L_PRED: mean squared one-step error of the LCS model, per-component scaled."""
        pred = self.policy.model.predict(obs, act)
        return (((nxt - pred) / scale) ** 2).sum(-1).mean()

    # --- PPO's update hooks ---------------------------------------------------------------
    def begin_update(self, data: dict[str, torch.Tensor]) -> UpdateContext:
        """The rollout's raw transitions and MPC warm starts, and the model buffer's scale."""
        cfg = self.config
        # the storage is [T, N] flattened row-major, like the transition list
        obs, act, nxt, warm = (np.concatenate(x) for x in zip(*self._transitions, strict=True))
        data = dict(data, index=torch.arange(len(obs)))
        self._model_data = np.concatenate([self._model_data, np.hstack([obs, act, nxt])])
        self._model_data = self._model_data[-cfg.model_buffer :]
        n_x, n_a = obs.shape[1], act.shape[1]
        buf = torch.from_numpy(self._model_data)
        # one scale for both uses of L_PRED, from all buffered data (a batch of a balancing
        # policy has tiny one-step changes, which would blow its own errors up)
        scale = (buf[:, n_x + n_a :] - buf[:, :n_x]).std(0).clamp_min(1e-6)
        obs_t, act_t, nxt_t = (torch.from_numpy(x) for x in (obs, act, nxt))
        return MPCUpdateContext(data, None, obs_t, act_t, nxt_t, warm, buf, scale)

    def policy_term(
        self, mb: dict[str, torch.Tensor], ctx: MPCUpdateContext
    ) -> tuple[torch.Tensor, DiagGaussian, dict[str, torch.Tensor]]:
        """L_CLIP over the samples whose MPC solve succeeded (warm-started per sample)."""
        idx = mb["index"].numpy()
        dist, res = self.policy.mpc_distribution(ctx.obs[idx], ctx.warm[idx])
        log_prob = dist.log_prob(mb["actions"])
        ctx.warm[idx[res.ok]] = res.y[res.ok]
        ok = torch.from_numpy(res.ok)
        ctx.fails, ctx.solves = ctx.fails + int((~res.ok).sum()), ctx.solves + len(idx)
        if ok.any():
            pg_loss, clip_frac = clipped_surrogate_loss(
                log_prob[ok], mb["log_probs"][ok], mb["advantages"][ok], self.config.clip_range
            )
        else:
            pg_loss, clip_frac = torch.zeros(()), torch.zeros(())
        return pg_loss, dist, {"clip_fraction": clip_frac}

    def extra_loss_terms(
        self, mb: dict[str, torch.Tensor], ctx: MPCUpdateContext
    ) -> dict[str, torch.Tensor]:
        """``pred``: L_PRED of the minibatch's transitions (float64, the model's dtype)."""
        idx = mb["index"].numpy()
        return {"pred": self.prediction_loss(ctx.obs[idx], ctx.act[idx], ctx.nxt[idx], ctx.scale)}

    def loss_coefs(self) -> dict[str, float]:
        return {**super().loss_coefs(), "pred": self.config.pred_coef}

    def optimizer_step(self, loss: torch.Tensor) -> None:
        """Adam on θ and on the critic; only θ's gradient norm is clipped."""
        for opt in self.optimizers.values():
            opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.policy.actor_parameters(), self.config.max_grad_norm)
        for opt in self.optimizers.values():
            opt.step()

    def minibatch_stats(
        self, terms: dict[str, torch.Tensor], diagnostics: dict[str, torch.Tensor]
    ) -> torch.Tensor:
        """Summed in float64 (L_PRED is a float64 model loss)."""
        named = {
            "policy_loss": terms["policy"], "pred_loss": terms["pred"],
            "value_loss": terms["value"], **diagnostics,
        }  # fmt: skip
        return torch.stack([named[k].detach().double() for k in self.stat_keys])

    def finish_update(
        self, ctx: MPCUpdateContext, stats: dict[str, float], n_updates: int, stopped: bool
    ) -> dict[str, float]:
        """Model-only L_PRED steps on the whole buffer, then the terminal value refresh."""
        buf, n_x, n_a = ctx.buf, ctx.obs.shape[1], ctx.act.shape[1]
        stats["pred_loss_after"] = self._fit_model(
            buf[:, :n_x], buf[:, n_x : n_x + n_a], buf[:, n_x + n_a :], ctx.scale
        )
        if not self.policy.refresh_terminal():
            self.terminal_failures += 1
        stats["terminal_refresh_failures"] = float(self.terminal_failures)
        stats.update(
            n_updates=float(n_updates),
            update_solve_failures=float(ctx.fails),
            update_solves=float(ctx.solves),
            std=float(self.policy.log_std.detach().exp().mean()),
        )
        return stats

    def _fit_model(
        self, obs: torch.Tensor, act: torch.Tensor, nxt: torch.Tensor, scale: torch.Tensor
    ) -> float:
        """Extra model-only steps: L_PRED is cheap (no MPC solves), L_CLIP is not."""
        opt, loss = self.optimizers["policy"], torch.zeros(())
        for _ in range(self.config.pred_steps):
            loss = self.config.pred_coef * self.prediction_loss(obs, act, nxt, scale)
            opt.zero_grad()
            loss.backward()
            opt.step()
        with torch.no_grad():
            return float(self.prediction_loss(obs, act, nxt, scale))

    def _extra_state(self) -> dict[str, Any]:
        return {
            "fallback_count": self.policy.fallback_count,
            "terminal_failures": self.terminal_failures,
            "model_data": self._model_data.copy(),
        }

    def _load_extra_state(self, state: dict[str, Any]) -> None:
        self.policy.fallback_count = int(state.get("fallback_count", 0))
        self.terminal_failures = int(state.get("terminal_failures", 0))
        if "model_data" in state:
            self._model_data = np.asarray(state["model_data"], dtype=np.float64)


# the MPC model starts from the task's exact dynamics (the cart-pole's LCS)
register_algorithm(PPOMPC.name, PPOMPC.build, ("dynamics",))
