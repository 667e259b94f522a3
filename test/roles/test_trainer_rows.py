"""The graph trainer's rows (rl_control/roles/trainer_rows.py): the held-back transition a
cut marks truncated (in the journal too), episodes counted when their last transition is
recorded (once, also for a departed worker's mirrored column), and the budget counting what
waits to be recorded."""

from __future__ import annotations

import numpy as np
from clocks import FakeClock

from rl_control.algorithms.base import Algorithm
from rl_control.models.actor_critic import GaussianActorCritic
from rl_control.roles.trainer import ActionIn, GraphTrainer
from rl_control.roles.transition_log import PendingJournal, TransitionLog
from rl_control.tasks.registry import make_task
from rl_control.training.config import TrainConfig
from rl_control.training.io import RunPaths
from rl_control.training.session import RunSession


class Rows(Algorithm):
    """Keeps every row it is given: (obs, terminated, truncated) per column."""

    name = "fake"

    def __init__(self) -> None:
        self.on_policy = False
        self.policy = GaussianActorCritic(4, 1, [-100.0], [100.0], hidden=[8])
        self.policy_version = 0
        self.rows: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []

    def act(self, obs):
        return self.policy.act(obs)

    def record(self, obs, out, reward, terminated, truncated, next_obs):
        self.rows.append((np.array(obs), np.array(terminated), np.array(truncated)))

    def ready(self):
        return False

    def update(self):
        raise AssertionError("no update in these tests")

    def state_dict(self):
        return {}

    def load_state_dict(self, state):
        pass


def _trainer(tmp_path, workers: int = 1, total: int = 10_000, clock=None) -> GraphTrainer:
    task = make_task("soft_wall_cartpole", {"max_steps": 400})
    config = TrainConfig(algo="fake", task="soft_wall_cartpole", run_dir=str(tmp_path))
    session = RunSession(config, RunPaths(tmp_path), tensorboard=False)
    return GraphTrainer(
        task, Rows(), session, TransitionLog(tmp_path / "t.bin", 4, 1), total_steps=total,
        clock=clock or FakeClock(), workers=workers,
        journal=PendingJournal(tmp_path / "p.bin", 4, 1),
    )  # fmt: skip


def _step(trainer: GraphTrainer, k: int, x: float, worker: int = 0, episode: int = 0) -> None:
    trainer.on_observation(k, episode, np.array([x, 0.0, 0.0, 0.0]), worker)
    trainer.on_action(ActionIn(k, episode, 0, np.array([1.0]), -0.5), worker)


def test_a_cut_records_the_held_transition_truncated_and_journals_it(tmp_path) -> None:
    trainer = _trainer(tmp_path)
    for k in range(4):
        _step(trainer, k, 0.01 * k)
    rows = trainer.algorithm.rows
    assert len(rows) == 2 and trainer.lanes[0].held is not None  # (2 -> 3) held back
    _step(trainer, 0, 0.0)  # the bridge restarted its episode: a cut
    assert len(rows) == 3 and rows[-1][2][0] and not rows[-1][1][0]  # truncated
    entries = trainer.journal.read()[0]
    assert entries[-1].transition.truncated and not entries[-1].held
    assert trainer.cut_episodes == 1


def test_an_episode_counts_when_its_last_transition_is_recorded(tmp_path) -> None:
    trainer = _trainer(tmp_path, workers=2)
    for k in range(3):  # worker 1 runs out of range (|x| > 0.5) at step 2
        _step(trainer, k, 0.3 * k, worker=1)
    lane = trainer.lanes[1]
    assert lane.backlog[-1].terminated and trainer.algorithm.rows == []
    assert trainer.session.counters.episodes == 0  # its row waits for worker 0
    for k in range(4):
        _step(trainer, k, 0.0, worker=0)
    assert len(trainer.algorithm.rows) == 2 and trainer.algorithm.rows[1][1].tolist() == [
        False, True]  # fmt: skip
    assert trainer.session.counters.episodes == 1


def test_a_departed_workers_mirrored_column_ends_no_episode_of_its_own(tmp_path) -> None:
    clock = FakeClock()
    trainer = _trainer(tmp_path, workers=2, clock=clock)
    _step(trainer, 0, 0.0, worker=1)  # worker 1 seen once, then silent
    clock.advance(trainer.worker_timeout + 1)
    trainer.poll()
    assert trainer.lanes[1].gone and trainer.departures == 1
    for k in range(4):  # worker 0's episode ends at step 2; column 1 copies it
        _step(trainer, k, 0.3 * k, worker=0)
    (_, terminated, _), *_ = trainer.algorithm.rows[-1:]
    assert terminated.tolist() == [True, True]  # the copy in column 1
    assert trainer.session.counters.episodes == 1  # counted once, not once per column


def test_the_budget_counts_the_held_and_the_queued_transitions(tmp_path) -> None:
    trainer = _trainer(tmp_path, workers=2, total=8)  # 4 rows
    for k in range(4):
        _step(trainer, k, 0.0, worker=1)
    lane = trainer.lanes[1]
    assert len(lane.backlog) == 2 and lane.held is not None and trainer.algorithm.rows == []
    assert not trainer._budget_reached(lane)
    assert not trainer._budget_reached(lane, held=True)  # 3 of its 4
    assert trainer._budget_reached(lane, extra=1, held=True)
