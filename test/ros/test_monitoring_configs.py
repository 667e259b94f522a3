"""The rviz and rqt files (config/rviz, config/rqt), checked structurally: they parse, hold
the displays and plugins they promise, and every topic and field they name exists in the
graph's topic table (rl_control.roles.topics) and message definitions; `rviz:=true` starts
rviz2 where ROS 2 is installed and says why not where it is not."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest
import yaml

from rl_control.roles.topics import BY_NAME
from rl_control.ros.launch import LaunchError, resolve_launch
from rl_control.ros.middleware.library import default_library
from rl_control.tasks.registry import task_names

ROOT = Path(__file__).resolve().parents[2]
RVIZ, RQT = ROOT / "config" / "rviz", ROOT / "config" / "rqt"
ROBOT_TASKS = ["soft_wall_cartpole", "two_link_leg", "minitaur"]
ENV = {"PATH": "/usr/bin:/bin"}  # no AMENT_PREFIX_PATH: no ROS 2


def _rviz(task: str) -> dict:
    return yaml.safe_load((RVIZ / f"{task}.rviz").read_text())


def _topics(node: object) -> list[str]:
    """Every `Value` under a `... Topic` key of an rviz config."""
    found: list[str] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key.endswith("Topic") and isinstance(value, dict):
                found.append(value["Value"])
            else:
                found += _topics(value)
    elif isinstance(node, list):
        for item in node:
            found += _topics(item)
    return found


def test_every_task_with_a_robot_has_an_rviz_config_and_no_other() -> None:
    assert set(ROBOT_TASKS) <= set(task_names())
    assert sorted(p.stem for p in RVIZ.glob("*.rviz")) == sorted(ROBOT_TASKS)


@pytest.mark.parametrize("task", ROBOT_TASKS)
def test_rviz_config_displays_and_topics(task: str) -> None:
    cfg = _rviz(task)
    manager = cfg["Visualization Manager"]
    assert manager["Global Options"]["Fixed Frame"] == "odom"  # every task's tree has it
    displays = {d["Name"]: d for d in manager["Displays"]}
    classes = {d["Class"] for d in displays.values()}
    assert {"rviz_default_plugins/RobotModel", "rviz_default_plugins/TF",
            "rviz_default_plugins/MarkerArray"} <= classes  # fmt: skip
    robot = displays["RobotModel"]["Description Topic"]
    assert robot["Value"] == "/robot_description"
    assert robot["Durability Policy"] == "Transient Local"
    assert displays["MPC plan"]["Topic"]["Value"] == "/plan_markers"
    if task == "two_link_leg":
        assert displays["Foot target"]["Topic"]["Value"] == "/task_markers"
    if task == "minitaur":  # the only floating base: the only odometry
        assert displays["Odometry trail"]["Topic"]["Value"] == "/odom"
        assert displays["Odometry trail"]["Keep"] > 100
    for name in _topics(cfg):
        assert name in BY_NAME, f"{task}.rviz names {name}, which the graph does not have"
        latched = BY_NAME[name].qos == "latched"
        assert any(
            t["Value"] == name and (t["Durability Policy"] == "Transient Local") == latched
            for t in _topic_dicts(cfg)
        ), f"{task}.rviz: {name}'s durability must match its publisher's"


def _topic_dicts(node: object) -> list[dict]:
    if isinstance(node, dict):
        own = [v for k, v in node.items() if k.endswith("Topic") and isinstance(v, dict)]
        return own + [d for v in node.values() for d in _topic_dicts(v)]
    if isinstance(node, list):
        return [d for item in node for d in _topic_dicts(item)]
    return []


def _field_exists(type_name: str, path: str) -> bool:
    """Does `a/b[0]/c` name a field chain of ``type_name`` (indices on sequences only)?"""
    for part in path.split("/"):
        m = re.fullmatch(r"([a-z][a-z0-9_]*)(\[\d+\])?", part)
        if m is None:
            return False
        fields = {f.name: f for f in default_library().spec(type_name).fields}
        field = fields.get(m[1])
        if field is None or (m[2] is not None) != (field.type.array is not None):
            return False
        type_name = field.type.base
    return True


def test_rqt_perspective_plots_real_fields_and_monitors_diagnostics() -> None:
    perspective = json.loads((RQT / "rl_control.perspective").read_text())
    manager = perspective["groups"]["pluginmanager"]
    running = ast.literal_eval(manager["keys"]["running-plugins"]["repr"])
    assert set(running) == {"rqt_plot/Plot", "rqt_runtime_monitor/RuntimeMonitor"}
    plotted: list[str] = []
    for instance in running["rqt_plot/Plot"]:
        keys = manager["groups"][f"plugin__rqt_plot__Plot__{instance}"]["groups"]["plugin"]
        plotted += ast.literal_eval(keys["keys"]["topics"]["repr"])
    for instance in running["rqt_runtime_monitor/RuntimeMonitor"]:
        assert f"plugin__rqt_runtime_monitor__RuntimeMonitor__{instance}" in manager["groups"]
    assert "/diagnostics" in BY_NAME  # what rqt_runtime_monitor subscribes
    for entry in plotted:
        topic = next((t for t in BY_NAME if entry.startswith(t + "/")), None)
        assert topic is not None, f"rqt plots {entry}, on no topic of the graph"
        assert _field_exists(BY_NAME[topic].type, entry[len(topic) + 1 :]), entry
    wanted = ("mean_return", "policy_loss", "value_loss", "entropy", "/solve_time/",
              "/deadline_misses/")  # fmt: skip
    assert all(any(w in p for p in plotted) for w in wanted), plotted


def test_field_check_catches_typos() -> None:
    assert _field_exists("std_msgs/msg/Float64MultiArray", "data[0]")
    assert not _field_exists("std_msgs/msg/Float64MultiArray", "data")  # a sequence: indexed
    assert not _field_exists("rl_control_msgs/msg/TrainingStats", "mean_retrun")
    assert _field_exists("nav_msgs/msg/Odometry", "pose/pose/position/x")


def test_rviz_argument_starts_rviz2_with_the_tasks_config(tmp_path: Path) -> None:
    index = tmp_path / "share/ament_index/resource_index/packages"
    index.mkdir(parents=True)
    (index / "rviz2").write_text("")
    exe = tmp_path / "lib/rviz2/rviz2"
    exe.parent.mkdir(parents=True)
    exe.write_text("#!/bin/sh\n")
    exe.chmod(0o755)
    env = {**ENV, "AMENT_PREFIX_PATH": str(tmp_path)}
    for launch in ("train", "deploy", "sim"):
        args = {"task": "two_link_leg", "rviz": "true"}
        if launch == "deploy":
            args["checkpoint"] = "x.pt"
        plan = resolve_launch(ROOT / "launch" / f"{launch}.launch.xml", args, environ=env)
        rviz = [n for n in plan.nodes if n.name == "rviz2"]
        assert len(rviz) == 1, launch
        assert rviz[0].command()[:3] == [str(exe), "-d", str(RVIZ / "two_link_leg.rviz")]
        backend = [v for f, v in rviz[0].parameters if f == "--params-file"]
        assert [Path(v).name for v in backend] == ["backend_pybullet.yaml"]  # use_sim_time
        quiet = resolve_launch(ROOT / "launch" / f"{launch}.launch.xml",
                               {**args, "rviz": "false"}, environ=env)  # fmt: skip
        assert "rviz2" not in [n.name for n in quiet.nodes]


def test_rviz_without_ros2_says_it_is_not_available() -> None:
    with pytest.raises(LaunchError, match="rviz is not available on the embedded back-end"):
        resolve_launch(ROOT / "launch" / "train.launch.xml", {"rviz": "true"}, environ=ENV)


def test_record_argument_adds_the_bag_recorder() -> None:
    args = {"record": "true", "record_output": "/tmp/r.mcap"}
    plan = resolve_launch(ROOT / "launch" / "train.launch.xml", args, environ=ENV)
    recorder = [n for n in plan.nodes if n.name == "bag_recorder"]
    assert len(recorder) == 1 and ("-p", "output:=/tmp/r.mcap") in recorder[0].parameters
    assert "bag_recorder" not in [n.name for n in resolve_launch(
        ROOT / "launch" / "train.launch.xml", {}, environ=ENV).nodes]  # fmt: skip
