"""The graph trainer's learning side (rl_control/roles/trainer_learning.py): checkpoint
multiples, and a restart that takes back from the pending journal what the transition log
does not hold (the held-back transition with its episode), so the episode goes on as if the
trainer had never stopped; the journal and the log compacted together."""

from __future__ import annotations

import numpy as np
import pytest

from rl_control.roles.session import build_graph_trainer
from rl_control.roles.trainer import ActionIn, GraphTrainer
from rl_control.roles.trainer_learning import next_multiple
from rl_control.roles.transition_log import same_transition
from rl_control.training.config import TrainConfig


def _config(run) -> TrainConfig:
    return TrainConfig(
        algo="ppo", task="soft_wall_cartpole", run_dir=str(run), total_steps=10_000,
        algo_config={"n_steps": 256, "hidden": [8]},
    )  # fmt: skip


def _state(k: int) -> np.ndarray:
    return np.array([0.03 * k, 0.0, 0.0, 0.0])  # the cart leaves |x| <= 0.5 at step 17


def _step(trainer: GraphTrainer, k: int, episode: int = 0) -> None:
    """The observation of step ``k`` and the policy's action for it."""
    trainer.on_observation(k, episode, _state(k))
    action = np.array([np.sin(k + 10 * episode)])
    trainer.on_action(ActionIn(k, episode, trainer.algorithm.policy_version, action, -0.5))


def _storage(trainer: GraphTrainer) -> dict[str, np.ndarray]:
    s = trainer.algorithm.storage
    return {k: getattr(s, k)[: s.step].numpy().copy() for k in ("obs", "rewards", "dones")}


def test_next_multiple_is_the_first_multiple_above_and_never_for_zero() -> None:
    assert [next_multiple(s, 100) for s in (0, 99, 100, 250)] == [100, 100, 200, 300]
    assert next_multiple(10**9, 0) >= 2**62


def test_a_restart_continues_the_held_back_transitions_episode_seamlessly(tmp_path) -> None:
    whole, _ = build_graph_trainer(_config(tmp_path / "whole"))
    whole.start()
    for k in range(20):  # episode 0 ends at step 17 (cart out of range)
        _step(whole, k)
    killed, _ = build_graph_trainer(_config(tmp_path / "killed"))
    killed.start()
    for k in range(11):
        _step(killed, k)
    held, ep = killed.lanes[0].held, killed.lanes[0].ep
    assert held is not None and killed.recorded == 9  # (9 -> 10) held back, in no log row
    # SIGKILL now: nothing closed, no checkpoint after the initial one
    again, resumed = build_graph_trainer(_config(tmp_path / "killed"))
    assert resumed
    again.start()
    lane = again.lanes[0]
    assert again.restored == 1 and same_transition(lane.held, held)
    assert (lane.held_next, lane.ep.episode, lane.ep.length) == (10, 0, ep.length)
    assert lane.ep.ret == pytest.approx(ep.ret)
    for k in range(10, 20):  # the bridge re-offers step 10 and goes on
        _step(again, k)
    assert again.session.counters.episodes == whole.session.counters.episodes == 1
    a, b = _storage(again), _storage(whole)
    for key in a:  # (9 -> 10) recorded untruncated: dones and rewards as if never stopped
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)
    assert again.session.pending()["returns"] == pytest.approx(whole.session.pending()["returns"])


def test_a_restart_into_another_episode_records_the_held_one_truncated(tmp_path) -> None:
    killed, _ = build_graph_trainer(_config(tmp_path))
    killed.start()
    for k in range(6):
        _step(killed, k)
    again, _ = build_graph_trainer(_config(tmp_path))
    again.start()
    _step(again, 0, episode=1)  # the bridge was reset meanwhile: the old episode is cut
    assert again.recorded == 5 and again.cut_episodes == 1
    assert again.algorithm.storage.dones[4] == 1.0  # truncated (bootstrapped), not lost


def test_a_kill_between_the_journal_rewrite_and_the_log_compaction_duplicates_nothing(
    tmp_path,
) -> None:
    killed, _ = build_graph_trainer(_config(tmp_path))
    killed.start()
    for k in range(8):
        _step(killed, k)
    # a checkpoint's compaction rewrites the journal first, then the log: killed in between
    killed.journal.rewrite(killed._pending_entries())
    again, _ = build_graph_trainer(_config(tmp_path))
    again.start()
    assert again.recorded == killed.recorded == 6 and again.restored == 1
    np.testing.assert_array_equal(_storage(again)["obs"], _storage(killed)["obs"])


def test_a_checkpoint_rewrites_the_journal_to_what_is_pending(tmp_path) -> None:
    trainer, _ = build_graph_trainer(_config(tmp_path))
    trainer.start()
    for k in range(5):
        _step(trainer, k)
    assert len(trainer.journal.read()[0]) == 4  # one held record per pairing so far
    trainer.checkpoint()
    (entry,) = trainer.journal.read()[0]  # only the held-back one is left
    assert entry.held and same_transition(entry.transition, trainer.lanes[0].held)
    assert trainer.log.read() == []  # the log holds nothing past the checkpoint
