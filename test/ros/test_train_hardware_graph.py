"""`rl-control launch train.launch.xml backend:=hardware fake_robot:=true` on the 2R leg over
the embedded back-end: the hardware bridge, gated by the trainer's step grants, hands over
to the policy; an e-stop (or a fault the untrained policy causes first) makes the bridge
refuse the trainer's reset, and the trainer stops with exit code 3, its run checkpointed.
The training logic itself is tested ROS-free (test/roles/test_hardware_training.py)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
from pathlib import Path

import domains  # test/domains.py
import yaml
from test_deploy_hardware_graph import CLI, ENV, ROOT, _ci_robot, _Output

from rl_control.ros import middleware as mw
from rl_control.training.checkpoint import load_checkpoint


def _robot(path: Path) -> Path:
    """The CI leg, with the untrained policy's torques scaled down (see the ROS-free test)."""
    config = yaml.safe_load(_ci_robot(path).read_text())
    config["safe_set"].update(joint_tolerance=0.3, max_joint_velocity=5.0)
    for joint in config["joints"]:
        joint.update(action_scale=0.3, velocity_limit=200.0)
    path.write_text(yaml.safe_dump(config))
    return path


def test_training_on_the_fake_leg_stops_cleanly_at_an_estop(tmp_path: Path, monkeypatch) -> None:
    domain = domains.allocate()
    monkeypatch.setenv("ROS_DOMAIN_ID", str(domain))
    monkeypatch.setenv("RL_CONTROL_MIDDLEWARE", "embedded")
    run = tmp_path / "run"
    cmd = [*CLI, "launch", "launch/train.launch.xml", "backend:=hardware", "fake_robot:=true",
           "task:=two_link_leg", f"robot:={_robot(tmp_path / 'leg.yaml')}", "steps:=100000",
           f"run_dir:={run}"]  # fmt: skip
    proc = subprocess.Popen(
        cmd, cwd=ROOT, env=dict(ENV, ROS_DOMAIN_ID=str(domain)), stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )  # fmt: skip
    out = _Output(proc)
    node = mw.create_node("test_operator")
    try:
        active = out.wait_for(r"\[hardware_bridge\].*\[mode_active\] homing -> active", proc, 90)
        assert active, out.text()[-4000:]
        estop = node.create_client("std_srvs/srv/Trigger", "estop")
        answer = estop.call(mw.service_class("std_srvs/srv/Trigger").Request(), timeout=20)
        assert answer.success
        code = proc.wait(60)
    finally:
        node.destroy()
        mw.shutdown()
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
        domains.release(domain)
    text = out.text()
    assert code != 0 and "Traceback" not in text, text[-4000:]
    assert re.search(r"process \[trainer_node\] has died \(exit code 3\)", text), text[-4000:]
    refused = r"\[trainer_node\].*stopping at step (\d+): bridge refused the reset: reset " \
              r"refused in (estop|fault)"  # fmt: skip
    stop = re.search(refused, text)
    assert stop, text[-4000:]
    # the policy's granted actions reached the leg, and what was collected is checkpointed
    sent = re.search(r"\[hardware_bridge\].*stopped: \d+ commands sent, (\d+) of them policy",
                     text)  # fmt: skip
    assert sent and int(sent[1]) > 0, text[-4000:]
    assert load_checkpoint(run)["env_steps"] == int(stop[1])
