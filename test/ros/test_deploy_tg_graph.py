"""deploy.launch.xml runs a checkpoint of either trajectory-generator task (minitaur_tg,
quadruped12) over the embedded back-end: the estimator makes every observation (its phase
from the episode clock), the policy node acts, and Ctrl-C ends it cleanly."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from rl_control.tasks.registry import make_task

ROOT = Path(__file__).resolve().parents[2]
TASKS = ("minitaur_tg", "quadruped12")


@pytest.fixture
def embedded(monkeypatch, ros_domain):
    monkeypatch.setenv("RL_CONTROL_MIDDLEWARE", "embedded")
    return ros_domain


def _checkpoint(name: str, path: Path) -> Path:
    """An untrained PPO policy of task ``name`` (deploying needs a policy, not a good one)."""
    from rl_control.algorithms.registry import make_algorithm
    from rl_control.algorithms.spec import AlgorithmSpec
    from rl_control.training.checkpoint import save_checkpoint

    task = make_task(name)
    spec = AlgorithmSpec(task.obs_dim, task.action_low, task.action_high, num_envs=1, task=task)
    algorithm = make_algorithm("ppo", spec, {"hidden": [16, 16]}, 0)
    save_checkpoint(path, algorithm, {"task": name, "env": {}})
    return path


@pytest.mark.parametrize("name", TASKS)
def test_deploy_launch_runs_the_task(embedded, tmp_path, name: str) -> None:
    checkpoint = _checkpoint(name, tmp_path / "checkpoint.pt")
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1")
    cmd = [sys.executable, "-m", "rl_control.cli.main", "launch", "launch/deploy.launch.xml",
           f"checkpoint:={checkpoint}", f"task:={name}"]  # fmt: skip
    proc = subprocess.Popen(
        cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True,
    )  # fmt: skip
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(x.rstrip() for x in proc.stdout))
    reader.start()
    status = re.compile(r"\[policy_node\].* (\d+) actions/s, \d+ episodes")
    try:
        end = time.monotonic() + 120
        while not [m for x in list(lines) if (m := status.search(x)) and int(m[1]) > 0]:
            assert proc.poll() is None, "\n".join(lines[-30:])
            assert time.monotonic() < end, "\n".join(lines[-30:])
            time.sleep(0.2)
        started = re.compile(r"process \[policy_node\] started with pid (\d+)")
        pid = int(next(m for x in list(lines) if (m := started.search(x)))[1])
        os.kill(pid, signal.SIGINT)  # the policy node's exit ends the deploy launch
        code = proc.wait(30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(20)
        reader.join(5)
    text = "\n".join(lines)
    assert code == 0, text[-3000:]
    assert f"estimating {name} state from joint_states" in text
    assert "Traceback" not in text, text[-3000:]
    assert "[policy_node] has finished cleanly" in text, text[-3000:]
