"""Process-wide DDS state of the embedded back-end: one participant shared by all nodes (as
rclpy's default context), the type factory and the ros_discovery_info publisher."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Any

from cyclonedds.domain import Domain, DomainParticipant
from cyclonedds.pub import DataWriter
from cyclonedds.qos import Policy, Qos
from cyclonedds.topic import Topic

from rl_control.ros.middleware.api import QoS
from rl_control.ros.middleware.embedded.config import cyclone_config, dds_qos, domain_id
from rl_control.ros.middleware.embedded.graph import GraphCache
from rl_control.ros.middleware.idltypes import TypeFactory
from rl_control.ros.middleware.typehash import type_hash

DISCOVERY_TOPIC = "ros_discovery_info"
DISCOVERY_TYPE = "rmw_dds_common/msg/ParticipantEntitiesInfo"


def gid_bytes(entity: Any) -> list[int]:
    """rmw gid of a DDS entity: its 16-byte GUID (RMW_GID_STORAGE_SIZE is 16 since Iron)."""
    return list(entity.get_guid().bytes)


class Context:
    """Owns the participant; nodes register their endpoints so `ros2 node list` sees them."""

    def __init__(self, types: TypeFactory | None = None) -> None:
        self.domain_id = domain_id()
        config = cyclone_config()
        # Keep the Domain alive: it carries the localhost-only discovery configuration.
        self._domain = Domain(self.domain_id, config) if config else None
        self.participant = DomainParticipant(
            self.domain_id, qos=Qos(Policy.Userdata(b"enclave=/;"))
        )
        self.types = types or TypeFactory()
        self._lock = threading.RLock()
        self._topics: dict[tuple[str, type], Topic] = {}
        self._hashes: dict[str, str] = {}
        # key -> (namespace, name, readers, writers); endpoints as (entity, Gid message)
        self._nodes: dict[int, tuple[str, str, list[Any], list[Any]]] = {}
        self._batch_depth = 0
        self.closed = False
        info_cls = self.types.message_class(DISCOVERY_TYPE)
        self._info_cls = info_cls
        self._gid_cls = self.types.message_class("rmw_dds_common/msg/Gid")
        self._node_cls = self.types.message_class("rmw_dds_common/msg/NodeEntitiesInfo")
        self._info_topic = Topic(self.participant, DISCOVERY_TOPIC, info_cls)
        self._graph: GraphCache | None = None  # made on the first graph query
        self._info_writer = DataWriter(
            self.participant,
            self._info_topic,
            qos=dds_qos(
                QoS(depth=1, durability="transient_local"),
                writer=True,
                user_data=f"typehash={type_hash(DISCOVERY_TYPE)};".encode(),
            ),
        )

    def graph(self) -> GraphCache:
        """The domain's publishers per topic (readers made on first use, then kept)."""
        with self._lock:
            if self.closed:
                raise RuntimeError("the embedded middleware is shut down")
            if self._graph is None:
                self._graph = GraphCache(self.participant, self._info_topic)
            return self._graph

    def topic(self, dds_name: str, cls: type) -> Topic:
        """One Topic entity per (name, type) in this participant."""
        with self._lock:
            key = (dds_name, cls)
            if key not in self._topics:
                self._topics[key] = Topic(self.participant, dds_name, cls)
            return self._topics[key]

    def user_data(self, type_name: str) -> bytes:
        """Endpoint USER_DATA announcing the REP 2011 type hash."""
        with self._lock:
            if type_name not in self._hashes:
                self._hashes[type_name] = type_hash(type_name)
            return f"typehash={self._hashes[type_name]};".encode()

    def register_node(self, key: int, namespace: str, name: str) -> None:
        with self._lock:
            self._nodes[key] = (namespace, name, [], [])
        self.publish_graph()

    def add_endpoint(self, key: int, entity: Any, *, writer: bool) -> None:
        gid = self._gid_cls(data=gid_bytes(entity))  # computed once, published many times
        with self._lock:
            self._nodes[key][3 if writer else 2].append((entity, gid))
        self.publish_graph()

    def remove_endpoint(self, key: int, entity: Any) -> None:
        with self._lock:
            node = self._nodes.get(key)
            for seq in (node[2], node[3]) if node else ():
                seq[:] = [e for e in seq if e[0] is not entity]
        self.publish_graph()

    @contextlib.contextmanager
    def batch(self) -> Iterator[None]:
        """Publish the graph once on leaving instead of on every change inside (a node
        creates a dozen endpoints in its constructor)."""
        with self._lock:
            self._batch_depth += 1
        try:
            yield
        finally:
            with self._lock:
                self._batch_depth -= 1
            self.publish_graph()

    def unregister_node(self, key: int) -> None:
        with self._lock:
            self._nodes.pop(key, None)
        self.publish_graph()

    def publish_graph(self) -> None:
        """Publish ParticipantEntitiesInfo listing every node with its reader/writer GIDs."""
        with self._lock:
            if self.closed or self._batch_depth:
                return
            nodes = [
                self._node_cls(
                    node_namespace=ns,
                    node_name=name,
                    reader_gid_seq=[gid for _, gid in readers],
                    writer_gid_seq=[gid for _, gid in writers],
                )
                for ns, name, readers, writers in self._nodes.values()
            ]
            info = self._info_cls(
                gid=self._gid_cls(data=gid_bytes(self.participant)), node_entities_info_seq=nodes
            )
            self._info_writer.write(info)

    def close(self) -> None:
        """Drop the participant (and with it every entity of every node)."""
        with self._lock:
            if self.closed:
                return
            self.closed = True
            self._nodes.clear()
            self._topics.clear()
            self._info_writer = None
            self._graph = None
            self.participant = None
            self._domain = None
