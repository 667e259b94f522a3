"""The PyBullet world behind the robot-I/O port: read, apply, home, through public accessors."""

import numpy as np
import pytest

from rl_control.envs.registration import make_env
from rl_control.robot.port import RobotIO
from rl_control.robot.pybullet import PyBulletRobot
from rl_control.tasks.registry import make_task


def _robot(name: str, names: tuple[str, ...] | None = None):
    task = make_task(name)
    env = make_env(name)
    return PyBulletRobot(env, task.joint_names if names is None else names, task.dt), env


def test_cartpole_reads_apply_and_home() -> None:
    robot, env = _robot("soft_wall_cartpole")
    try:
        assert isinstance(robot, RobotIO) and robot.period == 0.01
        r0 = robot.home(seed=3)
        assert r0.joint_names == ["cart_slider", "pole_hinge"] and (r0.step, r0.episode) == (
            -1,
            -1,
        )
        state = env.unwrapped.state
        np.testing.assert_allclose(np.r_[r0.position, r0.velocity], state)
        assert robot.read() is r0  # nothing moved: the same readings
        assert r0.imu is None and r0.base is None  # fixed base: no IMU or odometry
        robot.apply(np.array([50.0]))
        r1 = robot.read()
        assert r1.stamp == pytest.approx(0.01) and r1.velocity[0] > r0.velocity[0]
        np.testing.assert_allclose(np.r_[r1.position, r1.velocity], env.unwrapped.state)
        assert robot.home(seed=3).stamp == pytest.approx(0.01)  # time runs on across homes
        np.testing.assert_allclose(robot.read().position, r0.position)
    finally:
        robot.close()


def test_minitaur_reads_motor_convention_and_a_floating_base() -> None:
    robot, env = _robot("minitaur")
    try:
        r = robot.home(seed=0)
        angles, _, _ = env.unwrapped.joint_sensors()
        assert len(r.joint_names) == 8 and r.joint_names[0] == "motor_front_leftL_joint"
        np.testing.assert_allclose(r.position, angles)
        np.testing.assert_allclose(r.position, np.pi / 2, atol=0.2)  # standing, one convention
        assert r.imu is not None and r.base is not None
        np.testing.assert_allclose(np.linalg.norm(r.imu.orientation_xyzw), 1.0)
        # at rest the accelerometer reads +g upwards (specific force), in the body frame
        assert np.linalg.norm(r.imu.linear_acceleration) == pytest.approx(9.8, abs=0.5)
    finally:
        robot.close()


def test_unnamed_joints_keep_the_models_names_and_non_bullet_envs_are_refused() -> None:
    robot, env = _robot("two_link_leg", names=("only_one",))
    try:
        assert robot.joint_names == env.unwrapped.joint_names() and len(robot.joint_names) == 2
    finally:
        robot.close()
    pendulum = make_env("Pendulum-v1")
    with pytest.raises(ValueError, match="PendulumEnv is not a PyBullet env"):
        PyBulletRobot(pendulum, ("hinge",), 0.05)
    pendulum.close()
