"""The safety core on a fake clock: watchdog, limits, fuzzed inputs, e-stop, dropout, homing."""

import dataclasses

import numpy as np
import pytest
from clocks import FakeClock

from rl_control.robot.config import load_robot_config
from rl_control.robot.safety import ERROR, STALE, Mode, SafetyCore

ROBOTS = ("two_link_leg", "minitaur", "quadruped12")


def _config(name: str, homing_time: float = 0.05):
    return dataclasses.replace(load_robot_config(name), homing_time=homing_time)


class Rig:
    """A safety core, a fake clock and a robot that sits still at ``pose``."""

    def __init__(self, name: str, homing_time: float = 0.05) -> None:
        self.config = _config(name, homing_time)
        self.clock = FakeClock(100.0)
        self.core = SafetyCore(self.config, self.clock)
        self.dt = self.config.loop_period  # the safety loop (pd_period where set)
        self.pose = self.core.home_pose.copy()
        self.stamp = 0.0

    def sense(self) -> None:
        self.stamp += 1e-4  # header stamps: increasing, on the robot's own clock
        assert self.core.on_joint_state(self.stamp, self.pose, np.zeros(self.core.n))
        if self.core.uses_imu:
            assert self.core.on_imu(self.stamp, [0, 0, 0, 1, 0, 0, 0, 0, 0, 9.81])

    def tick(self, sense: bool = True) -> np.ndarray | None:
        self.clock.advance(self.dt)
        if sense:
            self.sense()
        return self.core.step()

    def activate(self) -> None:
        self.sense()
        assert self.core.start_homing()
        while not self.core.homed:
            self.tick()
        assert self.core.activate() and self.core.mode is Mode.ACTIVE


def _in_limits(core: SafetyCore, out: np.ndarray) -> bool:
    if core.effort_out:
        return bool(np.all(np.abs(out) <= core.effort_limit))
    return bool(np.all((core.q_low <= out) & (out <= core.q_high)))


@pytest.mark.parametrize("name", ROBOTS)
def test_watchdog_trips_on_every_one_of_1000_stalls(name: str) -> None:
    rig, rng = Rig(name), np.random.default_rng(0)
    core, timeout, dt = rig.core, rig.config.timeouts["command"], rig.dt
    latencies = []
    for _ in range(1000):
        rig.activate()
        for _ in range(rng.integers(1, 5)):  # a live stream with jittered arrival
            rig.clock.advance(rng.uniform(0, dt))
            assert core.on_command(rig.pose)
            last = rig.clock.t
            assert rig.tick() is not None and core.mode is Mode.ACTIVE
        rig.clock.advance(rng.uniform(0, dt))  # then the stream stops at a random phase
        tripped = None
        while rig.clock.t <= last + timeout + dt + 1e-9:
            rig.tick()
            if core.mode is Mode.FAULT:
                tripped = rig.clock.t
                break
            assert rig.clock.t - last <= timeout + 1e-9  # no stale command ever passes
        assert tripped is not None and core.fault_reason == "command_timeout"
        latencies.append(tripped - last)
        assert core.on_command(rig.pose) and core.mode is Mode.FAULT  # a new command: no exit
        rig.tick()
        assert core.mode is Mode.FAULT
    latencies = np.array(latencies)
    assert np.all(latencies > timeout - 1e-9) and np.all(latencies <= timeout + dt + 1e-9)
    assert core.counts["command_timeout"] == 1000


@pytest.mark.parametrize("name", ROBOTS)
def test_fuzzed_inputs_never_produce_an_unsafe_command(name: str) -> None:
    rig, rng = Rig(name), np.random.default_rng(1)
    core, n = rig.core, rig.core.n
    bad = (np.nan, np.inf, -np.inf, 1e300, -1e300, 1e6)
    span = core.q_high - core.q_low

    def vector(size: int, good: np.ndarray, p_bad: float) -> np.ndarray:
        """Mostly a plausible value near ``good``; else a wrong size, NaN/inf or huge."""
        if rng.random() > p_bad:
            return good + rng.normal(scale=0.01, size=size)
        if rng.random() < 0.3:
            return rng.normal(size=int(rng.choice([0, size - 1, size + 1, 2 * size])))
        v = rng.normal(scale=float(rng.choice([0.1, 3.0, 1e3, 1e9])), size=size)
        if rng.random() < 0.7:
            v[rng.integers(size)] = rng.choice(bad)
        return v

    stamp, sent, previous, modes = 0.0, 0, None, dict.fromkeys(Mode, 0)
    for i in range(10_000):
        rig.clock.advance(float(rng.choice([0.0, rig.dt / 2, rig.dt, rig.dt, 3 * rig.dt])))
        stamp += float(rng.choice([-rig.dt, 0.0, *[rig.dt] * 8]))  # reordered, repeated
        wild = core.q_low + span * rng.uniform(-0.5, 1.5, size=n)  # also outside the limits
        late = rng.random() < 0.1  # a stale or unstamped (NaN) command
        command_stamp = rig.clock.t + (float(rng.choice([-1.0, np.nan])) if late else 0.0)
        core.on_command(vector(n, wild, 0.2), stamp=command_stamp)
        core.on_joint_state(stamp, vector(n, rig.pose, 0.1), vector(n, np.zeros(n), 0.1))
        core.on_imu(stamp, vector(10, np.r_[0, 0, 0, 1, 0, 0, 0, 0, 0, 9.81], 0.1))
        odds = {"start_homing": 0.2, "activate": 0.1, "estop": 0.002, "passive": 0.002,
                "release_estop": 0.05 if core.mode is Mode.ESTOP else 0.001}  # fmt: skip
        for action, p in odds.items():
            if rng.random() < p:
                getattr(core, action)()
        before = core.mode
        out = core.step()
        modes[core.mode] += 1
        if out is None:
            assert not core.effort_out  # only a position interface may have nothing to send
            continue
        sent += 1
        assert out.shape == (n,) and np.all(np.isfinite(out)) and _in_limits(core, out), i
        if not core.effort_out and before is core.mode is Mode.ACTIVE and previous is not None:
            assert np.all(np.abs(out - previous) <= core.max_delta + 1e-12)
        previous = out
    assert sent > 9000
    assert modes[Mode.ACTIVE] > 1000 and min(modes.values()) > 50, modes  # every mode fuzzed
    rejected = sum(v for k, v in core.counts.items() if k.startswith(("command_", "joint_state_")))
    assert rejected > 3000


@pytest.mark.parametrize("name", ROBOTS)
def test_active_commands_are_clamped_and_rate_limited(name: str) -> None:
    rig = Rig(name)
    rig.activate()
    core = rig.core
    huge = np.full(core.n, 1e9)
    outs = []
    for _ in range(50):
        assert core.on_command(huge)
        outs.append(rig.tick())
    outs = np.array(outs)
    assert all(_in_limits(core, o) for o in outs)
    if not core.effort_out:
        assert np.all(np.abs(np.diff(outs, axis=0)) <= core.max_delta + 1e-12)
        np.testing.assert_allclose(outs[-1], core.q_high)
    assert core.on_command(np.full(core.n, np.nan)) is False
    held = rig.tick()
    assert np.all(np.isfinite(held)) and core.counts["command_not_finite"] == 1


@pytest.mark.parametrize("name", ROBOTS)
def test_estop_latches_through_every_other_input(name: str) -> None:
    rig, rng = Rig(name), np.random.default_rng(2)
    rig.activate()
    core = rig.core
    core.estop("test")
    for _ in range(2000):
        core.on_command(rng.normal(size=core.n))
        for action in rng.choice(["start_homing", "activate", "passive", "estop"], size=2):
            getattr(core, action)()
        out = rig.tick(sense=rng.random() < 0.7)
        assert core.mode is Mode.ESTOP
        assert _in_limits(core, out)
        if core.effort_out:  # damping only: the robot sits still, so no effort at all
            np.testing.assert_allclose(out, 0.0)
    assert core.diagnostics()[0].level == ERROR
    assert core.release_estop() and core.mode is Mode.PASSIVE


@pytest.mark.parametrize("name", ROBOTS)
def test_joint_state_dropout_faults_within_its_timeout(name: str) -> None:
    rig, rng = Rig(name), np.random.default_rng(3)
    core, timeout = rig.core, rig.config.timeouts["joint_states"]
    for _ in range(200):
        rig.activate()
        for _ in range(rng.integers(1, 4)):
            core.on_command(rig.pose)
            rig.tick()
        last = rig.clock.t
        while core.mode is Mode.ACTIVE:
            core.on_command(rig.pose)  # the policy goes on; the sensor is gone
            out = rig.tick(sense=False)
            assert rig.clock.t - last <= timeout + rig.dt + 1e-9
        assert core.fault_reason == "joint_states_stale"
        if core.effort_out:  # damping with a stale velocity would push: zero effort
            np.testing.assert_allclose(out, 0.0)
        assert core.diagnostics()[1].level == STALE


def test_imu_dropout_faults_too() -> None:
    rig = Rig("minitaur")
    rig.activate()
    core = rig.core
    for _ in range(round(0.2 / rig.dt)):  # 0.2 s: past the IMU's 0.05 s timeout
        rig.clock.advance(rig.dt)
        rig.stamp += 1e-4
        core.on_joint_state(rig.stamp, rig.pose, np.zeros(core.n))
        core.on_command(rig.pose)
        core.step()
    assert core.fault_reason == "imu_stale"


@pytest.mark.parametrize("name", ROBOTS)
def test_homing_never_jumps(name: str) -> None:
    rng = np.random.default_rng(4)
    for trial in range(20):
        rig = Rig(name, homing_time=float(rng.uniform(0.2, 1.0)))
        core = rig.core
        rig.pose = rng.uniform(core.q_low, core.q_high)
        rig.sense()
        assert core.start_homing()
        span = np.abs(core.home_pose - rig.pose)
        targets, stamps = [rig.pose.copy()], [rig.clock.t]
        while not core.homed:
            rig.clock.advance(rig.dt * rng.uniform(0.5, 1.5))  # jittered control loop
            rig.sense()
            out = core.step()
            assert core.mode is Mode.HOMING
            if core.effort_out:  # PD on a still robot: the target is pose + out / kp
                out = rig.pose + out / core.kp
            targets.append(out)
            stamps.append(rig.clock.t)
        steps = np.abs(np.diff(np.array(targets), axis=0))
        slope = 1.5 * span * np.diff(stamps)[:, None] / rig.config.homing_time  # smoothstep
        assert np.all(steps <= np.minimum(core.home_delta, slope + 1e-9) + 1e-9), trial
        rig.tick()
        if not core.effort_out:
            np.testing.assert_allclose(rig.tick(), core.home_pose, atol=1e-9)


def test_transitions_are_guarded() -> None:
    rig = Rig("two_link_leg")
    core = rig.core
    assert not core.activate()  # not homed
    assert not core.start_homing()  # no joint state yet
    np.testing.assert_allclose(core.step(), 0.0)  # passive on effort: zero
    rig.sense()
    assert core.start_homing() and not core.activate()
    assert core.counts["transition_refused"] == 3
    names = [r.name for r in core.diagnostics()]
    assert names == ["safety", "joint_states", "command"]  # no IMU on the fixed leg


def test_speed_guard_takes_away_speeding_effort_and_brakes() -> None:
    """Effort interface: past guard_velocity no effort along the motion, and a brake that is
    the full effort_limit at velocity_limit; below it the policy's effort passes as is."""
    base = _config("two_link_leg")
    joints = tuple(dataclasses.replace(j, guard_velocity=15.0, rate_limit=1e6)
                   for j in base.joints)  # fmt: skip
    rig = Rig("two_link_leg")
    rig.config = dataclasses.replace(base, joints=joints)
    rig.core = core = SafetyCore(rig.config, rig.clock)
    rig.activate()
    limit = core.effort_limit  # 3 N·m; velocity_limit 25 rad/s

    def effort(velocity, command) -> np.ndarray:
        rig.clock.advance(rig.dt)
        rig.stamp += 1e-4
        assert core.on_joint_state(rig.stamp, rig.pose, np.asarray(velocity, float))
        assert core.on_command(np.asarray(command, float))
        return core.step()

    np.testing.assert_allclose(effort([10.0, -14.9], [3.0, -3.0]), [3.0, -3.0])  # below
    assert core.guarded_steps == 0
    # hip at +20 rad/s (half way to the limit), knee at -24: brakes of 1.5 and 2.7 N·m
    np.testing.assert_allclose(effort([20.0, -24.0], [3.0, -3.0]), [-1.5, 0.9 * limit[1]])
    np.testing.assert_allclose(effort([20.0, -24.0], [-3.0, 3.0]), [-3.0, 3.0])  # braking: kept
    np.testing.assert_allclose(effort([20.0, 0.0], [0.0, 1.0]), [-1.5, 1.0])
    # coupled joints: while the hip is past its guard the knee's effort may not speed it up
    np.testing.assert_allclose(effort([20.0, 5.0], [0.0, 2.0]), [-1.5, 0.0])
    np.testing.assert_allclose(effort([20.0, 5.0], [0.0, -2.0]), [-1.5, -2.0])
    assert core.guarded_steps == 5 and core.mode is Mode.ACTIVE
    assert core.diagnostics()[0].values["speed_guard_steps"] == "5"
    effort([26.0, 0.0], [3.0, 0.0])  # past velocity_limit all the same: the fault
    assert core.mode is Mode.FAULT and core.fault_reason == "overspeed"
