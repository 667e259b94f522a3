"""`rl-control launch train.launch.xml` after the trainer was SIGKILLed: relaunched with
resume:=true it continues the run with its counters, updates and metrics rows; a finished
run is refused at once (exit 2) instead of hanging, and so is a folder without resume:=true."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import domains  # test/domains.py

from rl_control.training.checkpoint import load_checkpoint
from rl_control.training.metrics import read_metrics

ROOT = Path(__file__).resolve().parents[2]
PID_LINE = re.compile(r"process \[(\w+)\] started with pid (\d+)")


class _Launch:
    def __init__(self, domain: int, *args: str) -> None:
        env = dict(
            os.environ, ROS_DOMAIN_ID=str(domain), RL_CONTROL_MIDDLEWARE="embedded",
            OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1",
        )  # fmt: skip
        cmd = [sys.executable, "-m", "rl_control.cli.main", "launch", "launch/train.launch.xml"]
        self.proc = subprocess.Popen(
            [*cmd, "task:=soft_wall_cartpole", "algo:=ppo", *args], cwd=ROOT, env=env,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
        )  # fmt: skip
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    def wait_for(self, pattern: str, timeout: float) -> bool:
        end = time.monotonic() + timeout
        while time.monotonic() < end and self.proc.poll() is None:
            if any(re.search(pattern, line) for line in list(self.lines)):
                return True
            time.sleep(0.2)
        return False

    def pid(self, label: str) -> int:
        found = [m for line in list(self.lines) if (m := PID_LINE.search(line))]
        return int(next(m[2] for m in found if m[1] == label))

    def finish(self, timeout: float) -> int:
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGINT)
            self.proc.wait(20)
            raise AssertionError("launch did not stop:\n" + self.output()) from None
        finally:
            self._reader.join(5)

    def output(self) -> str:
        return "\n".join(self.lines[-60:])


def test_trainer_killed_then_resumed_keeps_counters_and_rows(tmp_path) -> None:
    run, domain = tmp_path / "run", domains.allocate()
    args = ("steps:=2048", f"run_dir:={run}")
    first = _Launch(domain, *args)
    try:
        # two rollouts' rows (their `policy vN received` lines may be throttled away)
        end = time.monotonic() + 150
        while time.monotonic() < end and first.proc.poll() is None:
            metrics = run / "metrics.csv"
            if metrics.is_file() and len(metrics.read_text().splitlines()) >= 3:
                break
            time.sleep(0.1)
        os.kill(first.pid("trainer_node"), signal.SIGKILL)  # no final checkpoint
    finally:
        first.finish(timeout=60)
    before = read_metrics(run / "metrics.csv")
    assert before["env_steps"][:2] == [512, 1024], before
    assert load_checkpoint(run)["updates"] < 2  # the checkpoint predates those updates

    second = _Launch(domain, *args, "resume:=true")
    assert second.finish(timeout=200) == 0, second.output()
    assert re.search(r"resumed ppo on soft_wall_cartpole at step \d+", second.output())
    checkpoint = load_checkpoint(run)
    assert (checkpoint["env_steps"], checkpoint["updates"]) == (2048, 4)
    rows = read_metrics(run / "metrics.csv")
    assert rows["env_steps"] == [512, 1024, 1536, 2048], rows
    assert rows["updates"] == [1, 2, 3, 4] and rows["episodes"] == sorted(rows["episodes"])
    for key in ("episodes", "policy_loss", "value_loss"):  # the rows before the kill are kept
        assert rows[key][:2] == before[key][:2], key
    assert checkpoint["episodes"] >= rows["episodes"][-1] > before["episodes"][1]

    again = _Launch(domain, *args, "resume:=true")  # the run is complete: refused, no hang
    assert again.finish(timeout=60) == 2
    assert f"run {run} already has 2048 env steps" in again.output()
    assert "started with pid" not in again.output()
    fresh = _Launch(domain, *args)  # without resume:=true the folder is not touched
    assert fresh.finish(timeout=60) == 2 and "already exists and is not empty" in fresh.output()
    domains.release(domain)
