"""The real `ros2 launch` with backend:=hardware: exit code 1, one message, no node started
(the README's promise; `rl-control launch` is tested in test/ros/launch)."""

from __future__ import annotations

import shutil
import subprocess

import pytest

if shutil.which("ros2") is None:
    pytest.skip("the ros2 command is not on PATH: source ROS 2 Jazzy", allow_module_level=True)

pytestmark = pytest.mark.ros


@pytest.mark.parametrize("name", ["train.launch.xml", "deploy.launch.xml"])
def test_ros2_launch_hardware_exits_1_before_any_node(name: str) -> None:
    args = ["backend:=hardware"] + (["checkpoint:=c.pt"] if name == "deploy.launch.xml" else [])
    proc = subprocess.run(
        ["ros2", "launch", "rl_control", name, *args],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1, out
    assert "hardware bridge not implemented yet" in out
    assert "process started" not in out and "Traceback" not in out
