"""The monitor page's robot: its frames compose to yourdfpy's forward kinematics, and only the
joints that moved are sent."""

from __future__ import annotations

import io

import numpy as np
import pytest

pytest.importorskip("viser", reason="viser not installed (pip install rl_control[monitor])")
pytest.importorskip("yourdfpy", reason="yourdfpy not installed")

from ports import free_port  # test/ports.py

from rl_control.robot.description import task_urdf  # noqa: E402
from rl_control.ros.monitor.robot_scene import RobotScene  # noqa: E402


@pytest.fixture(scope="module")
def server():
    import viser

    server = viser.ViserServer(host="127.0.0.1", port=free_port(), verbose=False)
    yield server
    server.stop()


def _matrix(wxyz, position) -> np.ndarray:
    import transforms3d

    out = np.eye(4)
    out[:3, :3] = transforms3d.quaternions.quat2mat(np.asarray(wxyz, float))
    out[:3, 3] = position
    return out


def _link_poses(robot: RobotScene) -> dict[str, np.ndarray]:
    """Each link's pose in the robot's root frame, composed from the scene's frames."""
    joints = {j.child: j for j in robot.model.joints}
    poses = {robot.model.root: np.eye(4)}

    def pose(link: str) -> np.ndarray:
        if link not in poses:
            joint = joints[link]
            frame = robot.frames[joint.name]
            poses[link] = pose(joint.parent) @ _matrix(frame.wxyz, frame.position)
        return poses[link]

    return {link: pose(link) for link in joints}


@pytest.mark.parametrize("task", ["soft_wall_cartpole", "minitaur", "quadruped12"])
def test_frames_compose_to_the_urdf_forward_kinematics(server, task) -> None:
    """Against yourdfpy's forward kinematics: a parser and FK independent of ours."""
    import yourdfpy

    urdf = task_urdf(task)
    robot = RobotScene(server.scene, urdf, root=f"/{task}")
    oracle = yourdfpy.URDF.load(io.StringIO(urdf), load_meshes=False)
    assert robot.joint_names == tuple(oracle.actuated_joint_names)
    rng = np.random.default_rng(0)
    try:
        for _ in range(3):
            cfg = rng.uniform(-1.0, 1.0, len(robot.joint_names))
            robot.pose(dict(zip(robot.joint_names, cfg, strict=True)))
            oracle.update_cfg(cfg)
            for link, pose in _link_poses(robot).items():
                expected = oracle.get_transform(link, oracle.base_link)
                np.testing.assert_allclose(pose, expected, atol=1e-6, err_msg=f"{task} {link}")
    finally:
        robot.remove()


def test_only_the_joints_that_moved_are_sent(server) -> None:
    robot = RobotScene(server.scene, task_urdf("minitaur"), root="/minitaur_sent")
    try:
        names = robot.joint_names
        assert robot.pose({}) == 0  # every joint at 0: where the frames start
        assert robot.pose(dict.fromkeys(names, 0.3)) == len(names)
        assert robot.pose(dict.fromkeys(names, 0.3)) == 0
        nudged = dict.fromkeys(names, 0.3) | {names[0]: 0.3 + robot.tolerance / 2}
        assert robot.pose(nudged) == 0  # below the tolerance: not sent
        moved = dict.fromkeys(names, 0.3) | {names[0]: 0.5, names[3]: -0.1}
        assert robot.pose(moved) == 2
    finally:
        robot.remove()


def test_a_mimic_joint_follows_its_leader(server) -> None:
    urdf = """<?xml version="1.0"?><robot name="gripper"><link name="base"/>
      <link name="a"/><link name="b"/>
      <joint name="lead" type="revolute"><parent link="base"/><child link="a"/>
        <axis xyz="0 0 1"/><limit lower="-2" upper="2" effort="1" velocity="1"/></joint>
      <joint name="follow" type="prismatic"><parent link="base"/><child link="b"/>
        <origin xyz="0.1 0 0" rpy="0 0 1.5707963"/><axis xyz="1 0 0"/>
        <limit lower="-1" upper="1" effort="1" velocity="1"/>
        <mimic joint="lead" multiplier="0.5" offset="0.1"/></joint></robot>"""
    robot = RobotScene(server.scene, urdf, root="/gripper")
    try:
        assert robot.joint_names == ("lead",)
        assert robot.pose({"lead": 0.4}) == 2
        # follow slides 0.5 · 0.4 + 0.1 = 0.3 m along its axis, turned 90° about z: +y
        np.testing.assert_allclose(robot.frames["follow"].position, [0.1, 0.3, 0.0], atol=1e-6)
    finally:
        robot.remove()
