"""URDF forward kinematics (rl_control.robot.urdf) and robot descriptions
(rl_control.robot.description): the URDF's link frames equal PyBullet's for every task with a
robot, after random steps, within 1e-6 (PyBullet stores its frames in float32: ~2e-7)."""

from __future__ import annotations

import math

import numpy as np
import pybullet
import pytest

from rl_control.envs.registration import make_env
from rl_control.robot import description as d
from rl_control.robot.urdf import UrdfModel, matrix_to_quaternion, rpy_matrix
from rl_control.tasks.registry import make_task

ROBOT_TASKS = ["soft_wall_cartpole", "two_link_leg", "minitaur"]


def _quat_matrix(xyzw: tuple[float, ...]) -> np.ndarray:
    return np.array(pybullet.getMatrixFromQuaternion(xyzw)).reshape(3, 3)


@pytest.mark.parametrize("task_name", ROBOT_TASKS)
def test_urdf_link_frames_equal_pybullet(task_name: str) -> None:
    task, env = make_task(task_name), make_env(task_name)
    try:
        inner = env.unwrapped
        cid, body = inner.physics_handles()
        model = UrdfModel(d.robot_description(inner, task.joint_names))
        names = d.model_joint_names(cid, body, task.joint_names)
        assert set(names) == set(model.moving_joints)
        env.action_space.seed(3)
        env.reset(seed=3)
        worst, moved = 0.0, 0.0
        for _ in range(3):
            for _ in range(15):
                env.step(env.action_space.sample())
            q = d.joint_positions(cid, body, names)
            moved = max(moved, max(abs(v) for v in q.values()))
            poses = model.link_poses(q, d.root_pose(cid, body))
            for j in range(pybullet.getNumJoints(body, physicsClientId=cid)):
                state = pybullet.getLinkState(
                    body, j, computeForwardKinematics=True, physicsClientId=cid
                )
                info = pybullet.getJointInfo(body, j, physicsClientId=cid)
                # a loaded URDF keeps its link names; an exported body its joint order
                link = info[12].decode() if inner.urdf_file else model.joints[j].child
                pose = poses[link]
                worst = max(
                    worst,
                    float(np.abs(pose[:3, 3] - state[4]).max()),
                    float(np.abs(pose[:3, :3] - _quat_matrix(state[5])).max()),
                )
        assert moved > 1e-3  # the joints really moved away from zero
        assert worst < 1e-6, f"{task_name}: URDF frames off PyBullet's by {worst:.2e}"
    finally:
        env.close()


def _model(joints: str) -> UrdfModel:
    links = "".join(f'<link name="{n}"/>' for n in ("a", "b", "c"))
    return UrdfModel(f'<robot name="r">{links}{joints}</robot>')


def test_revolute_prismatic_mimic_and_rpy() -> None:
    model = _model(
        '<joint name="j1" type="revolute"><parent link="a"/><child link="b"/>'
        '<origin xyz="1 0 0" rpy="0 0 1.5707963267948966"/><axis xyz="0 0 2"/></joint>'
        '<joint name="j2" type="prismatic"><parent link="b"/><child link="c"/>'
        '<axis xyz="1 0 0"/><mimic joint="j1" multiplier="2" offset="0.5"/></joint>'
    )
    assert model.root == "a" and model.moving_joints == ["j1"]
    poses = model.link_poses({"j1": math.pi / 2})
    np.testing.assert_allclose(poses["b"][:3, 3], [1, 0, 0], atol=1e-12)
    # yaw pi/2 from the origin plus pi/2 about the (normalised) z axis: x points to -x
    np.testing.assert_allclose(poses["b"][:3, 0], [-1, 0, 0], atol=1e-12)
    # the mimic slides 2 * pi/2 + 0.5 along b's x, i.e. along -x of a
    np.testing.assert_allclose(poses["c"][:3, 3], [1 - (math.pi + 0.5), 0, 0], atol=1e-12)
    moving = [j.name for j, _ in model.joint_transforms({"j1": 0.0})]
    assert moving == ["j1", "j2"] and model.joint_transforms({}, fixed=True) == []


def test_rpy_and_quaternion_agree_with_pybullet() -> None:
    rng = np.random.default_rng(0)
    for rpy in rng.uniform(-3, 3, (20, 3)):
        m = rpy_matrix(rpy)
        np.testing.assert_allclose(m, _quat_matrix(pybullet.getQuaternionFromEuler(rpy)),
                                   atol=1e-12)  # fmt: skip
        q = matrix_to_quaternion(np.pad(m, ((0, 1), (0, 1))))
        np.testing.assert_allclose(_quat_matrix(tuple(q)), m, atol=1e-12)


@pytest.mark.parametrize(
    ("joints", "error"),
    [
        ("", "one root link"),
        ('<joint name="j" type="ball"><parent link="a"/><child link="b"/></joint>',
         "unknown type"),
        ('<joint name="j" type="fixed"><parent link="a"/><child link="b"/></joint>'
         '<joint name="k" type="fixed"><parent link="c"/><child link="b"/></joint>',
         "one root link"),
        ('<joint name="j" type="revolute"><parent link="a"/><child link="b"/>'
         '<axis xyz="0 0 0"/></joint><joint name="k" type="fixed"><parent link="a"/>'
         '<child link="c"/></joint>', "zero axis"),
    ],
)  # fmt: skip
def test_bad_urdf_is_refused_in_one_line(joints: str, error: str) -> None:
    with pytest.raises(ValueError, match=error):
        _model(joints)


def test_relative_meshes_become_file_uris(tmp_path) -> None:
    text = '<mesh filename="m/leg.obj"/><mesh filename="package://p/x.stl"/>'
    out = d.absolute_meshes(text, tmp_path)
    assert f'filename="file://{tmp_path.resolve()}/m/leg.obj"' in out
    assert 'filename="package://p/x.stl"' in out
