"""iLQR (rl_control.mpc.ilqr): Riccati on an LQ problem, cost decrease on the cart-pole's
smoothed LCS, and the guiding distribution N(g(x), −Q_uu⁻¹)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from rl_control.models.lcs import LearnableLCS
from rl_control.mpc.ilqr import ILQR, ILQRSettings, LinearGaussianController, task_model
from rl_control.tasks.registry import make_task

A = np.array([[1.0, 0.1], [0.0, 1.0]])
B = np.array([[0.005], [0.1]])
Q, R, QF = np.diag([1.0, 0.1]), np.array([[0.01]]), np.diag([5.0, 1.0])


def lq_solver(settings: ILQRSettings | None = None, reward_r: np.ndarray = R) -> ILQR:
    """The LQ problem; ``reward_r``: the R inside the reward (the rest, if any, from
    ``settings.control_cost``)."""
    At, Bt, Qt, Rt, Qf = (torch.as_tensor(m) for m in (A, B, Q, reward_r, QF))

    def f(x: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        return x @ At.T + u @ Bt.T

    def r(x: torch.Tensor, u: torch.Tensor, x2: torch.Tensor) -> torch.Tensor:
        return -((x @ Qt) * x).sum(-1) - ((u @ Rt) * u).sum(-1)

    def r_final(x: torch.Tensor) -> torch.Tensor:
        return -((x @ Qf) * x).sum(-1)

    return ILQR(f, r, [-1e6], [1e6], settings, terminal_reward=r_final)


def riccati(T: int) -> tuple[np.ndarray, np.ndarray]:
    """Finite-horizon LQR for cost Σ xᵀQx + uᵀRu + x_Tᵀ Q_F x_T: gains K_t and R + BᵀP_{t+1}B."""
    P, gains, curv = QF, [], []
    for _ in range(T):
        S = R + B.T @ P @ B
        K = -np.linalg.solve(S, B.T @ P @ A)
        gains.append(K)
        curv.append(S)
        P = Q + A.T @ P @ A + A.T @ P @ B @ K
    return np.array(gains[::-1]), np.array(curv[::-1])


def test_ilqr_equals_riccati_on_linear_quadratic_problem() -> None:
    T, x0 = 30, np.array([1.0, -0.5])
    res = lq_solver().solve(x0, np.zeros((T, 1)))
    gains, curv = riccati(T)
    c = res.controller
    np.testing.assert_allclose(c.K, gains, rtol=1e-6, atol=1e-9)
    # the optimal actions are the Riccati feedback along the optimal trajectory
    np.testing.assert_allclose(c.u, np.einsum("tij,tj->ti", gains, c.x[:-1]), atol=1e-7)
    np.testing.assert_allclose(c.k, 0.0, atol=1e-7)  # converged: no open-loop correction left
    # Hessian of the cost-to-go in u is 2 (R + BᵀPB): the guiding covariance is its inverse
    np.testing.assert_allclose(c.cov, np.linalg.inv(2 * curv), rtol=1e-6)
    assert res.converged and res.iterations <= 3  # a quadratic problem: one Newton step


def test_control_cost_adds_r_u_squared_to_the_stage_cost() -> None:
    # the LQ problem with R moved from the reward to the solver's control cost: same solution
    T, x0 = 30, np.array([1.0, -0.5])
    moved = lq_solver(ILQRSettings(control_cost=float(R[0, 0])), reward_r=np.zeros((1, 1)))
    c = moved.solve(x0, np.zeros((T, 1))).controller
    gains, curv = riccati(T)
    np.testing.assert_allclose(c.K, gains, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(c.cov, np.linalg.inv(2 * curv), rtol=1e-6)
    with pytest.raises(ValueError, match="control_cost must be >= 0"):
        ILQRSettings(control_cost=-1.0)


def test_ilqr_decreases_cost_on_the_cartpole_from_a_wall_contact_start() -> None:
    task = make_task("soft_wall_cartpole")
    f, r = task_model(task)
    x0 = np.array([0.2, 0.35, 0.0, 0.0])  # tip at 0.2 + 0.6 sin 0.35 = 0.41 > wall 0.35
    state = torch.as_tensor(x0)[None]
    assert float(f.force(state, torch.zeros(1, 1)).max()) > 30.0  # the wall pushes
    # the closed-form smoothed contact equals the LCS model's Newton solution
    ref = LearnableLCS(task.dynamics()).predict(state, torch.full((1, 1), 20.0))
    torch.testing.assert_close(f(state, torch.full((1, 1), 20.0)), ref.detach())
    solver = ILQR(f, r, task.action_low, task.action_high, ILQRSettings(max_iter=25, tol=1e-4))
    res = solver.solve(x0, np.zeros((60, 1)))
    assert np.all(np.diff(res.costs) < 0)  # every accepted step decreases the cost
    assert res.cost < res.costs[0] - 400.0  # measured: -270 -> -791 (the best possible: -900)
    # the plan moves the pole back towards upright (measured: 0.35 -> 0.13 rad in 0.6 s)
    # and respects the force limit
    assert abs(res.controller.x[-1, 1]) < 0.2
    assert np.abs(res.controller.u).max() < task.action_high[0] + 1.0


def test_guiding_covariance_is_minus_quu_inverse_and_positive_definite() -> None:
    """A reward convex in u makes the raw Q_uu indefinite; regularisation restores PD."""

    def f(x: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        return x + 0.1 * u

    def r(x: torch.Tensor, u: torch.Tensor, x2: torch.Tensor) -> torch.Tensor:
        return -(x2**2).sum(-1) + 5.0 * (u**2).sum(-1)  # r_uu = +10 - 0.02 > 0

    solver = ILQR(f, r, [-1.0], [1.0])
    x, u = np.zeros((6, 1)), np.zeros((5, 1))
    assert solver.backward(x, u, 0.0) is None  # not positive definite without μ
    c = solver.controller(x, u, 0.0)
    assert np.all(np.linalg.eigvalsh(c.cov) > 0)
    np.testing.assert_allclose(c.cov, -np.linalg.inv(c.quu))
    # densities are those of N(g(x), cov): check against torch's
    rng = np.random.default_rng(0)
    t, xs = np.array([0, 3]), rng.normal(size=(2, 1))
    us = c.sample(t, xs, rng)
    ref = torch.distributions.MultivariateNormal(
        torch.as_tensor(c.mean(t, xs)), torch.as_tensor(c.cov[t])
    ).log_prob(torch.as_tensor(us))
    np.testing.assert_allclose(c.log_prob(t, xs, us), ref.numpy())


def test_bad_input_is_refused() -> None:
    with pytest.raises(ValueError, match="non-finite start"):
        lq_solver().solve(np.array([np.nan, 0.0]), np.zeros((3, 1)))
    with pytest.raises(ValueError, match="positive definite"):
        LinearGaussianController(np.zeros((2, 1)), np.zeros((1, 1)), np.zeros((1, 1)),
                                 np.zeros((1, 1, 1)), np.ones((1, 1, 1)))  # fmt: skip


def test_ilqr_mpc_balances_the_cartpole_from_a_wall_contact_start() -> None:
    from rl_control.envs.registration import make_env
    from rl_control.mpc.ilqr_mpc import ILQRMPCPolicy
    from rl_control.policies.registry import build_policy

    policy = build_policy("ilqr_mpc", {"task": "soft_wall_cartpole", "horizon": 30,
                                       "replan": 10, "iterations": 3})  # fmt: skip
    assert isinstance(policy, ILQRMPCPolicy)
    env = make_env("soft_wall_cartpole", max_steps=60)
    obs, _ = env.reset(options={"state": [0.2, 0.35, 0.0, 0.0]})
    policy.reset()
    total, done = 0.0, False
    while not done:
        obs, reward, terminated, truncated, _ = env.step(policy.predict(obs))
        total, done = total + reward, terminated or truncated
    env.close()
    assert not terminated and policy.solves == 6  # re-planned every 10 steps, kept the pole
    assert total > 700.0  # measured 799 of at most 900
