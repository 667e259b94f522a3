"""build_graph_trainer follows rl-control train's run-folder rule."""

from __future__ import annotations

import pytest

from rl_control.roles.session import build_graph_trainer
from rl_control.training.config import TrainConfig


def _config(**kw) -> TrainConfig:
    return TrainConfig(
        algo="ppo", task="soft_wall_cartpole", total_steps=1000,
        algo_config={"n_steps": 64, "hidden": [8]}, **kw,
    )  # fmt: skip


def test_a_second_launch_gets_a_new_folder_and_resume_is_explicit(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    first, resumed = build_graph_trainer(_config(), resume=False)
    first.start()
    first.log.close()
    assert not resumed and first.session.config.run_dir == "runs/ppo_soft_wall_cartpole_seed0"
    second, _ = build_graph_trainer(_config(), resume=False)  # the README command again
    second.log.close()
    assert second.session.config.run_dir == "runs/ppo_soft_wall_cartpole_seed0_2"
    again, resumed = build_graph_trainer(_config(run_dir=first.session.config.run_dir))
    again.log.close()
    assert resumed
    with pytest.raises(ValueError, match=r"config differs \(seed 0 -> 1\)"):
        build_graph_trainer(_config(run_dir=first.session.config.run_dir, seed=1))
