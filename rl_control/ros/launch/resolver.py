"""Resolve a launch XML file into a LaunchPlan with `ros2 launch` semantics.

Launch configurations are one dict: command-line arguments are set first, `<arg>` keeps a
value already set and falls back to its default, `<let>` and `<include><arg>` overwrite,
`<group>` restores the dict on exit (scoped) while `<include>` does not (as in launch).
`<push-ros-namespace>` stores the namespace in the `ros_namespace` configuration.
"""

from __future__ import annotations

import math
import os
import re
import shlex
from collections.abc import Mapping
from pathlib import Path

import yaml

from rl_control.ros.launch.model import (
    ArgDecl,
    LaunchError,
    LaunchPlan,
    NodeSpec,
    XmlElement,
    load_xml,
)
from rl_control.ros.launch.packages import find_package_share, resolve_executable
from rl_control.ros.launch.schema import validate
from rl_control.ros.launch.substitutions import evaluate, parse_template

_MAX_INCLUDE_DEPTH = 32
_NODE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_NAMESPACE = re.compile(r"/\Z|(/[A-Za-z_][A-Za-z0-9_]*)+\Z")
_OUTPUTS = ("screen", "log", "both")


class _Shutdown(Exception):
    """A `<shutdown>` was reached: stop resolving."""


def resolve_launch(
    path: str | Path, arguments: Mapping[str, str], environ: Mapping[str, str] | None = None
) -> LaunchPlan:
    """Load `path`, apply `arguments` (name -> value) and return the resolved plan."""
    resolver = _Resolver(
        Path(path), dict(arguments), dict(os.environ if environ is None else environ)
    )
    try:
        resolver.visit_file(Path(path))
    except _Shutdown:
        pass
    resolver.plan.configurations = dict(resolver.configs)
    return resolver.plan


def declared_arguments(
    path: str | Path, environ: Mapping[str, str] | None = None
) -> list[ArgDecl]:
    """Arguments declared in `path` and in includes whose file needs no launch argument."""
    env = dict(os.environ if environ is None else environ)
    found: dict[str, ArgDecl] = {}

    def walk(element: XmlElement) -> None:
        for child in element.children:
            if child.tag == "arg":
                found.setdefault(child.attrib["name"], _arg_decl(child))
            elif child.tag == "group":
                walk(child)
            elif child.tag == "include":
                try:
                    file = evaluate(parse_template(child.attrib["file"]), {}, env, _share(env))
                    walk(_load(Path(file)))
                except LaunchError:
                    continue  # the path needs arguments: ros2 launch cannot list it either

    walk(_load(Path(path)))
    return list(found.values())


def _load(path: Path) -> XmlElement:
    root = load_xml(path)
    validate(root)
    return root


def _share(environ: Mapping[str, str]):
    return lambda package: str(find_package_share(package, environ))


def _arg_decl(element: XmlElement) -> ArgDecl:
    return ArgDecl(
        name=element.attrib["name"],
        default=element.attrib.get("default"),
        description=element.attrib.get("description", ""),
        choices=tuple(c.attrib["value"] for c in element.children),
        file=element.file,
    )


def parse_bool(text: str, what: str) -> bool:
    """Boolean attribute values as launch coerces them (YAML booleans plus '1'/'0')."""
    low = text.strip().lower()
    if low in ("true", "1", "yes", "on"):
        return True
    if low in ("false", "0", "no", "off"):
        return False
    raise LaunchError(f"{what}: expected true or false, got '{text}'")


def param_value(text: str) -> str:
    """Type a `<param value>` by YAML rules (as launch_ros) and render it for `-p name:=`."""
    value: object = text
    if text:
        try:
            loaded = yaml.safe_load(text)
        except yaml.YAMLError:
            loaded = text
        scalars = (bool, int, float, str)
        if isinstance(loaded, scalars) or (
            isinstance(loaded, list)
            and loaded
            and all(isinstance(v, scalars) for v in loaded)
            and len({type(v) for v in loaded}) == 1
        ):
            value = loaded
    out = yaml.safe_dump(value, default_flow_style=True, width=math.inf)
    return out.removesuffix("\n...\n").strip()


def prefix_namespace(base: str | None, ns: str | None) -> str | None:
    """launch_ros.utilities.prefix_namespace: relative `ns` goes under `base`."""
    if base is None and ns is None:
        return None
    if ns is None:
        combined = base
    elif not base or ns.startswith("/"):
        combined = ns
    else:
        combined = ("" if base == "/" else base) + "/" + ns
    assert combined is not None
    return combined if combined == "/" else combined.rstrip("/")


def absolute_namespace(ns: str) -> str:
    """Make a namespace absolute."""
    return ns if ns.startswith("/") else "/" + ns


class _Resolver:
    """Walks the XML with the launch configurations and collects the plan."""

    def __init__(self, path: Path, arguments: dict[str, str], environ: dict[str, str]) -> None:
        self.configs = arguments
        self.environ = environ
        self.plan = LaunchPlan(file=path)
        self.depth = 0

    def text(self, element: XmlElement, attr: str) -> str:
        """Evaluate attribute `attr` of `element` (which must be present)."""
        try:
            template = parse_template(element.attrib[attr])
            return evaluate(template, self.configs, self.environ, _share(self.environ))
        except LaunchError as exc:
            raise LaunchError(f"{element.where()} {attr}=: {exc}") from None

    def visit_file(self, path: Path) -> None:
        """Load, check and visit every action of one launch file."""
        if self.depth >= _MAX_INCLUDE_DEPTH:
            raise LaunchError(f"{path}: includes nested deeper than {_MAX_INCLUDE_DEPTH}")
        root = _load(path)
        self.depth += 1
        for child in root.children:
            self.visit(child)
        self.depth -= 1

    def visit(self, element: XmlElement) -> None:
        """Visit one action if its if/unless condition holds."""
        for attr, wanted in (("if", True), ("unless", False)):
            if attr in element.attrib:
                value = self.text(element, attr).strip().lower()
                if value not in ("true", "1", "false", "0"):
                    raise LaunchError(
                        f"{element.where()} {attr}=: invalid condition '{value}' "
                        "(expected true, false, 1 or 0)"
                    )
                if (value in ("true", "1")) != wanted:
                    return
        getattr(self, "visit_" + element.tag.replace("-", "_"))(element)

    def visit_arg(self, element: XmlElement) -> None:
        """Keep a value already set (command line, include), else take the default."""
        decl = _arg_decl(element)
        if decl.name not in self.configs:
            if decl.default is None:
                raise LaunchError(
                    f"{element.where()}: missing launch argument '{decl.name}' "
                    f"(no default; pass {decl.name}:=<value>)"
                )
            self.configs[decl.name] = self.text(element, "default")
        if decl.choices and self.configs[decl.name] not in decl.choices:
            raise LaunchError(
                f"{element.where()}: launch argument '{decl.name}' is "
                f"'{self.configs[decl.name]}', valid choices: {', '.join(decl.choices)}"
            )
        if all(a.name != decl.name or a.file != decl.file for a in self.plan.arguments):
            self.plan.arguments.append(decl)

    def visit_let(self, element: XmlElement) -> None:
        """Set a launch configuration."""
        self.configs[self.text(element, "name")] = self.text(element, "value")

    def visit_group(self, element: XmlElement) -> None:
        """Visit children; configurations (and the namespace) are restored afterwards."""
        saved = dict(self.configs)
        try:
            for child in element.children:
                self.visit(child)
        finally:
            self.configs = saved

    def visit_include(self, element: XmlElement) -> None:
        """Set the include's args in the current scope, then visit the file (unscoped)."""
        path = Path(os.path.abspath(self.text(element, "file")))  # relative to cwd, as launch
        for arg in element.children:
            self.configs[self.text(arg, "name")] = self.text(arg, "value")
        if not path.is_file():
            raise LaunchError(f"{element.where()}: included file not found: {path}")
        self.visit_file(path)

    def visit_push_ros_namespace(self, element: XmlElement) -> None:
        """Prefix the namespace of the following nodes in this scope."""
        ns = absolute_namespace(
            prefix_namespace(self.configs.get("ros_namespace"), self.text(element, "namespace"))
            or ""
        )
        if not _NAMESPACE.match(ns):
            raise LaunchError(f"{element.where()}: invalid namespace '{ns}'")
        self.configs["ros_namespace"] = ns

    def visit_log(self, element: XmlElement) -> None:
        """Collect a message printed when the launch starts."""
        self.plan.messages.append(self.text(element, "message"))

    def visit_shutdown(self, element: XmlElement) -> None:
        """Record the reason and stop: nothing after a `<shutdown>` is launched."""
        reason = self.text(element, "reason") if "reason" in element.attrib else ""
        self.plan.shutdown_reason = reason or "reason not given"
        raise _Shutdown

    def visit_node(self, element: XmlElement) -> None:
        """Resolve a node into a NodeSpec with its executable and ROS arguments."""
        spec = self._node_spec(element, self.text(element, "exec"))
        for child in element.children:
            self._node_child(spec, child)
        self._add_process(spec, element.where())

    def visit_node_container(self, element: XmlElement) -> None:
        """ROS 2 composition: one process (``exec``, e.g. rl_control's node_container) that
        hosts every <composable_node>; each keeps its own name, namespace (under the scope's,
        as a <node>'s), parameters and remaps, passed as ``PLUGIN --ros-args ... --``."""
        spec = self._node_spec(element, self.text(element, "exec"))
        for child in element.children:
            plugin = self.text(child, "plugin")
            node = self._node_spec(child, plugin)
            for grandchild in child.children:
                self._node_child(node, grandchild)
            spec.args += [plugin, *node.ros_args(), "--"]
        self._add_process(spec, element.where())

    def _node_spec(self, element: XmlElement, executable: str) -> NodeSpec:
        """A NodeSpec from a <node>'s (or container's, composable node's) attributes."""
        attrs = element.attrib
        where = element.where()
        spec = NodeSpec(executable=executable, exec_argv=[], source=where)
        spec.package = self.text(element, "pkg") if "pkg" in attrs else None
        if "name" in attrs:
            spec.name = self.text(element, "name")
            if not _NODE_NAME.match(spec.name):
                raise LaunchError(f"{where}: invalid node name '{spec.name}'")
        node_ns = self.text(element, "namespace") if "namespace" in attrs else None
        ns = prefix_namespace(self.configs.get("ros_namespace"), node_ns)
        if ns is not None:
            spec.namespace = absolute_namespace(ns)
            if not _NAMESPACE.match(spec.namespace):
                raise LaunchError(f"{where}: invalid namespace '{spec.namespace}'")
        if "args" in attrs:
            spec.args = shlex.split(self.text(element, "args"))
        if "output" in attrs:
            spec.output = self.text(element, "output")
            if spec.output not in _OUTPUTS:
                raise LaunchError(
                    f"{where}: output must be one of {_OUTPUTS}, got '{spec.output}'"
                )
        if "respawn" in attrs:
            spec.respawn = parse_bool(self.text(element, "respawn"), f"{where} respawn=")
        if "respawn_delay" in attrs:
            try:
                spec.respawn_delay = float(attrs["respawn_delay"])
            except ValueError:
                raise LaunchError(f"{where}: respawn_delay must be a number") from None
            if spec.respawn_delay < 0:
                raise LaunchError(f"{where}: respawn_delay must be non-negative")
        if "on_exit" in attrs:
            if attrs["on_exit"] != "shutdown":
                raise LaunchError(f"{where}: on_exit supports only 'shutdown'")
            spec.shutdown_on_exit = True
        return spec

    def _add_process(self, spec: NodeSpec, where: str) -> None:
        try:
            spec.exec_argv = resolve_executable(spec.package, spec.executable, self.environ)
        except LaunchError as exc:
            raise LaunchError(f"{where}: {exc}") from None
        self.plan.nodes.append(spec)

    def _node_child(self, spec: NodeSpec, child: XmlElement) -> None:
        """Add a `<param>` or `<remap>` to the node, in declaration order."""
        if child.tag == "remap":
            spec.remappings.append((self.text(child, "from"), self.text(child, "to")))
        elif "from" in child.attrib:
            path = os.path.abspath(self.text(child, "from"))
            if not os.path.isfile(path):
                raise LaunchError(f"{child.where()}: parameter file not found: {path}")
            spec.parameters.append(("--params-file", path))
        else:
            value = param_value(self.text(child, "value"))
            spec.parameters.append(("-p", f"{self.text(child, 'name')}:={value}"))
