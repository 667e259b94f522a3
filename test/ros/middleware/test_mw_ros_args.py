"""--ros-args parsing, parameter files and ROS name resolution (shared by both back-ends)."""

from __future__ import annotations

from pathlib import Path

import pytest

from rl_control.ros.middleware.names import expand_topic_name, resolve_topic_name
from rl_control.ros.middleware.ros_args import node_config, parse_ros_args, ros_sections


@pytest.mark.parametrize(
    "argv, name, expected",
    [
        (["--ros-args", "-p", "rate:=50"], "n", {"rate": 50}),
        (["--ros-args", "-p", "gain:=0.5", "-p", "on:=true"], "n", {"gain": 0.5, "on": True}),
        (["--ros-args", "-p", "ids:=[1, 2]", "-p", "s:=hi"], "n", {"ids": [1, 2], "s": "hi"}),
        (["--ros-args", "--param", "q:='3'"], "n", {"q": "3"}),
        (["--ros-args", "-p", "other:x:=1", "-p", "n:y:=2"], "n", {"y": 2}),
        (["prog", "--ros-args", "-p", "a:=1", "--", "--user", "--ros-args", "-p", "b:=2"], "n",
         {"a": 1, "b": 2}),
    ],
)  # fmt: skip
def test_parameter_overrides(argv: list[str], name: str, expected: dict) -> None:
    assert node_config(parse_ros_args(argv), name).parameters == expected


def test_non_ros_arguments_are_kept() -> None:
    args = parse_ros_args(["prog", "--ros-args", "-p", "a:=1", "--", "--user", "x"])
    assert args.other == ["prog", "--user", "x"]
    assert ros_sections(["prog", "--ros-args", "-r", "a:=b", "--", "x"]) == [
        "--ros-args", "-r", "a:=b", "--",
    ]  # fmt: skip


def test_node_and_namespace_remaps_and_log_level() -> None:
    argv = ["--ros-args", "-r", "__node:=renamed", "-r", "__ns:=/robot1", "--log-level",
            "debug", "-r", "cmd:=/hw/cmd", "--remap", "renamed:odom:=odom_gt",
            "-r", "other:x:=y"]  # fmt: skip
    cfg = node_config(parse_ros_args(argv), "orig", "")
    assert (cfg.name, cfg.namespace, cfg.log_level) == ("renamed", "/robot1", "debug")
    assert cfg.remaps == (("cmd", "/hw/cmd"), ("odom", "odom_gt"))


@pytest.mark.parametrize(
    "argv, match",
    [
        (["--ros-args", "-p"], "'-p': missing value"),
        (["--ros-args", "-p", "novalue"], "bad argument -p 'novalue'"),
        (["--ros-args", "-r", ":=x"], "empty name"),
        (["--ros-args", "--enclave", "/x"], "unsupported ROS argument '--enclave'"),
        (["--ros-args", "--log-level", "loud"], "--log-level 'loud'"),
        (["--ros-args", "--params-file", "/no/such.yaml"], "no such file"),
        (["--ros-args", "-r", "__node:=9bad"], "invalid node name '9bad'"),
    ],
)
def test_bad_arguments_name_the_problem(argv: list[str], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        node_config(parse_ros_args(argv), "n")


PARAMS = """
/**:
  ros__parameters:
    use_sim_time: true
    rate: 10
policy_node:
  ros__parameters:
    rate: 50
    model: {hidden: 64, layers: [1, 2]}
/robot1/policy_node:
  ros__parameters:
    rate: 100
robot2:
  policy_node:
    ros__parameters:
      rate: 200
/**/trainer_node:
  ros__parameters:
    algo: ppo
"""


@pytest.mark.parametrize(
    "name, ns, expected_rate",
    [("policy_node", "", 50), ("policy_node", "/robot1", 100), ("policy_node", "/robot2", 200),
     ("policy_node", "/robot3", 10), ("sim_bridge", "", 10)],
)  # fmt: skip
def test_params_file_layouts(tmp_path: Path, name: str, ns: str, expected_rate: int) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(PARAMS)
    cfg = node_config(parse_ros_args(["--ros-args", "--params-file", str(path)]), name, ns)
    assert cfg.parameters["rate"] == expected_rate
    assert cfg.parameters["use_sim_time"] is True


def test_params_file_nesting_wildcards_and_cli_precedence(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(PARAMS)
    argv = ["--ros-args", "--params-file", str(path), "-p", "rate:=7"]
    cfg = node_config(parse_ros_args(argv), "policy_node")
    assert cfg.parameters["model.hidden"] == 64 and cfg.parameters["model.layers"] == [1, 2]
    assert cfg.parameters["rate"] == 7  # -p wins over files
    trainer = node_config(parse_ros_args(argv), "trainer_node", "/a/b")
    assert trainer.parameters["algo"] == "ppo"


def test_params_file_errors(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("ros__parameters:\n  a: 1\n")
    with pytest.raises(ValueError, match="needs a node name"):
        node_config(parse_ros_args(["--ros-args", "--params-file", str(path)]), "n")


@pytest.mark.parametrize(
    "topic, ns, expected",
    [("chatter", "", "/chatter"), ("chatter", "/robot1", "/robot1/chatter"),
     ("/abs", "/robot1", "/abs"), ("~/status", "/r", "/r/node/status"), ("~", "", "/node"),
     ("{node}/x", "/r", "/r/node/x"), ("a/b", "r/", "/r/a/b")],
)  # fmt: skip
def test_topic_expansion(topic: str, ns: str, expected: str) -> None:
    assert expand_topic_name(topic, "node", ns) == expected


@pytest.mark.parametrize("topic", ["", "a//b", "a/", "9a", "a b", "x~", "{bad}"])
def test_invalid_topic_names(topic: str) -> None:
    with pytest.raises(ValueError, match="invalid topic name"):
        expand_topic_name(topic, "node", "/")


def test_remaps_apply_after_expansion() -> None:
    remaps = (("cmd", "/hw/cmd"), ("/robot1/odom", "odom_gt"), ("~/x", "y"))
    assert resolve_topic_name("cmd", "n", "/robot1", remaps) == "/hw/cmd"
    assert resolve_topic_name("/robot1/cmd", "n", "/robot1", remaps) == "/hw/cmd"
    assert resolve_topic_name("odom", "n", "/robot1", remaps) == "/robot1/odom_gt"
    assert resolve_topic_name("x", "n", "/robot1", remaps) == "/robot1/x"
    assert resolve_topic_name("~/x", "n", "/robot1", remaps) == "/robot1/y"
