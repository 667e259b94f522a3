"""The trainer's step gate on real legs: which policy actions the hardware bridge applies.

The sim bridge waits for the trainer's grant before it simulates a step; real legs cannot
wait, so the hardware bridge instead applies the policy's action for step k of the current
episode only once the trainer has granted step k of that episode, and only an action of a
policy version at least the grant's (the first such one: the one the trainer pairs). Until
then the safety core keeps sending the last applied target. Actions without their grant
still show that the policy is alive (:meth:`SafetyCore.keepalive`, the watchdog), while
:attr:`TrainerGate.granted_at` tells the bridge when the trainer stopped granting (an
update, an episode end), so that it can hold home instead of a stale target.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import numpy as np

from rl_control.robot.ros2_control import Ros2ControlRobot

#: steps of actions kept while their grants are late (older ones can never be applied)
KEEP_STEPS = 64


class TrainerGate:
    """Pairs policy actions with the trainer's grants, per step of one episode."""

    def __init__(self, robot: Ros2ControlRobot, clock: Callable[[], float] = time.monotonic):
        self.robot, self.clock = robot, clock
        self.episode = -1  # no episode: nothing passes
        self.applied_step = -1
        self.granted_at = -math.inf  # clock time of the newest grant of this episode
        self.applied = self.stale = self.ignored = 0
        self._actions: dict[int, list[tuple[np.ndarray, int]]] = {}
        self._grants: dict[int, int] = {}  # step -> oldest policy version allowed

    def start(self, episode: int) -> None:
        """A new episode was handed to the policy: its grants and actions only, from now."""
        self.episode, self.applied_step = int(episode), -1
        self._actions, self._grants = {}, {}
        self.granted_at = self.clock()  # the first grant is due from the hand-over

    def _current(self, step: int, episode: int) -> bool:
        if int(episode) == self.episode and int(step) > self.applied_step:
            return True
        self.ignored += 1  # another episode's, or a step already passed
        return False

    def on_action(self, step: int, episode: int, action: np.ndarray, version: int) -> None:
        """A policy action (any episode): feeds the watchdog; applied once granted."""
        self.robot.safety.keepalive()
        if not self._current(step, episode):
            return
        step = int(step)
        self._actions.setdefault(step, []).append((np.asarray(action), int(version)))
        for old in [k for k in self._actions if k < step - KEEP_STEPS]:
            del self._actions[old]
        self._apply(step)

    def on_grant(self, step: int, episode: int, min_version: int) -> None:
        """The trainer's grant of step ``step`` of ``episode``."""
        if not self._current(step, episode):
            return
        self._grants[int(step)], self.granted_at = int(min_version), self.clock()
        self._apply(int(step))

    def _apply(self, step: int) -> None:
        if step not in self._grants or step not in self._actions:
            return
        fresh = [a for a, version in self._actions[step] if version >= self._grants[step]]
        self.stale += len(self._actions[step]) - len(fresh)
        if not fresh:  # acted on by an older policy: wait for the new version's action
            del self._actions[step]
            return
        self.robot.apply(fresh[0])
        self.applied, self.applied_step = self.applied + 1, step
        self._actions = {k: v for k, v in self._actions.items() if k > step}
        self._grants = {k: v for k, v in self._grants.items() if k > step}
