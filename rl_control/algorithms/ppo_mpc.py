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
import torch.nn.functional as F

from rl_control.algorithms.base import seeded_init
from rl_control.algorithms.config import require
from rl_control.algorithms.ppo import PPO, PPOConfig, clipped_surrogate_loss
from rl_control.algorithms.registry import algorithm_factory, register_algorithm
from rl_control.algorithms.storage import minibatches
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


class PPOMPC(PPO):
    """PPO-MPC: the policy is :class:`LCSMPCPolicy`; the critic is its MLP ``value_net``."""

    name = "ppo_mpc"
    config: PPOMPCConfig

    def __init__(
        self,
        obs_dim: int,
        action_low: np.ndarray,
        action_high: np.ndarray,
        num_envs: int,
        config: PPOMPCConfig,
        seed: int = 0,
    ) -> None:
        super().__init__(obs_dim, action_low, action_high, num_envs, config, seed)
        cfg = config
        with seeded_init(seed):
            self.policy = LCSMPCPolicy(
                obs_dim,
                len(np.atleast_1d(action_low)),
                list(np.atleast_1d(action_low)),
                list(np.atleast_1d(action_high)),
                cfg.horizon,
                cfg.smoothing,
                cfg.action_barrier,
                cfg.model_perturbation,
                cfg.model_seed,
                cfg.terminal_discount,
                cfg.init_log_std,
                cfg.hidden,
                cfg.workers,
                cfg.terminal,
            )
        self.policy.generator = self.generator
        self.terminal_failures = 0  # LQR terminal refreshes without a Riccati solution
        self._transitions: list[tuple[np.ndarray, ...]] = []
        self._model_data = np.zeros((0, 2 * obs_dim + len(np.atleast_1d(action_low))))
        self._build_optimizers()

    def _build_optimizers(self) -> None:
        if not isinstance(getattr(self, "policy", None), LCSMPCPolicy):
            self.optimizers = {}  # the base class's throw-away neural policy
            return
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

    def _update_policy(self, data: dict[str, torch.Tensor]) -> dict[str, float]:
        cfg, policy = self.config, self.policy
        # the storage is [T, N] flattened row-major, like the transition list
        obs, act, nxt, warm = (np.concatenate(x) for x in zip(*self._transitions, strict=True))
        data = dict(data, index=torch.arange(len(obs)))
        obs_t, act_t, nxt_t = (torch.from_numpy(x) for x in (obs, act, nxt))
        self._model_data = np.concatenate([self._model_data, np.hstack([obs, act, nxt])])
        self._model_data = self._model_data[-cfg.model_buffer :]
        n_x, n_a = obs.shape[1], act.shape[1]
        buf = torch.from_numpy(self._model_data)
        buf_obs, buf_act, buf_nxt = buf[:, :n_x], buf[:, n_x : n_x + n_a], buf[:, n_x + n_a :]
        # one scale for both uses of L_PRED, from all buffered data (a batch of a balancing
        # policy has tiny one-step changes, which would blow its own errors up)
        scale = (buf_nxt - buf_obs).std(0).clamp_min(1e-6)
        sums: dict[str, float] = {}
        n_updates, fails, solves = 0, 0, 0
        for _ in range(cfg.n_epochs):
            for mb in minibatches(data, cfg.batch_size, self.generator):
                idx = mb["index"].numpy()
                log_prob, res = policy.evaluate_log_prob(obs_t[idx], mb["actions"], warm[idx])
                warm[idx[res.ok]] = res.y[res.ok]
                ok = torch.from_numpy(res.ok)
                fails, solves = fails + int((~res.ok).sum()), solves + len(idx)
                if ok.any():
                    pg_loss, clip_frac = clipped_surrogate_loss(
                        log_prob[ok], mb["log_probs"][ok], mb["advantages"][ok], cfg.clip_range
                    )
                else:
                    pg_loss, clip_frac = torch.zeros(()), torch.zeros(())
                pred_loss = self.prediction_loss(obs_t[idx], act_t[idx], nxt_t[idx], scale)
                value_loss = F.mse_loss(policy.value(mb["obs"]), mb["returns"])
                loss = pg_loss + cfg.pred_coef * pred_loss.float() + cfg.vf_coef * value_loss
                for opt in self.optimizers.values():
                    opt.zero_grad()
                loss.backward()
                torch.nn.utils.clip_grad_norm_(policy.actor_parameters(), cfg.max_grad_norm)
                for opt in self.optimizers.values():
                    opt.step()
                n_updates += 1
                for key, val in (
                    ("policy_loss", pg_loss),
                    ("pred_loss", pred_loss),
                    ("value_loss", value_loss),
                    ("clip_fraction", clip_frac),
                ):
                    sums[key] = sums.get(key, 0.0) + float(val.detach())
        stats = {k: v / max(n_updates, 1) for k, v in sums.items()}
        stats["pred_loss_after"] = self._fit_model(buf_obs, buf_act, buf_nxt, scale)
        if not policy.refresh_terminal():
            self.terminal_failures += 1
        stats["terminal_refresh_failures"] = float(self.terminal_failures)
        stats.update(
            n_updates=float(n_updates),
            update_solve_failures=float(fails),
            update_solves=float(solves),
            std=float(policy.log_std.detach().exp().mean()),
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
register_algorithm(PPOMPC.name, algorithm_factory(PPOMPC, PPOMPCConfig), ("dynamics",))
