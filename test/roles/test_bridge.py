"""Lock-step bridge: steps only on the current step's action, counts misses, numbers resets."""

import numpy as np
import pytest
from clocks import FakeClock

from rl_control.envs.registration import make_env
from rl_control.robot.pybullet import PyBulletRobot
from rl_control.roles.bridge import LockStepBridge
from rl_control.tasks.registry import make_task


def _cartpole_robot(env):
    task = make_task("soft_wall_cartpole")
    return PyBulletRobot(env, task.joint_names, task.dt), task


@pytest.fixture
def bridge():
    env = make_env("soft_wall_cartpole")
    clock = FakeClock()
    robot, task = _cartpole_robot(env)
    b = LockStepBridge(robot, task, timeout=0.5, hold_on_miss=True, clock=clock)
    b.fake_clock, b.fake_env = clock, env
    yield b
    env.close()


def test_advances_only_on_the_current_steps_action(bridge) -> None:
    r0 = bridge.reset(seed=3)
    assert (r0.step, r0.episode) == (0, 0)
    assert r0.joint_names == ["cart_slider", "pole_hinge"]
    state = bridge.fake_env.unwrapped.state
    np.testing.assert_allclose(r0.position, state[:2])
    np.testing.assert_allclose(r0.velocity, state[2:])
    assert bridge.on_action(5, [1.0]) is None and bridge.ignored == 1  # wrong step
    assert bridge.on_action(0, [np.nan]) is None and bridge.rejected == 1
    r1 = bridge.on_action(0, [250.0])
    assert (r1.step, r1.episode) == (1, 0)
    np.testing.assert_allclose(r1.applied_action, [100.0])  # clipped like the env
    assert r1.stamp == pytest.approx(0.01)
    assert bridge.on_action(0, [1.0]) is None and bridge.ignored == 2  # late duplicate


def test_timeout_applies_held_action_and_counts_a_miss(bridge) -> None:
    bridge.reset(seed=0)
    bridge.on_action(0, [30.0])
    assert bridge.poll() is None and bridge.misses == 0  # not late yet
    bridge.fake_clock.t += 0.6
    r = bridge.poll()
    assert bridge.misses == 1 and r.step == 2
    np.testing.assert_allclose(r.applied_action, [30.0])


def test_pause_stops_stepping_and_resume_republishes(bridge) -> None:
    r = bridge.reset(seed=0)
    assert bridge.pause(True) is None
    assert bridge.on_action(0, [1.0]) is None
    bridge.fake_clock.t += 5.0
    assert bridge.poll() is None and bridge.misses == 0
    assert bridge.pause(False) is r
    assert bridge.on_action(0, [1.0]).step == 1


def test_reset_takes_the_next_step_number_and_episode(bridge) -> None:
    bridge.reset(seed=0)
    bridge.on_action(0, [0.0])
    r = bridge.reset()
    assert (r.step, r.episode) == (2, 1)
    assert bridge.on_action(1, [0.0]) is None  # an action for the old episode is never applied
    assert bridge.episode_steps == 0


def test_no_misses_before_the_first_action_only_republishes(bridge) -> None:
    r0 = bridge.reset(seed=0)
    bridge.fake_clock.t += 5.0  # policy still loading
    again = bridge.poll()
    assert again is r0 and again.step == 0 and bridge.misses == 0
    bridge.on_action(0, [1.0])
    bridge.fake_clock.t += 0.6
    assert bridge.poll().step == 2 and bridge.misses == 1  # armed: late actions now count


def test_gated_bridge_steps_only_with_the_trainers_grant_and_a_new_enough_action() -> None:
    env = make_env("soft_wall_cartpole")
    clock = FakeClock()
    b = LockStepBridge(*_cartpole_robot(env), 0.5, True, clock, gated=True)
    try:
        b.reset(seed=0)
        assert b.on_action(0, [1.0], version=0) is None  # no grant yet: held
        clock.t += 5.0
        assert b.poll() is None and b.misses == 0  # waiting on the trainer is no miss
        assert b.on_grant(0, 0, min_version=1) is None  # the pending action is too old
        assert b.stale_actions == 1
        assert b.on_action(0, [2.0], version=0) is None and b.stale_actions == 2
        r1 = b.on_action(0, [3.0], version=1)
        assert r1.step == 1
        np.testing.assert_allclose(r1.applied_action, [3.0])
        assert b.on_grant(0, 0) is None and b.ignored == 1  # a grant for a step taken
        assert b.on_grant(1, 0) is None  # granted, the action is due from now on
        clock.t += 0.6
        again = b.poll()  # late: offered again, never replaced by a fallback (training)
        assert again is b.readings and again.step == 1 and b.misses == 0 and b.late == 1
        clock.t += 5.0
        assert b.poll().step == 1 and b.late == 2
        r2 = b.on_action(1, [4.0], version=1)
        assert r2.step == 2 and b.misses == 0
        np.testing.assert_allclose(r2.applied_action, [4.0])  # the policy's own action
        r3 = b.reset()
        assert b.on_grant(3, 0) is None and b.ignored == 2  # wrong episode
        assert b.on_grant(r3.step, r3.episode) is None
        assert b.on_action(r3.step, [0.0]).step == r3.step + 1  # grant first, action second
    finally:
        env.close()


def test_gated_bridge_applies_the_first_granted_action_in_arrival_order() -> None:
    """As the trainer pairs the first action it receives: the two never disagree, e.g. when
    an off-policy update swaps the policy between two actions for one step."""
    env = make_env("soft_wall_cartpole")
    b = LockStepBridge(*_cartpole_robot(env), 0.5, True, gated=True)
    try:
        b.reset(seed=0)
        b.on_action(0, [1.0], version=0)
        b.on_action(0, [2.0], version=1)  # the same step again, from the swapped-in policy
        r = b.on_grant(0, 0, min_version=0)
        np.testing.assert_allclose(r.applied_action, [1.0])
        b.on_action(1, [3.0], version=1)
        b.on_action(1, [4.0], version=2)
        r = b.on_grant(1, 0, min_version=2)  # on-policy: only the new version may act
        np.testing.assert_allclose(r.applied_action, [4.0])
        assert b.stale_actions == 1
    finally:
        env.close()
