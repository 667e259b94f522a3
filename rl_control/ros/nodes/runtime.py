"""A cheap `while running():` for node loops: middleware.ok() re-resolves the back-end on
every call (~0.3 ms, an `import rclpy` attempt), too much to pay once per control step."""

from __future__ import annotations

import time

from rl_control.ros import middleware as mw


class Running:
    """Truthy until middleware.ok() turns False; asks it at most every ``period`` seconds."""

    def __init__(self, period: float = 0.2) -> None:
        self.period = float(period)
        self._ok, self._next = True, 0.0

    def __call__(self) -> bool:
        now = time.monotonic()
        if now >= self._next:
            self._ok, self._next = mw.ok(), now + self.period
        return self._ok
