"""The component container `ros2 launch` asks for composable nodes (launch_ros's
``<node_container>``): the LoadNode and ListNodes services of a C++ component container,
served by :mod:`rl_control.ros.nodes.node_container` when it starts empty."""

from __future__ import annotations

import itertools
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import yaml

from rl_control.ros import middleware as mw
from rl_control.ros.run_loop import Unit


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

    def __init__(
        self, node: mw.Node, plugins: Sequence[str],
        compose: Callable[[list[tuple[str, list[str]]]], list[Unit]],
    ) -> None:  # fmt: skip
        self.node, self.units, self.plugins, self.compose = node, [Unit(node)], plugins, compose
        self._ids = itertools.count(1)
        self.loaded: list[tuple[str, int]] = []  # (full node name, unique id)
        base = "~/_container/"
        node.create_service("composition_interfaces/srv/LoadNode", base + "load_node", self.load)
        node.create_service("composition_interfaces/srv/ListNodes", base + "list_nodes",
                            self.list_nodes)  # fmt: skip

    def load(self, request: Any, response: Any) -> Any:
        plugin = request.plugin_name.rsplit("::", 1)[-1]
        if request.package_name not in ("", "rl_control") or plugin not in self.plugins:
            response.success = False
            response.error_message = (f"unknown composable node {request.package_name}/"
                                      f"{request.plugin_name} (known: rl_control's "
                                      f"{', '.join(self.plugins)})")  # fmt: skip
            return response
        with tempfile.TemporaryDirectory() as tmp:  # the node reads its parameters at once
            argv = load_request_argv(request, Path(tmp) / "params.yaml")
            try:
                unit = self.compose([(plugin, argv)])[0]
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
