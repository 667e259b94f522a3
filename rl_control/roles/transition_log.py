"""Append-only log of the transitions a trainer fed to its algorithm since its last checkpoint.

A checkpoint holds the algorithm as it was after ``recorded`` transitions; the log holds every
transition with its sequence number, so a restarted trainer loads the checkpoint and replays
the log's tail (numbers >= ``recorded``): no collected data is lost. Records are fixed-width
float64 rows, so a row torn by a crash is recognised by the file length and ignored.

The log only holds what the algorithm received. What the trainer paired but had not yet
recorded (each worker's held-back newest transition, the rows waiting for other workers,
the queue of an off-policy update) is in the :class:`PendingJournal` beside it, with the
episode it belongs to, so a trainer killed by SIGKILL loses none of it either.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rl_control.training.io import atomic_write_bytes


@dataclass
class LoggedTransition:
    """One transition as the algorithm received it (single env)."""

    index: int
    policy_version: int
    obs: np.ndarray
    action: np.ndarray
    log_prob: float
    reward: float
    terminated: bool
    truncated: bool
    next_obs: np.ndarray
    #: return of the episode this transition ended and the trainer counted (NaN: none), so
    #: a replay of the log restores the episode counter and the train_return of the rows
    episode_return: float = float("nan")


def _cut_torn_row(path: Path, row_bytes: int) -> None:
    """Cut a torn last row (a crash mid-append) so appends stay aligned."""
    if not path.is_file():
        return
    size = path.stat().st_size
    if size % row_bytes:
        with path.open("r+b") as f:
            f.truncate(size - size % row_bytes)


class TransitionLog:
    """Fixed-width binary rows: index, version, obs, action, log_prob, reward, flags, next_obs,
    episode return."""

    def __init__(
        self, path: str | os.PathLike[str], obs_dim: int, act_dim: int, open_file: bool = True
    ) -> None:
        """``open_file`` False: only the row encoding (no file is touched)."""
        self.path = Path(path)
        self.obs_dim, self.act_dim = int(obs_dim), int(act_dim)
        self.width = 2 + 2 * self.obs_dim + self.act_dim + 5
        if open_file:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._repair()
            self._file = self.path.open("ab")

    def _repair(self) -> None:
        _cut_torn_row(self.path, 8 * self.width)

    def _encode(self, t: LoggedTransition) -> np.ndarray:
        return np.concatenate(
            [
                [t.index, t.policy_version],
                np.asarray(t.obs, np.float64).reshape(self.obs_dim),
                np.asarray(t.action, np.float64).reshape(self.act_dim),
                [t.log_prob, t.reward, float(t.terminated), float(t.truncated)],
                np.asarray(t.next_obs, np.float64).reshape(self.obs_dim),
                [t.episode_return],
            ]
        )

    def _decode(self, r: np.ndarray) -> LoggedTransition:
        o, a = self.obs_dim, self.act_dim
        i = 2 + o + a
        return LoggedTransition(
            int(r[0]), int(r[1]), r[2 : 2 + o].copy(), r[2 + o : i].copy(),
            float(r[i]), float(r[i + 1]), bool(r[i + 2]), bool(r[i + 3]),
            r[i + 4 : i + 4 + o].copy(), float(r[-1]),
        )  # fmt: skip

    def append(self, transition: LoggedTransition) -> None:
        """Append one row and hand it to the OS (survives a process crash, not a power cut)."""
        self.append_many([transition])

    def append_many(self, transitions: list[LoggedTransition]) -> None:
        """Append rows in one write (a trainer's row of several workers) and flush."""
        self._file.write(b"".join(self._encode(t).tobytes() for t in transitions))
        self._file.flush()

    def read(self, start: int = 0) -> list[LoggedTransition]:
        """All complete rows whose sequence number is >= ``start``, in order."""
        self._file.flush()
        raw = self.path.read_bytes()
        rows = np.frombuffer(raw[: len(raw) - len(raw) % (8 * self.width)], np.float64)
        rows = rows.reshape(-1, self.width)
        return [self._decode(r) for r in rows[rows[:, 0] >= start]]

    def compact(self, start: int) -> None:
        """Atomically drop rows numbered below ``start`` (they are in a checkpoint now)."""
        keep = self.read(start)
        self._file.close()
        atomic_write_bytes(self.path, b"".join(self._encode(t).tobytes() for t in keep))
        self._file = self.path.open("ab")

    def close(self) -> None:
        self._file.close()


#: :class:`PendingJournal` record kinds
HELD = 0  # a worker's newest transition, held back one step (with its episode's context)
QUEUED = 1  # waits in a worker's backlog for a row (compaction writes the backlog so)
TRUNCATED = 2  # the worker's latest entry was flushed truncated (its episode was cut)


@dataclass
class PendingEntry:
    """One transition a trainer paired but had not recorded, with its worker's episode:
    ``episode`` id, ``next_step`` (the step its next observation starts), ``length`` and
    ``ret`` of the episode up to and including it."""

    lane: int
    transition: LoggedTransition
    held: bool
    episode: int = -1
    next_step: int = -1
    length: int = 0
    ret: float = 0.0


class PendingJournal:
    """Append-only fixed-width records of the transitions paired but not yet recorded.

    The trainer appends a HELD record when a transition is held back and a TRUNCATED one
    when a cut marks it truncated; :meth:`rewrite` (at every checkpoint) replaces the file
    atomically with what is pending then. Entries recorded since are recognised by
    :meth:`unrecorded` against the log's rows, so no "recorded" record is needed: the log
    append is the one write that moves a transition from here to there.
    """

    def __init__(self, path: str | os.PathLike[str], obs_dim: int, act_dim: int) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # the log's row encoding after lane, kind, episode, next_step, length, ret
        self._codec = TransitionLog(self.path.with_suffix(".codec"), obs_dim, act_dim, False)
        self.width = 6 + self._codec.width
        _cut_torn_row(self.path, 8 * self.width)
        self._file = self.path.open("ab")

    def _record(self, entry: PendingEntry, kind: int) -> bytes:
        head = [entry.lane, kind, entry.episode, entry.next_step, entry.length, entry.ret]
        return np.concatenate([head, self._codec._encode(entry.transition)]).tobytes()

    def hold(self, entry: PendingEntry) -> None:
        """A transition held back (appended and handed to the OS, as the log's rows)."""
        self._file.write(self._record(entry, HELD))
        self._file.flush()

    def truncated(self, lane: int, transition: LoggedTransition) -> None:
        """``lane``'s latest entry (``transition``) was flushed with ``truncated`` set."""
        self._file.write(self._record(PendingEntry(lane, transition, False), TRUNCATED))
        self._file.flush()

    def rewrite(self, entries: list[PendingEntry]) -> None:
        """Atomically replace the journal by ``entries`` (the trainer's pending set)."""
        data = b"".join(self._record(e, HELD if e.held else QUEUED) for e in entries)
        self._file.close()
        atomic_write_bytes(self.path, data)
        self._file = self.path.open("ab")

    def read(self) -> dict[int, list[PendingEntry]]:
        """Each lane's entries in the order they were paired, truncations applied."""
        self._file.flush()
        raw = self.path.read_bytes()
        rows = np.frombuffer(raw[: len(raw) - len(raw) % (8 * self.width)], np.float64)
        lanes: dict[int, list[PendingEntry]] = {}
        for r in rows.reshape(-1, self.width):
            lane, kind = int(r[0]), int(r[1])
            entries = lanes.setdefault(lane, [])
            if kind == TRUNCATED:
                if entries:
                    entries[-1].transition.truncated = True
                    entries[-1].held = False
                continue
            if entries:
                entries[-1].held = False  # a newer one is held: this one was flushed
            t = self._codec._decode(r[6:])
            entries.append(
                PendingEntry(lane, t, kind == HELD, int(r[2]), int(r[3]), int(r[4]), float(r[5]))
            )
        return lanes

    def close(self) -> None:
        self._file.close()


def same_transition(a: LoggedTransition, b: LoggedTransition) -> bool:
    """Whether two transitions hold the same data (their sequence numbers aside)."""
    return bool(
        a.policy_version == b.policy_version
        and np.array_equal(a.obs, b.obs)
        and np.array_equal(np.asarray(a.action, np.float64).ravel(),
                           np.asarray(b.action, np.float64).ravel())
        and a.reward == b.reward
        and np.array_equal(a.next_obs, b.next_obs)
        and a.terminated == b.terminated
    )  # fmt: skip


def unrecorded(
    pending: dict[int, list[PendingEntry]], rows: list[list[LoggedTransition]]
) -> dict[int, list[PendingEntry]]:
    """The entries of ``pending`` no row of ``rows`` (the log's rows since the journal was
    last rewritten, in order) recorded. A lane's entries are recorded in the order they
    were paired, so column k of a row is lane k's next entry, after those of older policy
    versions (dropped as stale on-policy); a column that is not (a departed worker's column
    mirrors another's) consumes nothing. Linear in rows plus entries."""
    position = dict.fromkeys(pending, 0)
    for row in rows:
        for lane, t in enumerate(row):
            entries = pending.get(lane, [])
            i = position.get(lane, 0)
            while i < len(entries) and entries[i].transition.policy_version < t.policy_version:
                i += 1
            if i < len(entries) and same_transition(entries[i].transition, t):
                position[lane] = i + 1
    return {lane: entries[position[lane] :] for lane, entries in pending.items()}
