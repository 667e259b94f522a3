"""Test helpers: GI-PPO-family algorithms on the function-optimisation tasks, no runner."""

from __future__ import annotations

from typing import Any

import numpy as np

from rl_control.algorithms.registry import make_algorithm
from rl_control.algorithms.spec import AlgorithmSpec
from rl_control.tasks.registry import make_task

#: the settings of config/train/*_dejong_64.yaml that matter for these tests
BASE = {"n_steps": 1, "hidden": [32, 32], "activation": "elu", "init_log_std": 0.0,
        "max_grad_norm": 1.0, "learning_rate": 3e-3, "n_epochs": 5, "batch_size": 64}  # fmt: skip


def build(algo: str, task: str, seed: int = 0, num_envs: int = 64, **config: Any) -> Any:
    t = make_task(task)
    spec = AlgorithmSpec(t.obs_dim, t.action_low, t.action_high, num_envs, task=t)
    return make_algorithm(algo, spec, {**BASE, **config}, seed)


def collect(algo: Any) -> np.ndarray:
    """One one-step rollout (all envs) recorded into ``algo``; returns the rewards."""
    task, n = algo.spec.task, algo.num_envs
    obs = np.zeros((n, 1), dtype=np.float32)
    out = algo.act(obs)
    reward = task.reward(None, task.clip_action(out.action), None)
    done = np.ones(n, dtype=bool)
    algo.record(obs, out, reward, done, ~done, obs)
    return reward


def train(algo: Any, updates: int) -> list[float]:
    """Mean reward of each update's rollout."""
    means = []
    for _ in range(updates):
        means.append(float(collect(algo).mean()))
        algo.update()
    return means
