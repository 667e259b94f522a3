"""Embedded-back-end node: pub/sub, timers, parameters and clock over Cyclone DDS."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from cyclonedds._clayer import ddspy_take
from cyclonedds.core import (
    GuardCondition,
    InstanceState,
    ReadCondition,
    SampleState,
    ViewState,
    WaitSet,
)
from cyclonedds.pub import DataWriter
from cyclonedds.sub import DataReader

from rl_control.ros.middleware import api
from rl_control.ros.middleware.api import QOS_CLOCK, QoS, as_qos
from rl_control.ros.middleware.convert import stamp_to_seconds
from rl_control.ros.middleware.embedded.config import dds_qos
from rl_control.ros.middleware.embedded.context import Context
from rl_control.ros.middleware.embedded.parameter_services import ParameterServices
from rl_control.ros.middleware.embedded.rosout import RosoutPublisher
from rl_control.ros.middleware.logger import ConsoleLogger
from rl_control.ros.middleware.names import resolve_topic_name
from rl_control.ros.middleware.params import Parameters
from rl_control.ros.middleware.ros_args import NodeConfig

_ANY = SampleState.Any | ViewState.Any | InstanceState.Any
_TAKE_BATCH = 64


class EmbeddedPublisher(api.Publisher):
    def __init__(self, node: EmbeddedNode, cls: type, topic_name: str, writer: DataWriter) -> None:
        self._node, self._cls, self.topic_name, self._writer = node, cls, topic_name, writer

    def publish(self, msg: Any) -> None:
        if not isinstance(msg, self._cls):
            raise TypeError(
                f"publisher on {self.topic_name} takes {self._cls.__name__}, "
                f"got {type(msg).__name__}"
            )
        self._writer.write(msg)

    def get_subscription_count(self) -> int:
        return len(self._writer.get_matched_subscriptions())


class EmbeddedSubscription(api.Subscription):
    def __init__(
        self, topic_name: str, cls: type, reader: DataReader, callback: Callable[[Any], None]
    ) -> None:
        self.topic_name, self.cls, self.reader, self.callback = topic_name, cls, reader, callback
        self.condition = ReadCondition(reader, _ANY)
        self.destroyed = False

    def dispatch(self) -> int:
        """Run the callback on every sample waiting; returns how many ran."""
        count = 0
        while not self.destroyed:  # a callback may destroy its own or another subscription
            items, taken = self._take()
            for item in items:
                self.callback(item)
            count += len(items)
            if taken < _TAKE_BATCH:
                return count
        return count

    def delete(self) -> None:
        """Delete the read condition, then the reader: explicitly, as their handles must not
        wait for the garbage collector (the reader would stay matched until then)."""
        self.destroyed = True
        self.condition.__del__()
        self.reader.__del__()

    def _take(self) -> tuple[list[Any], int]:
        """One batch: the messages to deliver, and how many samples were taken."""
        samples = self.reader.take(N=_TAKE_BATCH)
        # skip dispose/unregister notifications
        return [s for s in samples if isinstance(s, self.cls)], len(samples)


class RawSubscription(EmbeddedSubscription):
    """Delivers each sample's serialized bytes, undecoded (``raw=True``). cyclonedds'
    DataReader has no public take without decoding; this is its own take minus the decode."""

    def _take(self) -> tuple[list[Any], int]:
        taken = ddspy_take(self.reader._ref, _ANY, _TAKE_BATCH)
        if isinstance(taken, int):  # a DDS return code: the reader is gone
            return [], 0
        return [data for data, info in taken if info.valid_data], len(taken)


class EmbeddedTimer(api.Timer):
    def __init__(self, node: EmbeddedNode, period_s: float, callback: Callable[[], None]) -> None:
        self._node, self.period, self.callback = node, period_s, callback
        self.next_due = node.now() + period_s
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class EmbeddedNode(api.Node):
    """A node of the embedded back-end. Callbacks run only inside spin_once(), serially."""

    def __init__(self, context: Context, config: NodeConfig) -> None:
        self._ctx = context
        self.name, self.namespace = config.name, config.namespace
        self._remaps = config.remaps
        self._logger = ConsoleLogger(self.fully_qualified_name.lstrip("/").replace("/", "."),
                                     config.log_level)  # fmt: skip
        self._params = Parameters(config.parameters)
        # callbacks of one node never overlap; re-entrant: a callback may destroy a subscription
        self._spin_lock = threading.RLock()
        self._waitset = WaitSet(context.participant)
        self._guard = GuardCondition(context.participant)
        self._waitset.attach(self._guard)
        self._subs: list[EmbeddedSubscription] = []
        self._timers: list[EmbeddedTimer] = []
        self._services: list[Any] = []
        self._entities: list[Any] = []
        self._destroyed = False
        self._guests: list[EmbeddedNode] = []  # nodes that joined this one (composition)
        self._key = id(self)
        self._sim_time: float | None = None
        self._clock_reader: DataReader | None = None
        self._use_sim_time = False
        self._param_services: ParameterServices | None = None
        with context.batch():  # one ros_discovery_info sample for all of the below
            context.register_node(self._key, self.namespace, self.name)
            # rcl's per-node extras: /rosout, parameter services and /parameter_events
            self._logger.sink = RosoutPublisher(self)
            self._param_services = ParameterServices(self)
            self._set_use_sim_time(bool(self.declare_parameter("use_sim_time", False)))

    # -- endpoints ---------------------------------------------------------------------
    def resolve_topic_name(self, topic: str) -> str:
        return resolve_topic_name(topic, self.name, self.namespace, self._remaps)

    def get_topic_names_and_types(self) -> list[tuple[str, list[str]]]:
        self._check_alive()
        return list(self._ctx.graph().topics().items())

    def get_publisher_names(self, topic: str) -> list[str]:
        self._check_alive()
        return self._ctx.graph().publishers("rt" + self.resolve_topic_name(topic))

    def _check_alive(self) -> None:
        if self._destroyed or self._ctx.closed:
            raise RuntimeError(f"node {self.fully_qualified_name} is destroyed or shut down")

    def _writer(
        self, type_name: str, dds_name: str, qos: QoS, cls: type, lifespan_s: float | None = None
    ) -> DataWriter:
        topic = self._ctx.topic(dds_name, cls)
        data = self._ctx.user_data(type_name)
        writer = DataWriter(
            self._ctx.participant,
            topic,
            dds_qos(qos, writer=True, user_data=data, lifespan_s=lifespan_s),
        )
        self._entities.append(writer)
        self._ctx.add_endpoint(self._key, writer, writer=True)
        return writer

    def _reader(
        self, type_name: str, topic: str, qos: QoS, cls: type | None = None, dds: str = ""
    ) -> DataReader:
        cls = cls or self._ctx.types.message_class(type_name)
        dds_name = dds or "rt" + self.resolve_topic_name(topic)
        data = self._ctx.user_data(type_name)
        reader = DataReader(
            self._ctx.participant,
            self._ctx.topic(dds_name, cls),
            dds_qos(qos, writer=False, user_data=data),
        )
        self._entities.append(reader)
        self._ctx.add_endpoint(self._key, reader, writer=False)
        return reader

    def create_publisher(self, type_name: str, topic: str, qos: int | QoS = 10) -> api.Publisher:
        self._check_alive()
        cls = self._ctx.types.message_class(type_name)
        name = self.resolve_topic_name(topic)
        writer = self._writer(type_name, "rt" + name, as_qos(qos), cls)
        return EmbeddedPublisher(self, cls, name, writer)

    def create_subscription(
        self,
        type_name: str,
        topic: str,
        callback: Callable[[Any], None],
        qos: int | QoS = 10,
        raw: bool = False,
    ) -> api.Subscription:
        self._check_alive()
        if not callable(callback):
            raise TypeError(f"subscription callback for {topic!r} is not callable")
        cls = self._ctx.types.message_class(type_name)
        reader = self._reader(type_name, topic, as_qos(qos), cls)
        kind = RawSubscription if raw else EmbeddedSubscription
        sub = kind(self.resolve_topic_name(topic), cls, reader, callback)
        self._attach(sub)
        return sub

    def destroy_subscription(self, subscription: api.Subscription) -> None:
        if subscription not in self._subs:
            raise ValueError(f"{subscription!r} is not a live subscription of "
                             f"{self.fully_qualified_name}")  # fmt: skip
        with self._spin_lock:
            self._subs.remove(subscription)
            self._waitset.detach(subscription.condition)
            self._entities.remove(subscription.reader)
            if not self._ctx.closed:
                self._ctx.remove_endpoint(self._key, subscription.reader)
            subscription.delete()

    def _attach(self, sub: EmbeddedSubscription) -> None:
        self._waitset.attach(sub.condition)
        self._subs.append(sub)  # list append is atomic; spin_once iterates over a copy

    def create_timer(self, period_s: float, callback: Callable[[], None]) -> api.Timer:
        self._check_alive()
        if not isinstance(period_s, (int, float)) or not period_s > 0:
            raise ValueError(
                f"timer period must be a positive number of seconds, got {period_s!r}"
            )
        timer = EmbeddedTimer(self, float(period_s), callback)
        self._timers.append(timer)
        self._guard.set(True)  # a spinning thread recomputes its wait deadline
        return timer

    def create_service(
        self, srv_type: str, name: str, callback: Callable[[Any, Any], Any]
    ) -> api.Service:
        from rl_control.ros.middleware.embedded.services import EmbeddedService

        self._check_alive()
        service = EmbeddedService(self, self._ctx, srv_type, name, callback)
        self._waitset.attach(service.condition)
        self._services.append(service)
        return service

    def create_client(self, srv_type: str, name: str) -> api.Client:
        from rl_control.ros.middleware.embedded.services import EmbeddedClient

        self._check_alive()
        return EmbeddedClient(self, self._ctx, srv_type, name)

    # -- parameters, logging, clock --------------------------------------------------------
    def declare_parameter(self, name: str, default: Any = None) -> Any:
        value = self._params.declare(name, default)
        if self._param_services is not None:
            self._param_services.publish_event(new={name: value})
        return value

    def _on_parameters_set(self, values: dict[str, Any]) -> None:
        """Parameters changed through the parameter services: apply what the node itself
        uses (use_sim_time); node code sees new values through get_parameter()."""
        if "use_sim_time" in values:
            self._set_use_sim_time(bool(values["use_sim_time"]))

    def _set_use_sim_time(self, enabled: bool) -> None:
        if enabled == self._use_sim_time:
            return
        if enabled and self._clock_reader is None:
            self._clock_reader = self._reader("rosgraph_msgs/msg/Clock", "/clock", QOS_CLOCK)
        self._use_sim_time = enabled
        now = self.now()
        for timer in self._timers:  # periods restart on the new clock
            timer.next_due = now + timer.period

    def get_parameter(self, name: str) -> Any:
        return self._params.get(name)

    def get_logger(self) -> api.Logger:
        return self._logger

    def _poll_clock(self) -> None:
        if self._clock_reader is None:
            return
        for sample in self._clock_reader.take(N=_TAKE_BATCH):
            clock = getattr(sample, "clock", None)
            if clock is not None:
                self._sim_time = stamp_to_seconds(clock)

    def now(self) -> float:
        if not self._use_sim_time:
            return time.time()
        self._poll_clock()
        return self._sim_time if self._sim_time is not None else 0.0

    # -- executor ----------------------------------------------------------------------
    def _run_due_timers(self) -> int:
        ran = 0
        now = self.now()
        for timer in list(self._timers):
            if timer.cancelled:
                self._timers.remove(timer)
            elif now >= timer.next_due:
                # Skip missed periods instead of bursting, like rclpy's timers.
                missed = int((now - timer.next_due) // timer.period)
                timer.next_due += (missed + 1) * timer.period
                timer.callback()
                ran += 1
        return ran

    def _wait_budget(self, timeout: float | None) -> float:
        budget = 3600.0 if timeout is None else max(0.0, timeout)
        if self._timers:
            if self._use_sim_time:  # sim time advances by messages, not by the wall clock
                budget = min(budget, 0.002)
            else:
                due = min(t.next_due for t in self._timers) - time.time()
                budget = min(budget, max(0.0, due))
        return budget

    def spin_once(self, timeout: float | None = None) -> None:
        if self._destroyed or self._ctx.closed:
            time.sleep(min(timeout or 0.0, 0.05))
            return
        self._guests = [guest for guest in self._guests if not guest._destroyed]
        nodes = [self, *self._guests]
        ran = False
        for node in nodes:
            with node._spin_lock:
                ran = node._run_due_timers() > 0 or ran
        if ran:
            return
        budget = min(node._wait_budget(timeout) for node in nodes)
        if budget > 0:  # one wait set for the host and its guests (see join)
            self._waitset.wait(int(budget * 1e9))
        for node in nodes:  # in join order: a message to a later node is handled at once
            with node._spin_lock:
                node._dispatch()

    def _dispatch(self) -> None:
        self._guard.take()  # the clock is taken when read (now()), not on every wake-up
        for sub in list(self._subs):
            sub.dispatch()
        for service in list(self._services):
            service.dispatch()
        self._run_due_timers()

    def join(self, host: api.Node) -> None:
        if not isinstance(host, EmbeddedNode) or host._ctx is not self._ctx:
            raise TypeError("a node can only join a node of the same process and back-end")
        if host is self or self._guests or host in self._guests:
            raise ValueError(f"{self.fully_qualified_name} cannot join {host.name}")
        with self._spin_lock:
            conditions = [self._guard, *(s.condition for s in self._subs)]
            for entity in conditions + [s.condition for s in self._services]:
                self._waitset.detach(entity)
                host._waitset.attach(entity)
            self._waitset = host._waitset  # later subscriptions and services attach there
            host._guests.append(self)
        host.wake()

    def wake(self) -> None:
        """Interrupt a spin_once wait (used by shutdown)."""
        if not self._destroyed:
            self._guard.set(True)

    def destroy(self) -> None:
        if self._destroyed:
            return
        self._destroyed = True
        self._logger.sink = None
        self._param_services = None
        self._guard.set(True)
        with self._spin_lock:
            self._subs.clear()
            self._timers.clear()
            self._services.clear()
            if not self._ctx.closed:
                self._ctx.unregister_node(self._key)
            self._entities.clear()
