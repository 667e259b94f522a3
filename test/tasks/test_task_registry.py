"""The task registry: one list for envs, graph and MPC; gymnasium ids; adding a task.

The added task is test/tasks/point_mass_task.py (one module, one ``register_task`` line),
trained in-process and through the node graph (whose nodes import it through
``RL_CONTROL_TASK_MODULES``).
"""

from __future__ import annotations

import dataclasses
import importlib
import os
import subprocess
import sys
from pathlib import Path

import domains  # test/domains.py: one allocator for DDS domain ids
import gymnasium as gym
import numpy as np
import pytest

from rl_control.envs.registration import make_env
from rl_control.roles.session import build_graph_trainer
from rl_control.tasks.registry import (
    GRAPH_FACTS,
    PLUGIN_VARIABLE,
    TASKS,
    get_task,
    register_task,
    require_task_facts,
)
from rl_control.training.checkpoint import load_checkpoint
from rl_control.training.config import TrainConfig
from rl_control.training.metrics import read_metrics
from rl_control.training.runner import Runner

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
BUILTIN = ["minitaur", "soft_wall_cartpole", "two_link_leg"]


@pytest.fixture
def point_mass():
    """The added task (test/tasks is on sys.path), registered for one test only."""
    module = importlib.import_module("point_mass_task")
    register_task(module.DEFINITION)  # again after an earlier test's clean-up
    yield module
    TASKS.pop("point_mass")


def test_the_env_ids_and_entry_points_come_from_the_registry(point_mass) -> None:
    for name in BUILTIN:
        defn = get_task(name)
        assert gym.registry[defn.env_id].entry_point == defn.entry_point
    assert TASKS["point_mass"] is point_mass.DEFINITION
    register_task(point_mass.DEFINITION)  # the same definition again: no change
    other = dataclasses.replace(point_mass.DEFINITION, max_steps=lambda p: 1)
    with pytest.raises(ValueError, match="'point_mass' is already registered"):
        register_task(other)


def test_missing_facts_are_refused_in_one_line() -> None:
    with pytest.raises(ValueError) as err:
        require_task_facts("Pendulum-v1", GRAPH_FACTS, "the node graph")
    message = str(err.value)
    assert "\n" not in message
    assert message.startswith("task 'Pendulum-v1' is a plain gymnasium env: the node graph ")
    assert "state layout" in message and "reward function" in message
    with pytest.raises(ValueError, match=r"'minitaur' has no exact dynamics model: alg"):
        require_task_facts("minitaur", ("dynamics",), "algorithm 'ppo_mpc'")
    with pytest.raises(ValueError, match=r"unknown task 'nope'.*or any registered gymnasium"):
        require_task_facts("nope", (), "x")
    assert require_task_facts("Pendulum-v1", (), "ppo") is None


def test_make_env_builds_gymnasium_ids_and_needs_a_box_action_space() -> None:
    env = make_env("Pendulum-v1", seed=1, g=9.0)
    assert env.action_space.shape == (1,) and env.unwrapped.g == 9.0
    env.close()
    with pytest.raises(ValueError, match="'CartPole-v1' has action space Discrete"):
        make_env("CartPole-v1")


def _train(tmp_path: Path, task: str, algo: str = "ppo", steps: int = 4096) -> dict:
    config = TrainConfig(
        algo=algo, task=task, seed=0, num_envs=2, total_steps=steps, eval_every=0,
        eval_episodes=2, checkpoint_every=0, run_dir=str(tmp_path / "run"),
        algo_config=dict(n_steps=256, batch_size=64, n_epochs=10, learning_rate=1e-3),
    )  # fmt: skip
    config.log_every = 1
    Runner(config, tensorboard=False).train()
    return read_metrics(tmp_path / "run" / "metrics.csv")


def test_a_gymnasium_id_trains_in_process_and_model_based_uses_refuse_it(tmp_path) -> None:
    metrics = _train(tmp_path, "Pendulum-v1", steps=1024)
    assert metrics["env_steps"][-1] >= 1024 and np.isfinite(metrics["policy_loss"][-1])
    with pytest.raises(ValueError, match=r"plain gymnasium env: algorithm 'ppo_mpc' needs"):
        _train(tmp_path, "Pendulum-v1", algo="ppo_mpc")
    graph = TrainConfig(algo="ppo", task="Pendulum-v1", run_dir=str(tmp_path / "graph"))
    with pytest.raises(ValueError, match=r"plain gymnasium env: the node graph needs"):
        build_graph_trainer(graph)


def test_a_mujoco_env_trains_a_few_ppo_updates(tmp_path) -> None:
    pytest.importorskip("mujoco", reason="MuJoCo envs need the mujoco package (not installed)")
    metrics = _train(tmp_path, "HalfCheetah-v5", steps=1024)
    assert metrics["updates"][-1] >= 2 and np.isfinite(metrics["policy_loss"][-1])


def test_a_new_task_trains_in_process(tmp_path, point_mass) -> None:
    returns = [r for r in _train(tmp_path, "point_mass")["train_return"] if r == r]
    assert np.mean(returns[-2:]) > returns[0] + 50.0, returns  # from ~-80 to ~+40


def test_a_plugin_that_fails_to_import_names_the_module() -> None:
    env = dict(os.environ, **{PLUGIN_VARIABLE: "no_such_task_module"})
    run = subprocess.run(
        [sys.executable, "-c", "import rl_control.tasks.registry"],
        env=env, capture_output=True, text=True,
    )  # fmt: skip
    assert run.returncode != 0
    assert "RL_CONTROL_TASK_MODULES names task module 'no_such_task_module'" in run.stderr


def test_a_new_task_trains_through_the_graph(tmp_path) -> None:
    (tmp_path / "ppo.yaml").write_text(
        "algo: ppo\ntask: point_mass\nalgo_config:\n  n_steps: 256\n  batch_size: 64\n"
        "  learning_rate: 1.0e-3\n"
    )
    run = tmp_path / "run"
    env = dict(
        os.environ, RL_CONTROL_MIDDLEWARE="embedded", OMP_NUM_THREADS="1",
        ROS_DOMAIN_ID=str(domains.allocate()), **{PLUGIN_VARIABLE: "point_mass_task"},
        PYTHONPATH=os.pathsep.join([str(HERE), str(ROOT), os.environ.get("PYTHONPATH", "")]),
    )  # fmt: skip
    cmd = [
        sys.executable, "-m", "rl_control.cli.main", "launch", "launch/train.launch.xml",
        "task:=point_mass", f"config:={tmp_path / 'ppo.yaml'}", "steps:=1024",
        f"run_dir:={run}",
    ]  # fmt: skip
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=200)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    metrics = read_metrics(run / "metrics.csv")
    assert metrics["env_steps"][-1] >= 1024 and metrics["updates"][-1] >= 3, metrics
    returns = [r for r in metrics["train_return"] if r == r]
    assert len(returns) >= 3 and all(np.isfinite(returns)), returns  # episodes ended, logged
    files = {p.name for p in run.iterdir()}
    assert {"config.yaml", "metrics.csv", "learning_curve.png"} <= files, files
    assert load_checkpoint(run)["task"] == "point_mass"
