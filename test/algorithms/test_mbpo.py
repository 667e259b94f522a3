"""MBPO: branched rollouts of length k from D_ENV, termination, dropped rows, the runner."""

import dataclasses

import numpy as np
import pytest
import torch
from model_based_toys import RAIL_TASK, Rail, feed
from test_model_based import TINY

from rl_control.algorithms.registry import make_algorithm
from rl_control.algorithms.spec import AlgorithmSpec
from rl_control.training.config import TrainConfig
from rl_control.training.runner import Runner


def _mbpo(task=RAIL_TASK, **cfg):
    spec = AlgorithmSpec(2, np.array([-1.0]), np.array([1.0]), 1, task)
    return make_algorithm("mbpo", spec, {**TINY, **cfg}, 0)


def test_rollouts_of_length_k_fill_the_model_buffer_with_the_task_reward():
    algo = _mbpo(rollout_schedule=[0, 1, 3, 3])
    (stats,) = [s for s in feed(algo, 60) if "model_transitions" in s]
    assert stats["rollout_length"] == 3 and stats["model_exact_reward"] == 1.0
    assert stats["model_transitions"] == 3 * 20  # no termination on the rail within 3 steps
    batch = algo.imagined.sample(32, torch.Generator().manual_seed(0))
    torch.testing.assert_close(batch["rewards"], 1.0 - batch["next_obs"][:, 0] ** 2)
    assert algo.config.sac["gradient_steps"] == 1 and _mbpo().sac.config.gradient_steps == 1
    assert make_algorithm("mbpo", algo.spec, {}, 0).sac.config.gradient_steps == 20


def test_a_rollout_stops_at_termination():
    always = dataclasses.replace(
        RAIL_TASK.definition, terminated=lambda s, p: s[..., 0] == s[..., 0]
    ).bind()
    algo = _mbpo(always, rollout_schedule=[0, 1, 3, 3])
    (stats,) = [s for s in feed(algo, 60) if "model_transitions" in s]
    assert stats["model_transitions"] == 20  # every rollout ends after its first step
    assert (algo.imagined.sample(16, torch.Generator())["terminated"] == 1.0).all()


def test_nan_predictions_are_dropped_and_counted():
    algo = _mbpo()
    feed(algo, 60)
    state = algo.model.state_dict()
    state["head.bias"] = torch.full_like(state["head.bias"], float("nan"))
    algo.model.load_state_dict(state)
    before = len(algo.imagined)
    stats = algo.imagine()
    assert stats["model_dropped_rollouts"] == 20 and stats["model_transitions"] == 0
    assert len(algo.imagined) == before


def test_runs_through_the_runner(tmp_path):
    config = TrainConfig(
        algo="mbpo", task="dmd_rail", num_envs=1, total_steps=100, seed=1,
        algo_config=dict(TINY), eval_every=100, eval_episodes=1, checkpoint_every=100,
        run_dir=str(tmp_path / "run"),
    )  # fmt: skip
    factory = lambda task, seed=None, **params: Rail()  # noqa: E731
    summary = Runner(config, tensorboard=False, env_factory=factory).train()
    assert summary["env_steps"] == 100 and np.isfinite(summary["eval_return_mean"])


def test_bad_config_raises():
    with pytest.raises(ValueError, match="rollout_schedule"):
        _mbpo(rollout_schedule=[0, 1, 0, 3])
    with pytest.raises(ValueError, match="member_mode"):
        _mbpo(member_mode="all")
