"""A graph trainer SIGKILLed mid-run (a real process kill: no finally, no final checkpoint)
and started again with resume, on PPO (on-policy) and SAC (off-policy): every transition
its lock-step bridge produced is in the resumed trainer (log replay plus the pending
journal) and no checkpoint is lost, counted; PPO then finishes exactly as an uninterrupted
run does. The trainer runs in trainer_kill_driver.py, the bridge emulated in that process
and kept in its run folder (a real bridge outlives the trainer)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from rl_control.training.checkpoint import load_checkpoint
from rl_control.training.metrics import read_metrics

DRIVER = Path(__file__).with_name("trainer_kill_driver.py")
ROOT = Path(__file__).resolve().parents[2]
TOTAL = 400  # env steps; checkpoints every 100


def _run(run: Path, algo: str, *kill: str) -> int:
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(ROOT))
    cmd = [sys.executable, str(DRIVER), str(run), algo, str(TOTAL), *kill]
    done = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode in (0, -9), (done.returncode, done.stderr[-3000:])
    return done.returncode


def _saves(run: Path) -> list[int]:
    return [int(x) for x in (run / "saves.txt").read_text().split()]


def _started(run: Path) -> dict[str, int]:
    return json.loads((run / "started.json").read_text())


def _dropped(run: Path) -> int:
    """Stale transitions the trainer dropped before the kill (on-policy, by design)."""
    path = run / "dropped.txt"
    counts = path.read_text().split() if path.is_file() else []
    return int(counts[-1]) if counts else 0


def _produced(run: Path) -> int:
    lines = (run / "bridge.txt").read_text().split()
    return sum(int(s) > 0 for s in lines[1::2])


def _kill_and_resume(tmp_path: Path, algo: str, kill_at: int, when: str) -> dict[str, object]:
    run = tmp_path / "killed"
    assert _run(run, algo, str(kill_at), when) == -9  # the driver SIGKILLed itself
    produced, dropped = _produced(run), _dropped(run)
    assert produced >= kill_at
    before = load_checkpoint(run)  # whatever the last completed (atomic) save holds
    assert before["env_steps"] == _saves(run)[-1]  # a save killed half-way left the old one
    assert _run(run, algo) == 0
    started = _started(run)
    return {"run": run, "produced": produced, "started": started, "before": before,
            "dropped": dropped}  # fmt: skip


@pytest.fixture(scope="module")
def whole_ppo(tmp_path_factory) -> Path:
    """The same PPO run, never killed (the driver checks it loses nothing either)."""
    whole = tmp_path_factory.mktemp("whole") / "run"
    assert _run(whole, "ppo") == 0
    return whole


@pytest.mark.parametrize("when", ["any", "updating"])
def test_ppo_killed_then_resumed_loses_nothing_and_finishes_as_an_unkilled_run(
    tmp_path, when, whole_ppo
) -> None:
    whole = whole_ppo
    got = _kill_and_resume(tmp_path, "ppo", 150 if when == "any" else 128, when)
    run, started = got["run"], got["started"]
    # every transition the bridge produced before the kill: recorded (replayed) or pending
    # (the driver checks the same after every step, kill or not: it exits 3 on a loss)
    assert started["known"] + got["dropped"] == got["produced"], (started, got["dropped"])
    assert got["dropped"] <= 2  # the held one at each of the two updates before the kill
    assert started["restored"] >= 1  # at least the held-back one came from the journal
    # no checkpoint lost: the resumed run starts from the newest one and writes every one
    # an unkilled run writes (plus the one at its own start)
    saves = _saves(run)  # before the kill and after the resume
    assert saves == sorted(saves) and set(_saves(whole)) <= set(saves), (saves, _saves(whole))
    assert started["recorded"] >= got["before"]["env_steps"]
    a, b = load_checkpoint(run), load_checkpoint(whole)
    for key in ("env_steps", "episodes", "updates"):
        assert a[key] == b[key], key
    ma, mb = (read_metrics(r / "metrics.csv") for r in (run, whole))
    assert ma["env_steps"] == mb["env_steps"] == [64 * k for k in range(1, 7)] + [400]
    for key in ("episodes", "train_return", "policy_loss", "value_loss"):
        assert ma[key] == pytest.approx(mb[key], nan_ok=True), key
    for name, value in b["policy"]["state"].items():
        if isinstance(value, torch.Tensor):
            torch.testing.assert_close(a["policy"]["state"][name], value)


def test_sac_killed_during_an_update_with_a_backlog_loses_nothing(tmp_path) -> None:
    got = _kill_and_resume(tmp_path, "sac", 150, "pending")
    run, started = got["run"], got["started"]
    assert started["known"] == got["produced"], started  # off-policy: none is stale
    assert got["dropped"] == 0
    assert started["restored"] >= 2  # the held-back one and the update's backlog
    saves = _saves(run)  # off-policy updates fall where the traffic lets them: the first
    assert saves == sorted(saves) and saves[-1] == TOTAL, saves  # at or past each multiple
    for m in (100, 200, 300):
        assert any(m <= s < m + 100 for s in saves), (m, saves)
    assert started["recorded"] >= got["before"]["env_steps"]  # resumed from the newest one
    assert load_checkpoint(run)["env_steps"] == TOTAL
