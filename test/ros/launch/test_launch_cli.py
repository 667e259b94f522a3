"""`rl-control launch` entry point: file lookup, arguments, --print, --show-args, exit codes."""

import pytest

from rl_control.ros.launch.cli import main, parse_arguments
from rl_control.ros.launch.model import LaunchError


def test_print_resolves_train_by_bare_name(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["train.launch.xml", "--print", "algo:=trpo", "namespace:=r2"])
    out = capsys.readouterr().out
    assert code == 0
    lines = [line for line in out.splitlines() if line.startswith("[")]
    assert [line.split()[0] for line in lines] == [
        "[sim_bridge]", "[state_estimator]", "[robot_publisher]", "[policy_node]",
        "[trainer_node]",
    ]  # fmt: skip
    assert "-r __ns:=/r2" in lines[4] and "-p algo:=trpo" in lines[4]
    assert "on_exit=shutdown" in out


def test_package_and_file_form(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rl_control", "sim.launch.xml", "-p", "task:=two_link_leg"]) == 0
    assert "-p task:=two_link_leg" in capsys.readouterr().out


def test_train_on_hardware_checks_the_task_first(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["train.launch.xml", "backend:=hardware"]) == 2  # run, not --print
    out, err = capsys.readouterr()
    assert "started with pid" not in out
    assert "robot 'two_link_leg_rig' runs task 'two_link_leg', but the task is " in err


def test_hardware_task_must_be_the_robots(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["deploy.launch.xml", "backend:=hardware", "checkpoint:=c.pt"]
    assert main(argv) == 2  # checked before any node starts
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert (
        "hardware_bridge: robot 'two_link_leg_rig' runs task 'two_link_leg', but the task is "
        "'soft_wall_cartpole'; pass task:=two_link_leg" in err
    )
    assert main(["sim.launch.xml", "backend:=hardware", "robot:=no_such_robot", "--print"]) == 0
    assert main(["sim.launch.xml", "backend:=hardware", "robot:=no_such_robot"]) == 2
    assert "robot config not found" in capsys.readouterr().err


def test_errors_exit_2_with_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["deploy.launch.xml", "--print"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "missing launch argument 'checkpoint'" in err
    assert main(["no_such.launch.xml"]) == 2
    assert "launch file not found: no_such.launch.xml" in capsys.readouterr().err
    assert main(["sim.launch.xml", "-p", "task=x"]) == 2
    assert "invalid launch argument 'task=x'" in capsys.readouterr().err


def test_undeclared_argument_is_an_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sim.launch.xml", "-p", "tsak:=x"]) == 2  # it would run with the default
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "argument(s) 'tsak' not declared by sim.launch.xml" in err
    assert "declared: backend, bridge_and_estimator, config, cpu_dma_latency, fake_robot," in err


def test_show_args(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["deploy.launch.xml", "--show-args"]) == 0
    out = capsys.readouterr().out
    assert "'checkpoint':\n        policy checkpoint to deploy\n        (required)" in out
    assert "Valid choices are: ['pybullet', 'hardware']" in out


def test_parse_arguments() -> None:
    assert parse_arguments(["a:=1", "b:=x:=y", "a:=2", "c:="]) == {"a": "2", "b": "x:=y", "c": ""}
    with pytest.raises(LaunchError, match="expected name:=value"):
        parse_arguments([":=1"])
