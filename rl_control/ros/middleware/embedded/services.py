"""Services over the rmw_cyclonedds_cpp wire: rq/<name>Request and rr/<name>Reply topics whose
samples start with the cdds request header (uint64 client id, int64 sequence number)."""

from __future__ import annotations

import dataclasses
import itertools
import threading
import time
from collections.abc import Callable
from typing import Any

from cyclonedds.core import InstanceState, ReadCondition, SampleState, ViewState, WaitSet
from cyclonedds.idl import make_idl_struct
from cyclonedds.idl import types as t

from rl_control.ros.middleware import api
from rl_control.ros.middleware.api import QoS
from rl_control.ros.middleware.idltypes import TypeFactory, dds_type_name
from rl_control.ros.middleware.msgdef import Field, FieldType, MessageSpec, split_type_name
from rl_control.ros.middleware.xcdr import install as install_codec

# rmw_cyclonedds uses the ROS services default profile: reliable, volatile, keep-last 10.
SERVICE_QOS = QoS(depth=10)
_ANY = SampleState.Any | ViewState.Any | InstanceState.Any
_WIRE_CACHE: dict[type, type] = {}
_WIRE_LOCK = threading.Lock()
_HEADER_FIELDS = (("rmw_client_id", "uint64"), ("rmw_sequence_number", "int64"))


def wire_spec(spec: MessageSpec) -> MessageSpec:
    """spec with the request header fields in front, as wire_class lays them out."""
    header = tuple(Field(name, FieldType(base)) for name, base in _HEADER_FIELDS)
    return MessageSpec(spec.type_name, header + spec.fields, ())


def wire_class(cls: type, type_name: str, types: TypeFactory) -> type:
    """cls (built by types) with the request header prepended, under the same DDS type name;
    its samples go through the generated codec like every message's."""
    with _WIRE_LOCK:
        if cls not in _WIRE_CACHE:
            fields = {name: getattr(t, base) for name, base in _HEADER_FIELDS}
            fields.update({f.name: f.type for f in dataclasses.fields(cls)})
            wire = make_idl_struct(cls.__name__ + "Wire", dds_type_name(type_name), fields)
            spec = wire_spec(types.library.spec(type_name))
            # plain_init: the wire class has no _ros_setattr, decoded samples use its __init__
            install_codec(wire, spec, types.library.spec, types.message_class, plain_init=True)
            _WIRE_CACHE[cls] = wire
        return _WIRE_CACHE[cls]


def _wrap(wire: type, client_id: int, seq: int, msg: Any) -> Any:
    values = {f.name: getattr(msg, f.name) for f in dataclasses.fields(msg)}
    return wire(rmw_client_id=client_id, rmw_sequence_number=seq, **values)


def _unwrap(cls: type, sample: Any) -> Any:
    return cls(**{f.name: getattr(sample, f.name) for f in dataclasses.fields(cls)})


def _names(srv_type: str) -> tuple[str, str]:
    pkg, kind, name = split_type_name(srv_type)
    if kind != "srv":
        raise ValueError(f"{srv_type!r} is not a service type ('pkg/srv/Name')")
    return f"{pkg}/srv/{name}_Request", f"{pkg}/srv/{name}_Response"


class _Endpoint:
    """What server and client share: request/response classes, their wire forms, the name."""

    def __init__(self, node: Any, ctx: Any, srv_type: str, name: str) -> None:
        self._req_name, self._resp_name = _names(srv_type)
        classes = ctx.types.service_class(srv_type)
        self._req_cls, self._resp_cls = classes.Request, classes.Response
        self._req_wire = wire_class(self._req_cls, self._req_name, ctx.types)
        self._resp_wire = wire_class(self._resp_cls, self._resp_name, ctx.types)
        self.service_name = node.resolve_topic_name(name)


class EmbeddedService(_Endpoint, api.Service):
    """Server side: takes requests in the node's spin_once and writes replies."""

    def __init__(
        self, node: Any, ctx: Any, srv_type: str, name: str, callback: Callable[[Any, Any], Any]
    ) -> None:
        if not callable(callback):
            raise TypeError(f"service callback for {name!r} is not callable")
        super().__init__(node, ctx, srv_type, name)
        req_name, resp_name = self._req_name, self._resp_name
        self._callback, self._node = callback, node
        self._reader = node._reader(
            req_name, "", SERVICE_QOS, self._req_wire, dds=f"rq{self.service_name}Request"
        )
        self._writer = node._writer(
            resp_name, f"rr{self.service_name}Reply", SERVICE_QOS, self._resp_wire
        )
        self.condition = ReadCondition(self._reader, _ANY)

    def dispatch(self) -> int:
        count = 0
        for sample in self._reader.take(N=64):
            if not isinstance(sample, self._req_wire):
                continue
            request = _unwrap(self._req_cls, sample)
            try:
                response = self._callback(request, self._resp_cls())
            except Exception as exc:  # a failing handler must not kill the node's executor
                self._node.get_logger().error(f"service {self.service_name} handler: {exc!r}")
                continue
            if not isinstance(response, self._resp_cls):
                self._node.get_logger().error(
                    f"service {self.service_name} handler returned {type(response).__name__}"
                )
                continue
            reply = _wrap(
                self._resp_wire, sample.rmw_client_id, sample.rmw_sequence_number, response
            )
            self._await_reply_reader(sample)
            self._writer.write(reply)
            count += 1
        return count

    def _await_reply_reader(self, sample: Any, timeout: float = 1.0) -> None:
        """Wait (bounded) until the requester's reply reader is matched, as rmw_cyclonedds does.

        Discovery is asymmetric: the client may see our endpoints before our reply writer has
        seen its reader, and a volatile reply written then would be lost.
        """
        try:
            handle = sample.sample_info.publication_handle
            participant = self._reader.get_matched_publication_data(handle).participant_key
        except Exception:  # no sample info or the requester left already: nothing to wait for
            return
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            for sub in self._writer.get_matched_subscriptions():
                try:
                    if self._writer.get_matched_subscription_data(sub).participant_key == (
                        participant
                    ):
                        return
                except Exception:  # unmatched between the two calls
                    continue
            time.sleep(0.002)


class EmbeddedClient(_Endpoint, api.Client):
    """Client side: call() writes the request and waits on its own reply reader, so it works
    from inside callbacks and without the node spinning."""

    def __init__(self, node: Any, ctx: Any, srv_type: str, name: str) -> None:
        super().__init__(node, ctx, srv_type, name)
        req_name, resp_name = self._req_name, self._resp_name
        self._writer = node._writer(
            req_name, f"rq{self.service_name}Request", SERVICE_QOS, self._req_wire
        )
        self._reader = node._reader(
            resp_name, "", SERVICE_QOS, self._resp_wire, dds=f"rr{self.service_name}Reply"
        )
        self._client_id = self._writer.get_instance_handle() & 0xFFFF_FFFF_FFFF_FFFF
        self._seq = itertools.count(1)
        self._lock = threading.Lock()
        self._waitset = WaitSet(ctx.participant)
        self._waitset.attach(ReadCondition(self._reader, _ANY))

    def wait_for_service(self, timeout: float = 5.0) -> bool:
        """True once a server's request reader and reply writer are both matched."""
        end = time.monotonic() + timeout
        while True:
            if (
                self._writer.get_matched_subscriptions()
                and self._reader.get_matched_publications()
            ):
                return True
            if time.monotonic() >= end:
                return False
            time.sleep(0.005)

    def call(self, request: Any, timeout: float = 5.0) -> Any:
        if not isinstance(request, self._req_cls):
            raise TypeError(
                f"client {self.service_name} takes {self._req_cls.__name__}, "
                f"got {type(request).__name__}"
            )
        end = time.monotonic() + timeout
        if not self.wait_for_service(timeout):
            raise TimeoutError(f"service {self.service_name} not available after {timeout}s")
        with self._lock:  # one outstanding request per client keeps matching trivial
            seq = next(self._seq)
            self._writer.write(_wrap(self._req_wire, self._client_id, seq, request))
            while (left := end - time.monotonic()) > 0:
                self._waitset.wait(int(left * 1e9))
                for sample in self._reader.take(N=16):
                    if (
                        isinstance(sample, self._resp_wire)
                        and sample.rmw_client_id == self._client_id
                        and sample.rmw_sequence_number == seq
                    ):
                        return _unwrap(self._resp_cls, sample)
        raise TimeoutError(f"service {self.service_name} gave no reply within {timeout}s")
