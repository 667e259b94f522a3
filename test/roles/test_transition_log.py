"""Append-only transition log: torn rows are ignored, compaction keeps the tail."""

import numpy as np

from rl_control.roles.transition_log import LoggedTransition, TransitionLog


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
