"""iLQR (DDP without second-order dynamics terms) on any differentiable model and reward.

Minimises the cost ℓ(x, u) = −r(x, u, f(x, u)) summed over a horizon (plus an optional
terminal cost −r_T(x_T)) from a start x₀, with a Levenberg-Marquardt regularised backward pass
(Q_uu + μI, μ raised until it is positive definite and after a failed line search, lowered
after a success) and a backtracking line search on the actual/expected cost decrease whose
candidate step sizes are rolled out as one batch. First and second derivatives of the task's
functions come from torch autograd, batched over the whole horizon at once.

Result (the lecture's notation, Levine & Koltun 2013): nominal (x̄_t, ū_t), feedback
g(x_t) = ū_t + k_t + K_t (x_t − x̄_t), and Q_uu of the reward-to-go (negative definite), so the
guiding distribution is π_G(u_t | x_t) = N(g(x_t), −Q_uu⁻¹) (:class:`LinearGaussianController`).
Action bounds enter as a quadratic penalty on the excess, so the problem stays smooth.

An optional control cost R‖u‖² (``ILQRSettings.control_cost``, action units) is added to ℓ.
A task whose reward has no action term needs it (:data:`CONTROL_COST`, :func:`control_cost`):
on the 2R leg (fully actuated, 500 Hz, reward of the state only) the torque at step t can be
undone by the torque at t+1 at no cost, so the value function keeps next to no curvature in
the joint rates (what one step's torque sets: q̇' = q̇ + dt M⁻¹(τ − b)) and Q_uu is only the
one-step effect through q' = q + dt q̇', of order (dt² M⁻¹)ᵀ V_qq (dt² M⁻¹) ~ 1e-5, indefinite
where the reward's exponentials curve the wrong way; Newton steps and gains divided by it
reach hundreds of N·m (and overflow to NaN at μ → 0). With R = 1e-2, Q_uu ≥ 2R.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

#: f(x [N, n_x], u [N, n_u]) -> x' [N, n_x], float64 torch, differentiable
Dynamics = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
#: r(x, u, x') -> [N]
Reward = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]
TerminalReward = Callable[[torch.Tensor], torch.Tensor]

LOG_2PI = math.log(2 * math.pi)


@dataclass(frozen=True)
class ILQRSettings:
    """Solver settings; defaults follow Tassa, Erez & Todorov (2012) where they give one."""

    max_iter: int = 100
    tol: float = 1e-6  # stop when the relative cost decrease falls below this
    mu_init: float = 1e-6  # Levenberg-Marquardt μ added to Q_uu
    mu_min: float = 1e-8  # below this μ is set to 0
    mu_max: float = 1e10
    mu_factor: float = 10.0
    line_search_steps: int = 11  # α = 10^linspace(0, -3, steps), all rolled out at once
    armijo: float = 0.1  # accept when actual / expected decrease > armijo
    bound_penalty: float = 10.0  # cost per unit² of action outside [low, high]
    control_cost: float = 0.0  # R of the control cost R‖u‖² added to every stage (module doc)

    def __post_init__(self) -> None:
        if self.max_iter < 1 or self.line_search_steps < 1:
            raise ValueError("iLQR: max_iter and line_search_steps must be >= 1")
        if not (0 <= self.mu_min <= self.mu_max and self.mu_factor > 1 and self.tol > 0):
            raise ValueError("iLQR: need 0 <= mu_min <= mu_max, mu_factor > 1 and tol > 0")
        if not self.control_cost >= 0:
            raise ValueError(f"iLQR: control_cost must be >= 0, got {self.control_cost}")


@dataclass
class LinearGaussianController:
    """π_G(u_t | x_t) = N(ū_t + k_t + K_t (x_t − x̄_t), −Q_uu,t⁻¹), t < horizon (numpy)."""

    x: np.ndarray  # [T+1, n_x] nominal states
    u: np.ndarray  # [T, n_u] nominal actions
    k: np.ndarray  # [T, n_u]
    K: np.ndarray  # [T, n_u, n_x]
    quu: np.ndarray  # [T, n_u, n_u] Q_uu of the reward-to-go (negative definite)

    def __post_init__(self) -> None:
        cov = -np.linalg.inv(self.quu)
        self.cov = 0.5 * (cov + np.swapaxes(cov, 1, 2))
        self._chol = np.linalg.cholesky(self.cov)  # raises unless positive definite
        self._logdet = 2 * np.log(np.diagonal(self._chol, axis1=1, axis2=2)).sum(-1)

    @property
    def horizon(self) -> int:
        return len(self.u)

    def mean(self, t: np.ndarray, x: np.ndarray) -> np.ndarray:
        """g(x) [N, n_u] for time indices ``t`` [N] and states ``x`` [N, n_x]."""
        t = np.minimum(np.asarray(t, dtype=np.int64), self.horizon - 1)
        dx = np.asarray(x, dtype=np.float64) - self.x[t]
        return self.u[t] + self.k[t] + np.einsum("nij,nj->ni", self.K[t], dx)

    def sample(self, t: np.ndarray, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        t = np.minimum(np.asarray(t, dtype=np.int64), self.horizon - 1)
        noise = rng.standard_normal((len(t), self.u.shape[1]))
        return self.mean(t, x) + np.einsum("nij,nj->ni", self._chol[t], noise)

    def shifted(self, steps: int) -> LinearGaussianController:
        """The same law ``steps`` later, its tail padded with the last step (MPC warm start)."""
        idx = np.minimum(np.arange(steps, steps + self.horizon), self.horizon - 1)
        x = self.x[np.minimum(np.arange(steps, steps + self.horizon + 1), self.horizon)]
        return LinearGaussianController(x, self.u[idx], self.k[idx], self.K[idx], self.quu[idx])

    def log_prob(self, t: np.ndarray, x: np.ndarray, u: np.ndarray) -> np.ndarray:
        """log π_G(u | x) [N] at time indices ``t``."""
        t = np.minimum(np.asarray(t, dtype=np.int64), self.horizon - 1)
        diff = np.asarray(u, dtype=np.float64) - self.mean(t, x)
        z = np.linalg.solve(self._chol[t], diff[..., None])[..., 0]
        return -0.5 * (z**2).sum(-1) - 0.5 * self._logdet[t] - 0.5 * diff.shape[-1] * LOG_2PI


@dataclass
class ILQRResult:
    controller: LinearGaussianController
    costs: list[float]  # total cost after every accepted iteration (first: the initial guess)
    iterations: int
    converged: bool
    mu: float

    @property
    def cost(self) -> float:
        return self.costs[-1]


class ILQR:
    """iLQR on ``dynamics`` and ``reward`` with actions bounded by ``low``/``high``."""

    def __init__(self, dynamics: Dynamics, reward: Reward, low: np.ndarray, high: np.ndarray,
                 settings: ILQRSettings | None = None,
                 terminal_reward: TerminalReward | None = None) -> None:  # fmt: skip
        self.f, self.r, self.r_final = dynamics, reward, terminal_reward
        self.low = torch.as_tensor(np.asarray(low, dtype=np.float64).reshape(-1))
        self.high = torch.as_tensor(np.asarray(high, dtype=np.float64).reshape(-1))
        self.s = settings or ILQRSettings()

    # --- model pieces ---------------------------------------------------------------------
    def stage_cost(self, x: torch.Tensor, u: torch.Tensor, x2: torch.Tensor) -> torch.Tensor:
        """ℓ(x, u) = −r(x, u, x' = f(x, u)) + bound penalty + R‖u‖², [N]."""
        excess = torch.relu(u - self.high) + torch.relu(self.low - u)
        penalty = self.s.bound_penalty * excess.square().sum(-1)
        if self.s.control_cost:
            penalty = penalty + self.s.control_cost * u.square().sum(-1)
        return -torch.as_tensor(self.r(x, u, x2), dtype=torch.float64) + penalty

    def final_cost(self, x: torch.Tensor) -> torch.Tensor:
        if self.r_final is None:
            return torch.zeros(x.shape[:-1], dtype=torch.float64)
        return -torch.as_tensor(self.r_final(x), dtype=torch.float64)

    @torch.no_grad()
    def rollout(self, x0: torch.Tensor, u_of: Callable[[int, torch.Tensor], torch.Tensor],
                horizon: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:  # fmt: skip
        """States [B, T+1, n_x], actions [B, T, n_u] and costs [B] of a batch of rollouts."""
        xs, us = [x0], []
        for t in range(horizon):
            us.append(u_of(t, xs[-1]))
            xs.append(self.f(xs[-1], us[-1]))
        x, u = torch.stack(xs, 1), torch.stack(us, 1)
        # the stage costs of all steps in one batched call (not one per step)
        flat = self.stage_cost(x[:, :-1].reshape(-1, x.shape[-1]), u.reshape(-1, u.shape[-1]),
                               x[:, 1:].reshape(-1, x.shape[-1]))  # fmt: skip
        return x, u, flat.reshape(len(x0), horizon).sum(1) + self.final_cost(x[:, -1])

    def derivatives(self, x: np.ndarray, u: np.ndarray) -> tuple[np.ndarray, ...]:
        """f_z [T, n_x, n_z], ℓ_z [T, n_z], ℓ_zz [T, n_z, n_z] and terminal V_x, V_xx,
        z = (x, u), all steps in one autograd graph."""
        n_x = x.shape[1]
        z = torch.as_tensor(np.concatenate([x[:-1], u], 1)).requires_grad_(True)
        xt, ut = z[:, :n_x], z[:, n_x:]
        nxt = self.f(xt, ut)
        fz = torch.stack([torch.autograd.grad(nxt[:, i].sum(), z, retain_graph=True)[0]
                          for i in range(n_x)], 1)  # fmt: skip
        lz = torch.autograd.grad(self.stage_cost(xt, ut, nxt).sum(), z, create_graph=True)[0]
        lzz = torch.stack([torch.autograd.grad(lz[:, j].sum(), z, retain_graph=True,
                                               allow_unused=True)[0] if lz.requires_grad
                           else torch.zeros_like(z) for j in range(z.shape[1])], 1)  # fmt: skip
        xf = torch.as_tensor(x[-1:]).requires_grad_(True)
        vx, vxx = np.zeros(n_x), np.zeros((n_x, n_x))
        if self.r_final is not None:
            g = torch.autograd.grad(self.final_cost(xf).sum(), xf, create_graph=True)[0]
            if g.requires_grad:
                vxx = torch.stack([torch.autograd.grad(g[0, i], xf, retain_graph=True)[0][0]
                                   for i in range(n_x)]).numpy()  # fmt: skip
            vx = g[0].detach().numpy()
        arrays = (fz, lz, torch.nan_to_num(lzz))
        return (*(a.detach().numpy() for a in arrays), vx, vxx)

    # --- the two passes -------------------------------------------------------------------
    def backward(self, x: np.ndarray, u: np.ndarray, mu: float) -> tuple[np.ndarray, ...] | None:
        """(k, K, Q_uu + μI [cost convention], expected-decrease terms) or None when Q_uu + μI
        is not positive definite at some step."""
        fz, lz, lzz, vx, vxx = self.derivatives(x, u)
        n_x, n_u = x.shape[1], u.shape[1]
        T = len(u)
        k, K = np.zeros((T, n_u)), np.zeros((T, n_u, n_x))
        quu_reg, dv = np.zeros((T, n_u, n_u)), np.zeros(2)
        for t in range(T - 1, -1, -1):
            fx, fu = fz[t, :, :n_x], fz[t, :, n_x:]
            qx = lz[t, :n_x] + fx.T @ vx
            qu = lz[t, n_x:] + fu.T @ vx
            qxx = lzz[t, :n_x, :n_x] + fx.T @ vxx @ fx
            quu = lzz[t, n_x:, n_x:] + fu.T @ vxx @ fu
            qux = lzz[t, n_x:, :n_x] + fu.T @ vxx @ fx
            reg = 0.5 * (quu + quu.T) + mu * np.eye(n_u)
            try:
                chol = np.linalg.cholesky(reg)
            except np.linalg.LinAlgError:
                return None
            kk = -np.linalg.solve(chol.T, np.linalg.solve(chol, np.column_stack([qu, qux])))
            k[t], K[t], quu_reg[t] = kk[:, 0], kk[:, 1:], reg
            dv += (k[t] @ qu, 0.5 * k[t] @ quu @ k[t])
            vx = qx + K[t].T @ quu @ k[t] + K[t].T @ qu + qux.T @ k[t]
            vxx = qxx + K[t].T @ quu @ K[t] + K[t].T @ qux + qux.T @ K[t]
            vxx = 0.5 * (vxx + vxx.T)
        return k, K, quu_reg, dv

    def solve(self, x0: np.ndarray, u_init: np.ndarray | LinearGaussianController) -> ILQRResult:
        """Optimise the actions from ``x0``, starting at actions ``u_init`` [T, n_u] or at the
        closed-loop rollout of a controller's mean (a warm start from a nearby solution)."""
        x0 = np.asarray(x0, dtype=np.float64).reshape(-1)
        if not np.all(np.isfinite(x0)):
            raise ValueError(f"iLQR: non-finite start state {x0.tolist()}")
        if isinstance(u_init, LinearGaussianController):
            init = u_init

            def first(t: int, xn: torch.Tensor) -> torch.Tensor:
                return torch.as_tensor(init.mean(np.array([t]), xn.numpy()))

            T = init.horizon
        else:
            u0 = torch.as_tensor(np.asarray(u_init, dtype=np.float64).reshape(len(u_init), -1))
            if not torch.all(torch.isfinite(u0)):
                raise ValueError("iLQR: non-finite initial actions")

            def first(t: int, xn: torch.Tensor) -> torch.Tensor:
                return u0[t][None]

            T = len(u0)
        s = self.s
        xs, us, cost = self.rollout(torch.as_tensor(x0)[None], first, T)
        x, u = xs[0].numpy(), us[0].numpy()
        costs, mu, converged = [float(cost[0])], s.mu_init, False
        alphas = torch.as_tensor(10.0 ** np.linspace(0.0, -3.0, s.line_search_steps))
        it = 0
        for it in range(1, s.max_iter + 1):  # noqa: B007 (the count is reported)
            back = self.backward(x, u, mu)
            while back is None and mu < s.mu_max:
                mu = max(mu * s.mu_factor, s.mu_min if s.mu_min > 0 else 1e-8)
                back = self.backward(x, u, mu)
            if back is None:
                break
            k, K, _, dv = back
            xb, ub = torch.as_tensor(x), torch.as_tensor(u)
            kt, Kt = torch.as_tensor(k), torch.as_tensor(K)

            def policy(t: int, xn: torch.Tensor, xb=xb, ub=ub, kt=kt, Kt=Kt) -> torch.Tensor:
                return ub[t] + alphas[:, None] * kt[t] + (xn - xb[t]) @ Kt[t].T

            x0b = torch.as_tensor(x0).expand(len(alphas), -1)
            xs, us, new = self.rollout(x0b, policy, T)
            expected = (alphas * dv[0] + alphas**2 * dv[1]).numpy()
            ratio = (new.numpy() - costs[-1]) / np.where(expected < 0, expected, -1e-300)
            ok = np.flatnonzero(np.isfinite(new.numpy()) & (ratio > s.armijo))
            if len(ok) == 0:
                mu = max(mu * s.mu_factor, s.mu_min if s.mu_min > 0 else 1e-8)
                if mu > s.mu_max or -dv.sum() < s.tol * abs(costs[-1]):
                    converged = -dv.sum() < s.tol * max(1.0, abs(costs[-1]))
                    break
                continue
            i = int(ok[0])
            x, u = xs[i].numpy(), us[i].numpy()
            improvement = costs[-1] - float(new[i])
            costs.append(float(new[i]))
            mu = mu / s.mu_factor
            mu = 0.0 if mu < s.mu_min else mu
            if improvement < s.tol * max(1.0, abs(costs[-1])):
                converged = True
                break
        return ILQRResult(self.controller(x, u, mu), costs, it, converged, mu)

    def controller(self, x: np.ndarray, u: np.ndarray, mu: float) -> LinearGaussianController:
        """Gains and Q_uu at the nominal (x, u), with μ raised until Q_uu + μI is PD."""
        back = self.backward(x, u, mu)
        while back is None:
            mu = max(mu * self.s.mu_factor, 1e-8)
            if mu > self.s.mu_max:
                raise ValueError("iLQR: Q_uu is not positive definite at any regularisation")
            back = self.backward(x, u, mu)
        k, K, quu_cost, _ = back
        return LinearGaussianController(x, u, k, K, -quu_cost)


class SmoothLCSDynamics:
    """x' = A x + B u + C λ_γ(x, u) + d of an LCS, λ_γ the barrier-smoothed contact force
    (λ_i w_i = γ, as :class:`~rl_control.models.lcs.LearnableLCS`), batched torch float64.

    For a diagonal F (soft contacts, the cart-pole's walls) λ_γ is the positive root of
    F_ii λ² + q_i λ − γ = 0 in closed form, so rollouts cost a few tensor ops per step and
    autograd gives exact first and second derivatives; otherwise the Newton solver is used.
    """

    def __init__(self, lcs: Any, smoothing: float = 1e-3) -> None:
        if not smoothing > 0:
            raise ValueError(f"contact smoothing must be > 0, got {smoothing}")
        self.m = {n: torch.as_tensor(getattr(lcs, n)) for n in "ABCdDEFc"}
        self.gamma = float(smoothing)
        F = self.m["F"]
        self.diagonal = bool(torch.all(F == torch.diag(torch.diagonal(F))))
        self.fd = torch.diagonal(F).clamp_min(1e-12)

    def force(self, x: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        m = self.m
        x, u = x.to(torch.float64), u.to(torch.float64)
        q = x @ m["D"].T + u @ m["E"].T + m["c"]
        if not self.diagonal:
            from rl_control.models.lcs import smoothed_lambda

            return smoothed_lambda(m["F"], q, self.gamma)
        root = torch.sqrt(q.square() + 4.0 * self.fd * self.gamma)
        # the cancellation-free form of the root on each side of q = 0
        pos = 2.0 * self.gamma / (q.clamp_min(0.0) + root)
        neg = (root - q.clamp_max(0.0)) / (2.0 * self.fd)
        return torch.where(q > 0, pos, neg)

    def __call__(self, x: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        m = self.m
        x, u = x.to(torch.float64), u.to(torch.float64)
        return x @ m["A"].T + u @ m["B"].T + self.force(x, u) @ m["C"].T + m["d"]


#: R of the control cost iLQR adds for tasks whose reward has no action term (module doc;
#: ideally a fact of the TaskDefinition, kept here as observed_task's tables are): 1e-2 on the
#: 2R leg is ≤ 2 % of its reward (≤ 1 per step) at the ~1 N·m torques of its gait
CONTROL_COST: dict[str, float] = {"two_link_leg": 1e-2}


def control_cost(task: Any, value: float | None = None) -> float:
    """``value`` when given, else the task's default R (:data:`CONTROL_COST`, else 0)."""
    return float(CONTROL_COST.get(task.name, 0.0) if value is None else value)


def task_model(task: Any, smoothing: float = 1e-3) -> tuple[Dynamics, Reward]:
    """(dynamics, reward) of a bound :class:`~rl_control.tasks.base.Task` for :class:`ILQR`.

    A task whose ``dynamics`` is an LCS (the cart-pole) gets :class:`SmoothLCSDynamics`; a
    task may also give a torch callable f(x, u) directly. Raises ValueError for a task
    without dynamics.
    """
    from rl_control.tasks.lcs import LCS

    model = task.dynamics()
    if isinstance(model, LCS):
        dynamics: Dynamics = SmoothLCSDynamics(model, smoothing)
    elif callable(model):
        dynamics = model
    else:
        raise ValueError(f"task {task.name!r}: dynamics {type(model).__name__} is not usable")

    def reward(x: torch.Tensor, u: torch.Tensor, x2: torch.Tensor) -> torch.Tensor:
        return torch.as_tensor(task.reward(x, u, x2), dtype=torch.float64)

    return dynamics, reward
