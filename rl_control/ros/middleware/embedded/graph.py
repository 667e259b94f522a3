"""Who publishes each topic on the DDS domain, as `ros2 topic info` answers it: live DDS
writers from discovery (the DCPSPublication built-in topic) joined to their ROS nodes through
ros_discovery_info (each participant's node → writer GID lists, rmw_dds_common's contract).

Works across processes and machines of the domain, and with real rmw_cyclonedds nodes, since
both sides publish the same ros_discovery_info. A writer no node claims (plain DDS) is named by
its participant GUID, so nothing on the topic goes unlisted.
"""

from __future__ import annotations

import threading
from typing import Any

from cyclonedds.builtin import BuiltinDataReader, BuiltinTopicDcpsPublication
from cyclonedds.sub import DataReader

from rl_control.ros.middleware.api import QoS
from rl_control.ros.middleware.embedded.config import dds_qos

_TAKE = 256
#: ros_discovery_info is not keyed: one reader history holds every participant's latest sample
_INFO_DEPTH = 1000


class GraphCache:
    """Live writers per DDS topic and the ROS node of each, refreshed on every query."""

    def __init__(self, participant: Any, info_topic: Any) -> None:
        self._lock = threading.Lock()
        self._publications = BuiltinDataReader(participant, BuiltinTopicDcpsPublication)
        self._info = DataReader(
            participant, info_topic,
            qos=dds_qos(QoS(depth=_INFO_DEPTH, durability="transient_local"), writer=False),
        )  # fmt: skip
        #: writer GUID -> (DDS topic name, participant GUID)
        self._writers: dict[bytes, tuple[str, bytes]] = {}
        #: participant GID -> {writer GID -> node's fully qualified name}
        self._nodes: dict[bytes, dict[bytes, str]] = {}

    def refresh(self) -> None:
        """Take what discovery learnt since the last call."""
        with self._lock:
            while batch := self._publications.take(N=_TAKE):
                for sample in batch:
                    key = sample.key.bytes
                    if sample.sample_info.valid_data:
                        self._writers[key] = (sample.topic_name, sample.participant_key.bytes)
                    else:  # disposed: the writer is gone
                        self._writers.pop(key, None)
                if len(batch) < _TAKE:
                    break
            while batch := self._info.take(N=_TAKE):
                for info in batch:
                    if hasattr(info, "node_entities_info_seq"):  # skip dispose notifications
                        self._nodes[bytes(info.gid.data[:16])] = {
                            bytes(gid.data[:16]): _qualified(node.node_namespace, node.node_name)
                            for node in info.node_entities_info_seq
                            for gid in node.writer_gid_seq
                        }
                if len(batch) < _TAKE:
                    break

    def publishers(self, dds_topic: str) -> list[str]:
        """Sorted names of the nodes (or bare participants) writing ``dds_topic`` now."""
        self.refresh()
        with self._lock:
            names = set()
            for writer, (topic, participant) in self._writers.items():
                if topic == dds_topic:
                    owner = self._nodes.get(participant, {}).get(writer)
                    names.add(owner or f"<dds participant {participant.hex()}>")
        return sorted(names)


def _qualified(namespace: str, name: str) -> str:
    return namespace.rstrip("/") + "/" + name
