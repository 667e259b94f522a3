"""Per-worker state of the graph trainer: one lane per bridge/estimator/policy group.

Each lane pairs its own worker's observations and actions into transitions, owns that
worker's episodes and grants, and keeps a backlog of the transitions it paired but the
algorithm has not yet received. The trainer feeds the algorithm one row at a time, a row
being the oldest backlog entry of every lane in lane order (column k of an N-env batch is
worker k), so what the algorithm receives depends on each worker's own lock-step sequence
and never on which worker's message came first.

A worker silent for the trainer's ``worker_timeout`` has left (:attr:`Lane.gone`): its
episode is cut (what it sent is kept, the last transition marked truncated) and, once its
backlog is used up, its column mirrors the first active worker's transitions (a copy of a
real trajectory, so every row stays N wide and GAE stays valid) until a worker of that
index sends again, which takes the column back from the next update on.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np

from rl_control.roles.transition_log import LoggedTransition

#: off-policy, several workers: a worker is granted only while fewer than this many of its
#: transitions wait for the other workers' (rows stay in step; the lead stays bounded)
MAX_LEAD = 2


@dataclass
class ActionIn:
    """An action message as the trainer needs it."""

    step: int
    episode: int
    policy_version: int
    action: np.ndarray
    log_prob: float


@dataclass
class Episode:
    """One worker's current episode: the observations and actions not yet paired."""

    episode: int
    last_step: int
    length: int = 0
    first_step: int = 2**62
    ret: float = 0.0
    active: bool = True
    reset_requested: bool = False  # its end asked the bridge for one reset (never two)
    obs: dict[int, np.ndarray] = field(default_factory=dict)
    actions: dict[int, ActionIn] = field(default_factory=dict)


@dataclass
class Lane:
    """What the trainer knows about one worker."""

    index: int
    ep: Episode | None = None
    held: LoggedTransition | None = None  # newest transition, kept back one step
    held_next: int = -1  # step at which the held transition ended
    undecided: tuple[int, float] | None = None  # (step, since): awaits its action
    granted: tuple[int, int] | None = None  # last (step, episode) granted
    parked: tuple[int, int] | None = None  # (step, episode) to grant once allowed
    min_version: int = 0  # actions of older policy versions are not applied any more
    backlog: list[LoggedTransition] = field(default_factory=list)
    last_heard: float = 0.0  # (trainer clock) newest observation or action of this worker
    gone: bool = False  # silent for worker_timeout: its column mirrors another's
    joining: bool = False  # gone, but sending again: takes its column at the next update

    @property
    def seen(self) -> bool:
        """Whether this worker ever sent an observation."""
        return self.ep is not None

    def pending(self, on_policy: bool, version: int, held: bool = False) -> int:
        """Transitions this lane will still give the algorithm (on-policy: only those of
        ``version``, older ones are dropped); ``held``: the held-back one too."""
        if on_policy:
            count = sum(t.policy_version == version for t in self.backlog)
        else:
            count = len(self.backlog)
        return count + int(held and self.held is not None)

    def drop_stale(self, version: int) -> int:
        """Drop backlog transitions of policy versions other than ``version``; their count."""
        before = len(self.backlog)
        self.backlog = [t for t in self.backlog if t.policy_version == version]
        return before - len(self.backlog)


def take_row(lanes: list[Lane]) -> list[LoggedTransition] | None:
    """Pop the next row (one transition per lane, lane order), or None while an active
    lane's backlog is empty. A gone lane gives its own backlog first, then a copy of the
    first active lane's transition; with no active lane left, nothing."""
    live = [lane for lane in lanes if not lane.gone]
    if not live or any(not lane.backlog for lane in live):
        return None
    source = live[0].backlog[0]
    row = [lane.backlog.pop(0) if lane.backlog else None for lane in lanes]
    # a copy ends no episode of its own: the source's return is counted once
    return [t if t is not None else dataclasses.replace(source, episode_return=np.nan)
            for t in row]  # fmt: skip


def stack_row(row: list[LoggedTransition]) -> dict[str, np.ndarray]:
    """The transitions of one row as N-env batches (lane order)."""
    return {
        "obs": np.stack([t.obs for t in row]),
        "action": np.stack([np.asarray(t.action) for t in row]),
        "log_prob": np.array([t.log_prob for t in row]),
        "version": np.array([t.policy_version for t in row]),
        "reward": np.array([t.reward for t in row]),
        "terminated": np.array([t.terminated for t in row]),
        "truncated": np.array([t.truncated for t in row]),
        "next_obs": np.stack([t.next_obs for t in row]),
    }


def worker_prefix(index: int, workers: int) -> str:
    """Relative topic/service prefix of a worker's group: none for a single worker (the
    one-bridge graph's names), else ``worker_<index>/``."""
    return "" if int(workers) == 1 else f"worker_{int(index)}/"
