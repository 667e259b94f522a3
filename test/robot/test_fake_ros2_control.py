"""The fake ros2_control robot: its own joint order, robot frame, last command held; and the
whole ROS-free loop (fake robot -> Ros2ControlRobot -> safety -> fake robot) homes the leg."""

import dataclasses

import numpy as np
import pytest
from clocks import FakeClock

from rl_control.envs.registration import make_env
from rl_control.robot.config import load_robot_config
from rl_control.robot.fake_ros2_control import FakeRos2ControlRobot
from rl_control.robot.pybullet import PyBulletRobot
from rl_control.robot.ros2_control import Ros2ControlRobot
from rl_control.robot.safety import Mode
from rl_control.roles.leg_odometry import make_state_estimator
from rl_control.tasks.registry import make_task


@pytest.fixture
def fake():
    task = make_task("two_link_leg")
    sim = PyBulletRobot(make_env("two_link_leg"), task.joint_names, task.dt)
    sim.home(seed=0)
    yield FakeRos2ControlRobot(sim, load_robot_config("two_link_leg"))
    sim.close()


def test_reports_its_own_order_and_holds_the_last_command(fake) -> None:
    names, q, v, tau = fake.joint_state()
    assert names == ["leg_knee_joint", "leg_hip_joint"]
    np.testing.assert_allclose(q, fake.sim.read().position[::-1])
    assert not fake.command([1.0]) and (fake.rejected, fake.received) == (1, 0)
    assert fake.command([0.5, -0.5]) and fake.received == 1
    for _ in range(5):  # a forwarding controller keeps applying it
        fake.step()
    assert fake.sim.time == pytest.approx(5 * fake.period)


def test_the_world_stands_still_until_the_first_command(fake) -> None:
    _, q0, _, _ = fake.joint_state()
    for _ in range(200):  # 0.4 s: with zero effort the leg would swing past 20 rad/s
        fake.step()
    _, q, v, _ = fake.joint_state()
    np.testing.assert_array_equal(q, q0)
    assert fake.sim.time == 0.0 and not np.any(v)


def test_zero_efforts_leave_the_leg_on_its_stand_until_a_command_drives_it(fake) -> None:
    """A bridge commands zero effort before its first joint state; the fake leg must not
    swing then (homing would start on a spinning leg), only once a command drives it."""
    _, q0, _, _ = fake.joint_state()
    assert fake.command([0.0, 0.0])
    for _ in range(200):
        fake.step()
    np.testing.assert_array_equal(fake.joint_state()[1], q0)
    assert fake.command([0.0, 0.1])
    fake.step()
    assert fake.sim.time == pytest.approx(fake.period)
    assert fake.command([0.0, 0.0])  # once driven, zero effort is just zero effort
    fake.step()
    assert fake.sim.time == pytest.approx(2 * fake.period)


def test_an_env_without_an_effort_step_refuses_efforts(fake) -> None:
    with pytest.raises(ValueError, match="takes no effort commands"):
        fake.sim.apply_effort(np.zeros(2))


def test_minitaur_on_the_effort_path_homes_stands_and_is_estimated_from_its_legs() -> None:
    """The Minitaur YAML (effort interface, the bridge closing the PD loop) against its
    PyBullet world: homing, then active on standing actions; the estimator on the bridge's
    readings (no base pose in them) with the leg odometry, checked against the world."""
    task = make_task("minitaur")
    config = dataclasses.replace(load_robot_config("minitaur"), homing_time=1.0)  # test time
    sim = PyBulletRobot(make_env("minitaur"), task.joint_names, task.dt)
    sim.home(seed=0)
    fake, clock = FakeRos2ControlRobot(sim, config), FakeClock()
    robot = Ros2ControlRobot(config, fake.command, clock)
    estimator = make_state_estimator(task, "legs")
    homing_steps = round(config.homing_time / config.control_period) + 10
    heights = []
    for i in range(homing_steps + 100):
        stamp = (i + 1) * config.control_period
        assert robot.on_joint_state(stamp, *fake.joint_state())
        imu = sim.read().imu
        assert robot.on_imu(stamp, imu.orientation_xyzw, imu.angular_velocity,
                            imu.linear_acceleration)  # fmt: skip
        if i == 0:
            assert robot.home().base is None  # the hardware path has no ground truth
        if i == homing_steps:
            assert robot.safety.activate()
        if i >= homing_steps:
            robot.apply(np.full(8, np.pi / 2))  # stand (policy frame: pi/2 on every motor)
        clock.advance(config.control_period)
        command = robot.tick()
        assert np.all(np.abs(command) <= config.robot_array("effort_limit"))
        fake.step()
        readings = robot.read()
        readings.step, readings.episode = i, 0
        state = estimator.estimate(readings).state
        truth = sim.read().base.position
        heights.append((task.layout.get(state, "base_z"), truth[2]))
    assert robot.safety.mode is Mode.ACTIVE and not robot.safety.fault_reason
    assert fake.received == homing_steps + 100 and fake.rejected == 0
    estimated, true = np.array(heights).T
    # measured: the base height (0.148-0.156 m while homing) estimated to 1.9 mm at worst
    assert np.all(true > 0.14) and np.abs(estimated - true).max() < 0.005
    np.testing.assert_allclose(robot.read().position, np.pi / 2, atol=0.15)  # standing
    sim.close()


def test_bridge_homes_the_simulated_leg_smoothly(fake) -> None:
    config = load_robot_config("two_link_leg")
    clock, sent = FakeClock(), []
    robot = Ros2ControlRobot(config, fake.command, clock)
    stamp, limit = 0.0, config.robot_array("effort_limit")
    steps = round((config.homing_time + 0.5) / config.control_period)
    for i in range(steps):
        stamp += config.control_period
        names, q, v, tau = fake.joint_state()
        assert robot.on_joint_state(stamp, names, q, v, tau)
        if i == 0:
            robot.home()
        clock.advance(config.control_period)
        command = robot.tick()
        sent.append(command)
        assert np.all(np.abs(command) <= limit)
        fake.step()
    assert robot.safety.homed and robot.safety.mode is Mode.HOMING
    home = [j.home for j in config.joints]  # policy order
    np.testing.assert_allclose(robot.read().position, home, atol=0.05)
