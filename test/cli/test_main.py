"""`rl-control`: one-line errors with exit status 2, plot, launch dispatch."""

from __future__ import annotations

import re
import subprocess
import sys
import types

import pytest

from rl_control.cli.main import main
from rl_control.training.io import atomic_write_yaml
from rl_control.training.metrics import MetricsLogger


def _fails(capsys, argv, message):
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("rl-control: error: "), err
    assert message in lines[0], lines[0]
    return lines[0]


@pytest.fixture
def bad_yaml(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("algo: ppo\ntask: [soft_wall_cartpole\n")
    return path


def test_user_errors_are_one_line(capsys, tmp_path, bad_yaml):
    _fails(capsys, [], "required: COMMAND")
    _fails(capsys, ["fly"], "invalid choice: 'fly'")
    _fails(capsys, ["train"], "train needs --config FILE, or both --algo and --task")
    _fails(capsys, ["train", "--config", str(tmp_path / "no.yaml")], "file not found")
    _fails(capsys, ["train", "--config", str(bad_yaml)], "malformed YAML")
    _fails(capsys, ["train", "--algo", "ppo", "--task", "t", "--steps", "many"], "invalid int")
    _fails(capsys, ["train", "--algo", "ppo", "--task", "t", "--set", "bogus=1"], "'bogus'")
    _fails(capsys, ["train", "--resume", str(tmp_path / "gone")], "not a run folder")
    _fails(capsys, ["train", "--resume", "r", "--config", "c.yaml"], "drop --config")
    _fails(capsys, ["eval", str(tmp_path / "gone")], "checkpoint or run folder not found")
    _fails(capsys, ["eval", str(tmp_path), "--episodes", "0"], "--episodes must be at least 1")
    _fails(capsys, ["plot", str(tmp_path / "gone")], "run folder not found")
    threads = ["train", "--algo", "ppo", "--task", "t", "--num-threads", "0"]
    _fails(capsys, threads, "config key 'num_threads' must be positive")


def test_entry_point_exits_2_without_traceback(tmp_path, bad_yaml):
    proc = subprocess.run(
        [sys.executable, "-m", "rl_control.cli.main", "train", "--config", str(bad_yaml)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 2
    assert proc.stderr.startswith("rl-control: error: malformed YAML")
    assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


def test_plot_writes_png(capsys, tmp_path):
    runs = []
    for seed in (0, 1):
        run = tmp_path / f"ppo_{seed}"
        run.mkdir()
        atomic_write_yaml(run / "config.yaml", {"algo": "ppo", "task": "t", "seed": seed})
        log = MetricsLogger(run / "metrics.csv")
        for step in (0, 100, 200):
            log.log({"env_steps": step, "eval_return_mean": step * (1 + seed)})
        runs.append(str(run))
    out = tmp_path / "curves.png"
    assert main(["plot", *runs, "--out", str(out), "--band", "std"]) == 0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert f"wrote {out}" in capsys.readouterr().out
    nowhere = tmp_path / "nowhere" / "x.png"
    _fails(capsys, ["plot", *runs, "--out", str(nowhere)], "folder for --out does not exist")
    assert not nowhere.parent.exists()


def test_launch_dispatches_lazily(monkeypatch):
    seen = []
    fake = types.ModuleType("rl_control.ros.launch.cli")
    fake.main = lambda argv: seen.append(argv) or 7
    monkeypatch.setitem(sys.modules, "rl_control.ros.launch.cli", fake)
    assert main(["launch", "sim.launch.xml", "backend:=pybullet", "--help"]) == 7
    assert seen == [["sim.launch.xml", "backend:=pybullet", "--help"]]


def _help(capsys, command):
    with pytest.raises(SystemExit):
        main([command, "--help"])
    return capsys.readouterr().out


@pytest.mark.parametrize("command", ["train", "eval", "plot"])
def test_every_argument_has_help_text(capsys, command):
    lines = _help(capsys, command).splitlines()
    listed = [i for i, line in enumerate(lines) if re.match(r"  \S", line)]
    assert listed
    for i in listed:
        # argparse puts the help after the name, or on the next, deeper-indented line
        has_help = re.match(r"  \S.*?\s{2,}\S", lines[i]) or (
            i + 1 < len(lines) and re.match(r" {10,}\S", lines[i + 1])
        )
        assert has_help, f"{command}: {lines[i].strip()} has no help text"


def test_train_help_documents_seed_offset_and_run_folder_suffix(capsys):
    from rl_control.training.evaluation import EVAL_SEED_OFFSET

    text = " ".join(_help(capsys, "train").split())
    assert f"seed+{EVAL_SEED_OFFSET}" in text
    assert "suffixed _2, _3, ..." in text


def test_eval_env_overrides_replace_the_runs_task_parameters():
    from rl_control.cli.main import UsageError, _env_overrides

    env = {"slopes": [0.0, 0.1, 0.17], "max_steps": 500}
    assert _env_overrides(env, ["slopes=[0.17]", "slope=0.1"]) == {
        "slopes": [0.17], "max_steps": 500, "slope": 0.1,
    }  # fmt: skip
    assert env["slopes"] == [0.0, 0.1, 0.17]  # the checkpoint's own map is left alone
    with pytest.raises(UsageError, match="key=value"):
        _env_overrides(env, ["algo.learning_rate=1"])
    with pytest.raises(ValueError, match="key=value"):
        _env_overrides(env, ["slope"])
