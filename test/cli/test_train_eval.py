"""End to end on the soft-wall cart-pole: `rl-control train`, `--resume`, `eval`."""

from __future__ import annotations

import subprocess
import sys

import pytest

from rl_control.cli.main import main
from rl_control.training.checkpoint import load_checkpoint
from rl_control.training.metrics import read_metrics

# tiny budget: 2 envs x 64 steps per update, 60-step episodes, one eval episode
TINY = [
    "--task", "soft_wall_cartpole", "--num-envs", "2", "--set", "algo.n_steps=64",
    "--set", "algo.n_epochs=2", "--set", "env.max_steps=60", "--set", "eval_episodes=1",
    "--set", "eval_every=128", "--no-progress",
]  # fmt: skip


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    run = tmp_path_factory.mktemp("cli") / "ppo_run"
    proc = subprocess.run(
        [sys.executable, "-m", "rl_control.cli.main", "train", "--algo", "ppo", *TINY,
         "--steps", "256", "--run-dir", str(run)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert f"run {run}: 256 env steps" in proc.stdout
    return run


def test_train_writes_the_run_folder(run_dir):
    names = {p.name for p in run_dir.iterdir()}
    assert {"config.yaml", "checkpoint.pt", "metrics.csv", "learning_curve.png",
            "tensorboard"} <= names  # fmt: skip
    assert not [n for n in names if n.endswith(".tmp")]
    cols = read_metrics(run_dir / "metrics.csv")
    assert cols["env_steps"] == [0, 128, 256]
    ckpt = load_checkpoint(run_dir)
    assert (ckpt["algo"], ckpt["task"], ckpt["env"]) == ("ppo", "soft_wall_cartpole",
                                                         {"max_steps": 60})  # fmt: skip


def test_eval_is_deterministic(run_dir, capsys):
    outputs = []
    for seed in ([], [], ["--seed", "7"]):
        assert main(["eval", str(run_dir), "--episodes", "2", *seed]) == 0
        outputs.append(capsys.readouterr().out.strip())
    assert outputs[0] == outputs[1]
    assert "ppo on soft_wall_cartpole (256 env steps): return" in outputs[0]
    assert "seeds 10000..10001" in outputs[0] and "mean length" in outputs[0]
    assert outputs[2] != outputs[0] and "seeds 7..8" in outputs[2]


def test_resume_then_refuse_overwrite(run_dir, capsys):
    assert main(["train", "--resume", str(run_dir), "--steps", "384", "--no-progress"]) == 0
    assert load_checkpoint(run_dir)["env_steps"] == 384
    assert read_metrics(run_dir / "metrics.csv")["env_steps"] == [0, 128, 256, 384]
    capsys.readouterr()
    code = main(["train", "--algo", "ppo", *TINY, "--steps", "128", "--run-dir", str(run_dir)])
    assert code == 2
    assert "already exists and is not empty" in capsys.readouterr().err


def test_unknown_names_exit_2(capsys, tmp_path):
    for argv, message in [
        (["--algo", "ppo", "--task", "cartpol"], "unknown task 'cartpol'; known: ["),
        (["--algo", "dqn", "--task", "soft_wall_cartpole"], "unknown algorithm 'dqn'"),
    ]:
        assert main(["train", *argv, "--run-dir", str(tmp_path / "r")]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and message in err
    assert not (tmp_path / "r").exists()
