"""The sim bridge node's logic around a :class:`LockStepBridge`: what to publish and when.

Lock-step: each callback's readings are published at once; between callbacks :meth:`tick`
applies a late step's fallback, or re-publishes the current step when nothing went out for a
quarter of the timeout (a late subscriber gets it, the step is idempotent). Free-running:
:meth:`tick` paces steps at ``dt / real_time_factor`` and, with ``reset_on_termination``,
resets at the task's termination or step limit. /clock is throttled to ``clock_period`` of
the injected clock (every new episode still sends one): every node receives it, the stamps
on every other message stay exact.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

from rl_control.robot.sensors import SensorReadings, encode_step_tag
from rl_control.roles.bridge import LockStepBridge
from rl_control.tasks.base import Task

#: (readings, publish /clock too) -> None: the node turns them into messages
Publish = Callable[[SensorReadings, bool], None]

#: longest spin between two ticks (s): lock-step timeouts and pacing stay this precise
SPIN_PERIOD = 0.02


def _ignore(_: str) -> None:
    return None


class BridgeRole:
    """Drives a bridge from callbacks and ticks; every output goes through ``publish``."""

    def __init__(
        self,
        bridge: LockStepBridge,
        task: Task,
        publish: Publish,
        lock_step: bool = True,
        reset_on_termination: bool = False,
        real_time_factor: float = 1.0,
        clock_period: float = 0.05,
        clock: Callable[[], float] = time.monotonic,
        warn: Callable[[str], None] = _ignore,
    ) -> None:
        self.bridge, self.task, self._publish = bridge, task, publish
        self.lock_step, self.reset_on_termination = bool(lock_step), bool(reset_on_termination)
        self.clock_period, self.clock, self.warn = float(clock_period), clock, warn
        rtf = float(real_time_factor)
        self.period = task.dt / rtf if rtf > 0 else 0.0  # free-running step period
        self._last_pub = clock()
        self._last_clock = -math.inf
        self._next_step = clock()

    def start(self, seed: int | None) -> SensorReadings:
        """First episode; free-running steps are paced from now on."""
        readings = self.reset(seed)
        self._next_step = self.clock()
        return readings

    def publish(self, readings: SensorReadings | None) -> None:
        """Hand readings to the node (nothing for None), resetting first where due."""
        if readings is None:
            return
        now = self._last_pub = self.clock()
        if not self.lock_step and self.reset_on_termination:
            state = self.task.estimate(readings)
            if self.task.terminated(state) or self.bridge.episode_steps >= self.task.max_steps:
                readings = self.bridge.reset()
        with_clock = now - self._last_clock >= self.clock_period or self.bridge.episode_steps == 0
        if with_clock:
            self._last_clock = now
        self._publish(readings, with_clock)

    # --- callbacks -----------------------------------------------------------------------
    def on_action(self, step: int, action: Any, version: int = 0) -> None:
        """An rl_control_msgs/Action: the lock-step's action, or the free-running command."""
        if self.lock_step:
            self.publish(self.bridge.on_action(step, action, version))
        else:
            self.bridge.command(action)

    def on_command(self, action: Any) -> None:
        """A ros2_control-style command (no step tag): for whatever step is current."""
        if self.lock_step:
            self.publish(self.bridge.on_action(self.bridge.step, action))
        else:
            self.bridge.command(action)

    def on_grant(self, step: int, episode: int, min_version: int) -> None:
        self.publish(self.bridge.on_grant(step, episode, min_version))

    def reset(self, seed: int | None = None) -> SensorReadings:
        """The reset service: a new episode, published; returns its first readings."""
        readings = self.bridge.reset(seed=seed)
        self.publish(readings)
        return readings

    def reset_message(self) -> str:
        """The reset service's answer: 'step=<k>;episode=<e>' of the new episode."""
        readings = self.reset()
        return encode_step_tag(readings.step, readings.episode)

    def pause(self, paused: bool) -> str:
        """The pause service: 'paused' or 'running' (resuming re-publishes the step)."""
        self.publish(self.bridge.pause(paused))
        return "paused" if self.bridge.paused else "running"

    # --- between callbacks ---------------------------------------------------------------
    def spin_timeout(self) -> float:
        """How long the node may wait for callbacks before the next :meth:`tick`."""
        if self.lock_step:
            return SPIN_PERIOD
        return max(0.0, min(SPIN_PERIOD, self._next_step - self.clock()))

    def tick(self) -> None:
        """Lock-step: fallback for a late action, or re-publish; free-running: pace a step."""
        bridge = self.bridge
        if self.lock_step:
            misses, late = bridge.misses, bridge.late
            stepped = bridge.poll()
            if stepped is not None:
                if bridge.misses > misses:
                    self.warn(f"no action for step {stepped.step - 1}: held the last one")
                if bridge.late > late:
                    self.warn(f"no action for granted step {stepped.step} within "
                              f"{bridge.timeout:g} s: waiting for the policy")  # fmt: skip
                self.publish(stepped)
            elif not bridge.paused and self.clock() - self._last_pub > bridge.timeout / 4:
                self.publish(bridge.readings)
            return
        now = self.clock()
        if now >= self._next_step:
            self._next_step = max(self._next_step + self.period, now - self.period)
            self.publish(bridge.step_free())
