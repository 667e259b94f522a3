"""The node graph's env from a training config's env section (roles/graph_env.py): the same
env and task parameters as the in-process runner's, step by step; refused, naming the
setting, where the graph cannot honour it; a checkpoint's recorded env for deploy."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml
from graph_parity import assert_graph_follows_env

from rl_control.algorithms.registry import make_algorithm
from rl_control.algorithms.spec import AlgorithmSpec
from rl_control.roles.graph_env import check_graph_env, graph_env, graph_env_settings, graph_task
from rl_control.tasks.registry import make_task
from rl_control.training.checkpoint import save_checkpoint
from rl_control.training.config import load_config
from rl_control.training.runner import Runner

ROOT = Path(__file__).resolve().parents[2]
TRAIN = ROOT / "config" / "train"
#: physics-only randomisation: the graph's bridge draws it as the runner's env does
PHYSICS_ONLY = {
    "base_mass_scale": [0.8, 1.2], "leg_mass_scale": [0.9, 1.1], "joint_friction": [0.0, 0.02],
    "motor_strength": [0.8, 1.2], "ground_friction": [0.6, 1.0], "latency": [0.0, 0.0],
    "noise_angle": [0.0, 0.0], "noise_velocity": [0.0, 0.0], "noise_torque": [0.0, 0.0],
    "noise_orientation": [0.0, 0.0],
}  # fmt: skip
#: settings away from the defaults, which the bridge and estimator once ignored
CUSTOM = {
    "minitaur_tg": {"step_frequency": 2.5, "residual_bound": 0.2,
                    "domain_randomization": PHYSICS_ONLY},
    "quadruped12": {"slope": 0.17, "slopes": [0.17], "step_frequency": 2.5},
}  # fmt: skip


def _write(tmp_path: Path, base: str, env: dict) -> Path:
    config = yaml.safe_load((TRAIN / base).read_text())
    config["env"] = env
    path = tmp_path / base
    path.write_text(yaml.safe_dump(config))
    return path


def _configs(tmp_path: Path, which: str) -> Path:
    shipped = {"ppo_minitaur_tg.yaml", "ppo_quadruped12.yaml", "gps_soft_wall_cartpole.yaml",
               "gps_two_link_leg.yaml"}  # fmt: skip
    if which in shipped:
        return TRAIN / which
    task = which.removeprefix("custom_")
    return _write(tmp_path, f"ppo_{task}.yaml", CUSTOM[task])


@pytest.mark.parametrize(
    "which",
    ["ppo_minitaur_tg.yaml", "ppo_quadruped12.yaml", "gps_soft_wall_cartpole.yaml",
     "gps_two_link_leg.yaml", "custom_minitaur_tg", "custom_quadruped12"],
)  # fmt: skip
def test_the_graphs_env_is_the_in_process_runners(tmp_path: Path, which: str) -> None:
    path = _configs(tmp_path, which)
    config = load_config(path)
    settings = graph_env_settings(str(path), config.task)  # what the nodes read
    assert settings == config.env
    reference = Runner(config, tensorboard=False)._make_env()  # `rl-control train`'s env
    simulated = graph_env(config.task, settings)
    task = graph_task(config.task, settings)  # the estimator's and the trainer's
    try:
        params = reference.unwrapped.params
        assert simulated.unwrapped.params == params and task.params == params
        if which.startswith("custom_"):  # the defaults would not do
            assert make_task(config.task).params != params
        assert type(simulated) is type(reference)  # the randomisation wrapper or none
        assert getattr(simulated, "params", None) == getattr(reference, "params", None)
        info = assert_graph_follows_env(reference, simulated, task, seed=7, steps=30,
                                        action_scale=0.5)  # fmt: skip
        if "variation" in info:  # the same physics drawn under the same seed
            assert simulated.variation == reference.variation
            assert reference.variation.base_mass_scale != 1.0
    finally:
        reference.close()
        simulated.close()


# --- refusals: one per setting the graph cannot honour --------------------------------------
def _refused(task: str, env: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        check_graph_env(task, env)
    with pytest.raises(ValueError, match=match):  # the trainer's own build refuses it too
        graph_task(task, env)


@pytest.mark.parametrize("task", ["minitaur", "minitaur_tg"])
def test_observation_latency_is_refused(task: str) -> None:
    _refused(task, {"latency": 0.002}, rf"env.latency of task '{task}': the node graph cannot "
             "honour it \\(the env delays its observation")  # fmt: skip


@pytest.mark.parametrize("task", ["minitaur", "minitaur_tg"])
def test_sensor_noise_is_refused(task: str) -> None:
    _refused(task, {"noise_std": [0.0, 0.1, 0.0, 0.0]}, rf"env.noise_std of task '{task}'")


def test_a_modulated_generator_is_refused() -> None:
    _refused("minitaur_tg", {"modulate": True}, r"env.modulate of task 'minitaur_tg'.*phase")


def test_drawn_slopes_are_refused() -> None:
    config = load_config(TRAIN / "ppo_quadruped12_slopes.yaml")
    _refused(config.task, config.env,
             r"env.slopes of task 'quadruped12'.*\[0.0, 0.1, 0.17\].*slope 0.0")  # fmt: skip
    _refused("quadruped12", {"slopes": [0.1]}, "env.slopes")  # one slope, not `slope`'s
    check_graph_env("quadruped12", {"slopes": [0.1], "slope": 0.1})  # the same: honoured


@pytest.mark.parametrize(
    "name", ["latency", "noise_angle", "noise_velocity", "noise_torque", "noise_orientation"]
)
def test_randomised_latency_and_sensor_noise_are_refused(name: str) -> None:
    ranges = {**PHYSICS_ONLY, name: [0.0, 0.01]}
    _refused("minitaur_tg", {"domain_randomization": ranges},
             rf"env.domain_randomization.{name} of task 'minitaur_tg'.*\[0.0, 0.01\].*"
             r"set \[0, 0\]")  # fmt: skip


def test_the_shipped_randomised_config_and_the_default_ranges_are_refused() -> None:
    config = load_config(TRAIN / "ppo_minitaur_tg_randomized.yaml")
    _refused(config.task, config.env, "env.domain_randomization.latency")
    # names left out take RandomizationParams' defaults, whose sensor ranges are not off
    _refused("minitaur", {"domain_randomization": {}}, "env.domain_randomization.latency")
    check_graph_env("minitaur", {"domain_randomization": PHYSICS_ONLY})  # physics: honoured


def test_honoured_settings_pass() -> None:
    for name in sorted(p.name for p in TRAIN.glob("*.yaml")):
        config = load_config(TRAIN / name)
        if name not in ("ppo_minitaur_tg_randomized.yaml", "ppo_quadruped12_slopes.yaml"):
            check_graph_env(config.task, config.env)


# --- where the settings come from -----------------------------------------------------------
def test_a_config_for_another_task_gives_that_tasks_defaults(recwarn) -> None:
    """The trainer's rule (load_config): the launch's task wins and the file's env goes."""
    path = str(TRAIN / "ppo_quadruped12.yaml")
    assert graph_env_settings(path, "quadruped12") == {"slope": 0.1}
    assert graph_env_settings(path, "minitaur") == {}
    assert graph_env_settings("", "minitaur") == {}


def _checkpoint(tmp_path: Path, task: str, env: dict) -> Path:
    algorithm = make_algorithm(
        "ppo", AlgorithmSpec(30, -np.ones(8), np.ones(8), 1), {"hidden": [8]}, 0
    )
    path = tmp_path / "checkpoint.pt"
    save_checkpoint(path, algorithm, {"task": task, "env": env})
    return path


def test_deploy_builds_the_task_its_checkpoint_was_trained_on(tmp_path: Path) -> None:
    env = {"step_frequency": 2.5, "domain_randomization": PHYSICS_ONLY}
    path = _checkpoint(tmp_path, "minitaur_tg", env)
    # the task's parameters; the randomisation it trained under is not drawn in deployment
    assert graph_env_settings(str(path), "minitaur_tg") == {"step_frequency": 2.5}
    assert graph_env_settings(str(tmp_path), "minitaur_tg") == {"step_frequency": 2.5}
    with pytest.raises(ValueError, match=r"was trained on task 'minitaur_tg', not 'minitaur'"):
        graph_env_settings(str(path), "minitaur")
