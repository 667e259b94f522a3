"""The state estimator node's logic: fuse the newest side inputs (IMU, ground-truth odometry)
with each joint-state sample only when they are close to it in time, then estimate; and the
task's targets (rviz markers) of the estimated state, at most every ``target_period``.

A lock-step sample waits for its side inputs: the sim bridge publishes the IMU and odometry
of a step with the joint states' very stamp, just before them, but on other topics they may
arrive after them, and the previous step's (one control period older, within
``max_input_age``) would then be fused: a base pose and velocity one step stale.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any, Generic, TypeVar

import numpy as np

from rl_control.robot.sensors import SensorReadings
from rl_control.roles.estimator import EstimatedState, StateEstimator

#: a side input as the node keeps it (a message); the role only looks at its stamp
Item = TypeVar("Item")
#: s (injected clock) a lock-step sample waits at most for side inputs that lag behind it
HOLD_TIMEOUT = 1.0


def _ignore(_: str) -> None:
    return None


class EstimatorRole(Generic[Item]):
    """Keeps the newest IMU and odometry inputs; :meth:`fresh` picks those fit for a stamp."""

    def __init__(
        self,
        estimator: StateEstimator,
        max_input_age: float,
        warn: Callable[[str], None] = _ignore,
        target_period: float = 0.05,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not max_input_age >= 0:
            raise ValueError(f"max_input_age must be >= 0 s, got {max_input_age}")
        self.estimator, self.max_input_age, self.warn = estimator, float(max_input_age), warn
        self.target_period, self.clock = float(target_period), clock
        self._next_targets = -math.inf
        self._imu: tuple[float, Item] | None = None
        self._odom: tuple[float, Item] | None = None
        #: the joint-state sample waiting for its side inputs: (stamp, sample, since)
        self._held: tuple[float, Any, float] | None = None
        self.failed = 0  # joint-state samples that gave no observation

    def on_imu(self, stamp: float, item: Item) -> None:
        self._imu = (float(stamp), item)

    def on_odom(self, stamp: float, item: Item) -> None:
        self._odom = (float(stamp), item)

    def fresh(self, stamp: float) -> tuple[Item | None, Item | None]:
        """(imu, odom) within ``max_input_age`` of ``stamp`` (either side), else None each:
        inputs too far apart in time are not fused into one observation."""
        return tuple(  # type: ignore[return-value]
            x[1] if x is not None and abs(x[0] - stamp) <= self.max_input_age else None
            for x in (self._imu, self._odom)
        )

    def on_joint_states(
        self, stamp: float, sample: Any, lock_step: bool
    ) -> list[tuple[Any, Item | None, Item | None]]:
        """Take a joint-state sample; returns the samples ready to estimate, each with its
        (imu, odom) from :meth:`fresh`. A hardware sample goes out at once. A lock-step one
        is held until :meth:`ready` lets it go; a sample still held when the next arrives
        goes out first, with what is fresh for it."""
        out = self._release() if self._held is not None else []
        if not lock_step:
            return [*out, (sample, *self.fresh(stamp))]
        self._held = (float(stamp), sample, self.clock())
        return out + self.ready()

    def ready(self) -> list[tuple[Any, Item | None, Item | None]]:
        """The held lock-step sample once every side input seen so far has caught up with its
        stamp (newest stamp >= the sample's), or after ``HOLD_TIMEOUT`` (a stream stopped);
        else nothing. Call it after each side input and periodically."""
        if self._held is None:
            return []
        stamp, _, since = self._held
        behind = any(x is not None and x[0] < stamp for x in (self._imu, self._odom))
        if behind and self.clock() - since < HOLD_TIMEOUT:
            return []
        return self._release()

    def _release(self) -> list[tuple[Any, Item | None, Item | None]]:
        assert self._held is not None
        stamp, sample, _ = self._held
        self._held = None
        return [(sample, *self.fresh(stamp))]

    def estimate(self, readings: SensorReadings) -> EstimatedState | None:
        """The observation for ``readings``; None (warned, counted) when it cannot be made,
        e.g. the quadruped before its first IMU sample."""
        try:
            return self.estimator.estimate(readings)
        except ValueError as err:
            self.failed += 1
            self.warn(f"no observation at t={readings.stamp:.3f}: {err}")
            return None

    def targets(self, state: np.ndarray) -> dict[str, np.ndarray] | None:
        """The task's named target points for ``state``; None for a task without targets and
        until ``target_period`` (injected clock) has passed since the last ones."""
        task = self.estimator.task
        if task.definition.targets is None or self.clock() < self._next_targets:
            return None
        self._next_targets = self.clock() + self.target_period
        return task.definition.targets(state, task.params)
