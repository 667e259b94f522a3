"""The ROS graph as DDS discovery sees it: the topics `ros2 topic list -t` shows (every ROS
topic with a live writer or reader, from the DCPSPublication / DCPSSubscription built-in
topics) and who publishes each, as `ros2 topic info -v` answers it: the live writers joined to
their ROS nodes through ros_discovery_info (each participant's node → writer GID lists,
rmw_dds_common's contract).

Works across processes and machines of the domain, and with real rmw_cyclonedds nodes, since
both sides publish the same ros_discovery_info. A writer no node claims (plain DDS) is named by
its participant GUID, so nothing on the topic goes unlisted.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from cyclonedds.builtin import (
    BuiltinDataReader,
    BuiltinTopicDcpsPublication,
    BuiltinTopicDcpsSubscription,
)
from cyclonedds.sub import DataReader

from rl_control.ros.middleware.api import QoS
from rl_control.ros.middleware.embedded.config import dds_qos
from rl_control.ros.middleware.idltypes import ros_type_name

_TAKE = 256
#: s a query may reuse what the last one took (a monitor asks for ~30 topics per redraw)
_FRESH_S = 0.05
#: DDS topic prefix of ROS topics (services use rq/ and rr/, which `ros2 topic list` hides)
_TOPIC_PREFIX = "rt/"
#: ros_discovery_info is not keyed: one reader history holds every participant's latest sample
_INFO_DEPTH = 1000


class GraphCache:
    """Live writers per DDS topic and the ROS node of each, refreshed on every query."""

    def __init__(self, participant: Any, info_topic: Any) -> None:
        self._lock = threading.Lock()
        self._publications = BuiltinDataReader(participant, BuiltinTopicDcpsPublication)
        self._subscriptions = BuiltinDataReader(participant, BuiltinTopicDcpsSubscription)
        self._info = DataReader(
            participant, info_topic,
            qos=dds_qos(QoS(depth=_INFO_DEPTH, durability="transient_local"), writer=False),
        )  # fmt: skip
        #: writer GUID -> (DDS topic name, participant GUID, DDS type name)
        self._writers: dict[bytes, tuple[str, bytes, str]] = {}
        #: reader GUID -> (DDS topic name, DDS type name)
        self._readers: dict[bytes, tuple[str, str]] = {}
        #: participant GID -> {writer GID -> node's fully qualified name}
        self._nodes: dict[bytes, dict[bytes, str]] = {}
        self._taken_at = -1.0

    def refresh(self) -> None:
        """Take what discovery learnt since the last call (at most every ``_FRESH_S``)."""
        with self._lock:
            if time.monotonic() - self._taken_at < _FRESH_S:
                return
            self._taken_at = time.monotonic()
            for sample in _take_all(self._publications):
                if sample.sample_info.valid_data:
                    self._writers[sample.key.bytes] = (
                        sample.topic_name,
                        sample.participant_key.bytes,
                        sample.type_name,
                    )
                else:  # disposed: the writer is gone
                    self._writers.pop(sample.key.bytes, None)
            for sample in _take_all(self._subscriptions):
                if sample.sample_info.valid_data:
                    self._readers[sample.key.bytes] = (sample.topic_name, sample.type_name)
                else:
                    self._readers.pop(sample.key.bytes, None)
            for info in _take_all(self._info):
                if hasattr(info, "node_entities_info_seq"):  # skip dispose notifications
                    self._nodes[bytes(info.gid.data[:16])] = {
                        bytes(gid.data[:16]): _qualified(node.node_namespace, node.node_name)
                        for node in info.node_entities_info_seq
                        for gid in node.writer_gid_seq
                    }

    def topics(self) -> dict[str, list[str]]:
        """ROS topic name -> its ROS type names, for every topic with a live endpoint."""
        self.refresh()
        out: dict[str, set[str]] = {}
        with self._lock:
            endpoints = [(t, ty) for t, _, ty in self._writers.values()]
            endpoints += list(self._readers.values())
        for topic, type_name in endpoints:
            if topic.startswith(_TOPIC_PREFIX):
                name = "/" + topic[len(_TOPIC_PREFIX) :]
                out.setdefault(name, set()).add(ros_type_name(type_name))
        return {name: sorted(types) for name, types in sorted(out.items())}

    def publishers(self, dds_topic: str) -> list[str]:
        """Sorted names of the nodes (or bare participants) writing ``dds_topic`` now."""
        self.refresh()
        with self._lock:
            names = set()
            for writer, (topic, participant, _) in self._writers.items():
                if topic == dds_topic:
                    owner = self._nodes.get(participant, {}).get(writer)
                    names.add(owner or f"<dds participant {participant.hex()}>")
        return sorted(names)


def _take_all(reader: Any) -> list[Any]:
    """Every sample waiting in ``reader``, in batches of ``_TAKE``."""
    out: list[Any] = []
    while True:
        batch = reader.take(N=_TAKE)
        out.extend(batch)
        if len(batch) < _TAKE:
            return out


def _qualified(namespace: str, name: str) -> str:
    return namespace.rstrip("/") + "/" + name
