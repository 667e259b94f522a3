"""The soft-wall cart-pole's differentiable step (smooth-contact torch model) against the
PyBullet env: states over short horizons, ∂s'/∂a and ∂r/∂a, away from and in wall contact.

Tolerances come from measurements (seeded starts and actions below):
- away from the walls the model is PyBullet's integrator in closed form: 10-step errors
  measured ≤ 5e-16; asserted < 1e-9.
- in contact two things differ. The model's softplus walls are at most k·δ·ln 2 = 0.49 N
  stronger. And PyBullet takes the tip force's lever arm from the pole's centre of mass of
  the previous step (the residual equals dt·M⁻¹(0, l_c(cos θ − cos θ_prev)·f) to 1e-8,
  measured), which no Markov step(s, a) can copy. Measured 10-step errors: positions
  ≤ 2.6e-3 (m, rad), velocities ≤ 3.4e-2 (m/s, rad/s); asserted < 4e-3 and < 5e-2.
- gradients: one step measured to 1e-9 relative error, contact or not, because both are
  linear in the force; ∂s_5/∂a_0 through contact measured ≤ 0.6 % of its largest entry,
  asserted < 2 %.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from rl_control.envs.soft_wall_cartpole import SoftWallCartPoleEnv
from rl_control.tasks import soft_wall_cartpole as task
from rl_control.tasks.base import action_jacobians
from rl_control.tasks.registry import make_task

FREE_STARTS = [np.array(s) for s in np.random.default_rng(0).uniform(
    [-0.1, -0.2, -0.5, -1.0], [0.1, 0.2, 0.5, 1.0], (4, 4))]  # fmt: skip
CONTACT_STARTS = [
    np.array([0.30, 0.10, 0.0, 0.0]),  # tip 1 cm into the right wall
    np.array([-0.32, -0.06, 0.0, 0.1]),  # into the left wall
    np.array([0.20, 0.30, 0.5, 1.0]),  # deep, moving further in
    np.array([0.25, 0.0, 1.0, 1.0]),  # reaches the wall during the horizon
]


@pytest.fixture(scope="module")
def env():
    env = SoftWallCartPoleEnv()
    yield env
    env.close()


@pytest.fixture(scope="module")
def step():
    return make_task("soft_wall_cartpole").differentiable_step()


def simulate(env, s0: np.ndarray, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """PyBullet states [T+1, 4], rewards [T] and the number of steps in wall contact."""
    env.reset(options={"state": s0})
    states, rewards, contact = [s0], [], 0
    for a in actions:
        _, r, _, _, info = env.step(a)
        states.append(env.state.copy())
        rewards.append(r)
        contact += int(info["wall_force"].max() > 0)
    return np.array(states), np.array(rewards), contact


def model(step, s0: np.ndarray, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    s, states, rewards = torch.as_tensor(s0)[None], [s0], []
    for a in actions:
        s, r, _ = step(s, torch.as_tensor(a)[None])
        states.append(s[0].numpy())
        rewards.append(float(r[0]))
    return np.array(states), np.array(rewards)


def ten_step_errors(env, step, s0: np.ndarray, seed: int) -> tuple[np.ndarray, float, int]:
    actions = np.random.default_rng(seed).uniform(-30, 30, (10, 1))
    sim, sim_r, contact = simulate(env, s0, actions)
    got, got_r = model(step, s0, actions)
    return np.abs(sim - got).max(axis=0), float(np.abs(sim_r - got_r).max()), contact


@pytest.mark.parametrize("i", range(len(FREE_STARTS)))
def test_matches_pybullet_exactly_away_from_the_walls(env, step, i):
    err, err_r, contact = ten_step_errors(env, step, FREE_STARTS[i], seed=i)
    assert contact == 0
    assert err.max() < 1e-9 and err_r < 1e-8, (err, err_r)


@pytest.mark.parametrize("i", range(len(CONTACT_STARTS)))
def test_matches_pybullet_in_wall_contact(env, step, i):
    err, err_r, contact = ten_step_errors(env, step, CONTACT_STARTS[i], seed=10 + i)
    assert contact >= 2  # the walls really pushed
    assert np.all(err[:2] < 4e-3) and np.all(err[2:] < 5e-2), err
    # reward errors measured ≤ 0.021 (of r ≈ 13); asserted < 0.1
    assert err_r < 0.1, err_r


@pytest.mark.parametrize("s0", [FREE_STARTS[0], CONTACT_STARTS[0], CONTACT_STARTS[2]])
def test_action_jacobians_match_pybullet_differences(env, step, s0):
    a, h = np.array([5.0]), 1.0
    J, g = action_jacobians(step, torch.as_tensor(s0)[None], torch.as_tensor(a)[None])
    out = []
    for da in (h, -h):  # one step is linear in the force: central differences are exact
        env.reset(options={"state": s0})
        _, r, *_ = env.step(a + da)
        out.append((env.state.copy(), r))
    fd_state = (out[0][0] - out[1][0]) / (2 * h)
    fd_reward = (out[0][1] - out[1][1]) / (2 * h)
    np.testing.assert_allclose(J[0, :, 0].numpy(), fd_state, rtol=1e-6, atol=1e-12)
    assert float(g[0, 0]) == pytest.approx(fd_reward, rel=1e-5)


def test_five_step_action_gradient_through_contact_matches_pybullet(env, step):
    s0 = CONTACT_STARTS[0]
    actions = np.random.default_rng(1).uniform(-20, 20, (5, 1))

    def final(delta: float) -> np.ndarray:
        shifted = actions.copy()
        shifted[0] += delta
        states, _, contact = simulate(env, s0, shifted)
        assert contact >= 2
        return states[-1]

    fd = (final(0.1) - final(-0.1)) / 0.2
    a0 = torch.as_tensor(actions[0]).requires_grad_(True)
    s, _, _ = step(torch.as_tensor(s0)[None], a0[None])
    for a in actions[1:]:
        s, _, _ = step(s, torch.as_tensor(a)[None])
    jac = np.array([torch.autograd.grad(s[0, j], a0, retain_graph=True)[0][0] for j in range(4)])
    assert np.abs(jac - fd).max() < 0.02 * np.abs(fd).max(), (jac, fd)


def test_smooth_walls_bound_and_clipped_force():
    p = task.SoftWallCartPoleParams()
    states = np.random.default_rng(2).uniform([-0.5, -0.5, 0, 0], [0.5, 0.5, 0, 0], (200, 4))
    smooth = task.smooth_wall_forces(torch.as_tensor(states), p).numpy()
    gap = smooth - task.wall_forces(states, p)
    bound = p.wall_stiffness * p.contact_smoothing * np.log(2.0)
    assert gap.min() >= 0 and gap.max() <= bound + 1e-12 and (smooth > 1.0).any()
    # beyond ±max_force the env clips: same next state, no action gradient
    step = make_task("soft_wall_cartpole").differentiable_step()
    a = torch.tensor([[250.0]], dtype=torch.float64, requires_grad=True)
    s2, r, term = step(torch.zeros(1, 4, dtype=torch.float64), a)
    at_max, _, _ = step(torch.zeros(1, 4, dtype=torch.float64), torch.tensor([[100.0]]).double())
    torch.testing.assert_close(s2, at_max)
    (grad,) = torch.autograd.grad(r.sum() + s2.sum(), a)
    assert grad.item() == 0.0 and term.dtype == torch.bool
    with pytest.raises(ValueError, match="contact_smoothing"):
        task.SoftWallCartPoleParams(contact_smoothing=0.0)
