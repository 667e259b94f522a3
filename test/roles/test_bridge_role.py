"""Bridge role: publishing at once, re-publishing a late step, fallback warnings, /clock
throttling, free-running pacing and automatic resets, all on a fake clock."""

import pytest
from clocks import FakeClock

from rl_control.envs.registration import make_env
from rl_control.robot.pybullet import PyBulletRobot
from rl_control.roles.bridge import LockStepBridge
from rl_control.roles.bridge_role import BridgeRole
from rl_control.tasks.registry import make_task


class Rig:
    """A role over a real soft-wall cart-pole bridge, recording what it publishes."""

    def __init__(self, lock_step: bool = True, gated: bool = False, **kwargs) -> None:
        self.clock = FakeClock()
        self.task = make_task("soft_wall_cartpole", kwargs.pop("task_params", None))
        self.env = make_env("soft_wall_cartpole")
        robot = PyBulletRobot(self.env, self.task.joint_names, self.task.dt)
        self.bridge = LockStepBridge(
            robot, self.task, timeout=0.4, hold_on_miss=True, clock=self.clock, gated=gated
        )
        self.out: list[tuple[int, int, bool]] = []  # (step, episode, with /clock)
        self.warnings: list[str] = []
        self.role = BridgeRole(
            self.bridge, self.task, lambda r, c: self.out.append((r.step, r.episode, c)),
            lock_step, clock=self.clock, warn=self.warnings.append, **kwargs,
        )  # fmt: skip


@pytest.fixture
def rig():
    made: list[Rig] = []

    def make(**kwargs) -> Rig:
        made.append(Rig(**kwargs))
        return made[-1]

    yield make
    for r in made:
        r.env.close()


def test_lock_step_publishes_each_step_at_once_and_republishes_a_late_one(rig) -> None:
    r = rig()
    r.role.start(seed=0)
    assert r.out == [(0, 0, True)]
    r.role.on_action(0, [1.0])
    assert r.out[-1][:2] == (1, 0)
    r.clock.advance(0.09)
    r.role.tick()  # nothing for less than a quarter of the 0.4 s timeout: quiet
    assert len(r.out) == 2
    r.clock.advance(0.02)
    r.role.tick()  # the same step again, for a subscriber that missed it
    assert r.out[-1][:2] == (1, 0) and len(r.out) == 3 and r.bridge.misses == 0


def test_a_missed_action_is_held_warned_and_published(rig) -> None:
    r = rig()
    r.role.start(seed=0)
    r.role.on_action(0, [1.0])
    r.clock.advance(0.5)
    r.role.tick()
    assert r.out[-1][:2] == (2, 0) and r.bridge.misses == 1
    assert r.warnings == ["no action for step 1: held the last one"]


def test_a_late_granted_action_in_training_is_waited_for_not_replaced(rig) -> None:
    """Gated (training): the step waits for the policy's own action however late, so the
    data and a seeded run's result do not depend on the machine's load."""
    r = rig(gated=True)
    r.role.start(seed=0)
    r.role.on_grant(0, 0, 0)
    r.role.on_action(0, [1.0])
    r.role.on_grant(1, 0, 0)
    r.clock.advance(3.0)  # a policy node rebuilding a new version, on a loaded machine
    r.role.tick()
    assert r.out[-1][:2] == (1, 0) and r.bridge.misses == 0 and r.bridge.late == 1
    assert r.warnings == ["no action for granted step 1 within 0.4 s: waiting for the policy"]
    r.role.on_action(1, [2.0])
    assert r.out[-1][:2] == (2, 0)


def test_clock_is_throttled_but_every_new_episode_sends_it(rig) -> None:
    r = rig(clock_period=0.05)
    r.role.start(seed=0)
    r.role.on_action(0, [0.0])
    r.clock.advance(0.06)
    r.role.on_action(1, [0.0])
    r.role.on_action(2, [0.0])
    assert [c for *_, c in r.out] == [True, False, True, False]
    assert r.role.reset_message() == "step=4;episode=1"
    assert r.out[-1] == (4, 1, True)


def test_pause_answers_the_state_and_resuming_republishes(rig) -> None:
    r = rig()
    r.role.start(seed=0)
    assert r.role.pause(True) == "paused" and len(r.out) == 1
    r.clock.advance(5.0)
    r.role.tick()  # paused: no fallback step, no re-publish
    assert len(r.out) == 1
    assert r.role.pause(False) == "running" and r.out[-1][:2] == (0, 0)


def test_free_running_paces_steps_at_dt_over_the_real_time_factor(rig) -> None:
    r = rig(lock_step=False, real_time_factor=0.5)  # dt 0.01 s -> one step per 0.02 s
    r.role.start(seed=0)
    r.role.tick()  # due at once
    assert [s for s, *_ in r.out] == [0, 1]
    assert r.role.spin_timeout() == pytest.approx(0.02)
    r.clock.advance(0.015)
    r.role.tick()
    assert len(r.out) == 2 and r.role.spin_timeout() == pytest.approx(0.005)
    r.clock.advance(0.005)
    r.role.tick()
    assert [s for s, *_ in r.out] == [0, 1, 2]
    r.role.on_action(99, [5.0])  # free-running: the newest command, whatever its step
    r.clock.advance(0.02)
    r.role.tick()
    assert r.out[-1][0] == 3 and r.bridge.readings.applied_action[0] == 5.0


def test_free_running_resets_itself_at_the_step_limit_when_asked(rig) -> None:
    r = rig(lock_step=False, real_time_factor=0.0, reset_on_termination=True,
            task_params={"max_steps": 3})  # fmt: skip
    r.role.start(seed=0)
    for _ in range(4):
        r.role.tick()
    # the third step reaches the limit: the reset's readings go out instead (with /clock)
    assert r.out == [(0, 0, True), (1, 0, False), (2, 0, False), (4, 1, True), (5, 1, False)]


def test_free_running_without_auto_reset_runs_past_the_limit(rig) -> None:
    r = rig(lock_step=False, real_time_factor=0.0, task_params={"max_steps": 2})
    r.role.start(seed=0)
    for _ in range(3):
        r.role.tick()
    assert [e for _, e, _ in r.out] == [0, 0, 0, 0]
