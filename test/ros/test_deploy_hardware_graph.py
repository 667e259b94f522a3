"""The deploy graph on backend:=hardware without legs: `rl-control launch deploy.launch.xml
backend:=hardware fake_robot:=true` with a checkpoint of a tiny two_link_leg PPO run. The
hardware bridge homes, hands over to the policy, the policy's actions reach the fake robot,
and SIGINT ends every node cleanly."""

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
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
ENV = dict(os.environ, RL_CONTROL_MIDDLEWARE="embedded", OMP_NUM_THREADS="1",
           PYTHONUNBUFFERED="1")  # fmt: skip
CLI = [sys.executable, "-m", "rl_control.cli.main"]


def _train_tiny_run(run: Path) -> None:
    """512 env steps of PPO on two_link_leg: two small updates, one evaluation episode."""
    sets = ["num_envs=1", "algo_config.n_steps=256", "eval_episodes=1", "checkpoint_every=0"]
    overrides = [a for s in sets for a in ("--set", s)]
    cmd = [*CLI, "train", "--config", "config/train/ppo_two_link_leg.yaml", "--steps", "512",
           "--run-dir", str(run), "--no-progress", *overrides]  # fmt: skip
    proc = subprocess.run(cmd, cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=90)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (run / "checkpoint.pt").is_file()


def _untrained_minitaur(path: Path) -> Path:
    """A PPO policy for the Minitaur, untrained (its mean stays near the standing pose):
    what matters here is the effort path and the estimator, not the gait."""
    import torch  # noqa: F401 (the algorithms need it)

    from rl_control.algorithms.registry import make_algorithm
    from rl_control.algorithms.spec import AlgorithmSpec
    from rl_control.tasks.registry import make_task
    from rl_control.training.checkpoint import save_checkpoint

    task = make_task("minitaur")
    spec = AlgorithmSpec(task.obs_dim, task.action_low, task.action_high, num_envs=1, task=task)
    save_checkpoint(path, make_algorithm("ppo", spec, {}, 0), {"task": "minitaur", "env": {}})
    return path


def _ci_robot(path: Path, name: str = "two_link_leg") -> Path:
    """A robot's config with timeouts a loaded CI machine can keep: the real 10 ms
    (five 500 Hz periods) are missed by four Python processes sharing two cores, and the
    safety core then faults, as it should on legs. A shorter homing saves test time."""
    config = yaml.safe_load((ROOT / f"config/robots/{name}.yaml").read_text())
    config["timeouts"] = {"joint_states": 0.25, "imu": 0.25, "command": 0.25}
    config["homing_time"] = 0.5
    for joint in config["joints"] if name == "minitaur" else ():
        # the bridge's PD at 100 Hz on measurements a loaded machine delays by up to a few
        # periods: kd 0.3 (the task's) then oscillates past velocity_limit while homing
        joint.update(kp=4.0, kd=0.1)
    path.write_text(yaml.safe_dump(config))
    return path


class _Output:
    """A process's merged output, read live on a thread."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.lines: list[str] = []
        self._thread = threading.Thread(target=self._read, args=(proc,), daemon=True)
        self._thread.start()

    def _read(self, proc: subprocess.Popen[str]) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            self.lines.append(line.rstrip("\n"))

    def wait_for(self, pattern: str, proc: subprocess.Popen[str], timeout: float) -> bool:
        end = time.monotonic() + timeout
        while time.monotonic() < end and proc.poll() is None:
            if any(re.search(pattern, line) for line in list(self.lines)):
                return True
            time.sleep(0.2)
        return False

    def text(self) -> str:
        self._thread.join(5)
        return "\n".join(self.lines)


def _deploy(robot: Path, task: str, checkpoint: Path, wait: float = 40.0) -> tuple[str, int, bool]:
    """Launch the deploy graph on the fake robot; SIGINT 1 s after the bridge is active
    (given up after ``wait`` s)."""
    domain = domains.allocate()
    cmd = [*CLI, "launch", "launch/deploy.launch.xml", "backend:=hardware", "fake_robot:=true",
           f"robot:={robot}", f"task:={task}", f"checkpoint:={checkpoint}"]  # fmt: skip
    proc = subprocess.Popen(
        cmd, cwd=ROOT, env=dict(ENV, ROS_DOMAIN_ID=str(domain)), stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )  # fmt: skip
    out = _Output(proc)
    try:
        active = out.wait_for(r"\[hardware_bridge\].*\[mode_active\] homing -> active", proc,
                              wait)  # fmt: skip
        time.sleep(1.0)  # some control periods of the policy's actions
        os.killpg(proc.pid, signal.SIGINT)  # as Ctrl-C in a terminal
        code = proc.wait(30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
        domains.release(domain)
    return out.text(), code, active


def _check_deploy(text: str, code: int, active: bool) -> None:
    assert active, text[-4000:]
    assert code == 0, text[-4000:]
    assert re.search(r"\[hardware_bridge\].*\[mode_homing\] passive -> homing", text)
    # the bridge's summary when it stops: commands sent while active are the policy's
    sent = re.search(r"\[hardware_bridge\].*stopped: (\d+) commands sent, (\d+) of them policy",
                     text)  # fmt: skip
    assert sent and int(sent[2]) > 0, text[-4000:]
    # and the fake robot applied them: as many as the bridge sent, give or take the last few
    applied = re.search(r"\[fake_ros2_control\].*stopped: (\d+) commands applied, 0 rejected",
                        text)  # fmt: skip
    assert applied and int(applied[1]) >= int(sent[2]), text[-4000:]
    assert "Traceback" not in text
    for node in ("hardware_bridge", "fake_ros2_control", "state_estimator", "policy_node"):
        assert re.search(rf"process \[{node}\] started with pid", text), node


def test_deploy_on_the_fake_robot_homes_activates_and_stops_on_sigint(tmp_path: Path) -> None:
    _train_tiny_run(tmp_path / "run")
    robot = _ci_robot(tmp_path / "two_link_leg.yaml")
    _check_deploy(*_deploy(robot, "two_link_leg", tmp_path / "run"))


@pytest.mark.slow  # ~75 s; test/robot/test_fake_ros2_control.py covers the path ROS-free
def test_minitaur_deploys_on_the_effort_path_with_the_leg_odometry(tmp_path: Path) -> None:
    """The Minitaur YAML (effort interface: the bridge closes the PD loop) on its fake robot;
    the estimator runs base_source:=legs (its observations need the IMU and the legs), so
    policy actions reaching the robot mean the whole hardware path works."""
    checkpoint = _untrained_minitaur(tmp_path / "minitaur.pt")
    # the fake Minitaur settles its world first (500 physics steps) and torch loads: more time
    text, code, active = _deploy(_ci_robot(tmp_path / "m.yaml", "minitaur"), "minitaur",
                                 checkpoint, wait=90.0)  # fmt: skip
    _check_deploy(text, code, active)
