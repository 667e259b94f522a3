"""Append-only log of the transitions a trainer fed to its algorithm since its last checkpoint.

A checkpoint holds the algorithm as it was after ``recorded`` transitions; the log holds every
transition with its sequence number, so a restarted trainer loads the checkpoint and replays
the log's tail (numbers >= ``recorded``): no collected data is lost. Records are fixed-width
float64 rows, so a row torn by a crash is recognised by the file length and ignored.
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


class TransitionLog:
    """Fixed-width binary rows: index, version, obs, action, log_prob, reward, flags, next_obs,
    episode return."""

    def __init__(self, path: str | os.PathLike[str], obs_dim: int, act_dim: int) -> None:
        self.path = Path(path)
        self.obs_dim, self.act_dim = int(obs_dim), int(act_dim)
        self.width = 2 + 2 * self.obs_dim + self.act_dim + 5
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._repair()
        self._file = self.path.open("ab")

    def _repair(self) -> None:
        """Cut a torn last row (a crash mid-append) so appends stay aligned."""
        if not self.path.is_file():
            return
        size, row = self.path.stat().st_size, 8 * self.width
        if size % row:
            with self.path.open("r+b") as f:
                f.truncate(size - size % row)

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
        o, a = self.obs_dim, self.act_dim
        out = []
        for r in rows[rows[:, 0] >= start]:
            i = 2 + o + a
            out.append(
                LoggedTransition(
                    int(r[0]), int(r[1]), r[2 : 2 + o].copy(), r[2 + o : i].copy(),
                    float(r[i]), float(r[i + 1]), bool(r[i + 2]), bool(r[i + 3]),
                    r[i + 4 : i + 4 + o].copy(), float(r[-1]),
                )
            )  # fmt: skip
        return out

    def compact(self, start: int) -> None:
        """Atomically drop rows numbered below ``start`` (they are in a checkpoint now)."""
        keep = self.read(start)
        self._file.close()
        atomic_write_bytes(self.path, b"".join(self._encode(t).tobytes() for t in keep))
        self._file = self.path.open("ab")

    def close(self) -> None:
        self._file.close()
