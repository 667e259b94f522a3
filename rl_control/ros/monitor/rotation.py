"""Counting the graph's per-step topics one at a time, each for a slot of ``slot`` s.

Every reader the monitor holds on a per-step topic is one more reader each of that topic's
writers sends every message to, on the lock-step graph's critical path: fifteen of them
slowed graph training by ~16 % (bench/monitor_overhead.py). The per-step topics no view
draws are therefore counted in turn: one reader at a time, created at its slot's start and
destroyed at its end, so the graph's writers see at most one extra reader. Each topic's
rate is sampled over its slot and shown until its next turn (``slot`` x topics later).

A new reader is matched by discovery a moment after it is created, and the monitor takes
its messages in batches, so the rate is measured from the first batch that brought any to
the end of the slot: the messages of that first batch arrived at unknown times and are not
counted in it (they are in the count).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from rl_control.roles.topic_rates import TopicRates
from rl_control.ros import middleware as mw

#: s each per-step topic is counted in its turn
SLOT = 1.0
#: the monitor's counting readers (these and state's): deep enough for one batch of a topic
#: at up to 20 kHz, and best effort, so that the graph's writers never wait for the monitor's
#: acknowledgements (a reliable reader that is slow to acknowledge makes Cyclone throttle the
#: writer: the lock-step graph then runs at the monitor's pace); on one machine nothing is
#: lost but under overload
COUNT_QOS = mw.QoS(depth=1000, reliability="best_effort")


@dataclass
class _Turn:
    name: str
    type: str
    subscription: mw.Subscription
    started: float
    first_batch: float | None = None  # when the first batch with messages was taken
    after_first: int = 0  # messages in the batches after that one
    pending: int = 0  # messages of the batch being taken now


class RotatingCounter:
    """Counts ``topics`` (name -> type) one at a time on ``node`` into ``rates``; call
    :meth:`after_take` after each batched take."""

    def __init__(
        self, node: mw.Node, rates: TopicRates, clock: Callable[[], float], slot: float = SLOT
    ) -> None:
        if slot <= 0:
            raise ValueError(f"rotation slot must be > 0 s, got {slot}")
        self.node, self.rates, self.clock, self.slot = node, rates, clock, slot
        self._queue: deque[tuple[str, str]] = deque()
        self._turn: _Turn | None = None

    @property
    def topics(self) -> list[str]:
        """The rotated topics, the one counted now first."""
        now = [self._turn.name] if self._turn else []
        return now + [name for name, _ in self._queue]

    def add(self, name: str, type_: str) -> None:
        """Rotate ``name`` too (its rate shows as sampled from now on)."""
        self.rates.sample(name, 0.0)
        self._queue.append((name, type_))

    def remove(self, name: str) -> None:
        """Stop rotating ``name`` (ending its turn if it is being counted now)."""
        self._queue = deque(item for item in self._queue if item[0] != name)
        if self._turn is not None and self._turn.name == name:
            self.node.destroy_subscription(self._turn.subscription)
            self._turn = None
        self.rates.unsample(name)

    def after_take(self) -> None:
        """Account the batch just taken; end a slot that is over and start the next."""
        turn, now = self._turn, self.clock()
        if turn is not None and turn.pending:
            if turn.first_batch is None:
                turn.first_batch = now
            else:
                turn.after_first += turn.pending
            turn.pending = 0
        if turn is not None and now - turn.started < self.slot:
            return
        if turn is not None:
            self.node.destroy_subscription(turn.subscription)
            measured = now - turn.first_batch if turn.first_batch is not None else 0.0
            self.rates.sample(turn.name, turn.after_first / measured if measured > 0 else 0.0)
            self._queue.append((turn.name, turn.type))
            self._turn = None
        if self._queue:
            self._start(*self._queue.popleft())

    def _start(self, name: str, type_: str) -> None:
        def callback(_data: bytes) -> None:
            self.rates.tick(name)
            turn.pending += 1

        subscription = self.node.create_subscription(type_, name, callback, COUNT_QOS, raw=True)
        turn = _Turn(name, type_, subscription, self.clock())
        self._turn = turn
