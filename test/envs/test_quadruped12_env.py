"""rl_control.envs.quadruped12: the A1 in PyBullet walks with the nominal trot, its kinematics
match PyBullet's, episodes are reproducible and bad actions are refused by name."""

import numpy as np
import pybullet
import pytest

from rl_control.envs import make_env
from rl_control.tasks import quadruped12 as q


def _walk(env, steps: int) -> tuple[float, bool]:
    for _ in range(steps):
        _, _, terminated, _, info = env.step(np.zeros(16))
        if terminated:
            return float(info["base_position"][0]), True
    return float(info["base_position"][0]), False


def test_feet_from_the_task_kinematics_equal_pybullets_links() -> None:
    env = make_env("quadruped12", seed=0)
    for _ in range(20):  # mid-gait: every joint away from the stance
        env.step(np.zeros(16))
    cid, body = env.physics_handles()
    angles, _, _ = env.joint_sensors()
    ids = {pybullet.getJointInfo(body, j, physicsClientId=cid)[1].decode(): j
           for j in range(pybullet.getNumJoints(body, physicsClientId=cid))}  # fmt: skip
    _, orientation = pybullet.getBasePositionAndOrientation(body, physicsClientId=cid)
    rotation = np.array(pybullet.getMatrixFromQuaternion(orientation)).reshape(3, 3)
    feet = q.foot_positions(angles)
    for leg, foot in zip(q.LEGS, feet, strict=True):
        hip, toe = (pybullet.getLinkState(body, ids[f"{leg}_{joint}"], computeForwardKinematics=1,
                                          physicsClientId=cid)[4]
                    for joint in ("hip_joint", "toe_fixed"))  # fmt: skip
        assert rotation.T @ (np.array(toe) - hip) == pytest.approx(foot, abs=1e-6)
    env.close()


def test_nominal_trot_walks_forward_on_flat_ground_and_up_a_slope() -> None:
    # measured (seed 0, 500 steps = 5 s): 1.21 m flat, 0.75 m up 0.1 rad
    flat = make_env("quadruped12", seed=0)
    x, fell = _walk(flat, 500)
    assert not fell and x > 0.8
    slope = make_env("quadruped12", seed=0, slope=0.1)
    x_up, fell = _walk(slope, 500)
    assert not fell and 0.3 < x_up < x
    flat.close()
    slope.close()


def test_episodes_are_reproducible_and_the_reward_is_its_terms() -> None:
    env = make_env("quadruped12", seed=0)
    rng = np.random.default_rng(1)
    actions = rng.uniform(env.action_space.low, env.action_space.high, (30, 16))
    runs = []
    for _ in range(2):
        obs, _ = env.reset(seed=0)
        trace = [obs]
        for a in actions:
            obs, r, *_, info = env.step(a)
            assert r == pytest.approx(sum(info["reward_terms"].values()))
            trace.append(obs)
        runs.append(np.array(trace))
    assert np.array_equal(runs[0], runs[1])
    assert runs[0].shape == (31, q.OBS_DIM) and np.isfinite(runs[0]).all()
    env.close()


def test_a_fall_ends_the_episode_with_the_fall_penalty_on_its_slope() -> None:
    # the nominal trot yaws round and falls on the steepest slope of the set within 10 s
    env = make_env("quadruped12", seed=0, slopes=[0.3], fall_penalty=100.0)
    env.reset(seed=0)
    falls = []
    for _ in range(1000):
        _, r, terminated, truncated, info = env.step(np.zeros(16))
        falls.append(info["reward_terms"]["fall"])
        assert r == pytest.approx(sum(info["reward_terms"].values()))
        if terminated or truncated:
            break
    env.close()
    assert terminated and falls[-1] == -100.0 and not any(falls[:-1])


def test_bad_actions_are_refused_by_name() -> None:
    env = make_env("quadruped12", seed=0)
    with pytest.raises(ValueError, match="16 entries"):
        env.step(np.zeros(12))
    with pytest.raises(ValueError, match="non-finite quadruped12 action"):
        env.step(np.full(16, np.nan))
    env.close()


def test_each_episode_draws_its_slope_from_slopes_and_matches_a_fixed_slope_env() -> None:
    mixed = make_env("quadruped12", seed=0, slopes=[0.0, 0.17])
    drawn = {mixed.reset(seed=s)[1]["slope"] for s in range(8)}
    assert drawn == {0.0, 0.17}
    seed = next(s for s in range(8) if mixed.reset(seed=s)[1]["slope"] == 0.17)
    fixed = make_env("quadruped12", seed=0, slope=0.17)
    traces = []
    for env, s in ((mixed, seed), (fixed, 0)):
        obs, info = env.reset(seed=s)
        trace = [obs]
        for _ in range(20):
            obs, *_, info = env.step(np.zeros(16))
            trace.append(obs)
        traces.append(np.array(trace))
        assert info["slope"] == 0.17
    # each slope's settled snapshot: the same physics as an env built for that slope alone
    assert np.array_equal(traces[0], traces[1])
    mixed.close()
    fixed.close()


def test_feet_contacts_mass_and_mechanical_power_for_the_gait_diagram() -> None:
    env = make_env("quadruped12", seed=0)
    contacts = []
    for _ in range(100):  # two gait cycles of the nominal trot
        *_, info = env.step(np.zeros(16))
        contacts.append(env.foot_contacts())
    c = np.array(contacts)
    assert env.leg_names() == q.LEGS and c.shape == (100, 4)
    # measured: every foot on the ground 49-57 % of the time; the diagonal pair FL/RR lands
    # together in 95 % of steps, the lateral pair FR/FL in 22 %
    assert np.all((c.mean(0) > 0.3) & (c.mean(0) < 0.8))
    assert (c[:, 1] == c[:, 2]).mean() > 0.8 and (c[:, 0] == c[:, 1]).mean() < 0.5
    assert env.total_mass() == pytest.approx(12.458, abs=0.01)  # the A1 URDF's links
    _, velocity, torque = env.joint_sensors()
    assert info["mechanical_power"] == pytest.approx(abs(torque @ velocity))
    env.close()


def test_a_hand_set_constant_shift_climbs_where_the_nominal_trot_turns_downhill() -> None:
    # measured over 3 s on 0.17 rad: zero action -0.43 m (the robot yaws round and walks
    # down), every foot 0.05 m back with the body levelled +0.44 m
    from experiments.quadruped12_slope import HAND_SET

    moved = []
    for action in (np.zeros(16), HAND_SET.reshape(-1)):
        env = make_env("quadruped12", seed=0, slope=0.17)
        x0 = env.reset(seed=0)[1]["base_position"][0]
        for _ in range(300):
            *_, info = env.step(action)
        moved.append(info["base_position"][0] - x0)
        env.close()
    assert moved[0] < -0.2 and moved[1] > 0.2
