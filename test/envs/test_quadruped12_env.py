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


def test_bad_actions_are_refused_by_name() -> None:
    env = make_env("quadruped12", seed=0)
    with pytest.raises(ValueError, match="16 entries"):
        env.step(np.zeros(12))
    with pytest.raises(ValueError, match="non-finite quadruped12 action"):
        env.step(np.full(16, np.nan))
    env.close()
