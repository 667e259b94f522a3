"""Every node's parameters, declared once: name, type, default, one-line description.

The nodes declare exactly these; ``config/<node>.yaml``, the launch files and the README's
parameter table are checked against them (test/ros/nodes/test_params.py), and
``python -m rl_control.roles.params README.md`` rewrites that table. Pure data and YAML:
nothing here needs a middleware.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml


@dataclass(frozen=True)
class ParamSpec:
    """One declared parameter."""

    name: str
    type: type
    default: Any
    description: str

    def __post_init__(self) -> None:
        # bool is an int subclass: an int parameter with a bool default would coerce wrongly
        if type(self.default) is not self.type:
            raise ValueError(
                f"parameter {self.name!r}: default {self.default!r} is not a {self.type.__name__}"
            )


def _specs(*rows: tuple[str, type, Any, str]) -> tuple[ParamSpec, ...]:
    return tuple(ParamSpec(*row) for row in rows)


#: the control chain's scheduling (bridge, estimator, policy), as ros2_control's
#: controller manager names it: rl_control.ros.nodes.realtime
REALTIME = _specs(
    ("thread_priority", int, 0, "SCHED_FIFO priority 1-99 for every thread of the node's "
     "process (not permitted: a warning, normal scheduling); 0 = normal scheduling"),
    ("lock_memory", bool, False, "mlockall the process's memory (pages locked as touched)"),
    ("cpu_dma_latency", int, -1, "µs of CPU wake-up latency to ask the kernel for while the "
     "node runs (PM QoS; 0 = idle CPUs poll, never halt); -1 = not asked"),
)  # fmt: skip

SIM_BRIDGE = _specs(
    ("task", str, "soft_wall_cartpole", "rl_control.tasks name"),
    ("config", str, "", "training config YAML (or deploy: checkpoint) whose `env` section "
     "the world is built with, as `rl-control train` builds it; empty = the task's defaults"),
    ("seed", int, 0, "world and reset-distribution seed"),
    ("lock_step", bool, True, "simulate step k+1 only once the action for step k arrived"),
    ("step_timeout", float, 1.0, "s (wall) to wait for a lock-step's action; then the last "
     "one is held and a miss counted (with trainer_gate: the step is offered again and its "
     "action waited for, so training never records a fallback)"),
    ("trainer_gate", bool, False, "lock-step also waits for the trainer's step_gate grant"),
    ("real_time_factor", float, 1.0, "free-running only: 1 = real time, 0 = as fast as possible"),
    ("reset_on_termination", bool, False, "free-running: reset at termination or the step "
     "limit (no trainer owns episodes)"),
    ("gui", bool, False, "open the PyBullet GUI"),
    ("command_topic", str, "", "also take std_msgs/Float64MultiArray commands on this topic"),
    ("odom_frame", str, "odom", "parent frame of ground_truth/odom and /tf"),
    ("base_frame", str, "base_link", "ground truth goes to `<base_frame>_ground_truth`"),
    ("clock_period", float, 0.05, "s (wall) between /clock messages (every reset publishes one)"),
)  # fmt: skip

STATE_ESTIMATOR = _specs(
    ("task", str, "soft_wall_cartpole", "decides which sensors make up the observation"),
    ("config", str, "", "training config YAML (or deploy: checkpoint) whose `env` section "
     "sets the task's parameters (e.g. a generator's frequency); empty = the defaults"),
    ("max_input_age", float, 0.05, "s; imu/odom further from the joint states' stamp are "
     "not fused"),
    ("base_source", str, "odometry", "legged robots' base pose: `odometry` (the simulator's "
     "ground_truth/odom) or `legs` (IMU + leg-kinematics Kalman filter; backend:=hardware)"),
    ("publish_tf", bool, True, "publish odom_frame -> base_frame on /tf"),
    ("odom_frame", str, "odom", "frame of the relayed odom"),
    ("base_frame", str, "base_link", "child frame of the relayed odom"),
) + REALTIME  # fmt: skip

POLICY_NODE = _specs(
    ("checkpoint", str, "", "checkpoint, run folder or .onnx; empty = wait for policy_update"),
    ("deterministic", bool, False, "mean action (deploy) instead of sampling (training)"),
    ("swap_mid_episode", bool, False, "swap updates at once and act again on the newest "
     "observation (training)"),
    ("seed", int, -1, "seed of the sampled actions (each drawn from seed, policy version, "
     "episode and step); -1 = unseeded"),
    ("max_observation_age", float, 0.1,
     "s; staler observations are skipped and counted (0: no check, lock-step training)"),
    ("policy_wait_timeout", float, 60.0, "s to wait for a first policy before exiting with 1"),
    ("publish_markers", bool, True, "MPC policies: planned trajectory on plan_markers"),
    ("num_threads", int, 1, "torch threads (nodes share the machine)"),
    ("numpy_forward", bool, True, "small Gaussian MLP policies act through a numpy copy of "
     "their mean network (same actions to float32 rounding, ~4x less per step than torch)"),
    ("task", str, "", "task whose observation the policy sees; empty = the checkpoint's or "
     "the update's"),
    ("plan_frame", str, "odom", "frame of plan_markers"),
    ("deadline", float, 0.0, "s a solve may take; 0 = the task's control period (none "
     "known: no deadline), < 0 = no deadline; misses are counted on deadline_misses"),
    ("on_deadline_miss", str, "publish_late", "a solve past the deadline: `hold` (publish "
     "nothing, the bridge keeps the last action), `zero` (a zero action) or `publish_late`"),
    ("status_period", float, 5.0, "s between status lines (actions/s, episodes, worst "
     "solve, deadline misses); 0 = none"),
) + REALTIME  # fmt: skip

TRAINER_NODE = _specs(
    ("config", str, "", "`config/train/<algo>_<task>.yaml`; empty = algorithm defaults"),
    ("algo", str, "ppo", "ppo, trpo, sac, ppo_mpc, m_demorl or mbpo"),
    ("task", str, "soft_wall_cartpole", "rl_control.tasks name"),
    ("seed", int, 0, "seed of the algorithm"),
    ("total_steps", int, 0, "environment steps to train; 0 = the config's budget"),
    ("run_dir", str, "", "run folder: checkpoints, metrics, learning curve; empty = a new "
     "`runs/<algo>_<task>_seed<seed>` (suffixed `_2`, ... if taken), as `rl-control train`"),
    ("resume", bool, True, "continue from run_dir's checkpoint when there is one (same "
     "settings only, budget not spent)"),
    ("force_resume", bool, False, "resume even though the run's settings differ"),
    ("checkpoint_every", int, 0, "environment steps between checkpoints (as `rl-control "
     "train`); 0 = the config's value"),
    ("reset_timeout", float, 5.0, "s to wait for the bridge's reset and pause services"),
    ("num_threads", int, 1, "torch threads"),
    ("update_period", float, 0.5, "off-policy: s between policy_update publications at "
     "least (the newest goes out once due; unchanged weights never); on-policy: every one"),
    ("workers", int, 1, "bridge/estimator/policy groups fed as parallel envs (num_envs); "
     "1 = the plain topic names, else those of worker k under `worker_<k>/`"),
    ("worker_timeout", float, 30.0, "s without any message from a started worker before it "
     "counts as gone: its episode is cut, its column freed (a later worker takes it from the "
     "next update on); 0 = wait forever"),
)  # fmt: skip

HARDWARE_BRIDGE = _specs(
    ("robot", str, "two_link_leg", "`config/robots` name or robot YAML: joints, limits, topics"),
    ("robot_namespace", str, "", "the robot YAML's absolute topics under /NS (one robot per "
     "worker: worker.launch.xml sets worker_K, or entry K of robot_namespaces); empty = as "
     "written"),
    ("task", str, "", "the graph's task, checked against the robot's; empty = not checked"),
    ("auto_home", bool, False, "start homing at the first joint state (else the home service)"),
    ("auto_activate", bool, False, "pass policy commands once homed and a policy is sending "
     "(else the activate service)"),
    ("allow_extra_joints", bool, False, "accept joint_states naming joints the config lacks"),
    ("state_topic", str, "policy_joint_states", "readings for the estimator: policy joint "
     "names, order and frame"),
    ("imu_out_topic", str, "policy_imu", "the accepted IMU, relayed beside state_topic"),
    ("base_frame", str, "base_link", "frame_id of the relayed IMU"),
    ("diagnostics_period", float, 1.0, "s between /diagnostics (every safety event sends one)"),
    ("trainer_gate", bool, False, "training: policy actions pass only with the trainer's "
     "step_gate grants; auto_activate starts the first episode only (resets the others)"),
    ("grant_timeout", float, 0.25, "trainer_gate: s without a grant (an update, an episode "
     "end) after which the episode ends and the robot homes until the trainer's reset"),
    ("managed", bool, False, "a lifecycle node: nothing is sent until `configure`; "
     "activate homes then passes the policy, deactivate holds home, shutdown damps and exits"),
    ("answer_on_arrival", bool, True, "relay each joint state and command each action as it "
     "arrives (the loop's timer only fills the gaps: watchdog, homing, PD); false: both wait "
     "for the loop's tick (up to a period each)"),
) + REALTIME  # fmt: skip

FAKE_ROS2_CONTROL = _specs(
    ("robot", str, "two_link_leg", "`config/robots` name or YAML; its task's PyBullet world"),
    ("robot_namespace", str, "", "the robot YAML's absolute topics under /NS, as a robot "
     "started in that namespace; empty = as written"),
    ("seed", int, 0, "start-state seed of the world"),
    ("imu_frame", str, "base_link", "frame_id of the IMU (floating bases)"),
)  # fmt: skip

ROBOT_PUBLISHER = _specs(
    ("task", str, "soft_wall_cartpole", "the task whose robot is described"),
    ("description", str, "", "URDF file to publish; empty = the task's robot (its "
     "pybullet_data file, or its PyBullet body exported)"),
    ("base_frame", str, "base_link", "child of odom -> base_frame; a static base_frame -> "
     "URDF root joins them when the names differ"),
    ("odom_frame", str, "odom", "a massless (fixed) URDF root hangs from it: static "
     "odom_frame -> root"),
    ("publish_period", float, 0.05, "s (wall) between joint transforms on /tf"),
)  # fmt: skip

BAG_RECORDER = _specs(
    ("output", str, "", "the .mcap bag; empty = `bags/rl_control_<date>-<time>.mcap`"),
    ("topics", str, "", "space-separated topics (`name` or `name:pkg/msg/Type`); empty = "
     "every topic of the graph's table"),
    ("duration", float, 0.0, "s (wall) to record, then exit; 0 = until stopped"),
)  # fmt: skip

#: node name -> its parameters, in declaration order
NODES: dict[str, tuple[ParamSpec, ...]] = {
    "sim_bridge": SIM_BRIDGE,
    "state_estimator": STATE_ESTIMATOR,
    "policy_node": POLICY_NODE,
    "trainer_node": TRAINER_NODE,
    "hardware_bridge": HARDWARE_BRIDGE,
    "fake_ros2_control": FAKE_ROS2_CONTROL,
    "robot_publisher": ROBOT_PUBLISHER,
    "bag_recorder": BAG_RECORDER,
}


class Params(dict):
    """name -> value of a node's declared parameters; remembers which ones were read, so a
    test can find a parameter that is declared but used by nothing."""

    def __init__(self, values: dict[str, Any]) -> None:
        super().__init__(values)
        self._read: set[str] = set()

    def __getitem__(self, name: str) -> Any:
        self._read.add(name)
        return super().__getitem__(name)

    def unread(self) -> list[str]:
        """Declared names nothing has read yet."""
        return [name for name in self if name not in self._read]


def declare(node: Any, specs: tuple[ParamSpec, ...]) -> Params:
    """Declare ``specs`` on a middleware node; returns their values (overrides applied)."""
    return Params({s.name: node.declare_parameter(s.name, s.default) for s in specs})


class _UniqueKeyLoader(yaml.SafeLoader):
    """A SafeLoader that refuses a mapping key given twice (the last one would win)."""


def _unique_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    keys = [loader.construct_object(k) for k, _ in node.value]
    duplicates = sorted({str(k) for k in keys if keys.count(k) > 1})
    if duplicates:
        raise ValueError(f"duplicate YAML keys {duplicates} at line {node.start_mark.line + 1}")
    return loader.construct_mapping(node)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _unique_mapping)


def load_yaml(path: str | Path) -> Any:
    """Parse a YAML file, refusing duplicate keys with a ValueError naming them."""
    try:
        return yaml.load(Path(path).read_text(), Loader=_UniqueKeyLoader)  # noqa: S506
    except ValueError as err:
        raise ValueError(f"{path}: {err}") from None


def node_yaml_parameters(node: str, path: str | Path) -> dict[str, Any]:
    """The ``/**/<node>: ros__parameters`` of a config file, checked against the node's specs:
    ValueError for another layout, an unknown key or a value of the wrong type."""
    if node not in NODES:
        raise ValueError(f"unknown node {node!r}; nodes: {sorted(NODES)}")
    data = load_yaml(path)
    key = f"/**/{node}"
    if not isinstance(data, dict) or list(data) != [key] or list(data[key]) != ["ros__parameters"]:
        raise ValueError(f"{path}: expected exactly {key}: ros__parameters: {{...}}")
    values = data[key]["ros__parameters"]
    specs = {s.name: s for s in NODES[node]}
    unknown = sorted(set(values) - set(specs))
    if unknown:
        raise ValueError(f"{path}: unknown {node} parameters {unknown}; known: {sorted(specs)}")
    for name, value in values.items():
        want = specs[name].type
        if not (type(value) is want or (want is float and type(value) is int)):
            raise ValueError(f"{path}: {node}.{name} = {value!r} is not a {want.__name__}")
    return values


def _cell(value: Any) -> str:
    text = yaml.safe_dump(value, default_flow_style=True).strip().removesuffix("\n...")
    return f"`{text}`"


def readme_table() -> str:
    """The README's parameter table, generated from :data:`NODES`."""
    lines = [
        "| node | parameter | type | default | description |",
        "| --- | --- | --- | --- | --- |",
    ]
    for node, specs in NODES.items():
        for s in specs:
            lines.append(
                f"| `{node}` | `{s.name}` | {s.type.__name__} | {_cell(s.default)} | "
                f"{s.description} |"
            )
    return "\n".join(lines)


BEGIN, END = "<!-- node-parameters:begin -->", "<!-- node-parameters:end -->"


def with_readme_table(text: str) -> str:
    """``text`` with the part between :data:`BEGIN` and :data:`END` replaced by the table."""
    if text.count(BEGIN) != 1 or text.count(END) != 1:
        raise ValueError(f"the README needs one {BEGIN} and one {END} marker")
    head, rest = text.split(BEGIN)
    _, tail = rest.split(END)
    return f"{head}{BEGIN}\n{readme_table()}\n{END}{tail}"


if __name__ == "__main__":  # python -m rl_control.roles.params README.md
    readme = Path(sys.argv[1] if len(sys.argv) > 1 else "README.md")
    readme.write_text(with_readme_table(readme.read_text()))
