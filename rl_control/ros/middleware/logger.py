"""rclpy-style console logger used by the embedded back-end."""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable
from typing import NamedTuple

from rl_control.ros.middleware import api

_LEVELS = {"debug": 10, "info": 20, "warn": 30, "error": 40, "fatal": 50}
# Frames of these files are the logger itself; the first other frame is the caller.
_OWN_FILES = frozenset({__file__, api.__file__})
# We print records ourselves; without a handler, stdlib's last-resort handler would print
# warnings and errors a second time. Records still propagate to handlers users add (caplog).
logging.getLogger("rl_control.ros").addHandler(logging.NullHandler())


class LogRecord(NamedTuple):
    """One emitted record, with what rcl puts in rcl_interfaces/msg/Log."""

    level: int  # 10 DEBUG, 20 INFO, 30 WARN, 40 ERROR, 50 FATAL
    stamp_ns: int  # wall clock (rcutils' system time), nanoseconds since the epoch
    name: str
    msg: str
    file: str
    function: str
    line: int


def _caller() -> tuple[str, str, int]:
    """(file, function, line) of the code that called the logger (best effort)."""
    frame = sys._getframe(1)
    while frame is not None and frame.f_code.co_filename in _OWN_FILES:
        frame = frame.f_back
    if frame is None:
        return "", "", 0
    return frame.f_code.co_filename, frame.f_code.co_name, frame.f_lineno


class ConsoleLogger(api.Logger):
    """Writes '[LEVEL] [wall time] [node]: msg' to stderr, as rcutils' default format does.

    When `sink` is set (the embedded node sets its /rosout publisher), every record at or
    above the level is also handed to it.
    """

    def __init__(self, name: str, level: str = "info") -> None:
        if level not in _LEVELS:
            raise ValueError(f"unknown log level {level!r}; use one of {sorted(_LEVELS)}")
        self.name = name
        self.level = _LEVELS[level]
        self.sink: Callable[[LogRecord], None] | None = None
        # Also feed stdlib logging so applications and pytest's caplog can capture records.
        self._std = logging.getLogger(f"rl_control.ros.{name}")

    def _emit(self, level: int, tag: str, msg: str) -> None:
        if level < self.level:
            return
        stamp_ns = time.time_ns()
        self._std.log(level, msg)
        print(f"[{tag}] [{stamp_ns / 1e9:.6f}] [{self.name}]: {msg}", file=sys.stderr, flush=True)
        sink = self.sink
        if sink is not None:
            sink(LogRecord(level, stamp_ns, self.name, msg, *_caller()))

    def debug(self, msg: str) -> None:
        self._emit(10, "DEBUG", msg)

    def info(self, msg: str) -> None:
        self._emit(20, "INFO", msg)

    def warn(self, msg: str) -> None:
        self._emit(30, "WARN", msg)

    def error(self, msg: str) -> None:
        self._emit(40, "ERROR", msg)

    def fatal(self, msg: str) -> None:
        self._emit(50, "FATAL", msg)
