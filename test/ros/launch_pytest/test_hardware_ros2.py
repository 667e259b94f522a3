"""The real `ros2 launch` with backend:=hardware for training: exit code 1, the reason, no
node started (the README's promise; `rl-control launch` is tested in test/ros/launch)."""

from __future__ import annotations

import shutil
import subprocess

import pytest

if shutil.which("ros2") is None:
    pytest.skip("the ros2 command is not on PATH: source ROS 2 Jazzy", allow_module_level=True)

pytestmark = pytest.mark.ros


def test_ros2_launch_train_on_hardware_exits_1_before_any_node() -> None:
    proc = subprocess.run(
        ["ros2", "launch", "rl_control", "train.launch.xml", "backend:=hardware"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1, out
    assert "training on real legs is not supported" in out
    assert "training_needs_backend_pybullet" in out  # the configuration that makes it raise
    assert "process started" not in out and "Traceback" not in out
