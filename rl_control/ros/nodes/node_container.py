"""node_container: several nodes in one process, spun by one loop (ROS 2 composition).

`rl-control launch`'s ``<node_container>`` (see :mod:`rl_control.ros.launch.resolver`)
starts this with one group per ``<composable_node>``: ``PLUGIN --ros-args ... --`` (the
plugin is a node module of this package with a ``compose(argv)``: sim_bridge,
state_estimator, policy_node). The nodes share the process's DDS participant, their
callbacks run in one spin (:meth:`Node.join`) and each node's tick after it
(:func:`run_units`): a message between them is delivered in process and handled without
waking another process, which is what a lock-step step costs most through the graph.

`ros2 launch` (launch_ros) starts the container empty, as a node of the ``<node_container>``'s
name, and asks it for each ``<composable_node>`` on ``~/_container/load_node``
(composition_interfaces/LoadNode: plugin, name, namespace, remaps, parameters), as a C++
component container is asked; ``~/_container/list_nodes`` answers `ros2 component list`.
"""

from __future__ import annotations

import importlib
import itertools
import sys
import tempfile
from pathlib import Path
from typing import Any

import yaml

from rl_control.ros import middleware as mw
from rl_control.ros.launch.checks import exit_on_config_error
from rl_control.ros.nodes.run import Unit, main_argv, run_units

#: node modules that can be composed (each has ``compose(argv) -> Unit``)
PLUGINS = ("sim_bridge", "state_estimator", "policy_node")


def parse_groups(argv: list[str]) -> list[tuple[str, list[str]]]:
    """``[(plugin, its ROS arguments)]`` from ``PLUGIN --ros-args ... -- PLUGIN ...``; the
    container's own trailing ``--ros-args`` (its name, from the launch) is ignored."""
    groups, i = [], 0
    while i < len(argv) and argv[i] != "--ros-args":
        plugin = argv[i]
        if plugin not in PLUGINS:
            raise ValueError(f"unknown composable node {plugin!r} (known: {', '.join(PLUGINS)})")
        if i + 1 >= len(argv) or argv[i + 1] != "--ros-args":
            raise ValueError(f"composable node {plugin!r}: expected --ros-args after it")
        try:
            end = argv.index("--", i + 2)
        except ValueError:
            raise ValueError(f"composable node {plugin!r}: no -- ends its --ros-args") from None
        groups.append((plugin, argv[i + 1 : end + 1]))
        i = end + 1
    if not groups:
        raise ValueError("node_container: no composable node given")
    return groups


def compose_all(groups: list[tuple[str, list[str]]]) -> list[Unit]:
    """Build every node in order (a bridge first: it hosts the others' callbacks)."""
    units = []
    for plugin, argv in groups:
        module = importlib.import_module(f"rl_control.ros.nodes.{plugin}")
        units.append(module.compose(argv))
    return units


def load_request_argv(request: Any, params_file: Path) -> list[str]:
    """A LoadNode request as the plugin's ROS arguments: its name and namespace, remaps
    and (written to ``params_file``, typed as sent) parameters."""
    from rl_control.ros.middleware.embedded.parameter_services import from_value_msg

    argv = ["--ros-args"]
    if request.node_name:
        argv += ["-r", f"__node:={request.node_name}"]
    if request.node_namespace:
        argv += ["-r", f"__ns:={request.node_namespace}"]
    for rule in request.remap_rules:
        argv += ["-r", rule]
    if request.parameters:
        values = {p.name: from_value_msg(p.value) for p in request.parameters}
        params_file.write_text(yaml.safe_dump({"/**": {"ros__parameters": values}}))
        argv += ["--params-file", str(params_file)]
    return argv


class ComponentContainer:
    """The empty container `ros2 launch` starts: loads a plugin per LoadNode request into
    ``units`` (the run loop picks each up on its next pass), joined to the container's node."""

    def __init__(self, node: mw.Node) -> None:
        self.node, self.units = node, [Unit(node)]
        self._ids = itertools.count(1)
        self.loaded: list[tuple[str, int]] = []  # (full node name, unique id)
        base = "~/_container/"
        node.create_service("composition_interfaces/srv/LoadNode", base + "load_node", self.load)
        node.create_service("composition_interfaces/srv/ListNodes", base + "list_nodes",
                            self.list_nodes)  # fmt: skip

    def load(self, request: Any, response: Any) -> Any:
        plugin = request.plugin_name.rsplit("::", 1)[-1]
        if request.package_name not in ("", "rl_control") or plugin not in PLUGINS:
            response.success = False
            response.error_message = (f"unknown composable node {request.package_name}/"
                                      f"{request.plugin_name} (known: rl_control's "
                                      f"{', '.join(PLUGINS)})")  # fmt: skip
            return response
        with tempfile.TemporaryDirectory() as tmp:  # the node reads its parameters at once
            argv = load_request_argv(request, Path(tmp) / "params.yaml")
            try:
                unit = compose_all([(plugin, argv)])[0]
            except (ValueError, TypeError, FileNotFoundError, KeyError) as err:
                response.success, response.error_message = False, f"{plugin}: {err}"
                return response
        unit.node.join(self.node)
        self.units.append(unit)
        response.success, response.full_node_name = True, unit.node.fully_qualified_name
        response.unique_id = next(self._ids)
        self.loaded.append((response.full_node_name, response.unique_id))
        return response

    def list_nodes(self, request: Any, response: Any) -> Any:
        response.full_node_names = [name for name, _ in self.loaded]
        response.unique_ids = [unique for _, unique in self.loaded]
        return response


@exit_on_config_error("node_container")
def main(argv: list[str] | None = None) -> int:
    args = main_argv(argv)
    if args and args[0] != "--ros-args":  # rl-control launch: the nodes on the command line
        return run_units(compose_all(parse_groups(args)))
    container = ComponentContainer(mw.create_node("node_container", args))
    return run_units(container.units)  # ros2 launch: the nodes come as LoadNode requests


if __name__ == "__main__":
    sys.exit(main())
