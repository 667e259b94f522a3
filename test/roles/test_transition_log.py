"""Append-only transition log: torn rows are ignored, compaction keeps the tail."""

import numpy as np

from rl_control.roles.transition_log import (
    LoggedTransition,
    PendingEntry,
    PendingJournal,
    TransitionLog,
    same_transition,
    unrecorded,
)


def _t(i: int) -> LoggedTransition:
    return LoggedTransition(
        i, 1, np.full(4, i), np.array([i * 0.5]), -1.0, 2.0 * i, i == 3, False, np.full(4, i + 1)
    )


def test_rows_round_trip_torn_tail_and_compaction(tmp_path) -> None:
    path = tmp_path / "t.bin"
    log = TransitionLog(path, 4, 1)
    for i in range(4):
        log.append(_t(i))
    log.close()
    with path.open("ab") as f:
        f.write(b"\x00" * 13)  # a crash in the middle of a row
    log = TransitionLog(path, 4, 1)
    rows = log.read()
    assert [r.index for r in rows] == [0, 1, 2, 3]
    assert rows[3].terminated and not rows[2].terminated
    np.testing.assert_allclose(rows[2].next_obs, np.full(4, 3.0))
    assert rows[1].reward == 2.0 and rows[1].policy_version == 1
    log.append(_t(4))  # appends stay aligned after the repair
    assert [r.index for r in log.read(3)] == [3, 4]
    log.compact(3)
    assert [r.index for r in TransitionLog(path, 4, 1).read()] == [3, 4]


def test_episode_return_round_trips(tmp_path) -> None:
    log = TransitionLog(tmp_path / "t.bin", 4, 1)
    ended = _t(3)
    ended.episode_return = 12.5  # the episode this transition ended, as the trainer counted it
    log.append(_t(2))
    log.append(ended)
    rows = log.read()
    assert np.isnan(rows[0].episode_return) and rows[1].episode_return == 12.5
    np.testing.assert_allclose(rows[1].next_obs, np.full(4, 4.0))  # not shifted by the column


def _entry(lane: int, i: int, version: int = 1, held: bool = True) -> PendingEntry:
    t = _t(i)
    t.policy_version = version
    return PendingEntry(lane, t, held, episode=7, next_step=i + 1, length=i + 1, ret=2.0 * i)


def test_pending_journal_round_trips_truncations_torn_rows_and_rewrites(tmp_path) -> None:
    path = tmp_path / "p.bin"
    journal = PendingJournal(path, 4, 1)
    for i in range(3):
        journal.hold(_entry(0, i))
    journal.truncated(0, _t(2))  # a cut flushed the held one truncated
    journal.hold(_entry(1, 5))
    journal.close()
    with path.open("ab") as f:
        f.write(b"\x01" * 21)  # a kill in the middle of a record
    journal = PendingJournal(path, 4, 1)
    lanes = journal.read()
    assert [e.transition.index for e in lanes[0]] == [0, 1, 2]
    assert [e.held for e in lanes[0]] == [False, False, False]  # the newest was cut
    assert lanes[0][2].transition.truncated and not lanes[0][1].transition.truncated
    (held,) = lanes[1]
    assert held.held and (held.episode, held.next_step, held.length, held.ret) == (7, 6, 6, 10.0)
    np.testing.assert_allclose(held.transition.next_obs, np.full(4, 6.0))
    journal.rewrite([_entry(1, 5), PendingEntry(0, _t(9), False)])  # the pending set only
    lanes = PendingJournal(path, 4, 1).read()
    assert [e.transition.index for e in lanes[0]] == [9] and not lanes[0][0].held
    assert lanes[1][0].held


def test_unrecorded_skips_recorded_stale_and_mirrored_columns() -> None:
    pending = {
        0: [_entry(0, i, version=2) for i in range(4)],
        1: [_entry(1, 10, version=1), _entry(1, 11, version=2), _entry(1, 12, version=2)],
    }
    mirror = _t(1)
    mirror.policy_version = 2  # column 1 of the second row copies lane 0's transition
    rows = [[pending[0][0].transition, pending[1][1].transition],  # lane 1's v1 was stale
            [pending[0][1].transition, mirror]]  # fmt: skip
    left = unrecorded(pending, rows)
    assert [e.transition.index for e in left[0]] == [2, 3]
    assert [e.transition.index for e in left[1]] == [12]
    assert same_transition(pending[0][1].transition, mirror)
    assert not same_transition(pending[0][1].transition, pending[0][2].transition)
