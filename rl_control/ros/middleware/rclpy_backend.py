"""rclpy back-end: a thin adapter from the facade to rclpy (used where ROS 2 is installed).

Every rclpy call here follows rclpy's documented API (Humble/Jazzy); rcl itself applies the
--ros-args (remaps, __node/__ns, parameters, params files), which ros_args.py validates first.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable
from typing import Any

import rclpy
from rcl_interfaces.msg import ParameterDescriptor
from rclpy.context import Context
from rclpy.executors import (
    ExternalShutdownException,
    SingleThreadedExecutor,
    TimeoutException,
)
from rclpy.node import Node as RclNode
from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy
from rclpy.serialization import deserialize_message
from rosidl_runtime_py.utilities import get_message, get_service

from rl_control.ros.middleware import api
from rl_control.ros.middleware.api import QoS, as_qos
from rl_control.ros.middleware.names import resolve_topic_name
from rl_control.ros.middleware.params import coerce
from rl_control.ros.middleware.ros_args import node_config, parse_ros_args, ros_sections

_LOCK = threading.Lock()
_PRIVATE_IDS = itertools.count()
_MAX_DRAIN_S = 0.01  # s spent running further ready callbacks after the first


# The back-end's own rclpy context, not rclpy's default one: a context cannot be initialised
# again once shut down, so mw.shutdown() followed by a new node needs a fresh one (and code
# beside the facade keeps rclpy's default context to itself).
_CONTEXT: Context | None = None


def _context() -> Context:
    """The live context, initialised on first use and after a shutdown."""
    global _CONTEXT
    with _LOCK:
        if _CONTEXT is None or not _CONTEXT.ok():
            _CONTEXT = Context()
            rclpy.init(args=None, context=_CONTEXT)
        return _CONTEXT


def _profile(qos: int | QoS) -> QoSProfile:
    q = as_qos(qos)
    return QoSProfile(
        depth=q.depth,
        reliability=ReliabilityPolicy.RELIABLE
        if q.reliability == "reliable"
        else ReliabilityPolicy.BEST_EFFORT,
        durability=DurabilityPolicy.TRANSIENT_LOCAL
        if q.durability == "transient_local"
        else DurabilityPolicy.VOLATILE,
        history=HistoryPolicy.KEEP_LAST if q.history == "keep_last" else HistoryPolicy.KEEP_ALL,
    )


def message_class(type_name: str) -> type:
    return get_message(type_name)


def service_class(srv_type: str) -> Any:
    return get_service(srv_type)


def deserialize(type_name: str, data: bytes) -> Any:
    return deserialize_message(data, get_message(type_name))


class _Publisher(api.Publisher):
    def __init__(self, pub: Any) -> None:
        self._pub, self.topic_name = pub, pub.topic_name

    def publish(self, msg: Any) -> None:
        self._pub.publish(msg)

    def get_subscription_count(self) -> int:
        return self._pub.get_subscription_count()


class _Wrapped(api.Subscription, api.Timer, api.Service):
    """Holds the rclpy entity so it is not garbage collected."""

    def __init__(self, entity: Any, name: str = "") -> None:
        self.entity, self.topic_name, self.service_name = entity, name, name

    def cancel(self) -> None:
        self.entity.cancel()


class _Helper:
    """A hidden node with its own executor for service clients, so call() never depends on
    (or deadlocks with) whoever spins the main node. One executor per helper: an rclpy node
    belongs to one executor at a time, so clients share it, one call at a time."""

    def __init__(self, name: str, namespace: str) -> None:
        # no global arguments: the process's `-r __node:=...` would rename the helper too
        context = _context()
        self.node = RclNode(
            name, namespace=namespace or None, use_global_arguments=False, context=context
        )
        self.executor = SingleThreadedExecutor(context=context)
        self.executor.add_node(self.node)
        self.lock = threading.Lock()


class _Client(api.Client):
    """Service client on the node's :class:`_Helper`."""

    def __init__(self, helper: _Helper, srv_type: str, name: str) -> None:
        self._helper = helper
        self._client = helper.node.create_client(get_service(srv_type), name)
        self.service_name = self._client.srv_name

    def wait_for_service(self, timeout: float = 5.0) -> bool:
        return self._client.wait_for_service(timeout_sec=timeout)

    def call(self, request: Any, timeout: float = 5.0) -> Any:
        if not self._client.wait_for_service(timeout_sec=timeout):
            raise TimeoutError(f"service {self.service_name} not available after {timeout}s")
        with self._helper.lock:
            future = self._client.call_async(request)
            self._helper.executor.spin_until_future_complete(future, timeout_sec=timeout)
        if not future.done():
            self._client.remove_pending_request(future)
            raise TimeoutError(f"service {self.service_name} gave no reply within {timeout}s")
        return future.result()


class RclpyNode(api.Node):
    """Facade node over an rclpy Node with a private single-threaded executor."""

    def __init__(self, name: str, argv: list[str], namespace: str) -> None:
        self._config = node_config(parse_ros_args(argv), name, namespace)
        context = _context()
        self._node = RclNode(
            name, namespace=namespace or None, cli_args=ros_sections(argv), context=context
        )
        self.name, self.namespace = self._node.get_name(), self._node.get_namespace()
        self._executor = SingleThreadedExecutor(context=context)
        self._executor.add_node(self._node)
        self._helper: _Helper | None = None
        self._defaults: dict[str, Any] = {}

    @property
    def rclpy_node(self) -> RclNode:
        """Escape hatch for ROS-only integrations (tf2, rviz plugins)."""
        return self._node

    def declare_parameter(self, name: str, default: Any = None) -> Any:
        if self._node.has_parameter(name):  # same error as the embedded back-end
            raise ValueError(f"parameter {name!r} is already declared")
        descriptor = ParameterDescriptor(dynamic_typing=True)  # empty-list defaults allowed
        value = self._node.declare_parameter(name, default, descriptor).value
        self._defaults[name] = default
        return coerce(name, value, default)

    def get_parameter(self, name: str) -> Any:
        if not self._node.has_parameter(name):
            raise ValueError(f"parameter {name!r} is not declared")
        # coerced like the declared value (`-p gain:=2` with default 1.0 gives 2.0), and read
        # live so `ros2 param set` still takes effect
        value = self._node.get_parameter(name).value
        return coerce(name, value, self._defaults.get(name, value))

    def create_publisher(self, type_name: str, topic: str, qos: int | QoS = 10) -> api.Publisher:
        return _Publisher(
            self._node.create_publisher(get_message(type_name), topic, _profile(qos))
        )

    def create_subscription(
        self,
        type_name: str,
        topic: str,
        callback: Callable[[Any], None],
        qos: int | QoS = 10,
        raw: bool = False,
    ) -> api.Subscription:
        sub = self._node.create_subscription(
            get_message(type_name), topic, callback, _profile(qos), raw=raw
        )
        return _Wrapped(sub, sub.topic_name)

    def destroy_subscription(self, subscription: api.Subscription) -> None:
        entity = getattr(subscription, "entity", None)
        if entity is None or not self._node.destroy_subscription(entity):
            raise ValueError(f"{subscription!r} is not a live subscription of "
                             f"{self.fully_qualified_name}")  # fmt: skip
        subscription.entity = None

    def create_timer(self, period_s: float, callback: Callable[[], None]) -> api.Timer:
        if not isinstance(period_s, (int, float)) or not period_s > 0:
            raise ValueError(
                f"timer period must be a positive number of seconds, got {period_s!r}"
            )
        return _Wrapped(self._node.create_timer(float(period_s), callback))

    def create_service(
        self, srv_type: str, name: str, callback: Callable[[Any, Any], Any]
    ) -> api.Service:
        srv = self._node.create_service(get_service(srv_type), name, callback)
        return _Wrapped(srv, srv.srv_name)

    def create_client(self, srv_type: str, name: str) -> api.Client:
        if self._helper is None:  # hidden name (leading underscore)
            self._helper = _Helper(f"_{self.name}_client{next(_PRIVATE_IDS)}", self.namespace)
        # resolved here (remaps, namespace), so the helper needs no arguments of its own
        return _Client(self._helper, srv_type, self.resolve_topic_name(name))

    def get_logger(self) -> api.Logger:
        return self._node.get_logger()  # has debug/info/warn/warning/error

    def now(self) -> float:
        return self._node.get_clock().now().nanoseconds * 1e-9

    def resolve_topic_name(self, topic: str) -> str:
        resolver = getattr(self._node, "resolve_topic_name", None)
        if resolver is not None:
            return resolver(topic)
        return resolve_topic_name(topic, self.name, self.namespace, self._config.remaps)

    def get_topic_names_and_types(self) -> list[tuple[str, list[str]]]:
        topics = self._node.get_topic_names_and_types()
        return sorted((name, sorted(types)) for name, types in topics)

    def get_publisher_names(self, topic: str) -> list[str]:
        infos = self._node.get_publishers_info_by_topic(self.resolve_topic_name(topic))
        return sorted({i.node_namespace.rstrip("/") + "/" + i.node_name for i in infos})

    def spin_once(self, timeout: float | None = None) -> None:
        """Run every ready callback, waiting up to ``timeout`` for the first one.

        rclpy's own spin_once runs a single callback; draining matches the embedded back-end,
        so a node polling at a fixed rate keeps up with its topics instead of dropping samples.
        """
        try:
            self._executor.spin_once(timeout_sec=timeout)
            end = time.monotonic() + _MAX_DRAIN_S
            while time.monotonic() < end:  # bounded: a steady stream cannot starve the caller
                handler, _, _ = self._executor.wait_for_ready_callbacks(timeout_sec=0.0)
                handler()
                handler.result()  # re-raise a callback's exception, as spin_once does
        except (TimeoutException, ExternalShutdownException):
            pass  # nothing more is ready, or mw.shutdown() from another thread

    def join(self, host: api.Node) -> None:
        if not isinstance(host, RclpyNode):
            raise TypeError(f"cannot join a {type(host).__name__} (another back-end)")
        self._executor.remove_node(self._node)
        self._executor = host._executor  # one executor serves both nodes
        self._executor.add_node(self._node)

    def destroy(self) -> None:
        self._executor.remove_node(self._node)
        self._node.destroy_node()
        if self._helper is not None:
            self._helper.executor.remove_node(self._helper.node)
            self._helper.node.destroy_node()


def create_node(name: str, argv: list[str], namespace: str = "") -> RclpyNode:
    return RclpyNode(name, argv, namespace)


def ok() -> bool:
    context = _CONTEXT
    return context is not None and context.ok()


def shutdown() -> None:
    with _LOCK:
        if _CONTEXT is not None and _CONTEXT.ok():
            rclpy.shutdown(context=_CONTEXT)
