"""The graph trainer's learning side (a mixin of
:class:`~rl_control.roles.trainer.GraphTrainer`): start-up and replay of the transition log
on resume, updates in a worker thread collected by :meth:`LearningLoop.poll`, the workers
resumed after an update, the final checkpoint."""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, Any

from rl_control.roles.lanes import Episode, Lane
from rl_control.roles.policy_server import PolicyUpdate, serialize_policy
from rl_control.roles.transition_log import PendingEntry, unrecorded
from rl_control.training.checkpoint import save_checkpoint

if TYPE_CHECKING:
    from rl_control.roles.trainer import GraphTrainer

    _Base = GraphTrainer
else:
    _Base = object


def next_multiple(step: int, every: int) -> int:
    """The first multiple of ``every`` above ``step`` (never, when ``every`` is 0)."""
    return (step // every + 1) * every if every > 0 else 2**62


class LearningLoop(_Base):
    """Updates beside the traffic: record() and update() never overlap."""

    # --- start-up ------------------------------------------------------------------------

    def start(self) -> PolicyUpdate:
        """Replay the log's unrecorded tail (resume), take back the journal's pending
        transitions and return the update to publish first."""
        replayed = self.replay_log()
        self.restored = self.restore_pending()
        if replayed or self.restored or not self.session.paths.checkpoint.is_file():
            self.checkpoint()  # from now on a restart resumes from here
        self._record_rows()  # rows the restored backlogs complete
        if self.session.counters.env_steps >= self.total_steps:
            self._finish()
        self._maybe_start_update()
        update = self._policy_update()
        self.hooks.publish_update(update)
        return update

    # --- resume: replay of the transition log (kept apart from the live traffic path) -----

    def replay_log(self) -> int:
        """Feed the transitions logged after the checkpoint to the algorithm as the stopped
        trainer did, its updates and metrics rows included (synchronously: nothing else runs
        yet), so counters, episodes, rows and learning progress are those before the crash.
        Rows are logged whole; a torn last row (fewer than ``workers``) is not replayed.
        Returns the number of transitions replayed."""
        logged, n = self.log.read(self.recorded), self.workers
        rows = [logged[i : i + n] for i in range(0, len(logged) - len(logged) % n, n)]
        for row in rows:
            self.recorded += n
            self._feed(row)
            self.session.add_steps(n, [t.episode_return for t in row])  # NaN: none ended
            spent = self.session.counters.env_steps >= self.total_steps
            if self.algorithm.ready() and (self.algorithm.on_policy or not spent):
                self.session.add_update(self.algorithm.update())
                self.session.write_row()
        steps = self.session.counters.env_steps
        self._next_checkpoint = next_multiple(steps, self.checkpoint_every)
        return n * len(rows)

    def restore_pending(self) -> int:
        """Put the journal's transitions that the log does not hold back where they were:
        each worker's backlog, and its held-back newest one with the episode it belongs to,
        which continues when that worker's bridge re-offers the episode's next step (a new
        episode or a gap cuts it, truncated, as for a live trainer). Returns their number."""
        if self.journal is None:
            return 0
        n = self.workers
        # every row of the log: the journal was rewritten just before its last compaction
        logged = self.log.read()
        rows = [logged[i : i + n] for i in range(0, len(logged) - len(logged) % n, n)]
        left = unrecorded(self.journal.read(), rows)
        count = 0
        for lane in self.lanes:
            entries = left.get(lane.index, [])
            if not entries:
                continue
            count += len(entries)
            *queued, last = entries
            lane.backlog.extend(e.transition for e in queued)
            t = last.transition
            if last.held and not (t.terminated or t.truncated):
                lane.held, lane.held_next = t, last.next_step
                lane.ep = Episode(last.episode, last.next_step - 1, length=last.length,
                                  ret=last.ret)  # fmt: skip
            else:
                lane.backlog.append(t)
            lane.last_heard = self.clock()  # seen now: worker_timeout counts from here
        return count

    def _pending_entries(self) -> list[PendingEntry]:
        """What is paired but not recorded, as the journal's rewrite holds it."""
        out = []
        for lane in self.lanes:
            out += [PendingEntry(lane.index, t, False) for t in lane.backlog]
            if lane.held is not None:
                ep = lane.ep
                out.append(PendingEntry(lane.index, lane.held, True, ep.episode,
                                        lane.held_next, ep.length, ep.ret))  # fmt: skip
        return out

    def _compact(self, recorded: int) -> None:
        """The journal first (a kill in between leaves rows it does not match), then the log."""
        if self.journal is not None:
            self.journal.rewrite(self._pending_entries())
        self.log.compact(recorded)

    def _policy_update(self) -> PolicyUpdate:
        config = self.session.config
        return serialize_policy(
            self.algorithm.policy, self.algorithm.policy_version, config.task, config.env,
            uniform_actions=self.algorithm.uniform_exploration,
        )  # fmt: skip

    @property
    def updating(self) -> bool:
        return self._worker is not None

    # --- learning ------------------------------------------------------------------------

    def _maybe_start_update(self) -> None:
        if self.done or self.updating or not self.algorithm.ready():
            return
        if not self.algorithm.on_policy and self.session.counters.env_steps >= self.total_steps:
            return  # off-policy: no further updates on transitions queued past the budget
        meta = self.session.checkpoint_meta()
        meta["updates"] += 1
        meta["graph_recorded"] = self.recorded
        meta["pending_row"] = None  # the row written after this update takes it all
        save = meta["env_steps"] >= self._next_checkpoint
        if save:  # written with this update, in the worker
            self._next_checkpoint = next_multiple(meta["env_steps"], self.checkpoint_every)
        self._result = None
        self._worker = threading.Thread(target=self._learn, args=(meta, save), daemon=True)
        self._worker.start()

    def _learn(self, meta: dict[str, Any], save: bool) -> None:
        try:
            stats = self.algorithm.update()
            update = self._policy_update()
            if save:
                with self._checkpoint_lock:
                    save_checkpoint(self.session.paths.checkpoint, self.algorithm, meta)
            self._result = (stats, update, meta["graph_recorded"] if save else None)
        except BaseException as err:  # re-raised on the spin thread by poll()
            self._result = err

    def poll(self) -> dict[str, Any] | None:
        """Collect a finished update: publish it, log a row, let the graph go on.

        Also settles a step whose action never came (a missed action the bridge replaced)
        after ``stall_timeout``: an end state ends the episode, any other is granted.
        Returns the metrics row written (None when no update finished); re-raises a worker
        failure.
        """
        for lane in self.lanes:
            self._settle_stalled(lane)
        self._check_departures()
        if self._worker is None or self._worker.is_alive():
            return None
        self._worker.join()
        self._worker, result = None, self._result
        if isinstance(result, BaseException):
            raise result
        stats, update, saved_at = result
        if saved_at is not None:
            self._compact(saved_at)  # those rows are in the checkpoint now
        self.session.add_update(stats)
        self.hooks.publish_update(update)
        row = self.session.write_row()
        row.update(dropped_stale=self.dropped_stale, policy_version=update.version)
        self.hooks.publish_stats(row)
        # off-policy: all that came during the update, then one update (as many as the graph
        # keeps up with; one per queued step would let the queue grow without bound)
        self._record_rows(start=self.algorithm.on_policy)
        if self.done:
            return row
        for lane in self.lanes:
            self._resume_after_update(lane)
        self._maybe_start_update()
        if self.session.counters.env_steps >= self.total_steps and not self.updating:
            self._finish()
        return row

    def _resume_after_update(self, lane: Lane) -> None:
        if lane.gone:
            if lane.joining:  # a worker of this index is back: its column is its own again
                lane.gone = lane.joining = False
                lane.ep = None  # its next (re-offered) observation starts an episode
            return
        ep, held_step = lane.ep, lane.parked
        lane.parked = None
        held, version = lane.held, self.algorithm.policy_version
        if self.algorithm.on_policy and held and held.policy_version != version:
            lane.held = None  # collected by the old version, after its rollout was full
            self.dropped_stale += 1
        if ep is None:
            return  # this worker has not started (yet)
        if not ep.active:
            self._request_reset(lane)  # unless its end already asked for one
        elif held_step is not None and held_step[1] == ep.episode:
            if self.algorithm.on_policy:
                for k in [k for k in ep.actions if k >= held_step[0]]:
                    del ep.actions[k]  # acted on by the old version: the bridge won't apply it
            self._decide(lane, held_step[0])

    def _finish(self) -> None:
        """Budget reached: final checkpoint, metrics row and learning curve."""
        if self.done:
            return
        self.done = True
        for lane in self.lanes:  # past the budget: recorded steps and queued ones spent it
            lane.held, lane.backlog = None, []
        self.hooks.set_paused(True)
        if self.session.steps_since_row() > 0:
            self.session.write_row()
        self.checkpoint()
        self.session.plot()

    def checkpoint(self) -> None:
        """Write the checkpoint now (not while an update runs) and compact the log."""
        if self.updating:
            raise RuntimeError("checkpoint() while an update is running")
        meta = self.session.checkpoint_meta()
        meta["graph_recorded"] = self.recorded
        with self._checkpoint_lock:
            save_checkpoint(self.session.paths.checkpoint, self.algorithm, meta)
        self._compact(self.recorded)

    def wait(self, timeout: float = 60.0) -> None:
        """Block until a running update has finished and been collected (tests, shutdown)."""
        end = time.monotonic() + timeout
        while self.updating and time.monotonic() < end:
            self._worker.join(timeout=max(0.0, end - time.monotonic()))
            self.poll()
