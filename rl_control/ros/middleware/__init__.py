"""Middleware facade: the only API ROS node code uses.

The back-end is rclpy when importable, else the embedded Cyclone DDS back-end; the environment
variable RL_CONTROL_MIDDLEWARE=rclpy|embedded forces one.
"""

from __future__ import annotations

import functools
import importlib
import os
import signal
import threading
import time
from collections.abc import Sequence
from types import ModuleType
from typing import Any

from rl_control.ros.middleware.api import (
    QOS_CLOCK,
    QOS_DEFAULT,
    QOS_LATCHED,
    QOS_SENSOR_DATA,
    Client,
    Logger,
    Node,
    Publisher,
    QoS,
    Service,
    Subscription,
    Timer,
)
from rl_control.ros.middleware.convert import seconds_to_stamp, stamp_to_seconds, to_numpy

__all__ = [
    "QOS_CLOCK",
    "QOS_DEFAULT",
    "QOS_LATCHED",
    "QOS_SENSOR_DATA",
    "Client",
    "Logger",
    "Node",
    "Publisher",
    "QoS",
    "Service",
    "Subscription",
    "Timer",
    "backend_name",
    "create_node",
    "deserialize",
    "hold_interrupts",
    "message_class",
    "ok",
    "seconds_to_stamp",
    "service_class",
    "shutdown",
    "spin",
    "spin_once",
    "stamp_to_seconds",
    "to_numpy",
]

ENV_VAR = "RL_CONTROL_MIDDLEWARE"
_MODULES = {
    "rclpy": "rl_control.ros.middleware.rclpy_backend",
    "embedded": "rl_control.ros.middleware.embedded",
}


@functools.lru_cache(maxsize=1)
def _rclpy_available() -> bool:
    # cached: a failed import is not cached by Python and costs ~0.3 ms on every call
    try:
        importlib.import_module("rclpy")
    except ImportError:
        return False
    return True


def backend_name() -> str:
    """Name of the back-end in use: 'rclpy' or 'embedded' (env var first, then auto)."""
    forced = os.environ.get(ENV_VAR, "").strip().lower()
    if forced:
        if forced not in _MODULES:
            raise ValueError(f"{ENV_VAR}={forced!r} is not one of {sorted(_MODULES)}")
        if forced == "rclpy" and not _rclpy_available():
            raise RuntimeError(f"{ENV_VAR}=rclpy but rclpy is not importable (source ROS 2 first)")
        return forced
    return "rclpy" if _rclpy_available() else "embedded"


def _backend() -> ModuleType:
    # ok() runs once per spin loop: resolve the module once per value of the env var
    return _backend_for(os.environ.get(ENV_VAR, ""))


@functools.lru_cache(maxsize=8)
def _backend_for(forced: str) -> ModuleType:
    del forced  # the cache key; backend_name() reads (and validates) the same variable
    return importlib.import_module(_MODULES[backend_name()])


def create_node(name: str, argv: Sequence[str] | None = None, namespace: str = "") -> Node:
    """Create a node; argv may hold --ros-args (remaps, parameters, params files, log level)."""
    return _backend().create_node(name, list(argv) if argv is not None else [], namespace)


def spin(node: Node) -> None:
    """Run node's callbacks until shutdown() or Ctrl-C."""
    try:
        while ok():
            node.spin_once(0.1)
    except KeyboardInterrupt:
        pass


def spin_once(node: Node, timeout: float | None = None) -> None:
    """Run the callbacks ready now, waiting at most timeout seconds for one."""
    node.spin_once(timeout)


def spin_for(node: Node, duration: float) -> None:
    """Spin node for duration seconds of wall time (handy in tests and scripts)."""
    end = time.monotonic() + duration
    while ok() and (left := end - time.monotonic()) > 0:
        node.spin_once(min(left, 0.05))


def ok() -> bool:
    """False once shutdown() was called."""
    return _backend().ok()


def hold_interrupts() -> None:
    """Ignore further SIGINTs while a node cleans up (checkpoint, destroy): a second Ctrl-C, or
    the KeyboardInterrupt rclpy re-raises after it has already stopped its context, must not
    abort the clean-up half-way. The launch escalates to SIGTERM if a node hangs."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.SIG_IGN)


def shutdown() -> None:
    """Stop spinning and release the middleware (idempotent)."""
    _backend().shutdown()


def message_class(type_name: str) -> type:
    """Message class for e.g. 'sensor_msgs/msg/JointState' on the active back-end."""
    return _backend().message_class(type_name)


def service_class(srv_type: str) -> Any:
    """Service type for e.g. 'std_srvs/srv/Trigger', with .Request and .Response classes."""
    return _backend().service_class(srv_type)


def deserialize(type_name: str, data: bytes) -> Any:
    """Decode the serialized bytes a ``raw=True`` subscription delivered (rclpy's
    ``deserialize_message``)."""
    return _backend().deserialize(type_name, data)
