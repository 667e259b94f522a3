"""rclpy-style console logger used by the embedded back-end."""

from __future__ import annotations

import logging
import sys
import time

from rl_control.ros.middleware.api import Logger

_LEVELS = {"debug": 10, "info": 20, "warn": 30, "error": 40, "fatal": 50}
# We print records ourselves; without a handler, stdlib's last-resort handler would print
# warnings and errors a second time. Records still propagate to handlers users add (caplog).
logging.getLogger("rl_control.ros").addHandler(logging.NullHandler())


class ConsoleLogger(Logger):
    """Writes '[LEVEL] [wall time] [node]: msg' to stderr, as rcutils' default format does."""

    def __init__(self, name: str, level: str = "info") -> None:
        if level not in _LEVELS:
            raise ValueError(f"unknown log level {level!r}; use one of {sorted(_LEVELS)}")
        self.name = name
        self.level = _LEVELS[level]
        # Also feed stdlib logging so applications and pytest's caplog can capture records.
        self._std = logging.getLogger(f"rl_control.ros.{name}")

    def _emit(self, level: int, tag: str, msg: str) -> None:
        if level < self.level:
            return
        self._std.log(level, msg)
        print(f"[{tag}] [{time.time():.6f}] [{self.name}]: {msg}", file=sys.stderr, flush=True)

    def debug(self, msg: str) -> None:
        self._emit(10, "DEBUG", msg)

    def info(self, msg: str) -> None:
        self._emit(20, "INFO", msg)

    def warn(self, msg: str) -> None:
        self._emit(30, "WARN", msg)

    def error(self, msg: str) -> None:
        self._emit(40, "ERROR", msg)
