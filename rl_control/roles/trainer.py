"""The trainer node's logic: pair observations and actions into transitions, own episodes,
feed the algorithm, learn in a worker thread, publish policy updates and checkpoint. This
module holds the traffic side (pairing, grants, resets); rows and the freed columns of
gone workers are in :mod:`~rl_control.roles.trainer_rows`, updates, replay and checkpoints
in :mod:`~rl_control.roles.trainer_learning` (mixins of one :class:`GraphTrainer`).

Callbacks (:meth:`GraphTrainer.on_observation`, :meth:`GraphTrainer.on_action`,
:meth:`GraphTrainer.poll`) run on the node's spin thread and only do bookkeeping; the
algorithm's update (plus serialising the new policy and writing the checkpoint) runs in a
worker thread. Transitions arriving meanwhile wait in their lane's backlog, since record()
and update() must never overlap. Hooks (reset, pause, grant, publish) are only ever called
from the spin thread.

The trainer gates lock-step bridges: once it has handled the transition into step k of a
worker it grants that worker step k (naming the oldest policy version allowed to act), so
no simulation runs ahead of it. It grants nothing at an episode end (it resets instead) and
nothing while an on-policy update runs; afterwards it grants the same step for the new
policy version, so episodes go on across updates as in the in-process runner. A hardware
bridge cannot wait: its readings outside an episode (episode ``BETWEEN_EPISODES``) end the
trainer's episode (cut, truncated) and ask for a reset.

With ``workers`` > 1 each worker has a lane (:mod:`rl_control.roles.lanes`) and the
algorithm sees N parallel envs: row r of the batch holds the r-th transition of every
worker. On-policy, a worker whose column of the rollout is full waits for the update; off-
policy, a worker at most ``MAX_LEAD`` rows ahead of the others waits for them.

A worker that sent nothing (not even a re-published observation: a waiting bridge re-offers
its step several times a second) for ``worker_timeout`` s of the clock has left: its
episode is cut, its column is freed (mirrored from the first active worker, see
:mod:`~rl_control.roles.lanes`) and the run goes on; a worker of that index that sends
again takes the column from the next update on (0: wait for every worker forever).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from rl_control.algorithms.base import Algorithm
from rl_control.robot.sensors import BETWEEN_EPISODES
from rl_control.roles.lanes import MAX_LEAD, ActionIn, Episode, Lane
from rl_control.roles.policy_server import PolicyUpdate
from rl_control.roles.trainer_learning import LearningLoop, next_multiple
from rl_control.roles.trainer_rows import RowFeed
from rl_control.roles.transition_log import LoggedTransition, PendingJournal, TransitionLog
from rl_control.tasks.base import Task
from rl_control.training.session import RunSession

__all__ = ["ActionIn", "GraphTrainer", "TrainerHooks"]


def _noop(*_: Any) -> None:
    return None


@dataclass
class TrainerHooks:
    """How the trainer reaches the graph (the node fills these in; tests record calls).
    ``request_reset`` and ``grant`` name the worker first."""

    request_reset: Callable[[int], None] = _noop  # (worker)
    set_paused: Callable[[bool], None] = _noop
    publish_update: Callable[[PolicyUpdate], None] = _noop
    publish_stats: Callable[[dict[str, float]], None] = _noop
    grant: Callable[[int, int, int, int], None] = _noop  # (worker, step, episode, min version)
    worker_left: Callable[[int], None] = _noop  # (worker): silent for worker_timeout


class GraphTrainer(RowFeed, LearningLoop):
    """Turns topic traffic into :meth:`Algorithm.record` calls and runs learning beside it.

    ``checkpoint_every`` counts environment steps, as ``rl-control train`` does: the first
    update at or past each multiple writes the checkpoint (0: only at the start, the end and
    on :meth:`checkpoint`). ``workers`` is the number of parallel envs of the algorithm.
    """

    def __init__(
        self,
        task: Task,
        algorithm: Algorithm,
        session: RunSession,
        log: TransitionLog,
        hooks: TrainerHooks | None = None,
        total_steps: int = 100_000,
        checkpoint_every: int = 0,
        recorded: int = 0,
        # a step's action is settled without it only when it is lost (a policy node died
        # between applying and reporting it): gated bridges never replace an action, so a
        # short timeout would only turn a loaded machine's delays into different runs
        stall_timeout: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
        workers: int = 1,
        worker_timeout: float = 30.0,
        journal: PendingJournal | None = None,
    ) -> None:
        if int(workers) < 1:
            raise ValueError(f"workers must be >= 1, not {workers}")
        if not float(worker_timeout) >= 0:
            raise ValueError(f"worker_timeout must be >= 0 s (0: never), not {worker_timeout}")
        self.worker_timeout = float(worker_timeout)
        self.task, self.algorithm, self.session, self.log = task, algorithm, session, log
        # transitions paired but not recorded yet (held back, waiting for a row); None: kept
        # in memory only, so a killed trainer loses them
        self.journal = journal
        self.restored = 0  # pending transitions a resumed trainer took back from the journal
        self.hooks = hooks or TrainerHooks()
        self.total_steps, self.checkpoint_every = int(total_steps), int(checkpoint_every)
        self.recorded = int(recorded)  # transitions given to record() in this run, ever
        self.dropped_stale = 0
        self.cut_episodes = 0
        self.done = False
        self.lanes = [Lane(k) for k in range(int(workers))]
        self._worker: threading.Thread | None = None
        self._result: tuple[dict[str, float], PolicyUpdate, int | None] | BaseException | None = (
            None
        )
        # checkpoint_every counts env steps, as in the in-process runner (0 = only at the end)
        self._next_checkpoint = next_multiple(session.counters.env_steps, self.checkpoint_every)
        self.stall_timeout, self.clock = float(stall_timeout), clock
        self._checkpoint_lock = threading.Lock()
        # (clock) times of the newest observation and action of any kind, re-published ones
        # too: the node warns when a peer has gone silent
        self.last_observation_at = self.last_action_at = clock()
        self.departures = 0  # workers that left (worker_timeout)

    @property
    def workers(self) -> int:
        return len(self.lanes)

    def _lane(self, worker: int) -> Lane | None:
        worker = int(worker)
        return self.lanes[worker] if 0 <= worker < len(self.lanes) else None

    # --- traffic -------------------------------------------------------------------------

    def on_observation(self, step: int, episode: int, state: np.ndarray, worker: int = 0) -> None:
        """An estimated state of ``worker``; starts, continues or ignores an episode."""
        self.last_observation_at = self.clock()
        lane = self._lane(worker)
        if self.done or lane is None or self._heard(lane):
            return
        step, episode = int(step), int(episode)
        ep = lane.ep
        if episode == BETWEEN_EPISODES:  # a hardware bridge outside an episode (homing,
            if ep is not None and ep.active:  # hold, fault): the episode has ended there
                self._cut(lane)
                if not self.updating:
                    self.hooks.request_reset(lane.index)  # else after the update
            return
        restarted = ep is not None and episode == ep.episode and step < ep.last_step
        if ep is None or episode != ep.episode or restarted:  # reset or a respawned bridge
            if ep is not None and ep.active:
                self._cut(lane)
            ep = lane.ep = Episode(episode, step)
            lane.undecided = None
            lane.parked = None  # the old episode's parked step will never be simulated
        if not ep.active:
            return  # leftovers of an ended episode
        if step in ep.obs:  # re-published: the bridge is waiting, maybe for a lost grant
            if lane.granted == (step, episode):
                self.hooks.grant(lane.index, step, episode, lane.min_version)
            return
        ep.last_step = max(ep.last_step, step)
        ep.obs[step] = np.asarray(state, dtype=np.float64)
        ep.first_step = min(ep.first_step, step)
        lane.undecided = (step, self.clock())
        if step == ep.first_step:
            # nothing leads into an episode's first step; its own action must have reached
            # this node before the bridge may apply it (the action topic may still be
            # matching after a start or a respawn: the bridge re-offers the step meanwhile)
            if step in ep.actions:
                self._decide(lane, step)
            return
        self._pair(lane, step - 1)

    def on_action(self, action: ActionIn, worker: int = 0) -> None:
        """A policy action of ``worker``; paired with the observations around it."""
        self.last_action_at = self.clock()
        lane = self._lane(worker)
        if lane is None or self._heard(lane):
            return
        ep = lane.ep
        if self.done or ep is None or not ep.active or action.episode != ep.episode:
            return
        if self.algorithm.on_policy and action.policy_version < self.algorithm.policy_version:
            return  # acted before the update reached the policy node: never applied
        ep.actions.setdefault(int(action.step), action)  # the first one is what was applied
        waiting = lane.undecided
        if waiting is not None and waiting[0] == action.step == ep.first_step:
            self._decide(lane, ep.first_step)
        self._pair(lane, int(action.step))

    def _decide(self, lane: Lane, step: int) -> None:
        """The transition into ``step`` is handled: let the bridge simulate it, or hold it."""
        lane.undecided = None
        ep = lane.ep
        if self.done or ep is None or not ep.active:
            return  # the episode ended: a reset follows instead
        many = self.workers > 1
        if self._budget_reached(lane, held=many):
            if many:  # its last transition completes the final row
                self._flush_held(lane)
            return  # the budget is spent: the last update (if any) finishes the run
        if self.algorithm.on_policy and (self.updating or self._column_full(lane)):
            if not self.updating:  # the last of its column: the rollout can fill without it
                self._flush_held(lane)
            lane.parked = (step, ep.episode)  # for the next policy version
            return
        if many and not self.algorithm.on_policy and len(lane.backlog) >= MAX_LEAD:
            lane.parked = (step, ep.episode)  # granted when the other workers catch up
            return
        self._grant(lane, step, ep.episode)

    def _grant(self, lane: Lane, step: int, episode: int) -> None:
        lane.min_version = self.algorithm.policy_version if self.algorithm.on_policy else 0
        lane.granted = (step, episode)
        self.hooks.grant(lane.index, step, episode, lane.min_version)

    def _pair(self, lane: Lane, step: int) -> None:
        ep = lane.ep
        if step not in ep.obs or step + 1 not in ep.obs or step not in ep.actions:
            return
        state, next_state = ep.obs.pop(step), ep.obs[step + 1]
        act = ep.actions.pop(step)
        for old in [k for k in ep.obs if k < step]:  # steps whose action never came (misses)
            del ep.obs[old]
        for old in [k for k in ep.actions if k < step]:  # actions the bridge did not apply
            del ep.actions[old]
        if lane.held is not None and lane.held_next != step:
            self._flush_held(lane, truncate=True)  # a gap: the held one's successor is missing
        lane.held_next = step + 1
        applied = self.task.clip_action(act.action)
        reward = self.task.reward(state, applied, next_state)
        ep.length += 1
        ep.ret += reward
        term = self.task.terminated(next_state)
        trunc = ep.length >= self.task.max_steps and not term
        t = LoggedTransition(
            -1, act.policy_version, self.task.observation(state), np.asarray(act.action),
            act.log_prob, reward, term, trunc, self.task.observation(next_state),
        )  # fmt: skip
        if self.algorithm.on_policy and act.policy_version != self.algorithm.policy_version:
            if not self.updating:  # during an update the version is about to change anyway
                self.dropped_stale += 1
                self._cut(lane)
                self._request_reset(lane)
                return
        early = not (term or trunc) and self._grant_is_safe_before_recording(lane)
        if early:  # the bridge and the policy go on while this node records
            self._decide(lane, step + 1)
        if term or trunc:
            # counted when it is recorded (before any update it starts, whose checkpoint
            # then holds the episode too) and again so by a replay of the log
            t.episode_return = ep.ret
        self._hold(lane, t)
        if term or trunc:
            self._flush_held(lane)
            ep.active = False
            if not self.updating:
                self._request_reset(lane)  # else after the update, with the new policy
        self._maybe_start_update()
        if not early:
            self._decide(lane, step + 1)

    def _request_reset(self, lane: Lane) -> None:
        """Ask for the reset that ends the lane's episode, once: asked again after an update
        while the new episode's first observation is still on its way, the bridge would
        reset twice and skip an episode (start states drawn by message timing, issue 14)."""
        if lane.ep is None or lane.ep.reset_requested:
            return
        lane.ep.reset_requested = True
        self.hooks.request_reset(lane.index)

    def _grant_is_safe_before_recording(self, lane: Lane) -> bool:
        """Whether the next step's grant may go out before the new transition is held and
        the rows it completes are recorded: when recording can neither start an on-policy
        update nor spend the budget, the grant after it would be the same one. Recording a
        row takes one of this lane's pending transitions and one of the rollout's free
        slots, so rows + pending and pending - slots do not change; the new transition
        counts as one more pending. Off-policy with several workers, the lead bound is
        judged after recording (the rows shrink the backlog)."""
        many = self.workers > 1
        if self._budget_reached(lane, 1, held=many):
            return False
        if not self.algorithm.on_policy:
            return not many  # off-policy updates run beside the traffic
        if self.updating:
            return False
        left = self.algorithm.records_until_ready()
        if left is None:
            return False
        if many:  # this worker's column stays open after the new transition
            return lane.pending(True, self.algorithm.policy_version, held=True) + 1 < left
        return left > (1 if lane.held is not None else 0)

    def _settle_stalled(self, lane: Lane) -> None:
        ep, undecided = lane.ep, lane.undecided
        if ep is None or not ep.active or undecided is None:
            return
        step, since = undecided
        late = self.clock() - since > self.stall_timeout
        if not late or step not in ep.obs or step == ep.first_step:
            return  # a first step waits for its action however long: nothing was missed
        over = step - ep.first_step >= self.task.max_steps
        if over or self.task.terminated(ep.obs[step]):
            lane.undecided = None
            self._cut(lane)
            if not self.updating:
                self._request_reset(lane)
        else:
            self._decide(lane, step)
