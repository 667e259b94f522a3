"""2R leg task functions: kinematics, the semi-elliptical target, reward, numpy/torch parity."""

import math

import numpy as np
import pytest
import torch

from rl_control.tasks import two_link_leg as leg

P = leg.TwoLinkLegParams()
L1, L2 = P.thigh_length, P.shank_length


@pytest.mark.parametrize(
    "q, expected",
    [
        ((0.0, 0.0), (0.0, -L1 - L2)),  # hanging straight down
        ((math.pi / 2, 0.0), (L1 + L2, 0.0)),  # stretched forward
        ((0.0, -math.pi / 2), (-L2, -L1)),  # shank folded backwards
    ],
)
def test_forward_kinematics_known_poses(q, expected):
    assert np.allclose(leg.forward_kinematics(np.array(q)), expected, atol=1e-12)


def test_inverse_kinematics_roundtrip_and_out_of_reach():
    rng = np.random.default_rng(0)
    q = np.stack([rng.uniform(-1, 1, 50), rng.uniform(-2.5, -0.2, 50)], -1)
    p = leg.forward_kinematics(q)
    assert np.allclose(leg.inverse_kinematics(p), q, atol=1e-9)
    with pytest.raises(ValueError, match="out of reach"):
        leg.inverse_kinematics(np.array([0.0, -(L1 + L2) * 1.1]))


def test_foot_velocity_is_the_derivative_of_kinematics():
    rng = np.random.default_rng(1)
    state = rng.normal(size=(20, 4))
    h = 1e-6
    ahead = leg.forward_kinematics(state[:, :2] + h * state[:, 2:])
    numeric = (ahead - leg.forward_kinematics(state[:, :2])) / h
    assert np.allclose(leg.foot_velocity(state), numeric, atol=1e-5)


def test_desired_trajectory_is_a_semi_ellipse_with_consistent_velocity():
    t = np.linspace(0.0, P.period, 401)
    pos, vel = leg.desired_foot(t)
    a, b, (cx, cz) = P.step_length / 2, P.step_height, P.center
    swing = np.sin(leg.phase(t)) > 0
    assert np.allclose(pos[~swing, 1], cz)  # stance: flat chord
    on_ellipse = ((pos[swing, 0] - cx) / a) ** 2 + ((pos[swing, 1] - cz) / b) ** 2
    assert np.allclose(on_ellipse, 1.0)
    assert pos[:, 1].max() == pytest.approx(cz + b, abs=1e-4)
    assert np.allclose(pos[0], pos[-1])  # periodic
    numeric = np.gradient(pos, t, axis=0)
    smooth = np.abs(np.sin(leg.phase(t))) > 0.05  # away from the swing/stance corners
    assert np.allclose(vel[smooth], numeric[smooth], atol=2e-3)


def on_trajectory_states(t: np.ndarray) -> np.ndarray:
    pos, vel = leg.desired_foot(t)
    q = leg.inverse_kinematics(pos)
    h = 1e-7
    jac = np.stack(
        [(leg.forward_kinematics(q + h * e) - leg.forward_kinematics(q)) / h for e in np.eye(2)],
        -1,
    )
    qd = np.linalg.solve(jac, vel[..., None])[..., 0]
    return np.concatenate([q, qd], -1)


def test_reward_is_one_on_the_target_and_lower_off_it():
    t = np.linspace(0.0, 1.0, 9)
    state = on_trajectory_states(t)
    assert np.allclose(leg.reward(state, t), 1.0, atol=1e-6)
    off = state + np.array([0.1, 0.0, 0.0, 0.0])
    assert np.all(leg.reward(off, t) < 0.99)
    terms = leg.reward_terms(off, t)
    assert np.all(terms["position"] <= 0.8) and np.all(terms["velocity"] <= 0.2)


def test_reward_formula_with_si_errors():
    params = leg.TwoLinkLegParams(error_scale=1.0)
    state, t = np.array([0.2, -1.0, 0.5, -0.3]), np.float64(0.1)
    p_d, v_d = leg.desired_foot(t, params)
    e_p = leg.forward_kinematics(state[:2], params) - p_d
    e_v = leg.foot_velocity(state, params) - v_d
    expected = 0.8 * np.exp(-e_p @ e_p) + 0.2 * np.exp(-e_v @ e_v)
    assert leg.reward(state, t, params) == pytest.approx(expected)


def test_torch_matches_numpy_batched():
    rng = np.random.default_rng(2)
    state, t = rng.normal(size=(5, 3, 4)), rng.uniform(0, 2, (5, 3))
    for fn in (leg.reward, leg.observation):
        ref = fn(state, t)
        got = fn(torch.tensor(state), torch.tensor(t))
        assert isinstance(got, torch.Tensor)
        assert np.allclose(got.numpy(), ref)
    assert leg.observation(state, t).shape == (5, 3, 8)
    assert not leg.terminated(state).any() and leg.terminated(state).shape == (5, 3)


def test_params_validation():
    with pytest.raises(ValueError, match="max_torque"):
        leg.TwoLinkLegParams(max_torque=0.0)
    with pytest.raises(ValueError, match="reach"):
        leg.TwoLinkLegParams(center=(0.0, -0.29))
