"""The MPC-based Gaussian policy of PPO-MPC: a ~ N(μ_θ(s), ξ I), μ_θ(s) = a₀* of the LCS-MPC.

θ = (Θ, V-params, log σ): Θ the learnable LCS, V(s) = −sᵀLLᵀs + pᵀs the terminal value,
σ² = ξ in the unit action space (action / half-range), like the neural kinds.

Terminal value, two modes (``terminal``):
- ``"model_lqr"`` (default): V is the discounted LQR cost-to-go of the *current* learned
  (A, B), recomputed by :meth:`LCSMPCPolicy.refresh_terminal` after every update. It is a
  function of Θ treated with a stop-gradient (not optimised by the PPO loss). Why: with a
  10-step horizon (0.1 s) the terminal term decides the plan; a quadratic tied to the
  *initial* wrong model keeps the MPC failing even after L_PRED has fixed the dynamics.
- ``"learned"``: V's parameters start from the LQR cost-to-go of the initial model and are
  then learned through the PPO loss only (the earlier design; kept for comparison).
μ_θ is differentiable by implicit differentiation of the MPC's KKT conditions
(:class:`MPCMean`); d log π / dξ is the analytic Gaussian one, by torch autograd.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from rl_control.models.bounded_policy import BoundedPolicy
from rl_control.models.distributions import DiagGaussian, gaussian_log_prob
from rl_control.models.lcs import LearnableLCS, perturb_lcs
from rl_control.models.mlp import mlp
from rl_control.mpc.batch import BatchMPCSolver, BatchResult
from rl_control.mpc.lcs_mpc import MPCSettings, lqr_terminal
from rl_control.policies.base import PolicyOutput
from rl_control.policies.registry import register_policy
from rl_control.tasks.registry import get_task

TERMINAL_MODES = ("model_lqr", "learned")
#: the task whose exact dynamics (its LCS) the MPC model starts from
MODEL_TASK = "soft_wall_cartpole"


class MPCMean(torch.autograd.Function):
    """μ = a₀*(θ) for a batch; backward uses the per-sample dμ/dθ computed in forward."""

    @staticmethod
    def forward(ctx: Any, theta: torch.Tensor, result: BatchResult) -> torch.Tensor:  # type: ignore[override]
        ctx.save_for_backward(torch.from_numpy(result.jac))
        return torch.from_numpy(result.mean).to(theta.dtype)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, None]:  # type: ignore[override]
        (jac,) = ctx.saved_tensors
        return torch.einsum("ba,bap->p", grad.to(jac.dtype), jac), None


class ScaledVector(nn.Module):
    """A vector parameter stored as ``base + scale * delta`` (only ``delta`` is learned)."""

    def __init__(self, base: np.ndarray, floor: float = 0.01) -> None:
        super().__init__()
        base = np.asarray(base, dtype=np.float64)
        scale = np.abs(base) + floor * max(float(np.abs(base).max(initial=0.0)), 1e-3)
        self.register_buffer("base", torch.tensor(base))
        self.register_buffer("scale", torch.tensor(scale))
        self.delta = nn.Parameter(torch.zeros(base.size, dtype=torch.float64))

    def forward(self) -> torch.Tensor:
        return self.base + self.scale * self.delta

    @torch.no_grad()
    def rebase(self, base: np.ndarray, floor: float = 0.01) -> None:
        """Move the reference point to ``base`` (scales follow it) and zero ``delta``."""
        base_t = torch.as_tensor(np.asarray(base, dtype=np.float64))
        if base_t.shape != self.base.shape or not torch.isfinite(base_t).all():
            raise ValueError(f"rebase needs a finite vector of shape {tuple(self.base.shape)}")
        self.base.copy_(base_t)
        top = max(float(base_t.abs().max()), 1e-3)
        self.scale.copy_(base_t.abs() + floor * top)
        self.delta.zero_()


@register_policy("mpc_lcs")
class LCSMPCPolicy(BoundedPolicy):
    """Gaussian policy whose mean is an LCS-MPC; carries its own MLP critic for PPO."""

    def __init__(
        self,
        obs_dim: int = 4,
        act_dim: int = 1,
        action_low: Sequence[float] = (-100.0,),
        action_high: Sequence[float] = (100.0,),
        horizon: int = 10,
        smoothing: float = 1e-3,
        action_barrier: float = 0.1,
        model_perturbation: float = 0.3,
        model_seed: int = 0,
        terminal_discount: float = 0.99,
        init_log_std: float = -1.5,
        hidden: Sequence[int] = (64, 64),
        workers: int = 1,
        terminal: str = "model_lqr",
    ) -> None:
        super().__init__(obs_dim, act_dim, action_low, action_high, normalize_obs=False)
        if terminal not in TERMINAL_MODES:
            raise ValueError(f"terminal must be one of {TERMINAL_MODES}, got {terminal!r}")
        self.terminal_mode = terminal
        self.terminal_discount = float(terminal_discount)
        model_task = get_task(MODEL_TASK)
        exact = model_task.dynamics(model_task.params())
        if exact.dims[:2] != (self.obs_dim, self.act_dim):
            raise ValueError(
                f"mpc_lcs models the soft-wall cart-pole (obs 4, act 1), got "
                f"obs {self.obs_dim}, act {self.act_dim}"
            )
        init = perturb_lcs(exact, model_perturbation, model_seed) if model_perturbation else exact
        self.model = LearnableLCS(init, gamma=smoothing)
        self.terminal = ScaledVector(lqr_terminal(init.A, init.B, terminal_discount))
        self.log_std = nn.Parameter(torch.full((self.act_dim,), float(init_log_std)))
        self.value_net = mlp(obs_dim, 1, [int(h) for h in hidden], "tanh", True, 1.0)
        self.settings = MPCSettings(horizon, smoothing, float(action_high[0]), action_barrier)
        self.solver = BatchMPCSolver(*exact.dims, self.settings, workers=int(workers))
        self._warm: dict[int, np.ndarray] = {}
        self._last_action: dict[int, np.ndarray] = {}
        self.fallback_count = 0
        self.solve_count = 0
        self._config = dict(
            obs_dim=self.obs_dim,
            act_dim=self.act_dim,
            action_low=self.action_low,
            action_high=self.action_high,
            horizon=int(horizon),
            smoothing=float(smoothing),
            action_barrier=float(action_barrier),
            model_perturbation=float(model_perturbation),
            model_seed=int(model_seed),
            terminal_discount=float(terminal_discount),
            init_log_std=float(init_log_std),
            hidden=[int(h) for h in hidden],
            workers=int(workers),
            terminal=terminal,
        )

    # --- parameters ---------------------------------------------------------------------
    def theta(self) -> torch.Tensor:
        """The CasADi parameter vector θ = (Θ, V-params), with gradients."""
        return torch.cat([self.model.flat(), self.terminal()])

    def actor_parameters(self) -> list[nn.Parameter]:
        """Parameters the PPO loss optimises (the terminal only in ``learned`` mode)."""
        if self.terminal_mode == "learned":
            return [self.model.delta, self.terminal.delta, self.log_std]
        return [self.model.delta, self.log_std]

    def refresh_terminal(self) -> bool:
        """``model_lqr`` mode: V := LQR cost-to-go of the current model (no-op otherwise).

        Returns False (keeping the previous V) when the Riccati equation has no stabilising
        solution for the current (A, B); the caller counts that.
        """
        if self.terminal_mode != "model_lqr":
            return True
        lcs = self.model.to_lcs()
        try:
            params = lqr_terminal(lcs.A, lcs.B, self.terminal_discount)
            self.terminal.rebase(params)
        except (ValueError, np.linalg.LinAlgError):
            return False
        self._warm.clear()  # plans of the previous problem are poor warm starts
        return True

    def critic_parameters(self) -> list[nn.Parameter]:
        return list(self.value_net.parameters())

    def value(self, nobs: torch.Tensor) -> torch.Tensor:
        return self.value_net(nobs.float()).squeeze(-1)

    # --- MPC means ----------------------------------------------------------------------
    def solve(
        self, obs: np.ndarray, warm: np.ndarray | None = None, grad: bool = False
    ) -> BatchResult:
        """Raw batch solve at the current θ (force units)."""
        theta = self.theta().detach().numpy()
        return self.solver.solve(theta, obs, warm, grad)

    def mean_unit(
        self, obs: torch.Tensor, warm: np.ndarray | None = None
    ) -> tuple[torch.Tensor, BatchResult]:
        """Unit-space μ_θ(obs) [B, act_dim], differentiable in θ; failed rows have no gradient."""
        result = self.solve(obs.detach().double().numpy(), warm, grad=True)
        mean = MPCMean.apply(self.theta(), result)
        return self.to_unit(mean.float()), result

    def mpc_distribution(
        self, obs: torch.Tensor, warm: np.ndarray | None = None
    ) -> tuple[DiagGaussian, BatchResult]:
        """π_θ(·|s) in unit space for raw ``obs``, differentiable in Θ, V-params and ξ."""
        mean, result = self.mean_unit(obs, warm)
        return DiagGaussian(mean, self.log_std).expanded(), result

    def evaluate_log_prob(
        self, obs: torch.Tensor, actions_u: torch.Tensor, warm: np.ndarray | None = None
    ) -> tuple[torch.Tensor, BatchResult]:
        """log π_θ(a|s) [B] of unit-space actions, with gradients into Θ, V-params and ξ."""
        dist, result = self.mpc_distribution(obs, warm)
        return dist.log_prob(actions_u), result

    # --- Policy interface ---------------------------------------------------------------
    @torch.no_grad()
    def act(self, obs: np.ndarray, deterministic: bool = False) -> PolicyOutput:
        obs_t = self.obs_tensor(obs)
        raw = np.asarray(obs, dtype=np.float64)
        n, mpc = len(raw), self.solver.mpc
        warm = np.full((n, mpc.n_y), np.nan)
        for i in range(n):
            if i in self._warm:
                warm[i] = mpc.shift(self._warm[i])
        result = self.solve(raw, warm)
        for i in range(n):
            if result.ok[i]:
                self._warm[i] = result.y[i]
                self._last_action[i] = result.mean[i]
            else:  # shifted previous plan, else last feasible action, else the centre
                if i in self._warm:
                    result.mean[i] = mpc.actions(self._warm[i])[min(1, mpc.settings.horizon - 1)]
                    self._warm[i] = mpc.shift(self._warm[i])
                elif i in self._last_action:
                    result.mean[i] = self._last_action[i]
                self.fallback_count += 1
        self.solve_count += n
        mean_u = self.to_unit(torch.from_numpy(result.mean).float())
        log_std = self.log_std.expand_as(mean_u)
        u = mean_u
        if not deterministic:
            u = mean_u + torch.exp(log_std) * torch.randn(mean_u.shape, generator=self.generator)
        plans = np.stack([mpc.plan(result.y[i], raw[i]) for i in range(n)])
        return PolicyOutput(
            action=self.from_unit(u).numpy().astype(np.float64),
            mean=self.from_unit(mean_u).numpy().astype(np.float64),
            log_prob=gaussian_log_prob(u, mean_u, log_std).numpy().astype(np.float64),
            info={
                "value": self.value(obs_t).numpy().astype(np.float64),
                "solve_time": result.solve_time,
                "plan": plans,
                "fallback": ~result.ok,
                "mpc_solution": result.y,
                "mpc_iterations": result.iterations,
            },
        )

    def reset(self, env_ids: np.ndarray | None = None) -> None:
        ids = list(self._warm) if env_ids is None else [int(i) for i in np.atleast_1d(env_ids)]
        for i in ids:
            self._warm.pop(i, None)
            self._last_action.pop(i, None)

    def get_config(self) -> dict[str, Any]:
        return dict(self._config)

    def get_state(self) -> dict[str, Any]:
        return {k: v.detach().clone() for k, v in self.state_dict().items()}

    def set_state(self, state: dict[str, Any]) -> None:
        self.load_state_dict(state)
        self.reset()
