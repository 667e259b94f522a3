"""Back-end independent facade types: QoS profiles and the abstract node interface.

Node code programs against these classes only; both back-ends (rclpy, embedded Cyclone DDS)
implement them, so a node never imports rclpy or cyclonedds itself.
"""

from __future__ import annotations

import abc
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

RELIABILITIES = ("reliable", "best_effort")
DURABILITIES = ("volatile", "transient_local")
HISTORIES = ("keep_last", "keep_all")


@dataclass(frozen=True)
class QoS:
    """A ROS 2 QoS profile (the subset nodes use). The default is ROS's depth-10 default."""

    depth: int = 10
    reliability: str = "reliable"
    durability: str = "volatile"
    history: str = "keep_last"

    def __post_init__(self) -> None:
        if not isinstance(self.depth, int) or isinstance(self.depth, bool) or self.depth < 1:
            raise ValueError(f"QoS depth must be a positive int, got {self.depth!r}")
        for value, allowed in (
            (self.reliability, RELIABILITIES),
            (self.durability, DURABILITIES),
            (self.history, HISTORIES),
        ):
            if value not in allowed:
                raise ValueError(f"QoS value {value!r} is not one of {allowed}")


QOS_DEFAULT = QoS()
QOS_SENSOR_DATA = QoS(depth=5, reliability="best_effort")
QOS_LATCHED = QoS(depth=1, durability="transient_local")
QOS_CLOCK = QoS(depth=1, reliability="best_effort")


def as_qos(qos: int | QoS) -> QoS:
    """Accept rclpy's shorthand (an int depth) or a QoS profile."""
    if isinstance(qos, QoS):
        return qos
    if isinstance(qos, int) and not isinstance(qos, bool):
        return QoS(depth=qos)
    raise TypeError(f"qos must be an int depth or a QoS, got {type(qos).__name__}")


class Logger(abc.ABC):
    """Node logger with rclpy's method names."""

    @abc.abstractmethod
    def debug(self, msg: str) -> None: ...

    @abc.abstractmethod
    def info(self, msg: str) -> None: ...

    @abc.abstractmethod
    def warn(self, msg: str) -> None: ...

    @abc.abstractmethod
    def error(self, msg: str) -> None: ...

    def warning(self, msg: str) -> None:
        """Alias of warn (the stdlib spelling)."""
        self.warn(msg)


class Publisher(abc.ABC):
    """Publishes messages of one type on one resolved topic."""

    topic_name: str

    @abc.abstractmethod
    def publish(self, msg: Any) -> None: ...

    @abc.abstractmethod
    def get_subscription_count(self) -> int: ...


class Subscription(abc.ABC):
    """A registered subscription; callbacks run inside spin()/spin_once() of its node."""

    topic_name: str


class Timer(abc.ABC):
    """A periodic timer; its callback runs inside spin()/spin_once() of its node."""

    @abc.abstractmethod
    def cancel(self) -> None: ...


class Service(abc.ABC):
    """A service server; callback(request, response) -> response runs inside spin()."""

    service_name: str


class Client(abc.ABC):
    """A service client whose call() is synchronous and safe from inside callbacks."""

    service_name: str

    @abc.abstractmethod
    def wait_for_service(self, timeout: float = 5.0) -> bool: ...

    @abc.abstractmethod
    def call(self, request: Any, timeout: float = 5.0) -> Any:
        """Send request and return the response; raise TimeoutError after timeout seconds."""


class Node(abc.ABC):
    """One ROS node: the whole API node code may use."""

    name: str
    namespace: str

    @property
    def fully_qualified_name(self) -> str:
        """Namespace plus name, e.g. /robot1/policy_node."""
        return self.namespace.rstrip("/") + "/" + self.name

    @abc.abstractmethod
    def declare_parameter(self, name: str, default: Any = None) -> Any:
        """Declare a parameter; returns the override from --ros-args if any, else default."""

    @abc.abstractmethod
    def get_parameter(self, name: str) -> Any:
        """Return a declared parameter's value (KeyError naming it if undeclared)."""

    @abc.abstractmethod
    def create_publisher(self, type_name: str, topic: str, qos: int | QoS = 10) -> Publisher: ...

    @abc.abstractmethod
    def create_subscription(
        self,
        type_name: str,
        topic: str,
        callback: Callable[[Any], None],
        qos: int | QoS = 10,
        raw: bool = False,
    ) -> Subscription:
        """Call ``callback`` with each message; with ``raw`` (rclpy's flag of the same name)
        with its serialized CDR bytes instead, undecoded, for readers that count or keep
        messages without looking inside (``deserialize`` decodes one later)."""

    @abc.abstractmethod
    def destroy_subscription(self, subscription: Subscription) -> None:
        """Stop ``subscription`` (rclpy's call of the same name): its reader leaves the
        domain, so the topic's writers no longer send to it; safe from inside a callback.
        ValueError if it is not this node's (or already destroyed)."""

    @abc.abstractmethod
    def create_timer(self, period_s: float, callback: Callable[[], None]) -> Timer: ...

    @abc.abstractmethod
    def create_service(
        self, srv_type: str, name: str, callback: Callable[[Any, Any], Any]
    ) -> Service: ...

    @abc.abstractmethod
    def create_client(self, srv_type: str, name: str) -> Client: ...

    @abc.abstractmethod
    def get_logger(self) -> Logger: ...

    @abc.abstractmethod
    def now(self) -> float:
        """Current time in seconds: /clock time when use_sim_time is true, else wall time."""

    @abc.abstractmethod
    def resolve_topic_name(self, topic: str) -> str:
        """Fully resolved topic name after namespace, ~ expansion and remaps."""

    @abc.abstractmethod
    def get_topic_names_and_types(self) -> list[tuple[str, list[str]]]:
        """Every topic on the domain with a live publisher or subscription, and its types,
        sorted by name (what `ros2 topic list -t` prints; rclpy's call of the same name)."""

    @abc.abstractmethod
    def get_publisher_names(self, topic: str) -> list[str]:
        """Fully qualified names of the nodes publishing ``topic`` now, from discovery
        (what `ros2 topic info -v` lists), sorted."""

    @abc.abstractmethod
    def spin_once(self, timeout: float | None = None) -> None:
        """Run ready callbacks (at most one batch), waiting at most timeout seconds."""

    @abc.abstractmethod
    def join(self, host: Node) -> None:
        """Composition: from now on this node's callbacks run inside ``host.spin_once`` (one
        wait for both, as nodes sharing one executor in a ROS 2 component container), so a
        message between nodes of one process is handled without another process waking.
        Spin only the host afterwards."""

    @abc.abstractmethod
    def destroy(self) -> None: ...
