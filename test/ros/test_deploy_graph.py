"""End to end: deploy.launch.xml with an MPC checkpoint, through the embedded back-end (own
ROS_DOMAIN_ID): the policy node says what it loaded and how it goes, and Ctrl-C ends it
even while it solves (casadi swallows a KeyboardInterrupt raised inside IPOPT)."""

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

from rl_control.algorithms.registry import make_algorithm
from rl_control.algorithms.spec import AlgorithmSpec
from rl_control.tasks.registry import make_task
from rl_control.training.checkpoint import save_checkpoint
from rl_control.training.config import load_config

ROOT = Path(__file__).resolve().parents[2]


def _mpc_checkpoint(path: Path) -> Path:
    """An untrained PPO-MPC policy: its perturbed model drops the pole, so solves often fall
    back to IPOPT, where a SIGINT used to get lost."""
    config = load_config(str(ROOT / "config/train/ppo_mpc_soft_wall_cartpole.yaml"))
    task = make_task(config.task, config.env)
    spec = AlgorithmSpec(task.obs_dim, task.action_low, task.action_high, num_envs=1, task=task)
    algorithm = make_algorithm(config.algo, spec, dict(config.algo_config), 0)
    save_checkpoint(path, algorithm, {"task": config.task, "env": dict(config.env)})
    return path


def test_deploy_reports_its_status_and_ends_on_sigint_within_seconds(tmp_path) -> None:
    checkpoint = _mpc_checkpoint(tmp_path / "checkpoint.pt")
    domain = domains.allocate()
    env = dict(
        os.environ, ROS_DOMAIN_ID=str(domain), RL_CONTROL_MIDDLEWARE="embedded",
        OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1",
    )  # fmt: skip
    cmd = [
        sys.executable, "-m", "rl_control.cli.main", "launch", "launch/deploy.launch.xml",
        f"checkpoint:={checkpoint}",
    ]  # fmt: skip
    proc = subprocess.Popen(
        cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True,
    )  # fmt: skip
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(x.rstrip() for x in proc.stdout))
    reader.start()

    def seen(pattern: str, timeout: float) -> re.Match | None:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            found = [m for x in list(lines) if (m := re.search(pattern, x))]
            if found:
                return found[0]
            time.sleep(0.1)
        return None

    try:
        assert seen(rf"\[policy_node\].*loaded checkpoint {re.escape(str(checkpoint))}", 60)
        status = r"\[policy_node\].*\d+ actions/s, \d+ episodes, last episode \d+ steps, worst"
        assert seen(status, 30), "\n".join(lines[-30:])
        pid = int(seen(r"process \[policy_node\] started with pid (\d+)", 1)[1])
        os.kill(pid, signal.SIGINT)  # the node is acting (and solving) 100 times a second
        start = time.monotonic()
        code = proc.wait(15)  # the policy node's exit ends the deploy launch
        took = time.monotonic() - start
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(20)
        reader.join(5)
        domains.release(domain)
    assert code == 0 and took < 5, (took, "\n".join(lines[-30:]))
    assert any("[policy_node] has finished cleanly" in x for x in lines), "\n".join(lines[-30:])
