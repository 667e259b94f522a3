"""`rl-control train` (in process, through the CLI's main) with GI-PPO and its baselines on the
function-optimisation tasks: each writes its run folder and checkpoint; GI-PPO resumes."""

from __future__ import annotations

from pathlib import Path

import pytest

from rl_control.algorithms.gi_ppo import FALLBACKS
from rl_control.cli.main import main
from rl_control.training.checkpoint import load_checkpoint
from rl_control.training.metrics import read_metrics

CONFIGS = Path(__file__).resolve().parents[2] / "config" / "train"
# 64 envs x 1 step per update (the configs' own), 3 updates, one eval episode per update
TINY = ["--steps", "192", "--set", "eval_every=64", "--set", "eval_episodes=1", "--no-progress"]


def _train(algo: str, task: str, run: Path, *extra: str) -> None:
    config = str(CONFIGS / f"{algo}_dejong_64.yaml")
    assert main(["train", "--config", config, "--task", task, "--run-dir", str(run), *TINY,
                 *extra]) == 0  # fmt: skip


@pytest.mark.parametrize(
    ("algo", "task"), [("lr", "ackley_64"), ("rp", "dejong_1"), ("lr_rp", "ackley_1"),
                       ("gi_ppo", "dejong_64")],
)  # fmt: skip
def test_train_writes_the_run_folder(algo: str, task: str, tmp_path: Path, capsys) -> None:
    run = tmp_path / algo
    _train(algo, task, run)
    assert f"run {run}: 192 env steps, 192 episodes" in capsys.readouterr().out
    assert {"config.yaml", "checkpoint.pt", "metrics.csv"} <= {p.name for p in run.iterdir()}
    ckpt = load_checkpoint(run)
    assert (ckpt["algo"], ckpt["task"], ckpt["env_steps"]) == (algo, task, 192)
    assert ckpt["algorithm_state"]["algorithm"] == algo
    rows = read_metrics(run / "metrics.csv")
    assert rows["env_steps"][0] == 0 and rows["env_steps"][-1] == 192
    assert max(rows["updates"]) == 3


def test_gi_ppo_resumes_with_its_alpha_and_fallback_totals(tmp_path: Path) -> None:
    run = tmp_path / "gi"
    _train("gi_ppo", "dejong_1", run)
    before = load_checkpoint(run)["algorithm_state"]["extra"]
    assert before["fallbacks"]["regression_retry"] > 0  # measured: 2 in 3 updates at α ~1e-5
    rows = read_metrics(run / "metrics.csv")
    assert all(f"fallback_{k}" in rows and f"fallbacks_{k}" in rows for k in FALLBACKS)
    assert main(["train", "--resume", str(run), "--steps", "256", "--no-progress"]) == 0
    after = load_checkpoint(run)
    extra, rows = after["algorithm_state"]["extra"], read_metrics(run / "metrics.csv")
    assert after["env_steps"] == 256 and max(rows["updates"]) == 4
    # totals go on from the checkpoint's: the last update's total = saved + its own 0/1
    last = [i for i, u in enumerate(rows["updates"]) if u == 4][-1]
    for kind in FALLBACKS:
        saved, now = before["fallbacks"][kind], rows[f"fallback_{kind}"][last]
        assert extra["fallbacks"][kind] == saved + now == rows[f"fallbacks_{kind}"][last]
    assert extra["alpha"] != before["alpha"]  # the fourth update moved the restored α
