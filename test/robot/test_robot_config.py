"""Robot YAMLs: the examples load and match their tasks; bad files fail in one clear line."""

import copy
import dataclasses

import numpy as np
import pytest
import yaml

from rl_control.robot.config import (
    ROBOTS_DIR,
    check_joint_names,
    check_robot_task,
    load_robot_config,
    namespaced,
    parse_robot_config,
)
from rl_control.tasks.registry import make_task


@pytest.mark.parametrize("name", ["two_link_leg", "minitaur", "quadruped12"])
def test_examples_load_and_name_their_tasks_joints(name: str) -> None:
    config = load_robot_config(name)
    assert sorted(config.controller_joints) == sorted(j.robot_name for j in config.joints)
    if config.task:
        assert config.policy_joints == make_task(config.task).joint_names
    index = config.robot_index()
    assert sorted(index) == list(range(len(config.joints)))
    homes = config.robot_array("home")
    limits = config.robot_array("position_limits")
    assert np.all((limits[:, 0] <= homes) & (homes <= limits[:, 1]))


def test_minitaur_closes_the_pd_loop_and_reorders_joints() -> None:
    config = load_robot_config("minitaur")
    assert config.bridge_pd and config.policy_output == "position"
    assert list(config.robot_index()) == [0, 1, 4, 5, 2, 3, 6, 7]
    assert [j.direction for j in config.joints] == [-1.0] * 4 + [1.0] * 4


def _base() -> dict:
    return yaml.safe_load((ROBOTS_DIR / "two_link_leg.yaml").read_text())


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda d: d.update(command_interface="torque"), "choices: ['position', 'effort']"),
        (lambda d: d.update(on_command_timeout="x"), "choices: ['hold', 'damping', 'zero']"),
        (lambda d: d.update(policy_output="effort", command_interface="position"),
         "effort policy cannot drive a position interface"),
        (lambda d: d.pop("timeouts"), "missing keys ['timeouts']"),
        (lambda d: d.update(extra=1), "unknown keys ['extra']"),
        (lambda d: d["joints"][0].update(direction=2), "direction must be 1 or -1"),
        (lambda d: d["joints"][0].update(home=5.0), "outside position_limits"),
        (lambda d: d["joints"][0].update(position_limits=[1, -1]), "low < high"),
        (lambda d: d["joints"][0].update(kd=0.0), "kp > 0 and kd > 0"),
        (lambda d: d["joints"][1].update(name="hip"), "joint names given twice: ['hip']"),
        (lambda d: d.update(controller_joints=["leg_hip_joint", "x"]),
         "unknown ['x'], missing ['leg_knee_joint']"),
        (lambda d: d["timeouts"].update(command=0), "timeouts.command must be > 0"),
        (lambda d: d["timeouts"].update(command=".1"), "is not a float"),
        (lambda d: d["safe_set"].update(max_tilt=0), "safe_set.max_tilt must be > 0"),
        (lambda d: d["safe_set"].pop("joint_tolerance"), "missing keys ['joint_tolerance']"),
        (lambda d: d["topics"].update(command=""), "topics.command must name a topic"),
    ],
)  # fmt: skip
def test_bad_configs_raise_one_line(edit, message: str) -> None:
    data = copy.deepcopy(_base())
    edit(data)
    with pytest.raises(ValueError) as err:
        parse_robot_config(data)
    assert message in str(err.value) and "\n" not in str(err.value)


def test_zero_effort_timeout_needs_an_effort_interface() -> None:
    data = yaml.safe_load((ROBOTS_DIR / "quadruped12.yaml").read_text())
    data["on_command_timeout"] = "zero"
    with pytest.raises(ValueError, match="needs an effort interface"):
        parse_robot_config(data)


def test_duplicate_keys_and_unknown_robots_are_refused(tmp_path) -> None:
    text = (ROBOTS_DIR / "two_link_leg.yaml").read_text() + "homing_time: 1.0\n"
    path = tmp_path / "dup.yaml"
    path.write_text(text)
    with pytest.raises(ValueError, match=r"duplicate YAML keys \['homing_time'\]"):
        load_robot_config(path)
    with pytest.raises(ValueError, match="known robots: .*minitaur"):
        load_robot_config("no_such_robot")


def test_check_joint_names_names_missing_and_unknown() -> None:
    config = load_robot_config("two_link_leg")
    check_joint_names(config, ["leg_knee_joint", "leg_hip_joint"])  # any order
    with pytest.raises(ValueError, match=r"missing \['leg_knee_joint'\], unknown \['wheel'\]"):
        check_joint_names(config, ["leg_hip_joint", "wheel"])
    check_joint_names(config, ["leg_hip_joint", "leg_knee_joint", "wheel"], allow_extra=True)
    with pytest.raises(ValueError, match=r"missing \['leg_knee_joint'\]"):
        check_joint_names(config, ["leg_hip_joint", "wheel"], allow_extra=True)


def test_check_robot_task_names_the_fix() -> None:
    config = load_robot_config("two_link_leg")
    check_robot_task(config, "two_link_leg")
    check_robot_task(config, "")  # not checked
    with pytest.raises(ValueError, match=r"runs task 'two_link_leg', but the task is 'minitaur'; "
                       r"pass task:=two_link_leg"):  # fmt: skip
        check_robot_task(config, "minitaur")


def test_guard_velocity_is_checked() -> None:
    data = yaml.safe_load((ROBOTS_DIR / "two_link_leg.yaml").read_text())
    data["joints"][0]["guard_velocity"] = 30.0  # above velocity_limit 25
    with pytest.raises(ValueError, match="guard_velocity = 30.0 must be > 0 and below"):
        parse_robot_config(data)
    quadruped = yaml.safe_load((ROBOTS_DIR / "quadruped12.yaml").read_text())
    quadruped["joints"][0]["guard_velocity"] = 5.0  # a position interface
    with pytest.raises(ValueError, match="guard_velocity needs an effort interface"):
        parse_robot_config(quadruped)


def test_robot_namespace_moves_the_absolute_topics() -> None:
    config = load_robot_config("minitaur")
    moved = load_robot_config("minitaur", "/worker_1/")
    assert {k: moved.topics[k] for k in config.topics} == {
        k: f"/worker_1{v}" for k, v in config.topics.items()
    }
    assert load_robot_config("minitaur", "").topics == config.topics
    relative = namespaced(dataclasses.replace(config, topics={**config.topics, "imu": "imu"}),
                          "rigs/b")  # fmt: skip
    assert relative.topics["imu"] == "imu"  # relative: the node's namespace already applies
    assert relative.topics["joint_states"] == "/rigs/b" + config.topics["joint_states"]
    two_link = load_robot_config("two_link_leg", "worker_0")
    assert two_link.topics["imu"] == ""  # no IMU stays no IMU
    for bad in ("1rig", "a//b", "rig-b", "//rig", "rig//"):
        with pytest.raises(ValueError, match="is not a ROS namespace"):
            load_robot_config("minitaur", bad)
    # worker.launch.xml's robot_namespaces problem, refused with its own words
    problem = "robot_namespaces:=dog1 names 1 robot namespace(s) for workers:=2"
    with pytest.raises(ValueError) as err:
        load_robot_config("minitaur", problem)
    assert str(err.value) == problem
