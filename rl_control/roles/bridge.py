"""Lock-step simulation bridge: the robot advances one control step per received action.

The bridge drives a robot-I/O port (:class:`rl_control.robot.port.RobotIO`; in simulation a
task env's PyBullet world) and publishes sensor readings, never rewards: the trainer
computes rewards from the estimated state. Steps are numbered globally (resets take a step
number too), so a late action for an earlier step or for an episode that was reset can
never be applied; readings are stamped with that step clock.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from rl_control.robot.port import RobotIO
from rl_control.robot.sensors import SensorReadings
from rl_control.tasks.base import Task


class LockStepBridge:
    """Advances the robot from step k to k+1 only when the action for step k arrives.

    Without an action within ``timeout`` seconds (of ``clock``), :meth:`poll` applies a
    fallback (zeros, or the last action with ``hold_on_miss``) and counts a miss. Until the
    first action has arrived (policy still loading, nodes still discovering each other) a
    timeout only re-offers the current readings: the world does not move without a policy.

    ``gated`` (training): step k also needs the trainer's grant for step k (:meth:`on_grant`),
    which names the oldest policy version whose action may be applied. Without a grant the
    bridge waits indefinitely and counts no miss, so the trainer can never fall behind: it
    resets at episode ends and learns before the episode goes on with the new policy. A
    granted step also waits for the policy's own action, however late (counted in ``late``;
    the readings are re-offered at each timeout): a fallback would put an action the policy
    never chose into the training data, and make a run depend on how loaded the machine was
    (a policy node rebuilding a new version can take longer than ``timeout``).
    """

    def __init__(
        self,
        robot: RobotIO,
        task: Task,
        timeout: float = 0.5,
        hold_on_miss: bool = False,
        clock: Callable[[], float] = time.monotonic,
        gated: bool = False,
    ) -> None:
        if not timeout > 0:
            raise ValueError(f"lock-step timeout must be > 0 s, got {timeout}")
        self.robot, self.task = robot, task
        self.timeout, self.hold_on_miss, self.clock = float(timeout), hold_on_miss, clock
        self.step = -1
        self.episode = -1
        self.misses = 0
        self.late = 0  # gated: timeouts waiting for a granted step's action (no fallback)
        self.ignored = 0  # actions for other steps (late, duplicate or from before a reset)
        self.rejected = 0  # non-finite or wrongly sized actions
        self.paused = False
        self.gated = bool(gated)
        self.stale_actions = 0  # gated: actions older than the granted policy version
        self.episode_steps = 0
        self._grant: int | None = None  # gated: min policy version granted for this step
        # gated: (action, version) in arrival order; the first granted one is applied, the
        # same one the trainer pairs (it keeps the first it receives from the same writer)
        self._pending: list[tuple[np.ndarray, int]] = []
        self._last_action = np.zeros(task.act_dim)
        self._waiting_since = clock()
        self._armed = False  # set by the first accepted action
        self.readings: SensorReadings | None = None

    @property
    def joint_names(self) -> list[str]:
        return self.robot.joint_names

    @property
    def waited(self) -> float:
        """Seconds since the current readings were produced (how long the action is due)."""
        return self.clock() - self._waiting_since

    @property
    def sim_time(self) -> float:
        """Simulated time of the current step (monotonic across resets, for /clock)."""
        return max(self.step, 0) * self.task.dt

    def reset(
        self, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> SensorReadings:
        """Start a new episode; it gets the next step number and the next episode number."""
        self.robot.home(seed=seed, options=options)
        self.episode += 1
        self.episode_steps = 0
        self._last_action = np.zeros(self.task.act_dim)
        return self._advance(np.zeros(self.task.act_dim))

    def pause(self, paused: bool) -> SensorReadings | None:
        """Pause or resume stepping; resuming returns the current readings to re-publish."""
        self.paused = bool(paused)
        self._waiting_since = self.clock()
        return None if self.paused else self.readings

    def on_action(self, step: int, action: Any, version: int = 0) -> SensorReadings | None:
        """Apply ``action`` (of policy ``version``) if it is for the current step and, when
        gated, granted; returns the next readings or None."""
        if self.paused or self.readings is None:
            return None
        if int(step) != self.step:
            self.ignored += 1
            return None
        action = self._checked(action)
        if action is None:
            return None
        self._armed = True
        if not self.gated:
            return self._step_physics(action)
        if self._grant is not None and version < self._grant:
            self.stale_actions += 1
            return None
        self._pending.append((action, int(version)))
        return self._step_granted()

    def on_grant(self, step: int, episode: int, min_version: int = 0) -> SensorReadings | None:
        """Gated mode: the trainer lets step ``step`` of ``episode`` be simulated."""
        if self.paused or self.readings is None or not self.gated:
            return None
        if int(step) != self.step or int(episode) != self.episode:
            self.ignored += 1  # a grant for a step already taken, or from before a reset
            return None
        self._grant = int(min_version)
        self._waiting_since = self.clock()  # the action is due from now on
        return self._step_granted()

    def _step_granted(self) -> SensorReadings | None:
        if self._grant is None:
            return None
        while self._pending:
            action, version = self._pending.pop(0)
            if version >= self._grant:
                return self._step_physics(action)
            self.stale_actions += 1
        return None

    def command(self, action: Any) -> bool:
        """Free-running mode: set the action held by :meth:`step_free` (False if rejected)."""
        action = self._checked(action)
        if action is None:
            return False
        self._last_action = action
        return True

    def _checked(self, action: Any) -> np.ndarray | None:
        """The action as a float vector of the task's size, or None (counted) if it is not."""
        try:
            action = np.asarray(action, dtype=np.float64).reshape(self.task.act_dim)
        except ValueError:
            action = None
        if action is None or not np.all(np.isfinite(action)):
            self.rejected += 1
            return None
        return action

    def step_free(self) -> SensorReadings | None:
        """Free-running mode: advance one step with the latest commanded action."""
        if self.paused or self.readings is None:
            return None
        return self._step_physics(self._last_action)

    def poll(self) -> SensorReadings | None:
        """Apply the fallback action and count a miss if the current step's action is late."""
        if self.paused or self.readings is None or (self.gated and self._grant is None):
            return None
        if self.clock() - self._waiting_since < self.timeout:
            return None
        if not self._armed or self.gated:  # nobody acting yet, or training: offer it again
            self._waiting_since = self.clock()
            self.late += int(self._armed)
            return self.readings
        self.misses += 1
        fallback = self._last_action if self.hold_on_miss else np.zeros(self.task.act_dim)
        return self._step_physics(fallback)

    def _step_physics(self, action: np.ndarray) -> SensorReadings:
        applied = self.task.clip_action(action)
        self.robot.apply(applied)
        self._last_action = applied
        self.episode_steps += 1
        return self._advance(applied)

    def _advance(self, applied: np.ndarray) -> SensorReadings:
        self.step += 1
        self._grant, self._pending = None, []
        self.readings = dataclasses.replace(
            self.robot.read(), stamp=self.sim_time, step=self.step, episode=self.episode,
            applied_action=applied,
        )  # fmt: skip
        self._waiting_since = self.clock()
        return self.readings
