"""HardwareBridgeRole on a fake clock: pacing, auto home/activate, readings, diagnostics."""

import numpy as np
import pytest
from clocks import FakeClock

from rl_control.robot.config import load_robot_config
from rl_control.robot.ros2_control import Ros2ControlRobot
from rl_control.robot.safety import Mode
from rl_control.roles.hardware_role import HardwareBridgeRole


def _role(**kwargs):
    config = load_robot_config("two_link_leg")
    clock, sent, readings, diags = FakeClock(), [], [], []
    robot = Ros2ControlRobot(config, sent.append, clock)
    role = HardwareBridgeRole(robot, readings.append, diags.append, clock=clock, **kwargs)
    return role, robot, clock, sent, readings, diags


def _sense(robot: Ros2ControlRobot, stamp: float, q=(0.3, -0.6)) -> None:  # home
    assert robot.on_joint_state(stamp, ["leg_knee_joint", "leg_hip_joint"], [q[1], q[0]],
                                [0.0, 0.0], [])  # fmt: skip


def test_ticks_once_per_period_and_publishes_only_new_readings() -> None:
    role, robot, clock, sent, readings, diags = _role()
    dt = robot.period
    role.tick()
    assert len(sent) == 1 and len(readings) == 1 and len(diags) == 1  # passive: zero effort
    role.tick()  # not due yet
    assert len(sent) == 1 and role.spin_timeout() == pytest.approx(dt)
    clock.advance(dt)
    role.tick()
    assert len(sent) == 2 and len(readings) == 1  # same stamp: not re-published
    _sense(robot, 1.0)
    clock.advance(dt)
    role.tick()
    assert len(readings) == 2 and readings[-1].joint_names == ["hip", "knee"]
    assert [(r.step, r.episode) for r in readings] == [(0, 0), (1, 0)]
    clock.advance(10.0)  # a stalled loop does not burst
    role.tick()
    role.tick()
    assert len(sent) == 4


def test_auto_home_then_activate_then_watchdog() -> None:
    role, robot, clock, sent, readings, diags = _role(auto_home=True, auto_activate=True)
    stamp = 0.0
    while clock.t < 3.0:  # homed, but no policy is sending: stay homing (holding home)
        stamp += 1e-3
        _sense(robot, stamp)
        clock.advance(robot.period)
        role.tick()
    assert robot.safety.homed and robot.safety.mode is Mode.HOMING
    robot.apply(np.zeros(2))  # the policy is up
    stamp += 1e-3
    _sense(robot, stamp)
    clock.advance(robot.period)
    role.tick()
    assert robot.safety.mode is Mode.ACTIVE
    assert readings[-1].episode == 1 and readings[-2].episode == 0  # the policy's episode
    steps = [r.step for r in readings]
    assert steps == list(range(len(steps)))  # one per new measurement
    for _ in range(20):  # no policy action arrives: the watchdog trips
        stamp += 1e-3
        _sense(robot, stamp)
        clock.advance(robot.period)
        role.tick()
    assert robot.safety.fault_reason == "command_timeout"
    assert diags[-1][0].level == 2 and diags[-1][0].message == "fault"
    assert np.all(np.isfinite(sent[-1]))
    # the commands sent while active (the policy's): the activating tick and the five 2 ms
    # periods within timeouts.command (0.01 s) before the watchdog trips
    assert role.active_commands == 6
    summary = role.summary()
    assert summary.startswith(f"{len(sent)} commands sent, {role.active_commands} of them")
    assert summary.endswith(
        "mode fault; events: command_timeout 1, mode_active 1, mode_fault 1, mode_homing 1"
    )


def test_operator_services() -> None:
    role, robot, *_ = _role()
    assert role.service("activate") == (False, "refused in passive")
    assert role.service("estop") == (True, "estop")
    assert role.service("home") == (False, "refused in estop")
    assert role.service("release_estop") == (True, "passive")
    with pytest.raises(ValueError, match="known: \\['activate', 'estop'"):
        role.service("fly")


def _arrive(role: HardwareBridgeRole, stamp: float, q=(0.3, -0.6)) -> bool:
    return role.on_joint_state(stamp, ["leg_knee_joint", "leg_hip_joint"], [q[1], q[0]],
                               [0.0, 0.0], [])  # fmt: skip


def _active_on_arrival(**kwargs):
    """A bridge answering on arrival, homed and ACTIVE, the clock mid-period."""
    role, robot, clock, sent, readings, diags = _role(
        auto_home=True, auto_activate=True, answer_on_arrival=True, **kwargs
    )
    stamp = 0.0
    while robot.safety.mode is not Mode.ACTIVE:
        stamp += robot.period
        assert _arrive(role, stamp)
        robot.apply(np.zeros(2))  # a policy is up
        clock.advance(robot.period)
        role.tick()
        assert clock.t < 5.0
    return role, robot, clock, sent, readings, stamp


def test_answer_on_arrival_relays_and_commands_between_ticks() -> None:
    role, robot, clock, sent, readings, stamp = _active_on_arrival()
    dt = robot.period
    clock.advance(0.3 * dt)  # a joint state mid-period: to the estimator now, not at a tick
    relayed, commanded = len(readings), len(sent)
    assert _arrive(role, stamp + dt)
    assert len(readings) == relayed + 1 and readings[-1].stamp == stamp + dt
    assert readings[-1].episode == 1 and len(sent) == commanded  # no tick ran
    role.on_action(readings[-1].step, 1, np.array([10.0, -10.0]))  # the policy's answer
    assert len(sent) == commanded + 1  # commanded at once, through the limits
    # rate limit 500 N·m/s, per second: 0.3 of a period after the last step, 0.3 N·m
    np.testing.assert_allclose(sent[-1], [0.3, -0.3])
    assert role.spin_timeout() == pytest.approx(1.5 * dt)  # the next tick 1.5 periods on
    clock.advance(1.4 * dt)
    role.tick()
    assert len(sent) == commanded + 1  # not due: the loop moved with the action
    clock.advance(0.1 * dt)  # no action came: the timer fills the gap
    role.tick()
    np.testing.assert_allclose(sent[-1], [1.3, -1.3])
    clock.advance(0.1 * dt)  # an early action: only 0.1 of a period's change
    role.on_action(readings[-1].step, 1, np.array([10.0, -10.0]))
    np.testing.assert_allclose(sent[-1], [1.4, -1.4])
    assert _arrive(role, stamp + 1.4 * dt)  # under half a period of stamps on: not relayed
    assert len(readings) == relayed + 1
    for k in range(10):  # actions stop: the loop's own ticks trip the watchdog in time
        clock.advance(dt)
        assert _arrive(role, stamp + (2 + k) * dt)
        role.tick()
    assert robot.safety.fault_reason == "command_timeout"
    assert len(readings) == relayed + 11  # every new control period's joint state


def test_tick_paced_bridge_waits_for_the_tick() -> None:
    """The old pacing (answer_on_arrival false): readings and commands only at ticks."""
    role, robot, clock, sent, readings, diags = _role(auto_home=True)
    role.tick()
    clock.advance(0.3 * robot.period)
    relayed, commanded = len(readings), len(sent)
    _arrive(role, 1.0)
    role.on_action(0, 0, np.zeros(2))
    assert (len(readings), len(sent)) == (relayed, commanded)
    clock.advance(0.7 * robot.period)
    role.tick()
    assert (len(readings), len(sent)) == (relayed + 1, commanded + 1)
