"""rl_control.training.tune_objective: a trial's config and its training seeds."""

from __future__ import annotations

from pathlib import Path

from rl_control.training.config import load_config
from rl_control.training.tune import Param, SearchSpace
from rl_control.training.tune_objective import train_seeds, trial_config

ROOT = Path(__file__).resolve().parents[2]
BASE = ROOT / "config" / "train" / "ppo_soft_wall_cartpole.yaml"


def test_trial_config_applies_the_values_folder_eval_grid_and_seed(tmp_path: Path) -> None:
    base = load_config(BASE, {}, [])
    before = base.to_dict()
    values = {"algo.gamma": 0.97, "algo.n_steps": 128}
    config = trial_config(base, values, tmp_path / "t", eval_every=500, seed=101)
    assert config.algo_config["gamma"] == 0.97 and config.algo_config["n_steps"] == 128
    assert (config.run_dir, config.eval_every, config.seed) == (str(tmp_path / "t"), 500, 101)
    # without a seed the config's own is kept; the base itself is not changed
    assert trial_config(base, values, tmp_path / "u").seed == base.seed
    assert base.to_dict() == before


def test_train_seeds_are_the_spaces_else_the_configs_one() -> None:
    base = load_config(BASE, {"seed": 7}, [])
    params = (Param("algo.gamma", 0.9, 0.99),)
    assert train_seeds(base, SearchSpace(params)) == (7,)
    assert train_seeds(base, SearchSpace(params, train_seeds=(100, 101))) == (100, 101)
