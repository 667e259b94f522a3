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
import sys

from rl_control.ros import middleware as mw
from rl_control.ros.component_container import ComponentContainer
from rl_control.ros.launch.checks import exit_on_config_error
from rl_control.ros.run_loop import Unit, main_argv, run_units

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


@exit_on_config_error("node_container")
def main(argv: list[str] | None = None) -> int:
    args = main_argv(argv)
    if args and args[0] != "--ros-args":  # rl-control launch: the nodes on the command line
        return run_units(compose_all(parse_groups(args)))
    container = ComponentContainer(mw.create_node("node_container", args), PLUGINS, compose_all)
    return run_units(container.units)  # ros2 launch: the nodes come as LoadNode requests


if __name__ == "__main__":
    sys.exit(main())
