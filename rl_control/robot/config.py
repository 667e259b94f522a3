"""Per-robot configuration (``config/robots/<robot>.yaml``): how a policy meets real joints.

Joints are listed in policy order (the task's ``joint_names``), each naming its robot joint;
``controller_joints`` is the robot order the forwarding controller expects. Positions and
limits are robot units; the policy frame relates to them per joint by
``robot = direction * policy + offset`` (velocities and efforts by ``direction`` only), and a
policy action ``a`` is first scaled: ``policy command = action_scale * a``.

``policy_output`` says what the action means (a joint position or an effort);
``command_interface`` says what the controller takes. A position policy on an effort
interface makes the bridge close the PD loop ``tau = kp (q_d - q) - kd qdot``, every
``pd_period`` (optional, default ``control_period``; a whole fraction of it), holding the
policy's last target between actions, as a simulator's PD at its physics rate does; an
effort policy on a position interface is refused.
"""

from __future__ import annotations

import dataclasses
import math
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rl_control.roles.params import load_yaml

INTERFACES = ("position", "effort")
#: what the bridge sends when the command stream stops: the last safe command, damping
#: (effort: -kd qdot; position: the measured pose), or zero effort
TIMEOUT_ACTIONS = ("hold", "damping", "zero")
#: repo folder of the example robots
ROBOTS_DIR = Path(__file__).resolve().parents[2] / "config" / "robots"

_TOP = {
    "robot": str, "task": str, "control_period": float, "command_interface": str,
    "policy_output": str, "controller_joints": list, "joints": list, "topics": dict,
    "timeouts": dict, "homing_time": float, "on_command_timeout": str, "safe_set": dict,
}  # fmt: skip
_JOINT = {
    "name": str, "robot_name": str, "direction": float, "offset": float,
    "action_scale": float, "kp": float, "kd": float, "position_limits": list,
    "velocity_limit": float, "effort_limit": float, "rate_limit": float, "home": float,
}  # fmt: skip
#: keys a robot YAML may leave out, with their meaning when it does
_OPTIONAL = {"pd_period": float}  # the bridge's PD loop period; absent = control_period
#: a joint's optional keys: guard_velocity (effort interfaces), the speed above which the
#: safety core takes away effort that would speed the joint up and brakes it, up to the full
#: effort_limit at velocity_limit (absent: no guard, only the overspeed fault)
_JOINT_OPTIONAL = {"guard_velocity": float}
_TOPICS = {"joint_states": str, "imu": str, "command": str}
_TIMEOUTS = {"joint_states": float, "imu": float, "command": float}
#: where an episode may start (the policy take over): every joint within joint_tolerance of
#: home (robot units), no joint faster than max_joint_velocity, base tilt (from the IMU, when
#: the robot has one) under max_tilt rad
_SAFE_SET = {"joint_tolerance": float, "max_joint_velocity": float, "max_tilt": float}


@dataclass(frozen=True)
class JointConfig:
    """One joint: its names, the policy<->robot mapping, gains, limits and home (robot units)."""

    name: str  # policy (task) joint name
    robot_name: str  # name in /joint_states and in the controller's joint list
    direction: float  # +1 or -1
    offset: float
    action_scale: float
    kp: float
    kd: float
    position_limits: tuple[float, float]
    velocity_limit: float
    effort_limit: float
    rate_limit: float  # per second, in policy_output units (rad/s or N·m/s)
    home: float
    guard_velocity: float | None = None  # effort interfaces: the speed guard's start (rad/s)


@dataclass(frozen=True)
class RobotConfig:
    """A robot: joints in policy order, the controller's robot order, topics and timeouts."""

    robot: str
    task: str
    control_period: float
    command_interface: str
    policy_output: str
    controller_joints: tuple[str, ...]
    joints: tuple[JointConfig, ...]
    topics: dict[str, str]  # joint_states, imu ("" = no IMU), command
    timeouts: dict[str, float]  # s: joint_states, imu, command (the watchdog)
    homing_time: float
    on_command_timeout: str
    safe_set: dict[str, float]  # joint_tolerance, max_joint_velocity, max_tilt
    pd_period: float | None = None  # s; the bridge's PD loop (bridge_pd only), None = control

    @property
    def policy_joints(self) -> tuple[str, ...]:
        return tuple(j.name for j in self.joints)

    @property
    def loop_period(self) -> float:
        """The bridge's safety/command loop: ``pd_period`` where it closes the PD loop, else
        the control period (readings still go to the estimator once per control period)."""
        return self.pd_period or self.control_period

    @property
    def bridge_pd(self) -> bool:
        """True when the bridge closes the PD loop (position policy, effort interface)."""
        return self.policy_output == "position" and self.command_interface == "effort"

    def robot_index(self) -> np.ndarray:
        """For each robot-order joint, the index of its policy-order joint."""
        by_robot = {j.robot_name: i for i, j in enumerate(self.joints)}
        return np.array([by_robot[name] for name in self.controller_joints], dtype=int)

    def robot_array(self, field: str) -> np.ndarray:
        """A per-joint field in robot order (``position_limits`` gives a [n, 2] array)."""
        values = [getattr(j, field) for j in self.joints]
        return np.asarray(values, dtype=np.float64)[self.robot_index()]


def _typed(
    where: str, data: Any, schema: dict[str, type], optional: dict[str, type] | None = None
) -> dict[str, Any]:
    """``data`` as a dict with exactly ``schema``'s keys (and any of ``optional``'s) of
    their types (ints pass as floats)."""
    optional = optional or {}
    if not isinstance(data, dict):
        raise ValueError(f"{where}: expected a mapping with keys {sorted(schema)}")
    known = {**schema, **optional}
    unknown, missing = sorted(set(data) - set(known)), sorted(set(schema) - set(data))
    if unknown or missing:
        extra = f" (optional {sorted(optional)})" if optional else ""
        raise ValueError(f"{where}: unknown keys {unknown}, missing keys {missing}; "
                         f"expected {sorted(schema)}{extra}")  # fmt: skip
    out = {}
    for key, want in known.items():
        if key not in data:
            continue
        value = data[key]
        if want is float and type(value) is int:
            value = float(value)
        if type(value) is not want:
            raise ValueError(f"{where}.{key} = {value!r} is not a {want.__name__}")
        if want is float and not math.isfinite(value):
            raise ValueError(f"{where}.{key} = {value!r} is not finite")
        out[key] = value
    return out


def _positive(where: str, **values: float) -> None:
    for key, value in values.items():
        if not value > 0:
            raise ValueError(f"{where}.{key} must be > 0, got {value}")


def _joint(where: str, data: Any) -> JointConfig:
    j = _typed(where, data, _JOINT, _JOINT_OPTIONAL)
    limits = j["position_limits"]
    if len(limits) != 2 or not all(type(x) in (int, float) for x in limits):
        raise ValueError(f"{where}.position_limits must be [low, high], got {limits!r}")
    low, high = float(limits[0]), float(limits[1])
    if not (math.isfinite(low) and math.isfinite(high) and low < high):
        raise ValueError(f"{where}.position_limits must be finite with low < high, got {limits}")
    if j["direction"] not in (1.0, -1.0):
        raise ValueError(f"{where}.direction must be 1 or -1, got {j['direction']}")
    _positive(where, velocity_limit=j["velocity_limit"], effort_limit=j["effort_limit"],
              rate_limit=j["rate_limit"], action_scale=abs(j["action_scale"]))  # fmt: skip
    if j["kp"] < 0 or j["kd"] < 0:
        raise ValueError(f"{where}: kp and kd must be >= 0, got {j['kp']}, {j['kd']}")
    if not low <= j["home"] <= high:
        raise ValueError(f"{where}.home = {j['home']} is outside position_limits {limits}")
    guard = j.get("guard_velocity")
    if guard is not None and not 0 < guard < j["velocity_limit"]:
        raise ValueError(f"{where}.guard_velocity = {guard} must be > 0 and below "
                         f"velocity_limit {j['velocity_limit']}")  # fmt: skip
    return JointConfig(**{**j, "position_limits": (low, high)})


def _unique(where: str, names: Sequence[str]) -> None:
    twice = sorted({n for n in names if list(names).count(n) > 1})
    if twice:
        raise ValueError(f"{where}: joint names given twice: {twice}")


def parse_robot_config(data: Any, where: str = "robot config") -> RobotConfig:
    """Validate a parsed robot YAML; every problem is one ValueError naming the key."""
    top = _typed(where, data, _TOP, _OPTIONAL)
    for key, choices in (("command_interface", INTERFACES), ("policy_output", INTERFACES),
                         ("on_command_timeout", TIMEOUT_ACTIONS)):  # fmt: skip
        if top[key] not in choices:
            raise ValueError(f"{where}.{key} = {top[key]!r}; choices: {list(choices)}")
    if top["policy_output"] == "effort" and top["command_interface"] == "position":
        raise ValueError(f"{where}: an effort policy cannot drive a position interface")
    if top["on_command_timeout"] == "zero" and top["command_interface"] == "position":
        raise ValueError(f"{where}: on_command_timeout 'zero' needs an effort interface; "
                         "choices here: ['hold', 'damping']")  # fmt: skip
    _positive(where, control_period=top["control_period"], homing_time=top["homing_time"])
    joints = tuple(_joint(f"{where}.joints[{i}]", j) for i, j in enumerate(top["joints"]))
    if not joints:
        raise ValueError(f"{where}.joints is empty")
    order = top["controller_joints"]
    if not all(isinstance(n, str) for n in order):
        raise ValueError(f"{where}.controller_joints must be a list of joint names")
    _unique(f"{where}.joints", [j.name for j in joints])
    _unique(f"{where}.joints", [j.robot_name for j in joints])
    _unique(f"{where}.controller_joints", order)
    robot_names = {j.robot_name for j in joints}
    if set(order) != robot_names:
        raise ValueError(
            f"{where}.controller_joints must list the joints' robot_names: unknown "
            f"{sorted(set(order) - robot_names)}, missing {sorted(robot_names - set(order))}"
        )
    topics = _typed(f"{where}.topics", top["topics"], _TOPICS)
    for key in ("joint_states", "command"):
        if not topics[key]:
            raise ValueError(f"{where}.topics.{key} must name a topic")
    timeouts = _typed(f"{where}.timeouts", top["timeouts"], _TIMEOUTS)
    _positive(f"{where}.timeouts", **timeouts)
    safe_set = _typed(f"{where}.safe_set", top["safe_set"], _SAFE_SET)
    _positive(f"{where}.safe_set", **safe_set)
    if top["command_interface"] == "effort" and any(j.kp <= 0 or j.kd <= 0 for j in joints):
        raise ValueError(
            f"{where}: an effort interface needs kp > 0 and kd > 0 on every joint (the bridge "
            "homes and damps with them)"
        )
    _check_pd_period(where, top)
    if top["command_interface"] != "effort" and any(j.guard_velocity for j in joints):
        raise ValueError(f"{where}: guard_velocity needs an effort interface (a position "
                         "interface's speed is its targets' rate_limit)")  # fmt: skip
    return RobotConfig(**{**top, "controller_joints": tuple(order), "joints": joints,
                          "topics": topics, "timeouts": timeouts,
                          "safe_set": safe_set})  # fmt: skip


def _check_pd_period(where: str, top: dict[str, Any]) -> None:
    """``pd_period``: only where the bridge closes the PD loop, a whole fraction of the
    control period (the policy's target is held for a whole number of PD steps)."""
    period = top.get("pd_period")
    if period is None:
        return
    if not (top["policy_output"] == "position" and top["command_interface"] == "effort"):
        raise ValueError(f"{where}.pd_period needs the bridge's PD loop (policy_output "
                         "position on command_interface effort)")  # fmt: skip
    ratio = top["control_period"] / period if period > 0 else 0.0
    if not (ratio >= 1 and abs(ratio - round(ratio)) < 1e-6):
        raise ValueError(f"{where}.pd_period = {period} must divide control_period "
                         f"{top['control_period']} a whole number of times")  # fmt: skip


def robot_dirs() -> list[Path]:
    """Where robot names are looked up: the source tree's, then installed (colcon) shares."""
    shares = os.environ.get("AMENT_PREFIX_PATH", "").split(os.pathsep)
    installed = [Path(p) / "share" / "rl_control" / "config" / "robots" for p in shares if p]
    return [d for d in [ROBOTS_DIR, *installed] if d.is_dir()]


#: how a ``robot_namespace`` that is a problem worker.launch.xml found in its
#: ``robot_namespaces`` list starts (ros2 launch's ``$(eval)`` cannot raise a readable
#: error; the text is plain YAML and no ROS name, so it reaches the node's check as it is)
LAUNCH_PROBLEM = "robot_namespaces:="


def namespaced(config: RobotConfig, namespace: str) -> RobotConfig:
    """``config`` with its absolute robot topics under ``/namespace`` (``/joint_states`` ->
    ``/rig_b/joint_states``), as a ros2_control robot started in that namespace publishes
    them: several robots, one bridge each, feed one trainer. Relative topics already follow
    the node's namespace and stay; ``""`` changes nothing. A namespace starting with
    :data:`LAUNCH_PROBLEM` is the launch file's message, refused as it is (a
    ``robot_namespaces`` list that is not one robot per worker)."""
    if namespace.startswith(LAUNCH_PROBLEM):
        raise ValueError(namespace)
    ns = namespace.strip("/")
    if not ns:
        return config
    # "//dog1" is no ROS name either (and would slip past robot_namespaces' duplicate check)
    name = r"[A-Za-z_][A-Za-z0-9_]*"
    if "//" in namespace or not re.fullmatch(rf"{name}(/{name})*", ns):
        raise ValueError(
            f"robot_namespace {namespace!r} is not a ROS namespace (names of letters, "
            "digits and _ joined by /, not starting with a digit)"
        )
    topics = {key: f"/{ns}{name}" if name.startswith("/") else name
              for key, name in config.topics.items()}  # fmt: skip
    return dataclasses.replace(config, topics=topics)


def load_robot_config(path: str | Path, namespace: str = "") -> RobotConfig:
    """A robot YAML file, or a name under ``config/robots`` (duplicate keys refused), its
    robot topics under ``namespace`` (:func:`namespaced`)."""
    path = Path(path)
    if path.suffix not in (".yaml", ".yml") and not path.exists():
        found = [d / f"{path}.yaml" for d in robot_dirs() if (d / f"{path}.yaml").is_file()]
        path = found[0] if found else ROBOTS_DIR / f"{path}.yaml"
    if not path.is_file():
        known = sorted({p.stem for d in robot_dirs() for p in d.glob("*.yaml")})
        raise ValueError(f"robot config not found: {path}; known robots: {known}")
    return namespaced(parse_robot_config(load_yaml(path), where=str(path)), namespace)


def check_robot_task(config: RobotConfig, task: str) -> None:
    """Raise a ValueError unless ``task`` (a launch's; empty: not checked) is the robot's:
    the estimator and the policy are built for the launch's task, the readings for the
    robot's."""
    if task and task != config.task:
        raise ValueError(
            f"robot {config.robot!r} runs task {config.task!r}, but the task is {task!r}; "
            f"pass task:={config.task} (or choose a robot of task {task!r})"
        )


def check_joint_names(
    config: RobotConfig, published: Sequence[str], allow_extra: bool = False
) -> None:
    """Raise a ValueError naming the robot joints missing from ``published`` (a JointState's
    names) and the published names the config does not know (allowed with ``allow_extra``,
    e.g. passive joints a robot also reports)."""
    known, seen = set(config.controller_joints), set(published)
    missing, unknown = sorted(known - seen), sorted(seen - known)
    if missing or (unknown and not allow_extra):
        raise ValueError(
            f"{config.robot}: joint_states names do not match the config: missing {missing}, "
            f"unknown {unknown}; expected {list(config.controller_joints)}"
        )
