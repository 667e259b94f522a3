"""/rosout of embedded nodes: every log record a node emits, as rcl_interfaces/msg/Log, with the
QoS and field contents rcl's rosout output handler uses (so rqt_console and
`ros2 topic echo /rosout` show embedded nodes' logs)."""

from __future__ import annotations

import sys
from typing import Any

from rl_control.ros.middleware.api import QoS
from rl_control.ros.middleware.logger import LogRecord

ROSOUT_TOPIC = "/rosout"
LOG_TYPE = "rcl_interfaces/msg/Log"
# rcl_qos_profile_rosout_default (Jazzy): keep-last 1000, reliable, transient-local, lifespan 10 s
ROSOUT_QOS = QoS(depth=1000, reliability="reliable", durability="transient_local")
ROSOUT_LIFESPAN_S = 10.0


class RosoutPublisher:
    """The node's /rosout writer; called with each LogRecord its logger emits."""

    def __init__(self, node: Any) -> None:
        types = node._ctx.types
        self._log_cls = types.message_class(LOG_TYPE)
        self._time_cls = types.message_class("builtin_interfaces/msg/Time")
        self.topic_name = node.resolve_topic_name(ROSOUT_TOPIC)  # rcl applies remaps too
        self._writer = node._writer(
            LOG_TYPE, "rt" + self.topic_name, ROSOUT_QOS, self._log_cls,
            lifespan_s=ROSOUT_LIFESPAN_S,
        )  # fmt: skip

    def message(self, record: LogRecord) -> Any:
        """The Log message rcl would publish for record."""
        sec, nanosec = divmod(record.stamp_ns, 1_000_000_000)
        return self._log_cls(
            stamp=self._time_cls(sec=sec, nanosec=nanosec),
            level=record.level,
            name=record.name,
            msg=record.msg,
            file=record.file,
            function=record.function,
            line=max(0, record.line),
        )

    def __call__(self, record: LogRecord) -> None:
        try:
            self._writer.write(self.message(record))
        except Exception as exc:  # logging must never raise into node code (rcl also only warns)
            print(f"Failed to publish log message to rosout: {exc!r}", file=sys.stderr)
