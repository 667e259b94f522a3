"""What the monitor knows about the graph: rates of every topic, the robot's joints and
pose, the MPC plan and the training curve, filled by subscriptions on one node.

The node subscribes every topic of :mod:`rl_control.roles.topics` with the table's QoS
(latched ones such as robot_description arrive even if published before the monitor
started), so it watches a graph anywhere on the DDS domain. Callbacks only copy a few
numbers: the graph's publishers see one more reader, nothing else.

Topics the table does not declare (``/rosout``, a worker's ``/worker_1/joint_states``, a
user's own) are found by discovery every ``DISCOVER_PERIOD`` s and added, so the table lists
what `ros2 topic list` would; they are counted too where this process knows their type.

Messages are taken in batches every ``SAMPLE_PERIOD`` s (the page's redraw rate), not as
each arrives, so the monitor wakes 20 times a second however fast the graph steps. Topics it
only counts, and the per-step topics (``topics.PER_STEP``), arrive undecoded (raw CDR bytes,
rclpy's ``raw=True``) into best-effort readers deep enough to hold a batch (``COUNT_QOS``):
counting a message costs a Python call, not a decode, and never an acknowledgement the
graph's writers wait for. Of a per-step topic the views draw (joints, base
pose, MPC plan) only the newest message of each batch is decoded. Only the sparse topics the
views read (robot_description, training_stats) are decoded message by message. The per-step
topics no view draws are counted one at a time, a second each (:mod:`.rotation`): every
reader on a per-step topic is one more send for each of its writers, on the lock-step
graph's critical path; their rates are sampled. Of two topics that carry the same drawn
thing (``SOURCES``: robot_joint_states or joint_states, odom or ground_truth/odom) only the
first that has a publisher is read continuously; the other joins the rotation.

Light mode (``light=True``, `rl-control monitor --light`): the per-step topics are not
counted at all. The few the views draw are sampled instead: a best-effort reader of depth 1,
so the graph's writers get no acknowledgements from the monitor to wait for.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from rl_control.roles.topic_rates import TopicRates
from rl_control.roles.topics import BY_NAME, PER_STEP, TOPICS
from rl_control.ros import middleware as mw
from rl_control.ros.bag import qos_of
from rl_control.ros.monitor.rotation import COUNT_QOS, SLOT, RotatingCounter

#: training_stats fields kept for the curves and the table
STAT_FIELDS = ("env_steps", "episodes", "policy_version", "mean_return", "last_return",
               "steps_per_second", "policy_loss", "value_loss", "entropy")  # fmt: skip
#: s between batched takes of the graph's messages (the page draws at 20 Hz)
SAMPLE_PERIOD = 0.05
#: s between discovery passes for topics the table does not declare
DISCOVER_PERIOD = 1.0
#: light mode: the latest message only, never acknowledged
SAMPLE_QOS = mw.QoS(depth=1, reliability="best_effort")
#: per-step topics that carry the same drawn thing: the views read the first one that has a
#: publisher, and only that one continuously (one extra reader per step, not two, for the
#: graph's writers); until discovery has seen a publisher, all of them
SOURCES = (("/robot_joint_states", "/joint_states"), ("/odom", "/ground_truth/odom"))


@dataclass
class GraphState:
    """Latest values seen on the graph (plain Python, for the views)."""

    description: str = ""
    joints: dict[str, float] = field(default_factory=dict)
    #: base pose: (x, y, z) and quaternion (w, x, y, z), from odometry
    base: tuple[tuple[float, float, float], tuple[float, float, float, float]] | None = None
    plan: list[tuple[float, float, float]] = field(default_factory=list)
    stats: dict[str, float] = field(default_factory=dict)
    curve: deque[tuple[float, float]] = field(default_factory=lambda: deque(maxlen=2000))
    version: int = 0  # bumped on every change the views draw


class GraphMonitor:
    """Subscribes the graph's topics on ``node`` and keeps a :class:`GraphState`;
    ``rotation_slot``: s each undrawn per-step topic is counted in its turn."""

    def __init__(
        self, node: mw.Node, window: float = 5.0, clock: Callable[[], float] = time.monotonic,
        light: bool = False, rotation_slot: float = SLOT,
    ) -> None:  # fmt: skip
        self.node, self.light = node, light
        #: per-step topics this monitor does not count (light mode)
        self.unwatched = tuple(t.name for t in TOPICS if light and t.name in PER_STEP)
        watched = [t for t in TOPICS if t.name not in self.unwatched]
        self.rates = TopicRates(window, clock, watched, publishers=node.get_publisher_names)
        self._clock, self._discovered_at = clock, -math.inf
        self._listed = {t.name for t in TOPICS}
        self.state = GraphState()
        self._robot_states_seen = False
        handlers: dict[str, Callable[[Any], None]] = {
            "/robot_description": self._description,
            "/robot_joint_states": self._robot_joints,
            "/joint_states": self._joints_if_no_robot_states,
            "/odom": self._odom,
            "/ground_truth/odom": self._odom,
            "/plan_markers": self._plan,
            "/training_stats": self._stats,
        }
        self._handlers = handlers
        self.rotation = RotatingCounter(node, self.rates, clock, rotation_slot)
        #: per-step topic -> (type, newest raw message of this batch) for the views
        self._newest: dict[str, tuple[str, bytes]] = {}
        self._source_subs: dict[str, mw.Subscription] = {}
        for topic in TOPICS:
            handle = handlers.get(topic.name)
            if any(topic.name in group for group in SOURCES):
                self._subscribe_source(topic.name)
            elif topic.name in self.unwatched:
                if handle is not None:  # light mode: sampled, not counted
                    node.create_subscription(topic.type, topic.name, handle, SAMPLE_QOS)
            elif handle is not None and topic.name not in PER_STEP:
                callback = self._counted(topic.name, handle)
                node.create_subscription(topic.type, topic.name, callback, qos_of(topic.name))
            elif handle is None and topic.name in PER_STEP:
                self.rotation.add(topic.name, topic.type)
            else:
                self._count_raw(topic.name, topic.type)
        self.select_sources()

    @property
    def sources(self) -> list[str]:
        """The :data:`SOURCES` topics read continuously now."""
        return sorted(self._source_subs)

    def select_sources(self) -> None:
        """Read each of :data:`SOURCES`' things from its first topic with a publisher only;
        the others are counted in the rotation (full mode) or not at all (light)."""
        for group in SOURCES:
            chosen = next((n for n in group if self.node.get_publisher_names(n)), None)
            if chosen is None:
                continue  # nothing discovered yet: keep reading them all
            if chosen not in self._source_subs:
                self._subscribe_source(chosen)
            for name in group:
                if name != chosen and name in self._source_subs:
                    self.node.destroy_subscription(self._source_subs.pop(name))
                    if not self.light:
                        self.rotation.add(name, BY_NAME[name].type)

    def _subscribe_source(self, name: str) -> None:
        if self.light:
            sub = self.node.create_subscription(
                BY_NAME[name].type, name, self._handlers[name], SAMPLE_QOS
            )
        else:
            self.rotation.remove(name)
            sub = self._count_raw(name, BY_NAME[name].type)
        self._source_subs[name] = sub

    def discover(self) -> list[str]:
        """List (and, where possible, count) the domain's topics the table lacks; returns
        the new ones. A per-step topic under a namespace stays uncounted in light mode."""
        self._discovered_at, new = self._clock(), []
        self.select_sources()
        for name, types in self.node.get_topic_names_and_types():
            if name in self._listed:
                continue
            self._listed.add(name)
            new.append(name)
            type_ = types[0] if len(types) == 1 else "?"
            per_step = "/" + name.rsplit("/", 1)[-1] in PER_STEP  # e.g. a worker's
            if self.light and per_step:
                self.unwatched += (name,)  # as the table's own per-step topics: not listed
                continue
            self.rates.declare(name, type_)
            if not _buildable(type_):
                self.unwatched += (name,)
            elif per_step:  # no view draws a namespaced one: counted in the rotation
                self.rotation.add(name, type_)
            else:
                self._count_raw(name, type_)
        return new

    def spin(self, seconds: float) -> None:
        """Take the graph's messages for ``seconds`` of wall time, in batches every
        ``SAMPLE_PERIOD`` s."""
        if self._clock() - self._discovered_at >= DISCOVER_PERIOD:
            self.discover()
        end = time.monotonic() + seconds
        while mw.ok() and (left := end - time.monotonic()) > 0:
            time.sleep(min(left, SAMPLE_PERIOD))
            self.take()

    def take(self) -> None:
        """Handle what is waiting now: count it, and decode the newest per-step message of
        each topic the views draw."""
        self.node.spin_once(0.0)
        self.rotation.after_take()
        newest, self._newest = self._newest, {}
        for name, (type_, data) in newest.items():
            self._handlers[name](mw.deserialize(type_, data))

    def _count_raw(self, name: str, type_: str) -> mw.Subscription:
        """Count ``name`` from undecoded messages; keep the newest if a view draws it."""
        drawn = name in self._handlers

        def callback(data: bytes) -> None:
            self.rates.tick(name)
            if drawn:
                self._newest[name] = (type_, data)

        return self.node.create_subscription(type_, name, callback, COUNT_QOS, raw=True)

    def _counted(self, name: str, handle: Callable[[Any], None]) -> Callable[[Any], None]:
        def callback(msg: Any) -> None:
            self.rates.tick(name)
            handle(msg)

        return callback

    def _description(self, msg: Any) -> None:
        self.state.description = msg.data
        self.state.version += 1

    def _joints(self, msg: Any) -> None:
        self.state.joints.update(zip(msg.name, map(float, msg.position), strict=False))
        self.state.version += 1

    def _robot_joints(self, msg: Any) -> None:
        self._robot_states_seen = True
        self._joints(msg)

    def _joints_if_no_robot_states(self, msg: Any) -> None:
        # hardware graphs have no robot_joint_states; the task's joints still move the model
        if not self._robot_states_seen:
            self._joints(msg)

    def _odom(self, msg: Any) -> None:
        p, q = msg.pose.pose.position, msg.pose.pose.orientation
        self.state.base = ((p.x, p.y, p.z), (q.w, q.x, q.y, q.z))
        self.state.version += 1

    def _plan(self, msg: Any) -> None:
        points = [(p.x, p.y, p.z) for m in msg.markers for p in m.points]
        self.state.plan = points
        self.state.version += 1

    def _stats(self, msg: Any) -> None:
        stats = {name: float(getattr(msg, name)) for name in STAT_FIELDS}
        stats.update(zip(msg.names, map(float, msg.values), strict=False))
        self.state.stats = stats
        if math.isfinite(stats["mean_return"]):
            self.state.curve.append((stats["env_steps"], stats["mean_return"]))
        self.state.version += 1


def _buildable(type_name: str) -> bool:
    """Whether this process has the interface definition of ``type_name``."""
    try:
        mw.message_class(type_name)
    except (ValueError, LookupError, ImportError, AttributeError):
        return False
    return True
