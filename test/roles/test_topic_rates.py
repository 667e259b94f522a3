"""rl_control.roles.topic_rates: windowed message rates on a fake clock."""

from __future__ import annotations

import pytest

from rl_control.roles.topic_rates import TopicRates
from rl_control.roles.topics import TOPICS


def test_rate_counts_the_messages_of_the_last_window(fake_clock) -> None:
    rates = TopicRates(window=2.0, clock=fake_clock)
    for _ in range(40):  # 20 Hz for 2 s
        fake_clock.advance(0.05)
        rates.tick("/joint_states")
    assert rates.rate("/joint_states") == pytest.approx(20.0)
    assert rates.count("/joint_states") == 40
    fake_clock.advance(1.0)  # silent for half the window: half the messages remain
    assert rates.rate("/joint_states") == pytest.approx(10.0)
    fake_clock.advance(1.0)
    assert rates.rate("/joint_states") == 0.0
    assert rates.count("/joint_states") == 40  # the total stays


def test_rate_before_a_full_window_divides_by_the_time_elapsed(fake_clock) -> None:
    rates = TopicRates(window=10.0, clock=fake_clock)
    for _ in range(5):
        fake_clock.advance(0.1)
        rates.tick("/clock")
    assert rates.rate("/clock") == pytest.approx(10.0)  # 5 in 0.5 s, not 5 in 10 s


def test_rows_list_every_topic_of_the_table_then_unknown_ones(fake_clock) -> None:
    rates = TopicRates(window=1.0, clock=fake_clock)
    fake_clock.advance(0.5)
    rates.tick("/training_stats")
    rates.tick("/extra")
    fake_clock.advance(0.25)
    rows = rates.rows()
    assert [r.name for r in rows] == [t.name for t in TOPICS] + ["/extra"]
    stats = next(r for r in rows if r.name == "/training_stats")
    assert stats.publishers == "trainer_node" and stats.count == 1
    assert stats.age_s == pytest.approx(0.25) and stats.rate_hz == pytest.approx(1 / 0.75)
    silent = next(r for r in rows if r.name == "/imu")
    assert silent.age_s is None and silent.count == 0 and silent.rate_hz == 0.0
    assert rows[-1].type == "?" and rows[-1].publishers == "?"
    fake_clock.advance(5.0)  # out of the window: rate 0, but the last message's age stays
    assert next(r for r in rates.rows() if r.name == "/extra").age_s == pytest.approx(5.25)


def test_bad_window_is_one_clear_error() -> None:
    with pytest.raises(ValueError, match="rate window must be > 0 s, got 0"):
        TopicRates(window=0)


def test_publishers_come_from_discovery_when_a_lookup_is_given(fake_clock) -> None:
    live = {"/training_stats": ["/trainer_node"], "/joint_states": ["/w0/sim", "/w1/sim"]}
    rates = TopicRates(window=1.0, clock=fake_clock, publishers=lambda t: live.get(t, []))
    rates.tick("/extra")
    rows = {r.name: r.publishers for r in rates.rows()}
    assert rows["/training_stats"] == "/trainer_node"
    assert rows["/joint_states"] == "/w0/sim /w1/sim"
    assert rows["/imu"] == "-" and rows["/extra"] == "-"  # declared, but nobody publishes now
