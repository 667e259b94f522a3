"""Configuration checks of rl_control's nodes, run by `rl-control launch` before any node
starts and by each node on its own parameters (so `ros2 launch` gets them too).

A failed check is one line naming the problem and the valid choices. A node that fails it
exits with :data:`CONFIG_ERROR` (2); the launch runner does not respawn such a node and
ends the launch with that code, so a wrong argument never turns into a respawn loop.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Mapping
from typing import Any

import yaml

from rl_control.ros.launch.model import LaunchPlan, NodeSpec
from rl_control.ros.launch.packages import PACKAGE

#: exit code of a node whose parameters are wrong (as `rl-control` for bad input)
CONFIG_ERROR = 2


def trainer_config(params: Mapping[str, Any]) -> Any:
    """The TrainConfig a trainer node builds from its parameters (names checked first)."""
    from rl_control.roles.trainer_role import trainer_config as build

    names = ("config", "algo", "task", "seed", "run_dir", "total_steps", "checkpoint_every")
    return build(**{k: params[k] for k in names if k in params})


def check_trainer(params: Mapping[str, Any]) -> None:
    from rl_control.roles.graph_env import check_graph_env
    from rl_control.training.session import check_run_folder

    config = trainer_config(params)
    check_graph_env(config.task, config.env)
    check_run_folder(
        config, bool(params.get("resume", False)), bool(params.get("force_resume", False))
    )


def check_policy(params: Mapping[str, Any]) -> None:
    checkpoint = str(params.get("checkpoint") or "")
    if checkpoint:
        from rl_control.training.checkpoint import load_checkpoint

        load_checkpoint(checkpoint)


def check_task_param(params: Mapping[str, Any]) -> None:
    from rl_control.roles.session import check_graph_task

    check_graph_task(str(params.get("task", "soft_wall_cartpole")))


def check_env_param(params: Mapping[str, Any]) -> None:
    """The env a bridge's or estimator's ``config`` sets: refused where the graph cannot
    honour it as the in-process env does."""
    from rl_control.roles.graph_env import check_graph_env, graph_env_settings

    task = str(params.get("task", "soft_wall_cartpole"))
    check_graph_env(task, graph_env_settings(str(params.get("config") or ""), task))


def check_hardware_bridge(params: Mapping[str, Any]) -> None:
    from rl_control.robot.config import check_robot_task, load_robot_config

    # with its robot_namespace: an invalid name, or worker.launch.xml's robot_namespaces
    # problem, is refused before any node starts
    robot = load_robot_config(str(params.get("robot", "two_link_leg")),
                              str(params.get("robot_namespace", "")))  # fmt: skip
    check_robot_task(robot, str(params.get("task", "")))


#: executable -> check of its parameters
NODE_CHECKS: dict[str, Callable[[Mapping[str, Any]], None]] = {
    "trainer_node": check_trainer,
    "policy_node": check_policy,
    "sim_bridge": check_task_param,
    "state_estimator": check_task_param,
    "hardware_bridge": check_hardware_bridge,
}

#: executable -> check of the env its ``config`` sets, once every node's own check passed
ENV_CHECKS: dict[str, Callable[[Mapping[str, Any]], None]] = {
    "sim_bridge": check_env_param,
    "state_estimator": check_env_param,
}


def node_parameters(spec: NodeSpec) -> dict[str, Any]:
    """The node's `-p name:=value` parameters, typed by YAML rules (param files not read:
    rl_control's launch files pass every checked parameter explicitly)."""
    params: dict[str, Any] = {}
    for flag, text in spec.parameters:
        if flag == "-p":
            name, _, value = text.partition(":=")
            try:
                params[name] = yaml.safe_load(value) if value else ""
            except yaml.YAMLError:
                params[name] = value
    return params


def check_plan(plan: LaunchPlan) -> None:
    """Run each rl_control node's check on its launch parameters; raises ValueError
    ``<node>: <problem>`` for the first one that fails. The env checks come after every
    node's own: a bridge's ``config`` derives from other nodes' arguments (a misspelt algo
    is a default config path that does not exist, deploy passes the checkpoint), whose own
    checks name the argument at fault."""
    for checks in (NODE_CHECKS, ENV_CHECKS):
        for spec in plan.nodes:
            check = checks.get(spec.executable) if spec.package == PACKAGE else None
            if check is None:
                continue
            try:
                check(node_parameters(spec))
            except ValueError as err:
                raise ValueError(f"{spec.label}: {_first_line(err)}") from None


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__


def exit_on_config_error(name: str) -> Callable[[Callable[..., int]], Callable[..., int]]:
    """Decorate a node's ``main``: a ValueError (a bad parameter, config file or checkpoint)
    becomes one line ``<name>: error: ...`` on stderr and exit code :data:`CONFIG_ERROR`."""

    def wrap(main: Callable[..., int]) -> Callable[..., int]:
        @functools.wraps(main)
        def run(*args: Any, **kwargs: Any) -> int:
            try:
                return main(*args, **kwargs)
            except ValueError as err:
                print(f"{name}: error: {_first_line(err)}", file=sys.stderr, flush=True)
                return CONFIG_ERROR

        return run

    return wrap
