"""A graph trainer stopped without a final checkpoint (SIGKILL) and rebuilt from its run
folder: the log replay restores counters, episodes, updates, metrics rows and learning."""

from __future__ import annotations

import numpy as np
import torch

from rl_control.roles.session import build_graph_trainer
from rl_control.roles.trainer import ActionIn, GraphTrainer
from rl_control.training.config import TrainConfig
from rl_control.training.metrics import read_metrics

N_STEPS = 64


def _config(run) -> TrainConfig:
    return TrainConfig(
        algo="ppo", task="soft_wall_cartpole", run_dir=str(run), total_steps=100_000,
        checkpoint_every=10, algo_config={"n_steps": N_STEPS, "hidden": [8]},
    )  # fmt: skip


def _drive(trainer: GraphTrainer, steps: int, start: int = 0, episode: int = 0) -> None:
    """Lock-step traffic: 20-step episodes of a slowly moving state, actions of the newest
    policy version; waits for each update as the gated bridge would."""
    rng = np.random.default_rng(start)
    for k in range(start, start + steps):
        ep, step = episode + k // 20, k % 20
        state = np.array([0.01 * step, 0.02 * step, 0.0, 0.0])
        trainer.on_observation(step, ep, state)
        version = trainer.algorithm.policy_version
        trainer.on_action(ActionIn(step, ep, version, rng.normal(size=1), -1.0))
        trainer.wait()
        if step == 19:  # the 20-step episode ends by a cut: the next one starts
            trainer.on_observation(20, ep, state)
            trainer.wait()


def test_replay_after_a_kill_restores_counters_rows_and_learning(tmp_path) -> None:
    whole, _ = build_graph_trainer(_config(tmp_path / "whole"))
    whole.start()
    _drive(whole, 3 * N_STEPS + 20)
    killed, _ = build_graph_trainer(_config(tmp_path / "killed"))
    killed.start()
    _drive(killed, 3 * N_STEPS + 20)
    killed.log.close()  # SIGKILL: no final checkpoint, the last one is the initial one
    assert killed.session.counters.updates >= 3
    again, resumed = build_graph_trainer(_config(tmp_path / "killed"), resume=True)
    assert resumed
    again.start()
    for key in ("env_steps", "episodes", "updates"):
        got, want = getattr(again.session.counters, key), getattr(whole.session.counters, key)
        assert got == want, key
    rows, want = (read_metrics(tmp_path / r / "metrics.csv") for r in ("killed", "whole"))
    assert rows["env_steps"] == want["env_steps"] and len(rows["env_steps"]) >= 3
    for key in ("episodes", "updates", "policy_loss", "value_loss"):
        np.testing.assert_array_equal(rows[key], want[key], err_msg=key)
    assert again.algorithm.policy_version == whole.algorithm.policy_version
    for name, value in whole.algorithm.policy.get_state().items():
        if isinstance(value, torch.Tensor):
            torch.testing.assert_close(again.algorithm.policy.get_state()[name], value)
