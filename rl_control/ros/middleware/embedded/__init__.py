"""Embedded back-end: ROS 2 wire conventions on Cyclone DDS from PyPI, no ROS installation."""

from __future__ import annotations

import threading
import weakref
from typing import Any

from rl_control.ros.middleware.embedded.context import Context
from rl_control.ros.middleware.embedded.node import EmbeddedNode
from rl_control.ros.middleware.idltypes import TypeFactory
from rl_control.ros.middleware.ros_args import node_config, parse_ros_args


class _Runtime:
    """The process's one DDS context (like rclpy's default context), created on first use."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.context: Context | None = None
        self.shut_down = False
        self.nodes: weakref.WeakSet[EmbeddedNode] = weakref.WeakSet()
        self.types = TypeFactory()

    def get_context(self) -> Context:
        with self.lock:
            if self.context is None or self.context.closed:
                self.context = Context(self.types)  # one class per type in the process
                self.shut_down = False
            return self.context


_RUNTIME = _Runtime()  # process-wide by nature: one DDS participant per process


def create_node(name: str, argv: list[str], namespace: str = "") -> EmbeddedNode:
    """Create a node on the shared participant with its --ros-args applied."""
    config = node_config(parse_ros_args(argv), name, namespace)
    node = EmbeddedNode(_RUNTIME.get_context(), config)
    _RUNTIME.nodes.add(node)
    return node


def ok() -> bool:
    return not _RUNTIME.shut_down


def shutdown() -> None:
    """Destroy every node and the participant; spin() loops return."""
    with _RUNTIME.lock:
        _RUNTIME.shut_down = True
        nodes = list(_RUNTIME.nodes)
    for node in nodes:
        node.destroy()
    with _RUNTIME.lock:
        if _RUNTIME.context is not None:
            _RUNTIME.context.close()
            _RUNTIME.context = None


def message_class(type_name: str) -> type:
    return _RUNTIME.types.message_class(type_name)


def service_class(srv_type: str) -> Any:
    return _RUNTIME.types.service_class(srv_type)


def deserialize(type_name: str, data: bytes) -> Any:
    """Decode the CDR bytes a raw subscription delivered."""
    return message_class(type_name).deserialize(data)
