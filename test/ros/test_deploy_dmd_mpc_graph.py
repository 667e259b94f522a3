"""End to end: an M-DeMoRL run's planner exported as a dmd_mpc checkpoint deploys through
deploy.launch.xml (two_link_leg, embedded back-end): policy_node loads it, acts, and
publishes the planned trajectory on plan_markers, one point per predicted step."""

from __future__ import annotations

import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import torch

from rl_control.algorithms.registry import make_algorithm
from rl_control.algorithms.spec import AlgorithmSpec
from rl_control.ros import middleware as mw
from rl_control.tasks.registry import make_task
from rl_control.training.checkpoint import save_checkpoint
from rl_control.training.planner_export import export_planner

ROOT = Path(__file__).resolve().parents[2]
HORIZON = 4
TINY = dict(
    sac=dict(hidden=[32, 32]), num_members=3, num_elites=2, model_hidden=[32, 32],
    num_samples=20, horizon_schedule=[0, 1, HORIZON, HORIZON],
)  # fmt: skip


def _planner_checkpoint(folder: Path) -> Path:
    """A tiny m_demorl learner, its ensemble fit once on random transitions, exported."""
    task = make_task("two_link_leg")
    spec = AlgorithmSpec(task.obs_dim, task.action_low, task.action_high, 1, task)
    algo = make_algorithm("m_demorl", spec, TINY, 0)
    g = torch.Generator().manual_seed(0)
    obs, act = torch.randn(256, spec.obs_dim, generator=g), torch.rand(256, 2, generator=g) * 2 - 1
    nxt = obs + 0.01 * torch.randn(256, spec.obs_dim, generator=g)
    algo.model.fit(obs, act, torch.randn(256, generator=g), nxt, algo.model_optimizer, g, 1)
    save_checkpoint(folder / "checkpoint.pt", algo, {"task": "two_link_leg", "env": {}})
    return export_planner(folder)


def test_deployed_planner_publishes_its_plan_as_markers(tmp_path, monkeypatch, ros_domain):
    checkpoint = _planner_checkpoint(tmp_path)
    monkeypatch.setenv("RL_CONTROL_MIDDLEWARE", "embedded")
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1")
    cmd = [sys.executable, "-m", "rl_control.cli.main", "launch", "launch/deploy.launch.xml",
           "task:=two_link_leg", f"checkpoint:={checkpoint}"]  # fmt: skip
    log = (tmp_path / "launch.log").open("w")
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)  # fmt: skip
    node = mw.create_node("plan_listener")
    markers: list = []
    actions: list = []
    node.create_subscription("visualization_msgs/msg/MarkerArray", "plan_markers",
                             markers.append, 1)  # fmt: skip
    node.create_subscription("rl_control_msgs/msg/Action", "action", actions.append, 10)
    try:
        end = time.monotonic() + 90
        while time.monotonic() < end and len(markers) < 3 and proc.poll() is None:
            node.spin_once(0.05)
    finally:
        node.destroy()
        mw.shutdown()
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGINT)
        code = proc.wait(30)
        log.close()
    text = (tmp_path / "launch.log").read_text()
    assert len(markers) >= 3 and actions, text[-3000:]
    marker = markers[-1].markers[0]
    assert marker.ns == "mpc_plan" and marker.header.frame_id == "odom"
    assert len(marker.points) == HORIZON + 1  # the observation and H predicted steps
    assert all(map(math.isfinite, (c for p in marker.points for c in (p.x, p.y))))
    torque = make_task("two_link_leg").params.max_torque
    assert all(abs(a) <= torque + 1e-6 for msg in actions for a in msg.action)
    assert f"loaded checkpoint {checkpoint}" in text and "Traceback" not in text, text[-3000:]
    assert code == 0, text[-3000:]
