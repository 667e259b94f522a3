"""The graph trainer's rows (a mixin of :class:`~rl_control.roles.trainer.GraphTrainer`):
hold each worker's newest transition back one step (a cut can still mark it truncated),
queue transitions in the lanes' backlogs, feed complete rows to the algorithm in lane
order, and free the column of a worker gone silent for ``worker_timeout``."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from rl_control.policies.base import PolicyOutput
from rl_control.roles.lanes import Lane, stack_row, take_row
from rl_control.roles.transition_log import LoggedTransition, PendingEntry

if TYPE_CHECKING:
    from rl_control.roles.trainer import GraphTrainer

    _Base = GraphTrainer
else:
    _Base = object


class RowFeed(_Base):
    """Transitions from the lanes to :meth:`Algorithm.record`, one row at a time."""

    def _hold(self, lane: Lane, t: LoggedTransition) -> None:
        """Keep the newest transition back one step, so a cut can still mark it truncated.
        Journaled first (with its episode), so a kill at any point loses neither it nor the
        one it pushes on: that one is journaled already, or in the log once recorded."""
        if self.journal is not None:
            ep = lane.ep
            entry = PendingEntry(
                lane.index, t, True, ep.episode, lane.held_next, ep.length, ep.ret
            )
            self.journal.hold(entry)
        self._flush_held(lane)
        lane.held = t

    def _flush_held(self, lane: Lane, truncate: bool = False) -> None:
        t, lane.held = lane.held, None
        if t is None:
            return
        if truncate and not t.terminated and not t.truncated:
            t.truncated = True
            if self.journal is not None:
                self.journal.truncated(lane.index, t)
        lane.backlog.append(t)
        self._record_rows()

    def _cut(self, lane: Lane) -> None:
        """End a worker's episode without a natural end (restart, stale policy, update)."""
        self._flush_held(lane, truncate=True)
        if lane.ep is not None and lane.ep.active:
            lane.ep.active = False
            self.cut_episodes += 1

    def _feed(self, row: list[LoggedTransition]) -> None:
        """Hand one row (a transition of every worker) to the algorithm as a batch."""
        b = stack_row(row)
        out = PolicyOutput(
            action=b["action"], mean=b["action"], log_prob=b["log_prob"],
            info={"policy_version": b["version"]},
        )  # fmt: skip
        self.algorithm.record(
            b["obs"], out, b["reward"], b["terminated"], b["truncated"], b["next_obs"]
        )

    def _record_rows(self, start: bool = True) -> None:
        """Record every complete row of the lanes' backlogs (never during an update: record()
        and update() do not overlap; draining the backlog may start the next one)."""
        fed = False
        while not self.updating and not self.done:
            if self.algorithm.on_policy:
                version = self.algorithm.policy_version
                self.dropped_stale += sum(lane.drop_stale(version) for lane in self.lanes)
            row = take_row(self.lanes)
            if row is None:
                break
            for t in row:
                t.index = self.recorded
                self.recorded += 1
            self.log.append_many(row)
            self._feed(row)
            # an episode counts when its last transition is recorded, as a replay counts it
            self.session.add_steps(len(row), [t.episode_return for t in row])
            fed = True
            # before anything else is recorded: the storage may be full (the last one included)
            if start:
                self._maybe_start_update()
            if not self.updating and self.session.counters.env_steps >= self.total_steps:
                self._finish()
        if fed and not self.algorithm.on_policy and self.workers > 1:
            for lane in self.lanes:  # off-policy: those waiting for the others may go on
                self._release(lane)

    def _release(self, lane: Lane) -> None:
        """Grant a worker's parked step if its episode still waits for it."""
        parked, lane.parked = lane.parked, None
        ep = lane.ep
        if parked is not None and ep is not None and ep.active and parked[1] == ep.episode:
            self._decide(lane, parked[0])

    def _budget_reached(self, lane: Lane, extra: int = 0, held: bool = False) -> bool:
        """Whether the rows recorded, plus ``extra`` and this worker's transitions waiting
        to be recorded (``held``: the held-back one too), spend its share of the budget: a
        long update (M-DeMoRL's model refit and inner loop) must not let a bridge run past
        it meanwhile. On-policy, waiting transitions of an older version are dropped, so
        they do not count."""
        n, algo = self.workers, self.algorithm
        rows = self.session.counters.env_steps // n
        waiting = lane.pending(algo.on_policy, algo.policy_version, held)
        return rows + waiting + extra >= math.ceil(self.total_steps / n)

    def _column_full(self, lane: Lane) -> bool:
        """On-policy, several workers: whether this worker's column of the rollout is full
        with what it already collected (one worker: the update starts when it fills)."""
        if self.workers == 1:
            return False
        left = self.algorithm.records_until_ready()
        version = self.algorithm.policy_version
        return left is not None and lane.pending(True, version, held=True) >= left

    def _heard(self, lane: Lane) -> bool:
        """Note traffic of ``lane``'s worker; True when it has left (it waits to rejoin)."""
        lane.last_heard = self.clock()
        lane.joining = lane.gone
        return lane.gone

    def _check_departures(self) -> None:
        """Free the column of every started worker silent for ``worker_timeout``."""
        if self.worker_timeout <= 0 or self.done:
            return
        now = self.clock()
        for lane in self.lanes:
            if lane.seen and not lane.gone and now - lane.last_heard > self.worker_timeout:
                self._cut(lane)  # what it sent stays, the last one truncated
                lane.gone, lane.parked, lane.undecided = True, None, None
                self.departures += 1
                self.hooks.worker_left(lane.index)
                self._record_rows()  # rows may complete without it (not during an update)
