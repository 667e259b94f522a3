"""Minitaur leg kinematics against PyBullet's links: the foot (where the two lower legs are
joined) in the base frame, and its velocity relative to the base, along a trot."""

import numpy as np
import pybullet
import pytest
from minitaur_trot import trot

from rl_control.envs.minitaur import KNEE_ANCHOR_RIGHT, MinitaurEnv
from rl_control.tasks.minitaur import LEGS
from rl_control.tasks.minitaur_legs import extension_torque, feet
from rl_control.tasks.registry import make_task


def _truth(env: MinitaurEnv) -> tuple[np.ndarray, np.ndarray]:
    cid, body = env.physics_handles()
    joints = {pybullet.getJointInfo(body, j, physicsClientId=cid)[1].decode(): j
              for j in range(pybullet.getNumJoints(body, physicsClientId=cid))}  # fmt: skip
    pos, orn = pybullet.getBasePositionAndOrientation(body, physicsClientId=cid)
    lin, ang = (np.asarray(v) for v in pybullet.getBaseVelocity(body, physicsClientId=cid))
    rot = np.array(pybullet.getMatrixFromQuaternion(orn)).reshape(3, 3)
    p, v = [], []
    for leg in LEGS:
        link = pybullet.getLinkState(body, joints[f"knee_{leg}R_link"], computeLinkVelocity=1,
                                     computeForwardKinematics=1, physicsClientId=cid)  # fmt: skip
        r = np.array(pybullet.getMatrixFromQuaternion(link[5])).reshape(3, 3) @ KNEE_ANCHOR_RIGHT
        foot = np.asarray(link[4]) + r - pos
        p.append(rot.T @ foot)
        v.append(rot.T @ (np.asarray(link[6]) + np.cross(link[7], r) - lin - np.cross(ang, foot)))
    return np.array(p), np.array(v)


def test_feet_match_pybullet_along_a_trot() -> None:
    env = MinitaurEnv()
    env.reset(seed=0)
    pos_err, vel_err = [], []
    for k in range(150):
        env.step(trot(k * env.params.control_dt))
        q, qdot, _ = env.joint_sensors()
        p, v = feet(q, qdot)
        p_true, v_true = _truth(env)
        pos_err.append(np.abs(p - p_true).max())
        vel_err.append(np.linalg.norm(v - v_true, axis=1).max())
    env.close()
    # measured over these 1.5 s: position error at most 0.8 mm (a planar five-bar model;
    # the URDF's knee constraint is soft), velocity error (norm) median 0.007 m/s and 95th
    # percentile 0.042 m/s with feet moving at up to ~1.5 m/s relative to the base
    assert max(pos_err) < 0.004
    assert np.median(vel_err) < 0.03 and np.percentile(vel_err, 95) < 0.15


def test_model_in_the_task_and_bad_input() -> None:
    legs = make_task("minitaur").legs()
    assert legs.feet == 4 and legs.kinematics is feet and legs.load is extension_torque
    with pytest.raises(ValueError, match="8 motor angles"):
        feet(np.zeros(7), np.zeros(8))
    with pytest.raises(ValueError, match="no leg kinematics"):
        make_task("soft_wall_cartpole").legs()
    stand = np.full(8, np.pi / 2)  # the standing pose: feet below the hips, all alike
    p, v = feet(stand, np.zeros(8))
    np.testing.assert_allclose(np.abs(p[:, 0]), 0.21, atol=1e-9)
    assert np.all(p[:, 2] < -0.15) and not np.any(v)
