"""Every shipped config/train/*.yaml loads and builds its algorithm (no unknown keys)."""

from __future__ import annotations

from pathlib import Path

import pytest

from rl_control.algorithms.registry import algorithm_names, make_algorithm
from rl_control.algorithms.spec import AlgorithmSpec
from rl_control.envs.registration import TASKS, make_env
from rl_control.tasks.registry import make_task
from rl_control.training.checkpoint import resolve_checkpoint
from rl_control.training.config import load_config

CONFIG_DIR = Path(__file__).resolve().parents[2] / "config" / "train"
FILES = sorted(CONFIG_DIR.glob("*.yaml"))


def test_one_config_per_algorithm_and_task():
    names = {p.name for p in FILES}
    for algo in ("ppo", "trpo", "sac"):
        for task in ("soft_wall_cartpole", "two_link_leg", "minitaur"):
            assert f"{algo}_{task}.yaml" in names
    assert "trpo_then_ppo_minitaur.yaml" in names


@pytest.fixture(scope="module")
def spaces():
    """(obs_dim, action low, action high) per task, from one real env each (built lazily)."""
    cache = {}

    def get(task):
        if task not in cache:
            env = make_env(task)
            cache[task] = (env.observation_space.shape[0], env.action_space.low,
                           env.action_space.high)  # fmt: skip
            env.close()
        return cache[task]

    return get


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_config_builds(path, spaces):
    cfg = load_config(path)
    assert cfg.task in TASKS
    if cfg.algo not in algorithm_names():
        pytest.skip(f"algorithm {cfg.algo!r} is not registered in this build")
    obs_dim, low, high = spaces(cfg.task)
    algo = make_algorithm(
        cfg.algo,
        AlgorithmSpec(obs_dim, low, high, cfg.num_envs, task=make_task(cfg.task, cfg.env)),
        cfg.algo_config,
        0,
    )  # the runner passes the bound task too (analytic-gradient algorithms need it)
    assert algo.name == cfg.algo


def test_minitaur_configs_use_the_slides_tables():
    ppo = load_config(CONFIG_DIR / "ppo_minitaur.yaml").algo_config
    assert (ppo["n_steps"], ppo["gamma"], ppo["learning_rate"], ppo["clip_range"]) == (
        1276, 0.909, 3.17e-3, 0.345,
    )  # fmt: skip
    trpo = load_config(CONFIG_DIR / "trpo_minitaur.yaml").algo_config
    assert (trpo["n_steps"], trpo["target_kl"], trpo["cg_damping"]) == (293, 0.0503, 0.0135)
    warm = load_config(CONFIG_DIR / "trpo_then_ppo_minitaur.yaml")
    assert warm.init_from == "runs/trpo_minitaur_seed0" and warm.algo == "ppo"
    with pytest.raises(ValueError, match="checkpoint or run folder not found"):
        resolve_checkpoint(Path("/nonexistent") / warm.init_from)
