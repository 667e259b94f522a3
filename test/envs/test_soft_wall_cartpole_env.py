"""SoftWallCartPoleEnv: gym compliance, determinism, soft-wall force, agreement with the LCS."""

import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from rl_control.envs.soft_wall_cartpole import SoftWallCartPoleEnv
from rl_control.tasks import soft_wall_cartpole as task


@pytest.fixture
def env():
    env = SoftWallCartPoleEnv()
    yield env
    env.close()


def test_passes_gymnasium_env_checker(env):
    check_env(env, skip_render_check=True)


def rollout(seed: int, steps: int = 60) -> np.ndarray:
    env = SoftWallCartPoleEnv()
    obs, _ = env.reset(seed=seed)
    actions = np.random.default_rng(seed).uniform(-30, 30, (steps, 1))
    out = [obs]
    for a in actions:
        obs, reward, term, trunc, _ = env.step(a)
        out.append(np.r_[obs, reward])
        if term or trunc:
            obs, _ = env.reset()
    env.close()
    return np.concatenate([np.ravel(o) for o in out])


def test_same_seed_same_trajectory_and_different_seed_differs():
    assert np.array_equal(rollout(4), rollout(4))
    assert not np.allclose(rollout(4), rollout(5))


def test_reward_termination_truncation_follow_the_task(env):
    env = SoftWallCartPoleEnv(max_steps=3)
    env.reset(options={"state": np.zeros(4)})
    for i in range(3):
        obs, reward, term, trunc, info = env.step(np.array([2.0]))
        state = env.state
        assert reward == pytest.approx(float(task.reward(state, np.array([2.0]))))
        assert sum(info["reward_terms"].values()) == pytest.approx(reward)
        assert not term and trunc == (i == 2)
    env.reset(options={"state": np.array([0.49, 0.0, 1.0, 0.0])})
    _, _, term, trunc, _ = env.step(np.array([100.0]))
    assert term and not trunc and env.state[0] > env.params.x_limit


def applied_tip_force(state: np.ndarray) -> float:
    """Horizontal tip force the env applied, measured from the change of velocities.

    The same step is taken with and without walls (walls moved far away); the difference of
    the velocity changes is dt·M(q)⁻¹·Jᵀ f with J = (1, l cos θ) the tip's horizontal Jacobian.
    """
    p = task.SoftWallCartPoleParams()
    with_walls, free = SoftWallCartPoleEnv(), SoftWallCartPoleEnv(wall_distance=50.0)
    dv = []
    for e in (with_walls, free):
        e.reset(options={"state": state})
        e.step(np.array([0.0]))
        dv.append(e.state[2:] - state[2:])
    mass = np.array(with_walls._client.calculateMassMatrix(with_walls._body, [state[0], state[1]]))
    generalized = mass @ (dv[0] - dv[1]) / p.dt
    jac = np.array([1.0, p.pole_length * np.cos(state[1])])
    force, *_ = np.linalg.lstsq(jac[:, None], generalized, rcond=None)
    assert np.allclose(jac * force[0], generalized, rtol=1e-3, atol=1e-3)  # a pure tip force
    return float(force[0])


@pytest.mark.parametrize(
    "state",
    [
        np.array([0.30, 0.10, 0.0, 0.0]),  # tip 0.36 m: 1 cm into the right wall
        np.array([-0.33, -0.05, 0.2, -0.1]),  # into the left wall
        np.array([0.40, 0.12, 0.0, 0.0]),  # deep
    ],
)
def test_wall_force_is_stiffness_times_penetration(state):
    p = task.SoftWallCartPoleParams()
    tip = state[0] + p.pole_length * np.sin(state[1])
    penetration_right = max(tip - p.wall_distance, 0.0)
    penetration_left = max(-p.wall_distance - tip, 0.0)
    expected = -p.wall_stiffness * penetration_right + p.wall_stiffness * penetration_left
    assert abs(expected) > 1.0  # really in contact
    assert applied_tip_force(state) == pytest.approx(expected, rel=1e-3)
    env = SoftWallCartPoleEnv()
    env.reset(options={"state": state})
    info = env.step(np.array([0.0]))[4]
    assert info["wall_force"][1] - info["wall_force"][0] == pytest.approx(expected)


def test_no_wall_force_out_of_contact():
    assert applied_tip_force(np.array([0.0, 0.05, 0.1, 0.0])) == pytest.approx(0.0, abs=1e-6)


def test_exact_lcs_predicts_ten_steps_near_upright():
    """Tolerance: 1e-3 on positions (m, rad), 1e-2 on velocities, over 10 steps of 10 ms."""
    env = SoftWallCartPoleEnv()
    lcs = task.exact_lcs(env.params)
    rng = np.random.default_rng(0)
    starts = [rng.uniform([-0.1, -0.05, -0.2, -0.3], [0.1, 0.05, 0.2, 0.3]) for _ in range(4)]
    starts += [np.array([0.32, 0.06, 0.0, 0.0]), np.array([-0.32, -0.06, 0.0, 0.1])]
    contact_steps = 0
    for s0 in starts:
        env.reset(options={"state": s0})
        actions = rng.uniform(-10, 10, (10, 1))
        sim = [s0]
        for a in actions:
            info = env.step(a)[4]
            sim.append(env.state.copy())
            contact_steps += info["wall_force"].max() > 0
        err = np.abs(np.array(sim) - lcs.rollout(s0, actions)).max(axis=0)
        assert np.all(err[:2] < 1e-3) and np.all(err[2:] < 1e-2), (s0, err)
    assert contact_steps >= 2  # the contact cases really exercised the walls


def test_bad_inputs_raise_clear_errors(env):
    env.reset(seed=0)
    with pytest.raises(ValueError, match="non-finite action"):
        env.step(np.array([np.nan]))
    with pytest.raises(ValueError, match="unknown SoftWallCartPoleParams params \\['mass'\\]"):
        SoftWallCartPoleEnv(mass=1.0)
    with pytest.raises(ValueError, match="4 entries"):
        env.reset(options={"state": [0.0, 0.0]})


def test_action_is_clipped_to_max_force(env):
    s0 = np.zeros(4)
    env.reset(options={"state": s0})
    env.step(np.array([1e4]))
    clipped = env.state.copy()
    env.reset(options={"state": s0})
    env.step(np.array([env.params.max_force]))
    assert np.array_equal(clipped, env.state)
