"""Pure task functions of the soft-wall cart-pole: reward, termination, exact LCS."""

import numpy as np
import pytest
import torch

from rl_control.tasks import soft_wall_cartpole as task


def test_reward_matches_paper_formula_numpy_and_torch() -> None:
    rng = np.random.default_rng(0)
    s = rng.normal(size=(7, 4))
    a = rng.uniform(-100, 100, size=(7, 1))
    quadratic = np.einsum("ni,ij,nj->n", s, np.diag([20, 20, 0.1, 0.1]), s)
    expected = 15 - quadratic - 1e-3 * a[:, 0] ** 2
    np.testing.assert_allclose(task.reward(s, a), expected)
    got = task.reward(torch.as_tensor(s), torch.as_tensor(a))
    np.testing.assert_allclose(got.numpy(), expected)
    terms = task.reward_terms(s, a)
    np.testing.assert_allclose(sum(terms.values()), expected)


def test_termination_on_safe_ranges() -> None:
    p = task.SoftWallCartPoleParams()
    states = np.array(
        [[0, 0, 0, 0], [p.x_limit + 1e-3, 0, 0, 0], [0, -p.theta_limit - 1e-3, 0, 0]], float
    )
    assert task.terminated(states, p).tolist() == [False, True, True]


def test_lcs_force_is_stiffness_times_penetration() -> None:
    p = task.SoftWallCartPoleParams()
    lcs = task.exact_lcs(p)
    s = np.array([0.3, 0.2, 0.0, 0.0])  # linearised tip at 0.42: 0.07 m into the right wall
    lam = lcs.contact_force(s, np.zeros(1))
    np.testing.assert_allclose(lam, [p.wall_stiffness * 0.07, 0.0], atol=1e-9)
    s_left = np.array([-0.3, -0.2, 0.0, 0.0])
    np.testing.assert_allclose(lcs.contact_force(s_left, np.zeros(1)), [0.0, 49.0], atol=1e-9)
    # the wall pushes the tip back: θ̇ decreases relative to the same step without contact
    free = lcs.A @ s + lcs.B @ np.zeros(1)
    assert lcs.step(s, np.zeros(1))[0][3] < free[3]


def test_lcs_upright_is_unstable_equilibrium() -> None:
    lcs = task.exact_lcs()
    np.testing.assert_allclose(lcs.step(np.zeros(4), np.zeros(1))[0], np.zeros(4))
    assert np.abs(np.linalg.eigvals(lcs.A)).max() > 1.0  # the pole falls without control


def test_params_reject_nonsense() -> None:
    with pytest.raises(ValueError, match="cart_mass"):
        task.SoftWallCartPoleParams(cart_mass=-1.0)


def test_single_state_fast_paths_agree_with_batched() -> None:
    rng = np.random.default_rng(1)
    p = task.SoftWallCartPoleParams()
    states = rng.uniform(-0.8, 0.8, size=(20, 4))
    actions = rng.uniform(-100, 100, size=(20, 1))
    batched_r = task.reward(states, actions)
    batched_f = task.wall_forces(states, p)
    batched_t = task.terminated(states, p)
    for i in range(20):
        assert task.reward(states[i], actions[i]) == pytest.approx(batched_r[i])
        np.testing.assert_allclose(task.wall_forces(states[i], p), batched_f[i])
        assert task.terminated(states[i], p) == batched_t[i]
