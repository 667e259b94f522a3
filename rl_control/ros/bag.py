"""MCAP bags of the graph's topics, ROS 2 style: `rl-control record` and `rl-control replay`.

Written with mcap-ros2-support (profile ``ros2``, message encoding ``cdr``, schemas in the
``ros2msg`` text that rosbag2 writes: the type's .msg, then each dependency after a line of
``=`` and ``MSG: pkg/msg/Name``), so ``ros2 bag info/play`` and Foxglove read the files.
A bag is written to ``<name>.part`` and renamed when closed: a killed recorder leaves no
half-written file under the final name. Messages go in as plain dicts built from the
interface specs, so rclpy's and the embedded back-end's message objects record alike;
replay decodes with mcap-ros2-support and rebuilds the back-end's classes the same way.
Types and QoS come from :mod:`rl_control.roles.topics`; ``name:pkg/msg/Type`` records a
topic the table does not list.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mcap.reader import make_reader
from mcap_ros2.decoder import DecoderFactory
from mcap_ros2.writer import Writer

from rl_control.roles.topics import ABSOLUTE, TOPICS
from rl_control.roles.topics import topic as topic_row
from rl_control.ros import middleware as mw
from rl_control.ros.middleware.library import default_library
from rl_control.ros.middleware.msgdef import EMPTY_MEMBER, MessageSpec

_SEPARATOR = "=" * 80
_BYTES = ("uint8", "byte")


def schema_text(type_name: str) -> str:
    """The ros2msg definition of a message type with all its dependencies."""
    lib = default_library()
    parts = [lib.text(type_name)]
    for spec in lib.closure(type_name):
        parts.append(f"{_SEPARATOR}\nMSG: {spec.type_name}\n{lib.text(spec.type_name)}")
    return "\n".join(parts)


def to_plain(spec: MessageSpec, msg: Any) -> dict[str, Any]:
    """A message object as nested dicts and lists (what the CDR writer takes)."""
    out: dict[str, Any] = {}
    for field in spec.fields:
        if field.name == EMPTY_MEMBER:  # rosidl's dummy: not in the ros2msg schema
            continue
        value = getattr(msg, field.name)
        ftype = field.type
        if ftype.is_primitive:
            if ftype.array is not None and not isinstance(value, (bytes, str)):
                value = [v.item() if hasattr(v, "item") else v for v in value]
            elif ftype.array is None and hasattr(value, "item"):
                value = value.item()
            if ftype.base in _BYTES and ftype.array is None and isinstance(value, bytes):
                value = value[0]  # rclpy's byte fields are 1-byte bytes
            out[field.name] = value
        else:
            sub = default_library().spec(ftype.base)
            out[field.name] = (
                [to_plain(sub, v) for v in value] if ftype.array else to_plain(sub, value)
            )
    return out


def from_plain(type_name: str, src: Any) -> Any:
    """The back-end's message of ``type_name`` with the fields of a decoded message."""
    spec = default_library().spec(type_name)
    msg = mw.message_class(type_name)()
    for field in spec.fields:
        if field.name == EMPTY_MEMBER:
            continue
        value, ftype = getattr(src, field.name), field.type
        if not ftype.is_primitive:
            if ftype.array:
                value = [from_plain(ftype.base, v) for v in value]
            else:
                value = from_plain(ftype.base, value)
        elif ftype.array is not None and ftype.base in _BYTES:
            value = bytes(value)
        elif ftype.array is not None:
            value = list(value)
        elif ftype.base in _BYTES and isinstance(getattr(msg, field.name), bytes):
            value = bytes([value])  # rclpy: a byte field holds a 1-byte bytes
        setattr(msg, field.name, value)
    return msg


class BagWriter:
    """An MCAP bag being written: one schema per type, one channel per topic."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if self.path.suffix != ".mcap":
            raise ValueError(f"bag {str(path)!r} must end in .mcap")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._part = self.path.with_name(self.path.name + ".part")
        self._file = open(self._part, "wb")  # noqa: SIM115 (closed in close())
        self._writer = Writer(self._file)
        self._schemas: dict[str, Any] = {}
        self.count = 0

    def write(self, topic: str, type_name: str, msg: Any, log_time_ns: int) -> None:
        """Append one message (an rclpy or embedded message object)."""
        if type_name not in self._schemas:
            self._schemas[type_name] = self._writer.register_msgdef(
                type_name, schema_text(type_name)
            )
        plain = to_plain(default_library().spec(type_name), msg)
        self._writer.write_message(topic, self._schemas[type_name], plain, log_time_ns)
        self.count += 1

    def close(self) -> None:
        """Finish the file and move it to its name (atomic)."""
        if self._file.closed:
            return
        self._writer.finish()
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        os.replace(self._part, self.path)


@dataclass(frozen=True)
class BagMessage:
    topic: str
    type_name: str
    log_time_ns: int
    message: Any  # mcap-ros2-support's decoded object


def read_bag(path: str | Path) -> Iterator[BagMessage]:
    """Every message of an MCAP bag in log-time order, decoded."""
    if not Path(path).is_file():
        raise ValueError(f"bag {str(path)!r} not found")
    with open(path, "rb") as stream:
        reader = make_reader(stream, decoder_factories=[DecoderFactory()])
        for schema, channel, message, decoded in reader.iter_decoded_messages(log_time_order=True):
            type_name = schema.name if schema is not None else ""
            yield BagMessage(channel.topic, type_name, message.log_time, decoded)


def resolve_topics(names: Sequence[str]) -> list[tuple[str, str]]:
    """(topic, type) of each ``name`` or ``name:pkg/msg/Type``; none = every table topic."""
    if not names:  # relative where the graph's are, so a namespaced recorder finds them
        return [
            (t.name if t.name in ABSOLUTE else t.name[1:], t.type)
            for t in TOPICS if t.name != "/rosout"
        ]  # fmt: skip
    out = []
    for name in names:
        topic, _, type_name = name.partition(":")
        out.append((topic, type_name) if type_name else (topic, topic_row(topic).type))
    return out


def qos_of(topic: str) -> mw.QoS:
    """The QoS a recorder or replayer uses for ``topic`` (the table's; default otherwise)."""
    key = topic if topic.startswith("/") else f"/{topic}"
    row = next((t for t in TOPICS if t.name == key or key.endswith(t.name)), None)
    kind = row.qos if row is not None else "default"
    return {"latched": mw.QOS_LATCHED, "clock": mw.QOS_CLOCK}.get(kind, mw.QoS(depth=100))


class Recorder:
    """Subscribes ``topics`` on ``node`` and writes every message to ``bag``."""

    def __init__(
        self, node: mw.Node, topics: list[tuple[str, str]], bag: BagWriter,
        clock: Callable[[], int] = time.time_ns,
    ) -> None:  # fmt: skip
        self.bag, self.clock = bag, clock
        for topic, type_name in topics:
            full = node.resolve_topic_name(topic)  # recorded under its full name
            write = self._writer(full, type_name)
            node.create_subscription(type_name, topic, write, qos_of(topic))

    def _writer(self, topic: str, type_name: str) -> Callable[[Any], None]:
        return lambda msg: self.bag.write(topic, type_name, msg, self.clock())


def channels(path: str | Path) -> dict[str, str]:
    """topic -> type of a bag's channels, from its summary."""
    if not Path(path).is_file():
        raise ValueError(f"bag {str(path)!r} not found")
    with open(path, "rb") as stream:
        summary = make_reader(stream).get_summary()
    if summary is None:
        raise ValueError(f"bag {str(path)!r} has no summary (not finished?)")
    return {c.topic: summary.schemas[c.schema_id].name for c in summary.channels.values()}


def replay(
    node: mw.Node, path: str | Path, rate: float = 1.0,
    sleep: Callable[[float], None] = time.sleep, topics: Sequence[str] = (),
    clock: Callable[[], float] = time.monotonic, delay: float = 0.0,
) -> int:  # fmt: skip
    """Republish a bag's messages on ``node`` at ``rate`` x their recorded pace (0 = as fast
    as possible), after spinning ``delay`` s with every publisher created (subscribers
    discover them: ``ros2 bag play --delay``); returns the number published."""
    if rate < 0:
        raise ValueError(f"replay rate must be >= 0, got {rate}")
    publishers = {
        topic: node.create_publisher(type_name, topic, qos_of(topic))
        for topic, type_name in channels(path).items()
        if not topics or topic in topics
    }  # fmt: skip
    if delay > 0:
        mw.spin_for(node, delay)
    first, start, count = None, clock(), 0
    for item in read_bag(path):
        if item.topic not in publishers:
            continue
        first = item.log_time_ns if first is None else first
        if rate > 0:
            due = start + (item.log_time_ns - first) / 1e9 / rate
            wait = due - clock()
            if wait > 0:
                sleep(wait)
        publishers[item.topic].publish(from_plain(item.type_name, item.message))
        count += 1
        node.spin_once(0.0)
    return count
