"""Configuration errors of train/deploy launches: one line and exit 2 before any node starts
(`rl-control launch`), or from the node itself; run folders follow `rl-control train`'s rule."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from rl_control.algorithms.registry import algorithm_names, make_algorithm
from rl_control.algorithms.spec import AlgorithmSpec
from rl_control.ros.launch import find_package_share, resolve_launch
from rl_control.ros.launch.checks import check_plan
from rl_control.ros.launch.cli import main
from rl_control.training.checkpoint import save_checkpoint
from rl_control.training.config import load_config
from rl_control.training.io import atomic_write_yaml
from rl_control.training.session import RunSession

ROOT = Path(__file__).resolve().parents[3]
CARTPOLE_PPO = ROOT / "config/train/ppo_soft_wall_cartpole.yaml"


def _fails(capsys: pytest.CaptureFixture[str], argv: list[str], message: str) -> None:
    assert main(argv) == 2
    out, err = capsys.readouterr()
    assert "started with pid" not in out  # nothing ran
    assert err.count("\n") == 1 and message in err, err


def test_bad_names_config_and_checkpoint_are_one_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    _fails(
        capsys, ["train.launch.xml", "algo:=nope"],
        f"trainer_node: unknown algorithm 'nope'; known: {algorithm_names()}",
    )  # fmt: skip
    _fails(
        capsys, ["train.launch.xml", "task:=nope"],
        "sim_bridge: unknown task 'nope'; known: ['ackley_1', 'ackley_64', 'dejong_1',",
    )  # fmt: skip
    bad = tmp_path / "bad.yaml"
    bad.write_text("algo: [ppo\n")
    _fails(capsys, ["train.launch.xml", f"config:={bad}"], "trainer_node: malformed YAML in")
    _fails(
        capsys, ["deploy.launch.xml", "checkpoint:=/nonexistent"],
        "policy_node: checkpoint or run folder not found: /nonexistent",
    )  # fmt: skip
    (tmp_path / "cut.pt").write_bytes(b"rl_control checkpoint sha256 00")
    _fails(capsys, ["deploy.launch.xml", f"checkpoint:={tmp_path / 'cut.pt'}"], "corrupt")


def test_an_env_the_graph_cannot_honour_is_refused_before_any_node_starts(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The randomised config's sensor noise and latency: the trainer refuses it, and so does a
    remote worker's bridge (worker.launch.xml has no trainer in its plan)."""
    randomized = ROOT / "config/train/ppo_minitaur_tg_randomized.yaml"
    message = "env.domain_randomization.latency of task 'minitaur_tg': the node graph cannot"
    _fails(capsys, ["train.launch.xml", "task:=minitaur_tg", f"config:={randomized}"],
           f"trainer_node: {message}")  # fmt: skip
    _fails(capsys, ["worker.launch.xml", "task:=minitaur_tg", f"config:={randomized}"],
           f"sim_bridge: {message}")  # fmt: skip


def test_a_bad_robot_namespaces_list_stops_the_launch_before_any_node_starts(
    capsys: pytest.CaptureFixture[str],
) -> None:
    hardware = ["train.launch.xml", "backend:=hardware", "task:=two_link_leg", "workers:=2"]
    _fails(
        capsys,
        [*hardware, "robot_namespaces:=dog1"],
        "hardware_bridge: robot_namespaces:=dog1 names 1 robot namespace(s) for workers:=2",
    )
    _fails(capsys, [*hardware, "robot_namespaces:=dog1,dog_2!"],
           "hardware_bridge: robot_namespace 'dog_2!' is not a ROS namespace")  # fmt: skip


def test_a_misspelt_argument_is_an_error(capsys: pytest.CaptureFixture[str]) -> None:
    _fails(
        capsys, ["train.launch.xml", "--print", "alog:=sac"],
        "argument(s) 'alog' not declared by train.launch.xml; declared: algo, backend,",
    )  # fmt: skip


def _in_process_run(run: Path, env_steps: int) -> None:
    """A run folder as `rl-control train` leaves it: 4 envs, 20 000 steps."""
    config = load_config(CARTPOLE_PPO, {"num_envs": 4, "total_steps": 20_000})
    config.run_dir = str(run)
    algorithm = make_algorithm(
        "ppo", AlgorithmSpec(4, np.array([-1.0]), np.array([1.0]), 4), {}, 0
    )
    session = RunSession(config, _paths(run, config), tensorboard=False)
    session.add_steps(env_steps)
    save_checkpoint(run / "checkpoint.pt", algorithm, session.checkpoint_meta())
    session.close()


def _paths(run: Path, config):
    from rl_control.training.io import RunPaths

    run.mkdir(parents=True, exist_ok=True)
    atomic_write_yaml(run / "config.yaml", config.to_dict())
    return RunPaths(run)


def test_the_graph_never_continues_another_run_silently(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    run = tmp_path / "ppo_soft_wall_cartpole_seed0"
    _in_process_run(run, env_steps=8_000)
    before = {p.name: p.read_bytes() for p in run.iterdir()}
    args = ["train.launch.xml", f"config:={CARTPOLE_PPO}", f"run_dir:={run}"]
    _fails(capsys, args, "already exists and is not empty (already holds a checkpoint)")
    _fails(
        capsys, [*args, "resume:=true"],
        "its config differs (num_envs 4 -> 1); resume with the run's own settings or force",
    )  # fmt: skip
    assert {p.name: p.read_bytes() for p in run.iterdir()} == before  # untouched


def test_resuming_a_finished_run_is_refused_instead_of_hanging(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    run = tmp_path / "run"
    config = load_config(CARTPOLE_PPO, {"num_envs": 1, "total_steps": 8_000})
    config.checkpoint_every, config.run_dir = 10, str(run)
    algorithm = make_algorithm(
        "ppo", AlgorithmSpec(4, np.array([-1.0]), np.array([1.0]), 1), {}, 0
    )
    session = RunSession(config, _paths(run, config), tensorboard=False)
    session.add_steps(8_000)
    save_checkpoint(run / "checkpoint.pt", algorithm, session.checkpoint_meta())
    session.close()
    args = ["train.launch.xml", f"config:={CARTPOLE_PPO}", f"run_dir:={run}", "resume:=true"]
    _fails(capsys, [*args, "steps:=8000"], f"run {run} already has 8000 env steps; raise")
    plan = resolve_launch(find_package_share("rl_control", {}) / "launch/train.launch.xml",
                          dict(a.split(":=") for a in [*args[1:], "steps:=9000"]), {})  # fmt: skip
    check_plan(plan)  # a larger budget continues the run


@pytest.mark.parametrize(
    ("node", "param", "message"),
    [
        (
            "sim_bridge",
            "task:=nope",
            "sim_bridge: error: unknown task 'nope'; known: ['ackley_1',",
        ),
        ("trainer_node", "algo:=nope", "trainer_node: error: unknown algorithm 'nope'; known:"),
        (
            "sim_bridge",
            f"config:={ROOT / 'config/train/ppo_quadruped12_slopes.yaml'}",
            "sim_bridge: error: env.slopes of task 'quadruped12': the node graph cannot",
        ),
        (
            "state_estimator",
            f"config:={ROOT / 'config/train/ppo_quadruped12_slopes.yaml'}",
            "state_estimator: error: env.slopes of task 'quadruped12': the node graph cannot",
        ),
        (  # under ros2 launch, worker.launch.xml's robot_namespaces problem reaches the bridge
            "hardware_bridge",
            "robot_namespace:=robot_namespaces:=dog1,dog1 gives the robot namespace dog1 to "
            "more than one worker (one robot per worker)",
            "hardware_bridge: error: robot_namespaces:=dog1,dog1 gives the robot namespace dog1 "
            "to more than one worker",
        ),
        (
            "fake_ros2_control",
            "robot_namespace:=dog-1",
            "fake_ros2_control: error: robot_namespace 'dog-1' is not a ROS namespace",
        ),
    ],
)
def test_a_node_alone_reports_bad_parameters_in_one_line(
    node: str, param: str, message: str
) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", f"rl_control.ros.nodes.{node}", "--ros-args", "-p", param,
         *(["-p", "task:=quadruped12"] if param.startswith("config:=") else [])],
        capture_output=True, text=True, timeout=120,
        env={"RL_CONTROL_MIDDLEWARE": "embedded", "ROS_DOMAIN_ID": "199",
             "PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"},
    )  # fmt: skip
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [proc.stderr.strip()] and message in proc.stderr
