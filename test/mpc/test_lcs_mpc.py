"""LCS-MPC: cost mirror, implicit gradients vs finite differences, warm starts, failures."""

import casadi as ca
import numpy as np
import pytest

from rl_control.models.lcs import lcs_to_flat, perturb_lcs
from rl_control.mpc.lcs_mpc import LCSMPC, MPCSettings, cartpole_stage_cost, lqr_terminal
from rl_control.tasks import soft_wall_cartpole as task


def _theta(lcs) -> np.ndarray:
    return np.concatenate([lcs_to_flat(lcs), lqr_terminal(lcs.A, lcs.B)])


@pytest.fixture(scope="module")
def mpc() -> LCSMPC:
    return LCSMPC(4, 1, 2, MPCSettings(tol=1e-10))


def test_casadi_stage_cost_mirrors_the_task_reward() -> None:
    s, a = ca.SX.sym("s", 4), ca.SX.sym("a", 1)
    f = ca.Function("c", [s, a], [cartpole_stage_cost(s, a)])
    rng = np.random.default_rng(0)
    for _ in range(10):
        sv, av = rng.normal(size=4), rng.normal(size=1) * 50
        expected = task.ALIVE_BONUS - task.reward(sv[None], av[None])[0]
        assert float(f(sv, av)) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("seed", [1, 2])
def test_action_gradient_matches_central_differences(mpc: LCSMPC, seed: int) -> None:
    theta = _theta(perturb_lcs(task.exact_lcs(), 0.1, seed))
    s0 = np.array([0.05, 0.15, 0.3, 0.5])
    sol = mpc.solve(s0, theta)
    assert sol.success
    grad = mpc.action_gradient(sol.y, s0, theta)[0]
    fd = np.zeros_like(theta)
    for i in range(len(theta)):
        h = 1e-5 * max(1e-3, abs(theta[i]))
        up, down = theta.copy(), theta.copy()
        up[i] += h
        down[i] -= h
        a_up = mpc.first_action(mpc.solve(s0, up, sol.y).y)[0]
        a_down = mpc.first_action(mpc.solve(s0, down, sol.y).y)[0]
        fd[i] = (a_up - a_down) / (2 * h)
    assert np.linalg.norm(grad - fd) / np.linalg.norm(fd) < 1e-3


def test_warm_started_closed_loop_on_the_exact_lcs(mpc: LCSMPC) -> None:
    lcs = task.exact_lcs()
    theta, s, y = _theta(lcs), np.array([0.1, 0.2, 0.5, 1.0]), None
    iterations = []
    for _ in range(300):
        sol = mpc.solve(s, theta, None if y is None else mpc.shift(y))
        assert sol.success
        y = sol.y
        iterations.append(sol.iterations)
        plan = mpc.plan(y, s)
        assert plan.shape == (11, 4) and np.allclose(plan[0], s)
        s = lcs.step(s, mpc.first_action(y))[0]
    assert np.abs(s).max() < 0.05
    assert np.median(iterations[1:]) <= 3  # warm starts make Newton cheap


def test_failed_solve_reports_instead_of_raising(mpc: LCSMPC) -> None:
    theta = _theta(task.exact_lcs())
    theta[0] = np.nan
    sol = mpc.solve(np.zeros(4), theta)
    assert not sol.success
    with pytest.raises(ValueError, match="horizon"):
        MPCSettings(horizon=0)
