"""Ros2ControlRobot: name mapping, policy <-> robot frames, and commands only via safety."""

import math

import numpy as np
import pytest
from clocks import FakeClock

from rl_control.robot.config import load_robot_config
from rl_control.robot.port import RobotIO
from rl_control.robot.ros2_control import Ros2ControlRobot
from rl_control.robot.safety import Mode


class Harness:
    """A robot over a fake clock whose published commands are kept."""

    def __init__(self, name: str, **kwargs) -> None:
        self.config = load_robot_config(name)
        self.clock, self.sent = FakeClock(5.0), []
        self.robot = Ros2ControlRobot(self.config, self.sent.append, self.clock, **kwargs)
        self.stamp = 0.0
        self.names = list(self.config.controller_joints)[::-1]  # not the controller's order

    def publish_state(self, robot_q: np.ndarray, velocity: np.ndarray | None = None) -> bool:
        """Publish a robot-order pose as a JointState in ``self.names``' order."""
        self.stamp += 1e-3
        order = [self.config.controller_joints.index(n) for n in self.names]
        v = np.zeros(len(order)) if velocity is None else velocity
        ok = self.robot.on_joint_state(self.stamp, self.names, np.asarray(robot_q)[order],
                                       np.asarray(v)[order], [])  # fmt: skip
        self.robot.on_imu(self.stamp, [0, 0, 0, 1], [0, 0, 0], [0, 0, 9.81])
        return ok

    def run(self, pose: np.ndarray, seconds: float) -> None:
        for _ in range(round(seconds / self.config.control_period)):
            self.clock.advance(self.config.control_period)
            assert self.publish_state(pose)
            self.robot.tick()


@pytest.mark.parametrize("name", ["two_link_leg", "minitaur", "quadruped12"])
def test_joint_mapping_round_trips(name: str) -> None:
    h = Harness(name)
    robot, rng = h.robot, np.random.default_rng(0)
    assert isinstance(robot, RobotIO) and robot.joint_names == list(h.config.policy_joints)
    x = rng.normal(size=len(robot.joint_names))
    np.testing.assert_array_equal(robot.to_policy(robot.to_robot(x)), x)
    np.testing.assert_array_equal(robot.to_robot(robot.to_policy(x)), x)
    # a robot standing exactly at a position target reads back the scaled action
    action = rng.uniform(-0.5, 0.5, size=x.size)
    target = robot.action_target(action)
    velocity = robot.to_robot(np.arange(x.size, dtype=float))  # policy-order 0, 1, 2...
    assert h.publish_state(target, velocity)
    readings = robot.read()
    assert readings.joint_names == robot.joint_names
    direction = np.array([j.direction for j in h.config.joints])
    np.testing.assert_allclose(readings.velocity, direction * np.arange(x.size))
    if h.config.policy_output == "position":
        np.testing.assert_allclose(readings.position, np.array(
            [j.action_scale for j in h.config.joints]) * action, atol=1e-12)  # fmt: skip


def test_minitaur_standing_action_reaches_the_motors_signed() -> None:
    h = Harness("minitaur")
    target = h.robot.action_target(np.full(8, math.pi / 2))
    left = [i for i, n in enumerate(h.config.controller_joints) if "left" in n]
    assert np.allclose(target[left], -math.pi / 2) and np.allclose(np.delete(target, left),
                                                                   math.pi / 2)  # fmt: skip


def test_joint_name_mismatch_is_refused_and_counted() -> None:
    h = Harness("two_link_leg")
    robot = h.robot
    assert not robot.on_joint_state(1.0, ["leg_hip_joint", "wheel"], [0, 0], [0, 0], [])
    assert not robot.on_joint_state(1.0, ["leg_hip_joint"], [0], [0], [])
    assert robot.safety.counts["joint_state_names"] == 2
    names = ["leg_knee_joint", "wheel", "leg_hip_joint"]
    assert not robot.on_joint_state(1.0, names, [1, 2, 3], [0, 0, 0], [])
    extra = Harness("two_link_leg", allow_extra_joints=True).robot
    assert extra.on_joint_state(1.0, names, [0.1, 9.0, 0.3], [0, 0, 0], [])
    np.testing.assert_allclose(extra.read().position, [0.3, 0.1])  # policy order: hip, knee


def test_fuzzed_messages_never_raise_nor_reach_the_joints() -> None:
    h = Harness("minitaur")
    robot, rng = h.robot, np.random.default_rng(1)
    bad = [np.nan, np.inf, -np.inf, 1e300]
    for _ in range(3000):
        k = int(rng.choice([7, 8, 9]))
        names = list(rng.permutation(h.config.controller_joints))[:k]
        q = rng.normal(size=int(rng.choice([k, k - 1, k + 1])))
        if rng.random() < 0.3:
            q[0] = rng.choice(bad)
        robot.on_joint_state(float(rng.normal()), names, q, rng.normal(size=k), [])
        robot.on_imu(float(rng.normal()), rng.normal(size=int(rng.choice([3, 4]))),
                     [rng.choice(bad), 0, 0], [0, 0])  # fmt: skip
        robot.apply(rng.normal(size=int(rng.choice([1, 8, 12]))) * 1e3)
        h.clock.advance(0.01)
        out = robot.tick()
        assert out is not None and np.all(np.abs(out) <= 3.5)
    assert robot.safety.mode is Mode.PASSIVE  # nothing fuzzed can start the robot


def test_home_activate_and_command_in_robot_order() -> None:
    h = Harness("quadruped12")
    robot, config = h.robot, h.config
    home = config.robot_array("home")
    start = home + 0.2
    assert h.publish_state(start)
    robot.home()
    h.run(start, config.homing_time + 0.1)
    np.testing.assert_allclose(h.sent[-1], home, atol=1e-12)
    assert robot.safety.activate()
    action = np.zeros(12)
    action[0] = 0.4  # FL hip: +0.1 rad at action_scale 0.25
    robot.apply(action)
    h.clock.advance(config.control_period)
    h.publish_state(home)
    command = robot.tick()
    fl_hip = config.controller_joints.index("FL_hip_joint")
    step = config.joints[0].rate_limit * config.control_period
    expected = home.copy()
    expected[fl_hip] += min(0.1, step)
    np.testing.assert_allclose(command, expected)
    assert h.sent[-1] == list(command)
    robot.apply(np.zeros(3))  # wrong size: refused, counted, the last target held
    assert robot.safety.counts["command_bad_size"] == 1
    for _ in range(10):  # then nothing more arrives: the watchdog holds the pose
        h.clock.advance(config.control_period)
        h.publish_state(home)
        robot.tick()
    assert robot.safety.mode is Mode.FAULT and robot.safety.fault_reason == "command_timeout"
    robot.close()
    assert robot.safety.mode is Mode.PASSIVE
