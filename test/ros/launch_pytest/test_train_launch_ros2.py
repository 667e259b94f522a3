"""The real `ros2 launch` runs train.launch.xml with rclpy nodes (launch_pytest).

Needs a ROS 2 installation with rl_control and rl_control_msgs built by colcon and sourced
(`colcon build --base-paths src src/rl_control/msg`); skipped elsewhere with the reason.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import domains  # test/domains.py: one allocator for DDS domain ids
import pytest

launch_pytest = pytest.importorskip(
    "launch_pytest", reason="launch_pytest comes with ROS 2 (not on PyPI): source ROS 2 Jazzy"
)
if shutil.which("ros2") is None:
    pytest.skip("the ros2 command is not on PATH: source ROS 2 Jazzy", allow_module_level=True)

import launch  # noqa: E402
from launch_pytest.tools import process as process_tools  # noqa: E402

pytestmark = pytest.mark.ros
RUN_DIR = Path(os.environ.get("RL_CONTROL_LAUNCH_TEST_DIR", "/tmp/rl_control_launch_pytest"))
STEPS = 800


@pytest.fixture
def train_process() -> launch.actions.ExecuteProcess:
    shutil.rmtree(RUN_DIR, ignore_errors=True)
    env = dict(os.environ, RL_CONTROL_MIDDLEWARE="rclpy", ROS_DOMAIN_ID=str(domains.allocate()),
               ROS_AUTOMATIC_DISCOVERY_RANGE="LOCALHOST")  # fmt: skip
    return launch.actions.ExecuteProcess(
        cmd=[
            "ros2", "launch", "rl_control", "train.launch.xml", "task:=soft_wall_cartpole",
            "algo:=ppo_mpc", f"steps:={STEPS}", f"run_dir:={RUN_DIR}",
        ],
        env=env, output="screen", cached_output=True,
    )  # fmt: skip


@launch_pytest.fixture
def train_launch(train_process: launch.actions.ExecuteProcess) -> launch.LaunchDescription:
    return launch.LaunchDescription([train_process, launch_pytest.actions.ReadyToTest()])


@pytest.mark.launch(fixture=train_launch)
def test_ros2_launch_trains_and_writes_a_checkpoint(train_process, launch_context):
    """The main job (PPO-MPC) under rclpy: it must learn, not just run."""
    process_tools.wait_for_output_sync(
        launch_context, train_process, lambda out: f"{STEPS}/{STEPS} steps" in out, timeout=300
    )
    process_tools.wait_for_exit_sync(launch_context, train_process, timeout=60)
    yield
    assert train_process.return_code == 0
    assert (RUN_DIR / "checkpoint.pt").is_file()
    from rl_control.training.metrics import read_metrics

    returns = [r for r in read_metrics(RUN_DIR / "metrics.csv")["train_return"] if r == r]
    assert returns and max(returns[1:]) > returns[0] + 2000, returns
