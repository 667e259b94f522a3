"""The monitor's rotation over the per-step topics no view draws: one reader at a time, each
topic's rate sampled over its slot from the first batch that brought messages."""

import pytest
from clocks import FakeClock

from rl_control.roles.topic_rates import TopicRates
from rl_control.ros.monitor.rotation import RotatingCounter


class FakeNode:
    """Subscriptions as a list: which topics have a live reader, and their callbacks."""

    def __init__(self) -> None:
        self.live: dict[str, object] = {}
        self.created: list[str] = []

    def create_subscription(self, type_, name, callback, qos, raw=False):
        assert raw and qos.reliability == "best_effort"  # never an acknowledgement to wait for
        self.live[name] = callback
        self.created.append(name)
        return name

    def destroy_subscription(self, subscription) -> None:
        del self.live[subscription]


def _run(rotation, node, clock, seconds, per_batch):
    """Batches every 50 ms for ``seconds``: ``per_batch`` messages to the live reader."""
    for _ in range(round(seconds / 0.05)):
        clock.advance(0.05)
        for callback in list(node.live.values()):
            for _ in range(per_batch):
                callback(b"")
        rotation.after_take()


def _rotating(names, slot=1.0):
    """A node, clock, rates and rotation over ``names``, the first turn started."""
    node, clock = FakeNode(), FakeClock()
    rates = TopicRates(5.0, clock, topics=())
    rotation = RotatingCounter(node, rates, clock, slot=slot)
    for name in names:
        rotation.add(name, "std_msgs/msg/Empty")
    rotation.after_take()
    return node, clock, rates, rotation


def test_one_reader_at_a_time_each_for_its_slot_in_turn() -> None:
    node, clock, rates, rotation = _rotating(("/a", "/b", "/c"))
    live_counts = []
    for _ in range(125):  # 6.25 s: two rounds of three 1 s slots, and the next one begun
        clock.advance(0.05)
        live_counts.append(len(node.live))
        rotation.after_take()
    assert set(live_counts) == {1}  # never two readers at once
    assert node.created == ["/a", "/b", "/c", "/a", "/b", "/c", "/a"]
    assert all(r.sampled for r in rates.rows())


def test_the_rate_is_measured_from_the_first_batch_that_brought_messages() -> None:
    """20 messages per 50 ms batch is 400 Hz. Discovery delays the first batch by 0.3 s
    (nothing arrives before); the burst of the first batch (what had queued) is not counted
    in the rate; the count has everything."""
    node, clock, rates, rotation = _rotating(("/a", "/b"))
    _run(rotation, node, clock, 0.3, 0)  # not matched yet
    clock.advance(0.05)
    for _ in range(50):  # the first batch: a burst of what queued at matching
        node.live["/a"](b"")
    rotation.after_take()
    _run(rotation, node, clock, 0.65, 20)  # then 400 Hz until the slot ends at 1.0 s
    assert list(node.live) == ["/b"]
    assert rates.rate("/a") == pytest.approx(400.0)
    assert rates.count("/a") == 50 + 13 * 20
    assert rates.rate("/b") == 0.0  # not sampled yet


def test_a_slot_that_saw_nothing_samples_zero_and_a_bad_slot_is_refused() -> None:
    node, clock, rates, rotation = _rotating(("/quiet",), slot=0.5)
    _run(rotation, node, clock, 0.6, 0)
    assert rates.rate("/quiet") == 0.0 and rotation.topics == ["/quiet"]
    with pytest.raises(ValueError, match="rotation slot must be > 0 s"):
        RotatingCounter(node, rates, clock, slot=0.0)


def test_a_removed_topic_leaves_the_rotation_and_its_rate_is_counted_again() -> None:
    node, clock, rates, rotation = _rotating(("/a", "/b", "/c"))  # /a's turn
    rotation.remove("/a")  # the one being counted: its reader goes at once
    rotation.remove("/c")  # a queued one
    assert node.live == {} and rotation.topics == ["/b"]
    _run(rotation, node, clock, 2.5, per_batch=1)
    assert set(node.created) == {"/a", "/b"}
    rates.tick("/a")
    assert not next(r for r in rates.rows() if r.name == "/a").sampled
