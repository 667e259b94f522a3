"""The graph trainer and the analytic-gradient algorithms (gi_ppo, rp, lr_rp): supported on the
soft-wall cart-pole, the one task with both the graph's facts (sensors -> state) and a
differentiable step. The trainer is driven as the graph drives it (observation, action,
grant; re-acting after an update; resets when it ends an episode), with PyBullet as the
bridge's robot; other tasks are refused in one line naming the missing fact."""

from __future__ import annotations

import numpy as np
import pytest

from rl_control.envs.soft_wall_cartpole import SoftWallCartPoleEnv
from rl_control.roles.lanes import ActionIn
from rl_control.roles.session import build_graph_trainer, check_graph_task
from rl_control.roles.trainer import TrainerHooks
from rl_control.training.config import TrainConfig
from rl_control.training.metrics import read_metrics


def drive(trainer, grants: list, resets: list, steps: int) -> None:
    """Bridge + policy node in one loop: observe, act, wait for the grant, apply."""
    env = SoftWallCartPoleEnv()
    state, k, episode = env.reset(seed=0)[0], 0, 0
    algo = trainer.algorithm
    while not trainer.done and trainer.session.counters.env_steps < steps:
        trainer.on_observation(k, episode, state.astype(np.float64))
        if resets:  # the trainer ended the episode: the bridge resets the robot
            resets.clear()
            episode, k = episode + 1, k + 1
            state = env.reset()[0]
            continue
        version = algo.policy_version
        out = algo.policy.act(state[None])
        trainer.on_action(ActionIn(k, episode, version, out.action[0], float(out.log_prob[0])))
        while not grants or grants[-1][:2] != (k, episode):
            trainer.wait(60)  # an update holds the step; the new policy is then granted it
            if trainer.done:
                break
        if grants and grants[-1][2] > version:  # the policy node acts again, new version
            version = algo.policy_version
            out = algo.policy.act(state[None])
            trainer.on_action(ActionIn(k, episode, version, out.action[0],
                                       float(out.log_prob[0])))  # fmt: skip
        state = env.step(out.action[0])[0]
        k += 1
    trainer.wait(60)
    env.close()


@pytest.mark.parametrize("algo", ["gi_ppo", "rp", "lr_rp"])
def test_analytic_algorithms_train_through_the_graph_trainer(tmp_path, algo):
    grants, resets = [], []
    hooks = TrainerHooks(
        request_reset=lambda w: resets.append(w),
        grant=lambda w, step, ep, version: grants.append((step, ep, version)),
    )
    config = TrainConfig(
        algo=algo, task="soft_wall_cartpole", seed=0, total_steps=192, num_envs=1,
        checkpoint_every=0, run_dir=str(tmp_path / "run"),
        algo_config={"n_steps": 64, "window": 4, "hidden": [32, 32]},
    )  # fmt: skip
    trainer, resumed = build_graph_trainer(config, hooks)
    assert not resumed
    drive(trainer, grants, resets, 192)
    rows = read_metrics(tmp_path / "run" / "metrics.csv")
    assert rows["updates"][-1] == 3 and rows["env_steps"][-1] == 192
    assert trainer.algorithm.policy_version == 3 and trainer.cut_episodes == 0
    if algo == "gi_ppo":  # the pre-update step ran on the graph's transitions
        alpha = [a for a in rows["alpha"] if a == a]
        assert len(alpha) == 3 and alpha[1] != alpha[0], alpha
        assert all(np.isfinite(g) and g > 0 for g in rows["grad_norm_mean"] if g == g)
    if algo == "lr_rp":
        assert all(0.0 <= k <= 1.0 for k in rows["k_lr"] if k == k)


@pytest.mark.parametrize("algo", ["gi_ppo", "rp", "lr_rp"])
def test_graph_refuses_tasks_without_the_facts_in_one_line(algo):
    check_graph_task("soft_wall_cartpole", algo)
    with pytest.raises(ValueError) as err:
        check_graph_task("two_link_leg", algo)
    message = str(err.value)  # the leg has a differentiable step but observes time by phase
    assert "'two_link_leg''s observation is not its state" in message and "\n" not in message
    with pytest.raises(ValueError, match="dejong_64' has no state estimate"):
        check_graph_task("dejong_64", algo)


def test_graph_accepts_lr():
    check_graph_task("soft_wall_cartpole", "lr")
    check_graph_task("two_link_leg", "lr")
