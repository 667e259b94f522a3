"""What the monitor knows about the graph: rates of every topic, the robot's joints and
pose, the MPC plan and the training curve, filled by subscriptions on one node.

The node subscribes every topic of :mod:`rl_control.roles.topics` with the table's QoS
(latched ones such as robot_description arrive even if published before the monitor
started), so it watches a graph anywhere on the DDS domain. Callbacks only copy a few
numbers: the graph's publishers see one more reader, nothing else.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from rl_control.roles.topic_rates import TopicRates
from rl_control.roles.topics import TOPICS
from rl_control.ros import middleware as mw
from rl_control.ros.bag import qos_of

#: training_stats fields kept for the curves and the table
STAT_FIELDS = ("env_steps", "episodes", "policy_version", "mean_return", "last_return",
               "steps_per_second", "policy_loss", "value_loss", "entropy")  # fmt: skip


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
    """Subscribes the graph's topics on ``node`` and keeps a :class:`GraphState`."""

    def __init__(
        self, node: mw.Node, window: float = 5.0, clock: Callable[[], float] = time.monotonic,
    ) -> None:  # fmt: skip
        self.rates = TopicRates(window, clock)
        self.state = GraphState()
        handlers: dict[str, Callable[[Any], None]] = {
            "/robot_description": self._description,
            "/robot_joint_states": self._joints,
            "/joint_states": self._joints_if_no_robot_states,
            "/odom": self._odom,
            "/ground_truth/odom": self._odom,
            "/plan_markers": self._plan,
            "/training_stats": self._stats,
        }
        for topic in TOPICS:
            handle = handlers.get(topic.name)
            node.create_subscription(
                topic.type, topic.name, self._counted(topic.name, handle), qos_of(topic.name)
            )

    def _counted(self, name: str, handle: Callable[[Any], None] | None) -> Callable[[Any], None]:
        def callback(msg: Any) -> None:
            self.rates.tick(name)
            if handle is not None:
                handle(msg)

        return callback

    def _description(self, msg: Any) -> None:
        self.state.description = msg.data
        self.state.version += 1

    def _joints(self, msg: Any) -> None:
        self.state.joints.update(zip(msg.name, map(float, msg.position), strict=False))
        self.state.version += 1

    def _joints_if_no_robot_states(self, msg: Any) -> None:
        # hardware graphs have no robot_joint_states; the task's joints still move the model
        if self.rates.count("/robot_joint_states") == 0:
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
