"""Graph trainer with several workers (rl_control.roles.lanes): rows of one transition per
worker in worker order whatever order messages come in, per-worker grants, on-policy
columns that wait for the update, a bounded off-policy lead, and a restarted worker that
cuts only its own episode."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from clocks import FakeClock

from rl_control.algorithms.base import Algorithm
from rl_control.models.actor_critic import GaussianActorCritic
from rl_control.roles.lanes import MAX_LEAD, worker_prefix
from rl_control.roles.trainer import ActionIn, GraphTrainer, TrainerHooks
from rl_control.roles.transition_log import TransitionLog
from rl_control.tasks.registry import make_task
from rl_control.training.config import TrainConfig
from rl_control.training.io import RunPaths
from rl_control.training.session import RunSession


class RowAlgorithm(Algorithm):
    """Keeps every row it is given (obs, truncated, version); ready after ``rows`` rows."""

    name = "fake"

    def __init__(self, on_policy: bool = True, rows: int = 8) -> None:
        self.on_policy, self.rows = on_policy, rows
        self.policy = GaussianActorCritic(4, 1, [-100.0], [100.0], hidden=[8])
        self.policy_version = 0
        self.since_update = 0
        self.history: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        self.gate = threading.Event()
        self.gate.set()

    def act(self, obs):
        return self.policy.act(obs)

    def record(self, obs, out, reward, terminated, truncated, next_obs):
        versions = np.asarray(out.info["policy_version"])
        self.history.append((np.array(obs), np.array(truncated), versions))
        self.since_update += 1

    def ready(self):
        return self.since_update >= self.rows

    def records_until_ready(self):
        return max(0, self.rows - self.since_update) if self.on_policy else None

    def update(self):
        self.gate.wait(10)
        self.since_update = 0
        self.policy_version += 1
        return {"loss": 1.0}

    def state_dict(self):
        return {"version": self.policy_version}

    def load_state_dict(self, state):
        self.policy_version = state["version"]


def _position(worker: int, episode: int, step: int) -> float:
    """Worker k's (deterministic) cart position: tells the columns apart."""
    return 0.001 * ((worker + 1) * 100 + episode * 10 + step % 10)


class Fleet:
    """N lock-step workers (bridge + policy): each publishes its observation and action,
    then simulates only a granted step, and starts a new episode when reset."""

    def __init__(self, tmp_path, algo: Algorithm, n: int, total: int, max_steps: int = 6):
        task = make_task("soft_wall_cartpole", {"max_steps": max_steps})
        config = TrainConfig(algo="fake", task="soft_wall_cartpole", run_dir=str(tmp_path))
        session = RunSession(config, RunPaths(tmp_path), tensorboard=False)
        self.state = [
            dict(episode=0, step=0, published=False, granted=None, version=0, min_version=0)
            for _ in range(n)
        ]
        self.grants = [0] * n
        self.version = 0  # the newest policy_update published: what the policy nodes run
        hooks = TrainerHooks(
            request_reset=self._reset, grant=self._grant, publish_update=self._update
        )
        log = TransitionLog(tmp_path / "t.bin", 4, 1)
        self.trainer = GraphTrainer(
            task, algo, session, log, hooks, total_steps=total, clock=FakeClock(), workers=n
        )
        self.algo = algo

    def _grant(self, worker: int, step: int, episode: int, version: int) -> None:
        self.state[worker].update(granted=(step, episode), min_version=version)
        self.grants[worker] += 1

    def _update(self, update) -> None:
        self.version = update.version

    def _reset(self, worker: int) -> None:
        w = self.state[worker]
        w.update(episode=w["episode"] + 1, step=0, published=False, granted=None)

    def _act(self, k: int) -> None:
        """The policy node: acts on the newest observation with the newest policy."""
        w = self.state[k]
        w["version"] = self.version
        action = ActionIn(w["step"], w["episode"], w["version"], np.array([float(k)]), -1.0)
        self.trainer.on_action(action, worker=k)

    def move(self, k: int) -> bool:
        """One thing worker ``k`` can do now; False when it waits for the trainer."""
        w, trainer = self.state[k], self.trainer
        episode, step = w["episode"], w["step"]
        if not w["published"]:
            w["published"] = True
            state = np.array([_position(k, episode, step), 0.0, 0.0, 0.0])
            trainer.on_observation(step, episode, state, worker=k)
            self._act(k)
            return True
        if w["granted"] == (step, episode):
            if w["version"] < w["min_version"]:  # the bridge waits for the new version's
                self._act(k)
            w.update(step=step + 1, published=False)
            return True
        return False

    def run(
        self, order: np.random.Generator, only: list[int] | None = None, rows: int = 2**30
    ) -> None:
        """Move random workers (of ``only``) until none can or ``rows`` rows were recorded,
        collecting updates."""
        while not self.trainer.done and self.trainer.recorded < rows * len(self.state):
            movable = [k for k in (only or range(len(self.state))) if self.move_possible(k)]
            if not movable:
                if not self.trainer.updating:
                    return
                self.trainer.wait(5)
                continue
            self.move(int(order.choice(movable)))
            self.trainer.poll()

    def move_possible(self, k: int) -> bool:
        w = self.state[k]
        return not w["published"] or w["granted"] == (w["step"], w["episode"])


def test_rows_hold_worker_k_in_column_k_whatever_the_message_order(tmp_path) -> None:
    runs = []
    for seed in range(3):
        fleet = Fleet(tmp_path / str(seed), RowAlgorithm(rows=8), n=3, total=48)
        fleet.run(np.random.default_rng(seed))
        assert fleet.trainer.done and fleet.trainer.session.counters.env_steps == 48
        runs.append(fleet.algo.history)
    assert len(runs[0]) == 16  # 48 steps = 16 rows of 3 workers, two updates
    for other in runs[1:]:
        for (obs_a, trunc_a, ver_a), (obs_b, trunc_b, ver_b) in zip(runs[0], other, strict=True):
            np.testing.assert_array_equal(obs_a, obs_b)
            np.testing.assert_array_equal(trunc_a, trunc_b)
            np.testing.assert_array_equal(ver_a, ver_b)
    hundreds = np.array([np.round(obs[:, 0] * 10) for obs, _, _ in runs[0]])
    assert (hundreds == [1, 2, 3]).all()  # column k is worker k's
    versions = np.array([ver for _, _, ver in runs[0]])
    assert (versions[:8] == 0).all() and (versions[8:] == 1).all()  # one rollout per version


def test_on_policy_a_full_column_waits_for_the_others_and_the_update(tmp_path) -> None:
    fleet = Fleet(tmp_path, RowAlgorithm(rows=4), n=2, total=1000, max_steps=100)
    rng = np.random.default_rng(0)
    fleet.run(rng, only=[0])
    # worker 0 collected its 4 transitions of the rollout and waits; nothing recorded yet
    assert fleet.grants[0] == 4 and fleet.algo.history == [] and not fleet.trainer.updating
    fleet.run(rng, only=[1])
    assert fleet.algo.policy_version == 1 and len(fleet.algo.history) == 4
    assert fleet.grants[0] == 5  # the parked step, granted for the new version
    assert fleet.trainer.dropped_stale == 0  # nothing collected was thrown away


def test_on_policy_a_worker_is_granted_before_the_row_it_completes_is_recorded(
    tmp_path,
) -> None:
    """The grant does not wait for record(): the other workers' rows are recorded after
    it, except when the new transition fills the worker's column (then it waits)."""
    algo = RowAlgorithm(rows=3)
    algo.gate.clear()  # the update waits: the grants around it stay visible
    fleet = Fleet(tmp_path, algo, n=2, total=1000, max_steps=100)
    order: list[str] = []
    grant, record = fleet._grant, algo.record
    fleet.trainer.hooks.grant = lambda k, *g: (order.append(f"grant {k}:{g[0]}"), grant(k, *g))
    algo.record = lambda *a: (order.append(f"record {len(algo.history)}"), record(*a))
    for _ in range(4):  # worker 0 runs first, then worker 1 completes each row
        fleet.move(0), fleet.move(0), fleet.move(1), fleet.move(1)
    assert order == [
        "grant 0:0", "grant 1:0", "grant 0:1", "grant 1:1",  # first steps: nothing to record
        "grant 0:2", "grant 1:2", "record 0",  # (1 -> 2) completes row 0: granted first
        # (2 -> 3) fills each worker's column: no grant; rows 1 and 2 start the update
        "record 1", "record 2",
    ]  # fmt: skip
    assert fleet.trainer.updating
    algo.gate.set()
    fleet.trainer.wait(5)
    assert order[-2:] == ["grant 0:3", "grant 1:3"]  # the parked steps, for the new version


def test_off_policy_a_worker_runs_at_most_max_lead_rows_ahead(tmp_path) -> None:
    fleet = Fleet(tmp_path, RowAlgorithm(on_policy=False, rows=1000), n=2, total=1000)
    rng = np.random.default_rng(0)
    fleet.run(rng, only=[0])
    assert fleet.grants[0] == MAX_LEAD + 1  # MAX_LEAD waiting + the held-back one
    fleet.run(rng, only=[1])
    assert len(fleet.algo.history) == MAX_LEAD  # the rows worker 1 completed ...
    assert fleet.grants[0] == MAX_LEAD + 2  # ... released worker 0's parked step
    assert fleet.grants[1] == 2 * MAX_LEAD + 1  # and now worker 1 waits for worker 0
    fleet.run(rng, only=[0])
    assert len(fleet.algo.history) == 2 * MAX_LEAD  # it caught up with worker 1


def test_a_restarted_worker_cuts_only_its_own_episode_and_loses_no_row(tmp_path) -> None:
    fleet = Fleet(tmp_path, RowAlgorithm(rows=6), n=2, total=24, max_steps=100)
    rng = np.random.default_rng(1)
    for _ in range(12):
        fleet.move(0)
        fleet.move(1)
    fleet.state[1].update(step=0, published=False, granted=None)  # respawned: starts over
    fleet.run(rng)
    assert fleet.trainer.done and fleet.trainer.session.counters.env_steps == 24
    truncated = np.array([trunc for _, trunc, _ in fleet.algo.history])
    assert not truncated[:, 0].any()  # worker 0's episode goes on
    assert truncated[:, 1].sum() == 1 and fleet.trainer.cut_episodes == 1


def test_worker_topics_are_plain_for_one_worker_and_namespaced_for_more() -> None:
    assert worker_prefix(0, 1) == ""
    assert [worker_prefix(k, 3) for k in range(3)] == ["worker_0/", "worker_1/", "worker_2/"]


def test_replay_rebuilds_the_rows_from_the_log(tmp_path) -> None:
    """A restarted trainer replays the log row by row: the same columns, the same updates."""
    fleet = Fleet(tmp_path, RowAlgorithm(rows=4), n=2, total=1000)
    fleet.run(np.random.default_rng(2), rows=10)  # killed here: no final checkpoint
    fleet.trainer.wait(5)
    assert len(fleet.algo.history) == 10
    again = Fleet(tmp_path, RowAlgorithm(rows=4), n=2, total=1000)  # same run folder and log
    assert again.trainer.replay_log() == 20
    for (obs_a, trunc_a, _), (obs_b, trunc_b, _) in zip(
        fleet.algo.history, again.algo.history, strict=True
    ):
        np.testing.assert_array_equal(obs_a, obs_b)
        np.testing.assert_array_equal(trunc_a, trunc_b)
    assert again.algo.policy_version == 2 and again.trainer.session.counters.env_steps == 20


def test_an_ended_episode_asks_for_one_reset_even_if_the_update_ends_first(tmp_path) -> None:
    """Issue 14: worker 0's episode ends before the rollout is full; the update then finishes
    before its new episode's first observation arrives. Asking again after the update would
    reset its bridge twice and skip an episode, depending on message timing."""
    fleet = Fleet(tmp_path, RowAlgorithm(rows=4), n=2, total=1000, max_steps=4)
    resets: list[int] = []
    fleet.trainer.hooks.request_reset = resets.append  # the bridges' resets still in flight
    rng = np.random.default_rng(0)
    fleet.run(rng, only=[0])  # 4 steps: its column full and its episode over
    assert resets == [0] and not fleet.trainer.updating
    fleet.run(rng, only=[1])  # fills the rollout (and ends its episode): the update runs
    fleet.trainer.wait(5)
    assert fleet.algo.policy_version == 1
    assert resets == [0, 1]  # one each: worker 0's is not asked for again
    fleet._reset(0)  # the first reset's episode arrives: played on, not reset again
    assert fleet.move(0) and fleet.trainer.lanes[0].ep.active
    assert resets == [0, 1]


def _republish(fleet: Fleet, k: int) -> None:
    """Worker ``k``'s waiting bridge offers its current step again (it is alive)."""
    w = fleet.state[k]
    state = np.array([_position(k, w["episode"], w["step"]), 0.0, 0.0, 0.0])
    fleet.trainer.on_observation(w["step"], w["episode"], state, worker=k)


def test_a_silent_worker_frees_its_column_and_a_new_one_takes_it_at_the_next_update(
    tmp_path,
) -> None:
    """worker_timeout: worker 1 stops sending; after 30 s its episode is cut, its column
    mirrors worker 0's, the run goes on; a new worker 1 gets its column back at the next
    update."""
    fleet = Fleet(tmp_path, RowAlgorithm(rows=4), n=2, total=1000, max_steps=100)
    left: list[int] = []
    fleet.trainer.hooks.worker_left = left.append
    clock, rng = fleet.trainer.clock, np.random.default_rng(3)
    fleet.run(rng, rows=2)
    fleet.run(rng, only=[0])  # worker 0's column full; worker 1 is gone (killed)
    assert fleet.algo.policy_version == 0 and not fleet.trainer.updating
    clock.advance(20.0)
    _republish(fleet, 0)
    clock.advance(10.5)
    fleet.trainer.poll()
    assert left == [1] and fleet.trainer.departures == 1 and fleet.trainer.lanes[1].gone
    fleet.trainer.wait(5)  # the rows filled without worker 1: the update ran
    assert fleet.algo.policy_version == 1
    fleet.run(rng, only=[0], rows=6)
    fleet.state[1].update(episode=0, step=0, published=False, granted=None)  # a new worker 1
    fleet.move(1)  # heard, but it waits for the next update
    assert fleet.trainer.lanes[1].joining and fleet.algo.policy_version == 1
    fleet.run(rng, only=[0], rows=8)
    fleet.trainer.wait(5)
    assert fleet.algo.policy_version == 2 and not fleet.trainer.lanes[1].gone
    fleet.state[1]["published"] = False  # its bridge re-offers the step
    fleet.run(rng, rows=12)
    history = fleet.algo.history
    obs = np.array([o for o, _, _ in history])
    truncated = np.array([t for _, t, _ in history])
    owner = np.round(obs[:, :, 0] * 10).astype(int) - 1  # whose state each column holds
    assert (owner[:, 0] == 0).all()
    mine = int((owner[:8, 1] == 1).sum())  # worker 1's own transitions, then the mirror
    assert mine >= 2 and (owner[:mine, 1] == 1).all() and (owner[mine:8, 1] == 0).all()
    assert truncated[mine - 1, 1]  # its episode was cut at its last transition
    np.testing.assert_array_equal(obs[mine:8, 1], obs[mine:8, 0])  # copies of real ones
    assert (owner[8:, 1] == 1).all()  # from the update on: the new worker 1's own
    assert fleet.trainer.session.counters.env_steps == 24


def test_worker_timeout_zero_waits_forever_and_a_negative_one_is_refused(tmp_path) -> None:
    fleet = Fleet(tmp_path, RowAlgorithm(rows=4), n=2, total=1000, max_steps=100)
    fleet.trainer.worker_timeout = 0.0
    fleet.run(np.random.default_rng(0), only=[0])
    fleet.trainer.clock.advance(1e6)
    fleet.trainer.poll()
    assert fleet.trainer.departures == 0 and not fleet.trainer.lanes[1].gone
    with pytest.raises(ValueError, match="worker_timeout must be >= 0 s"):
        GraphTrainer(
            fleet.trainer.task, fleet.algo, fleet.trainer.session, fleet.trainer.log,
            worker_timeout=-1.0,
        )  # fmt: skip
