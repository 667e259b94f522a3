"""TwoLinkLegEnv: gym compliance, determinism, physics consistent with the task kinematics."""

import numpy as np
import pybullet
import pytest
from gymnasium.utils.env_checker import check_env

from rl_control.envs.two_link_leg import HIP_HEIGHT, KNEE, TwoLinkLegEnv
from rl_control.tasks import two_link_leg as leg


def test_passes_gymnasium_env_checker():
    check_env(TwoLinkLegEnv(), skip_render_check=True)


def rollout(seed: int, steps: int = 80) -> np.ndarray:
    env = TwoLinkLegEnv()
    out = [env.reset(seed=seed)[0]]
    for a in np.random.default_rng(seed).uniform(-1, 1, (steps, 2)):
        obs, reward, *_ = env.step(a)
        out.append(np.r_[obs, reward])
    return np.concatenate(out)


def test_same_seed_same_trajectory():
    assert np.array_equal(rollout(1), rollout(1))
    assert not np.allclose(rollout(1), rollout(2))


def test_simulated_shank_matches_forward_kinematics():
    env = TwoLinkLegEnv()
    env.reset(options={"state": [0.3, -0.8, 2.0, -1.0]})
    for _ in range(20):
        env.step(np.array([0.5, -0.2]))
    com = env._client.getLinkState(env._body, KNEE, computeForwardKinematics=1)[0]
    half_shank = leg.TwoLinkLegParams(
        shank_length=env.params.shank_length / 2,
        center=(0.0, -0.1),
        step_length=0.02,
        step_height=0.01,
    )
    expected = leg.forward_kinematics(env.state[:2], half_shank)
    assert np.allclose([com[0], com[2] - HIP_HEIGHT], expected, atol=1e-9)


def test_foot_state_from_joint_states_matches_pybullet_link_state():
    """Foot position and velocity by forward kinematics of the encoder readings agree with
    PyBullet's shank link state over random configurations and rates (|q̇| up to 20 rad/s),
    at reset and after a physics step. Bounds: 1e-7 m, and 1e-6 of the foot speed (+1e-9
    m/s); the observed worst is 2.7e-8 m and 1.8e-7 relative, float32-level rounding inside
    PyBullet's link state (the kinematics itself is exact)."""
    env = TwoLinkLegEnv()
    cid, body = env.physics_handles()
    p = env.params
    rng = np.random.default_rng(0)
    moving = 0
    for i in range(200):
        state = np.r_[rng.uniform(-np.pi, np.pi, 2), rng.uniform(-20.0, 20.0, 2)]
        env.reset(options={"state": state})
        if i % 2:  # half after a step: the joint states come from the simulation
            env.step(rng.uniform(-p.max_torque, p.max_torque, 2))
        q, qd, _ = env.joint_sensors()
        foot = leg.forward_kinematics(q, p)
        foot_v = leg.foot_velocity(np.r_[q, qd], p)
        com, _, _, _, _, orientation, com_v, omega = pybullet.getLinkState(
            body, KNEE, computeLinkVelocity=1, computeForwardKinematics=1, physicsClientId=cid
        )
        # the foot is the shank's far end, half a shank below its centre of mass
        rotation = np.reshape(pybullet.getMatrixFromQuaternion(orientation), (3, 3))
        arm = rotation @ np.array([0.0, 0.0, -p.shank_length / 2])
        sim_foot, sim_v = np.add(com, arm), np.add(com_v, np.cross(omega, arm))
        np.testing.assert_allclose(sim_foot, [foot[0], 0.0, HIP_HEIGHT + foot[1]], atol=1e-7)
        speed = np.linalg.norm(foot_v)
        np.testing.assert_allclose(sim_v, [foot_v[0], 0.0, foot_v[1]], atol=1e-6 * speed + 1e-9)
        moving += speed > 1.0
    assert moving > 150  # the velocity check is mostly of a fast-moving foot


def test_gravity_swings_a_raised_leg_down_and_hanging_is_an_equilibrium():
    env = TwoLinkLegEnv()
    env.reset(options={"state": [1.0, 0.0, 0.0, 0.0]})
    for _ in range(10):
        env.step(np.zeros(2))
    assert env.state[0] < 1.0 and env.state[2] < 0.0
    env.reset(options={"state": np.zeros(4)})
    for _ in range(50):
        env.step(np.zeros(2))
    assert np.allclose(env.state, 0.0, atol=1e-9)


def test_reward_observation_truncation_from_the_task():
    env = TwoLinkLegEnv(max_steps=5)
    env.reset(seed=0)
    for i in range(5):
        obs, reward, term, trunc, info = env.step(np.array([0.2, -0.1]))
        t = (i + 1) * env.params.dt
        assert reward == pytest.approx(float(leg.reward(env.state, np.float64(t))))
        assert np.allclose(obs, leg.observation(env.state, np.float64(t)), atol=1e-6)
        assert not term and trunc == (i == 4)
    assert 0.0 < reward <= 1.0


def test_bad_inputs_and_torque_clipping():
    env = TwoLinkLegEnv()
    env.reset(seed=0)
    with pytest.raises(ValueError, match="non-finite action"):
        env.step(np.array([np.inf, 0.0]))
    with pytest.raises(ValueError, match="2 torques"):
        env.step(np.zeros(3))
    assert np.array_equal(env.step(np.array([50.0, -50.0]))[4]["torque"], [3.0, -3.0])
