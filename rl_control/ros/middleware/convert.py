"""Conversions shared by both back-ends: arrays to numpy and stamps to seconds."""

from __future__ import annotations

import math
from typing import Any

import numpy as np


def to_numpy(seq: Any, dtype: type = np.float64) -> np.ndarray:
    """Copy a message sequence field (list, array.array, tuple, ndarray) into a 1-D array."""
    if isinstance(seq, (str, bytes)) and dtype is not np.uint8:
        raise TypeError(f"to_numpy expects a numeric sequence, got {type(seq).__name__}")
    if isinstance(seq, bytes):
        return np.frombuffer(seq, dtype=np.uint8).copy()
    return np.array(seq, dtype=dtype).reshape(-1)


def stamp_to_seconds(stamp: Any) -> float:
    """builtin_interfaces/Time (or Duration) to float seconds."""
    return float(stamp.sec) + float(stamp.nanosec) * 1e-9


def seconds_to_stamp(t: float, cls: type | None = None) -> Any:
    """Float seconds to a Time message of cls (default: the active back-end's Time)."""
    if not math.isfinite(t):
        raise ValueError(f"cannot convert non-finite time {t!r} to a stamp")
    if cls is None:
        from rl_control.ros.middleware import message_class

        cls = message_class("builtin_interfaces/msg/Time")
    total_ns = int(round(t * 1e9))
    sec, nanosec = divmod(total_ns, 1_000_000_000)
    return cls(sec=int(sec), nanosec=int(nanosec))
