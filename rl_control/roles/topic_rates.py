"""Message rates per topic over a sliding window, on an injected clock (the monitor's table).

Pure bookkeeping: the monitor calls :meth:`TopicRates.tick` from each subscription callback
and :meth:`TopicRates.rows` when it redraws. The graph's topics come from
:mod:`rl_control.roles.topics`, so a silent topic still shows (rate 0). The publishers column
is what discovery reports when the monitor passes its node's ``get_publisher_names`` (the nodes
really publishing, e.g. ``/worker_1/sim_bridge``; "-" for none), else the table's declared ones.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from rl_control.roles.topics import TOPICS, Topic


@dataclass(frozen=True)
class RateRow:
    """One line of the topic table."""

    name: str
    type: str
    publishers: str
    count: int
    rate_hz: float
    age_s: float | None  # s since the last message; None = never seen
    sampled: bool = False  # rate_hz measured over a sample of the time, not the window


class TopicRates:
    """Counts and windowed rates of the messages seen on each topic."""

    def __init__(
        self, window: float = 5.0, clock: Callable[[], float] = time.monotonic,
        topics: Iterable[Topic] = TOPICS,
        publishers: Callable[[str], Sequence[str]] | None = None,
    ) -> None:  # fmt: skip
        if window <= 0:
            raise ValueError(f"rate window must be > 0 s, got {window}")
        self.window, self.clock, self._discovered = window, clock, publishers
        self.start = clock()
        self.topics = {t.name: t for t in topics}
        self._times: dict[str, deque[float]] = {name: deque() for name in self.topics}
        self._count: dict[str, int] = dict.fromkeys(self.topics, 0)
        self._last: dict[str, float] = {}
        self._sampled: dict[str, float] = {}  # topic -> rate measured elsewhere (sample)

    def declare(self, name: str, type_: str) -> None:
        """Add a topic found by discovery (listed from now on, rate 0 until it is counted)."""
        if name not in self.topics:
            self.topics[name] = Topic(name, type_, (), "default", "found by discovery")
            self._times.setdefault(name, deque())
            self._count.setdefault(name, 0)

    def tick(self, topic: str) -> None:
        """One message arrived on ``topic`` now."""
        times = self._times.setdefault(topic, deque())
        times.append(self.clock())
        self._count[topic] = self._count.get(topic, 0) + 1
        self._last[topic] = times[-1]
        self._trim(times, times[-1])

    def _trim(self, times: deque[float], now: float) -> None:
        while times and times[0] <= now - self.window:
            times.popleft()

    def sample(self, topic: str, rate_hz: float) -> None:
        """``topic``'s rate as measured over a sample of the time (a monitor counting it only
        part of the time); :meth:`rate` gives it from now on."""
        self._sampled[topic] = rate_hz
        self._times.setdefault(topic, deque())
        self._count.setdefault(topic, 0)

    def unsample(self, topic: str) -> None:
        """``topic`` is counted continuously again: :meth:`rate` from its own ticks."""
        self._sampled.pop(topic, None)

    def rate(self, topic: str) -> float:
        """Messages per second over the last ``window`` s (or since start, if shorter), or
        the last :meth:`sample` of a sampled topic."""
        if topic in self._sampled:
            return self._sampled[topic]
        now = self.clock()
        times = self._times.get(topic, deque())
        self._trim(times, now)
        span = min(self.window, now - self.start)
        return len(times) / span if span > 0 else 0.0

    def count(self, topic: str) -> int:
        """Messages seen on ``topic`` since start."""
        return self._count.get(topic, 0)

    def rows(self) -> list[RateRow]:
        """The table: the graph's topics in table order, then any others seen."""
        now, out = self.clock(), []
        for name in list(self._times):
            topic = self.topics.get(name)
            last = self._last.get(name)
            out.append(RateRow(
                name, topic.type if topic else "?", self._publishers(name, topic),
                self._count.get(name, 0), self.rate(name),
                None if last is None else now - last, name in self._sampled,
            ))  # fmt: skip
        return out

    def _publishers(self, name: str, topic: Topic | None) -> str:
        if self._discovered is not None:
            return " ".join(self._discovered(name)) or "-"
        return " ".join(topic.publishers) if topic else "?"
