"""Training on hardware, on the fake 2R-leg robot and a fake clock: the trainer's reset goes
through homing, and an episode (ACTIVE, a new episode number) never starts outside the robot's
safe set."""

import dataclasses

import numpy as np
import pytest
from clocks import FakeClock

from rl_control.envs.registration import make_env
from rl_control.robot.config import load_robot_config
from rl_control.robot.fake_ros2_control import FakeRos2ControlRobot
from rl_control.robot.pybullet import PyBulletRobot
from rl_control.robot.ros2_control import Ros2ControlRobot
from rl_control.robot.safety import Mode, SafetyCore
from rl_control.roles.hardware_role import HardwareBridgeRole
from rl_control.tasks.registry import make_task


class Rig:
    """The PyBullet leg behind the ros2_control contract, the bridge role, a fake clock."""

    def __init__(self, **safe_set: float) -> None:
        base = load_robot_config("two_link_leg")
        joints = tuple(dataclasses.replace(j, action_scale=1.0) for j in base.joints)
        self.config = dataclasses.replace(
            base, homing_time=0.3, safe_set={**base.safe_set, **safe_set}, joints=joints
        )  # the policy's efforts as they are (the shipped 0.3 is for an untrained one)
        task = make_task("two_link_leg")
        self.sim = PyBulletRobot(make_env("two_link_leg"), task.joint_names, task.dt)
        self.sim.home(seed=0)
        self.fake = FakeRos2ControlRobot(self.sim, self.config)
        self.clock, self.readings = FakeClock(), []
        self.robot = Ros2ControlRobot(self.config, self.fake.command, self.clock)
        self.role = HardwareBridgeRole(self.robot, self.readings.append, lambda _: None,
                                       auto_home=False, clock=self.clock)  # fmt: skip
        self.home = np.array([j.home for j in self.config.joints])
        self.stamp = 0.0
        self.sense()

    def sense(self) -> None:
        self.stamp += self.config.control_period
        assert self.robot.on_joint_state(self.stamp, *self.fake.joint_state())

    def period(self, action: np.ndarray | None) -> None:
        """One control period: the policy's action (None: none arrives), tick, physics."""
        if action is not None:
            self.robot.apply(action)
        self.clock.advance(self.config.control_period)
        self.role.tick()
        self.fake.step()
        self.sense()

    def pd(self, target: np.ndarray) -> np.ndarray:
        """A policy's effort pulling the leg to ``target`` (policy frame)."""
        r = self.robot.read()
        return 4.0 * (target - r.position) - 0.1 * r.velocity

    def run_until_active(self, action: np.ndarray, limit: float) -> int:
        """Periods until the bridge is ACTIVE (the policy sends ``action`` throughout)."""
        for k in range(round(limit / self.config.control_period)):
            if self.robot.safety.mode is Mode.ACTIVE:
                return k
            self.period(action)
        raise AssertionError(f"not active after {limit} s: {self.robot.safety.mode}")


@pytest.fixture
def rig():
    rig = Rig()
    yield rig
    rig.sim.close()


def test_reset_homes_then_starts_the_next_episode_inside_the_safe_set(rig: Rig) -> None:
    ok, tag = rig.role.reset_episode()  # the trainer's first reset
    assert ok and tag == "homing; episode=1 starts when homed in the safe set"
    assert rig.robot.safety.mode is Mode.HOMING
    rig.run_until_active(np.zeros(2), 1.0)
    assert rig.readings[-1].episode == 1
    for _ in range(250):  # the policy holds the leg 0.4 rad away from home (a PD on it)
        rig.period(rig.pd(rig.home + np.array([0.4, -0.4])))
    away = rig.robot.read()
    assert rig.robot.safety.mode is Mode.ACTIVE
    assert np.abs(away.position - rig.home).max() > 0.3 and rig.readings[-1].episode == 1
    ok, tag = rig.role.reset_episode()
    assert ok and "episode=2" in tag
    assert rig.robot.safety.mode is Mode.HOMING  # homing from the measured pose
    during = len(rig.readings)
    periods = rig.run_until_active(rig.pd(rig.home + 0.4), 2.0)  # the policy keeps sending
    assert periods >= round(rig.config.homing_time / rig.config.control_period)
    homing = rig.readings[during:-1]
    assert all(r.episode == 1 for r in homing)  # the trainer ignores the old episode's rest
    steps = np.array([r.position for r in homing])
    assert np.abs(np.diff(steps, axis=0)).max() < 0.05  # a smooth move, never a jump
    first = rig.readings[-1]  # the new episode's first reading: inside the safe set
    assert first.episode == 2
    safe = rig.config.safe_set
    assert np.abs(first.position - rig.home).max() <= safe["joint_tolerance"]
    assert np.abs(first.velocity).max() <= safe["max_joint_velocity"]


def test_an_episode_never_starts_outside_the_safe_set() -> None:
    rig = Rig(joint_tolerance=1e-4)  # tighter than the PD holds the leg against gravity
    try:
        assert rig.role.reset_episode()[0]
        for _ in range(round(1.0 / rig.config.control_period)):
            rig.period(np.zeros(2))
        safety = rig.robot.safety
        assert safety.homed and safety.mode is Mode.HOMING  # holding home, policy refused
        assert safety.counts["outside_safe_set"] == 1  # said once, not every period
        assert "more than 0.0001 from home" in safety.events[-1].message
        assert {r.episode for r in rig.readings} == {0} and rig.role.active_commands == 0
        assert not safety.activate()  # nor by the operator's service
        assert safety.counts["outside_safe_set"] == 2 and safety.mode is Mode.HOMING
    finally:
        rig.sim.close()


def test_reset_after_a_fault_or_estop_is_the_operators(rig: Rig) -> None:
    rig.role.reset_episode()
    rig.run_until_active(np.zeros(2), 1.0)
    for _ in range(10):  # the policy stops: the watchdog trips
        rig.period(None)
    assert rig.robot.safety.mode is Mode.FAULT
    assert rig.role.reset_episode() == (False, "reset refused in fault: the operator homes")
    rig.role.service("estop")
    assert rig.role.service("reset") == (False, "reset refused in estop: the operator homes")
    assert rig.robot.safety.mode is Mode.ESTOP


def test_the_lifecycle_maps_onto_the_safety_states(rig: Rig) -> None:
    """managed: unconfigured sends nothing; configure -> passive; activate -> homing, then
    the policy's commands; deactivate -> holding home; cleanup stops the commands again;
    shutdown -> finalized, and the node's tick returns its exit code."""
    rig.role = HardwareBridgeRole(rig.robot, rig.readings.append, lambda _: None,
                                  clock=rig.clock, managed=True)  # fmt: skip
    life, safety = rig.role.lifecycle, rig.robot.safety
    for _ in range(5):
        rig.period(np.zeros(2))
    assert life.label == "unconfigured" and rig.fake.received == 0 and rig.readings == []
    assert life.change(3) == (False, "no transition 3 from unconfigured")  # activate first
    assert life.change(1)[0] and life.label == "inactive"  # configure
    rig.period(np.zeros(2))
    assert rig.fake.received == 1 and safety.mode is Mode.PASSIVE  # damping goes out
    assert life.change(0, "activate")[0] and safety.mode is Mode.HOMING  # by label too
    rig.run_until_active(np.zeros(2), 1.0)
    assert life.label == "active" and rig.readings[-1].episode == 1
    assert life.change(4)[0] and life.label == "inactive"  # deactivate: hold home
    assert safety.mode is Mode.HOMING
    rig.period(np.zeros(2))
    assert rig.role.active_commands > 0 and safety.mode is Mode.HOMING  # no new episode
    assert life.change(2)[0] and life.label == "unconfigured" and safety.mode is Mode.PASSIVE
    sent = rig.fake.received
    rig.period(np.zeros(2))
    assert rig.fake.received == sent  # nothing sent unconfigured
    life.change(1)
    rig.role.service("estop")
    assert life.change(3) == (False, "reset refused in estop: the operator homes")
    assert life.change(5)[0] and life.label == "finalized"  # shutdown from inactive
    rig.clock.advance(rig.config.control_period)
    assert rig.role.tick() == 0 and safety.mode is Mode.ESTOP  # the latch stays


def _first_episode(config, seed: int) -> tuple[int, float, SafetyCore]:
    """The rig's first episode as a deploy runs it: auto home, auto activate, an untrained
    PPO policy sampling its torques (as training does) for the task's 1000 steps (2 s).
    Returns the ACTIVE steps run, the fastest joint (rad/s) and the safety core."""
    from rl_control.algorithms.registry import make_algorithm
    from rl_control.algorithms.spec import AlgorithmSpec
    from rl_control.roles.leg_odometry import make_state_estimator
    from rl_control.training.config import load_config

    task = make_task("two_link_leg")
    train = load_config("config/train/ppo_two_link_leg.yaml")
    spec = AlgorithmSpec(task.obs_dim, task.action_low, task.action_high, num_envs=1, task=task)
    policy = make_algorithm(train.algo, spec, dict(train.algo_config), seed).policy
    sim = PyBulletRobot(make_env("two_link_leg"), task.joint_names, task.dt)
    sim.home(seed=seed)
    fake, clock, readings = FakeRos2ControlRobot(sim, config), FakeClock(), []
    robot = Ros2ControlRobot(config, fake.command, clock)
    role = HardwareBridgeRole(robot, readings.append, lambda _: None, auto_home=True,
                              auto_activate=True, clock=clock, answer_on_arrival=True)  # fmt: skip
    estimator = make_state_estimator(task, "legs")
    safety, stamp, active, fastest = robot.safety, 0.0, 0, 0.0
    try:
        for _ in range(round((config.homing_time + 1.0) / config.control_period) + task.max_steps):
            stamp += config.control_period
            role.on_joint_state(stamp, *fake.joint_state())  # relayed at once
            while readings:
                obs = task.observation(estimator.estimate(readings.pop(0)).state[None])
                role.on_action(0, 0, policy.act(obs.astype(np.float32)).action.reshape(-1))
            clock.advance(config.control_period)
            role.tick()
            fake.step()
            if safety.mode is Mode.ACTIVE:
                active += 1
                fastest = max(fastest, float(np.abs(robot.read().velocity).max()))
            if safety.mode is Mode.FAULT or active >= task.max_steps:
                break
    finally:
        sim.close()
    return active, fastest, safety


@pytest.mark.parametrize("seed", [0, 1])
def test_the_shipped_rigs_first_episode_completes_without_a_fault(seed: int) -> None:
    """config/robots/two_link_leg.yaml as shipped: its action_scale and speed guard keep an
    untrained policy's first 2 s episode under velocity_limit. Without the guard the same
    policy faults within tens of ms (measured: overspeed after 14 steps, 28 ms, at
    action_scale 0.3; after 10 at 1.0)."""
    config = load_robot_config("two_link_leg")
    active, fastest, safety = _first_episode(config, seed)
    assert (active, safety.mode, safety.fault_reason) == (1000, Mode.ACTIVE, "")
    limit = min(j.velocity_limit for j in config.joints)
    assert safety.guarded_steps > 0 and fastest < limit  # the guard was needed, and held
    unguarded = tuple(dataclasses.replace(j, guard_velocity=None) for j in config.joints)
    config = dataclasses.replace(config, joints=unguarded, homing_time=0.2)  # quicker
    active, _, safety = _first_episode(config, seed)
    assert safety.fault_reason == "overspeed" and active < 1000
