"""solve_lcp and LCS (tasks/lcs.py): complementarity on P-matrices, shapes, soft-wall LCS."""

import numpy as np
import pytest

from rl_control.tasks.lcs import LCS, solve_lcp
from rl_control.tasks.soft_wall_cartpole import SoftWallCartPoleParams, exact_lcs, wall_forces


def random_p_matrix(rng: np.random.Generator, n: int) -> np.ndarray:
    """Positive definite (symmetric part) or strictly diagonally dominant: both P-matrices."""
    a = rng.normal(size=(n, n))
    if rng.random() < 0.5:
        return a @ a.T + 0.1 * np.eye(n) + (a - a.T)  # x^T M x > 0 for all x != 0
    return a + np.diag(np.abs(a).sum(1) + 0.1)


@pytest.mark.parametrize("n", [1, 2, 4, 7])
def test_solution_is_complementary_on_random_p_matrices(n):
    rng = np.random.default_rng(n)
    for _ in range(20):
        m, q = random_p_matrix(rng, n), rng.normal(size=n)
        z = solve_lcp(m, q)
        w = m @ z + q
        assert np.all(z >= 0) and np.all(w >= -1e-9)
        assert abs(z @ w) < 1e-9


def test_known_solutions():
    assert np.array_equal(solve_lcp(np.eye(2), [1.0, 2.0]), [0.0, 0.0])
    assert np.allclose(solve_lcp(np.eye(2), [-1.0, 2.0]), [1.0, 0.0])
    assert np.allclose(solve_lcp(2 * np.eye(1), [-4.0]), [2.0])


def test_lcp_errors():
    with pytest.raises(ValueError, match=r"shape \(2, 3\), expected \(2, 2\)"):
        solve_lcp(np.ones((2, 3)), np.zeros(2))
    with pytest.raises(ValueError, match="no complementary solution"):
        solve_lcp(-np.eye(1), [-1.0])  # w = -z - 1 < 0 for every z >= 0
    with pytest.raises(ValueError, match="too many"):
        solve_lcp(np.eye(13), np.zeros(13))


def test_lcs_shape_errors_name_the_matrix():
    good = exact_lcs()
    with pytest.raises(ValueError, match="LCS matrix C has shape"):
        LCS(good.A, good.B, good.C[:3], good.d, good.D, good.E, good.F, good.c)
    with pytest.raises(ValueError, match="LCS matrix F has shape"):
        LCS(good.A, good.B, good.C, good.d, good.D, good.E, np.eye(3), good.c)
    assert good.dims == (4, 1, 2)


def test_soft_wall_lcs_force_is_stiffness_times_linearised_penetration():
    params = SoftWallCartPoleParams()
    lcs = exact_lcs(params)
    for state in ([0.3, 0.1, 0, 0], [-0.34, -0.05, 0, 0], [0.0, 0.0, 0, 0]):
        state = np.array(state, dtype=float)
        lam = lcs.contact_force(state, np.zeros(1))
        linear_tip = state[0] + params.pole_length * state[1]
        expected = params.wall_stiffness * np.maximum(
            [linear_tip - params.wall_distance, -params.wall_distance - linear_tip], 0.0
        )
        assert np.allclose(lam, expected)
        assert np.allclose(lam, wall_forces(state, params), rtol=0.2, atol=1e-9)
    s0, actions = np.array([0.3, 0.1, 0.0, 0.0]), np.zeros((5, 1))
    states = lcs.rollout(s0, actions)
    free = exact_lcs(SoftWallCartPoleParams(wall_distance=10.0)).rollout(s0, actions)
    assert states.shape == (6, 4)
    assert states[-1, 3] < free[-1, 3] - 0.1  # the right wall tips the pole back
