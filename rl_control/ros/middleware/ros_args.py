"""`--ros-args` parsing and parameter files, shared by both back-ends (rcl semantics)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from rl_control.ros.middleware.names import normalize_namespace, validate_node_name

LOG_LEVELS = ("debug", "info", "warn", "error", "fatal")
_ALIASES = {"--param": "-p", "--remap": "-r", "--params-file": "--params-file"}


@dataclass
class RosArgs:
    """Everything --ros-args sections of an argv say; node-specific items keep their node."""

    params: list[tuple[str | None, str, Any]] = field(default_factory=list)
    params_files: list[str] = field(default_factory=list)
    remaps: list[tuple[str | None, str, str]] = field(default_factory=list)
    log_levels: list[tuple[str | None, str]] = field(default_factory=list)
    other: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class NodeConfig:
    """What the arguments mean for one node after its name is known."""

    name: str
    namespace: str
    parameters: dict[str, Any]
    remaps: tuple[tuple[str, str], ...]
    log_level: str


def _split_assignment(text: str, flag: str) -> tuple[str | None, str, str]:
    """'[node:]from:=to' -> (node, from, to); errors name the argument."""
    if ":=" not in text:
        raise ValueError(f"bad argument {flag} {text!r}: expected name:=value")
    left, value = text.split(":=", 1)
    node: str | None = None
    if ":" in left:
        node, left = left.split(":", 1)
        validate_node_name(node)
    if not left:
        raise ValueError(f"bad argument {flag} {text!r}: empty name")
    return node, left, value


def parse_value(text: str) -> Any:
    """YAML-typed parameter value as rcl parses it ('3' int, '3.0' float, 'true' bool...)."""
    try:
        value = yaml.safe_load(text) if text != "" else ""
    except yaml.YAMLError as exc:
        raise ValueError(f"bad parameter value {text!r}: {exc}") from None
    return "" if value is None and text.strip() == "" else value


def parse_ros_args(argv: Sequence[str]) -> RosArgs:
    """Parse every --ros-args ... [--] section of argv; other arguments go to .other."""
    out = RosArgs()
    args = list(argv)
    i = 0
    in_ros = False
    while i < len(args):
        arg = args[i]
        if not in_ros:
            if arg == "--ros-args":
                in_ros = True
            else:
                out.other.append(arg)
            i += 1
            continue
        if arg == "--":
            in_ros = False
            i += 1
            continue
        if arg == "--ros-args":
            i += 1
            continue
        flag = _ALIASES.get(arg, arg)
        if flag in ("-p", "-r", "--params-file", "--log-level"):
            if i + 1 >= len(args):
                raise ValueError(f"bad argument {arg!r}: missing value")
            value = args[i + 1]
            i += 2
            if flag == "-p":
                node, name, raw = _split_assignment(value, arg)
                out.params.append((node, name, parse_value(raw)))
            elif flag == "-r":
                out.remaps.append(_split_assignment(value, arg))
            elif flag == "--params-file":
                if not Path(value).is_file():
                    raise ValueError(f"bad argument --params-file {value!r}: no such file")
                out.params_files.append(value)
            else:
                node, level = None, value
                if ":=" in value:
                    node, _, level = _split_assignment(value, arg)
                    node = node or _
                if level.lower() not in LOG_LEVELS:
                    raise ValueError(f"bad argument --log-level {value!r}: not in {LOG_LEVELS}")
                out.log_levels.append((node, level.lower()))
            continue
        if flag.startswith("--") and "=" in flag:
            raise ValueError(f"unsupported ROS argument {arg!r}: use '{flag.split('=')[0]} VALUE'")
        raise ValueError(f"unsupported ROS argument {arg!r}")
    return out


def _flatten(prefix: str, value: Any, into: dict[str, Any]) -> None:
    if isinstance(value, dict):
        for key, sub in value.items():
            _flatten(f"{prefix}.{key}" if prefix else str(key), sub, into)
    else:
        into[prefix] = value


def _collect_nodes(
    tree: Any, path: list[str], into: list[tuple[str, dict[str, Any]]], src: str
) -> None:
    if not isinstance(tree, dict):
        raise ValueError(f"params file {src}: expected a mapping under {'/'.join(path) or 'root'}")
    for key, sub in tree.items():
        key = str(key)
        if key == "ros__parameters":
            if not path:
                raise ValueError(f"params file {src}: ros__parameters needs a node name above it")
            flat: dict[str, Any] = {}
            _flatten("", sub or {}, flat)
            into.append(("/" + "/".join(p.strip("/") for p in path), flat))
        else:
            _collect_nodes(sub, path + [key], into, src)


def load_params_file(path: str) -> list[tuple[str, dict[str, Any]]]:
    """(node pattern, flat parameters) pairs of a ros__parameters YAML file, in file order."""
    try:
        tree = yaml.safe_load(Path(path).read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise ValueError(f"params file {path}: {exc}") from None
    entries: list[tuple[str, dict[str, Any]]] = []
    _collect_nodes(tree or {}, [], entries, path)
    return entries


def _pattern_matches(pattern: str, fqn: str) -> bool:
    """rcl wildcards: '*' matches one name token, '**' any number of tokens."""
    regex = re.escape(pattern).replace(r"\*\*", "\0").replace(r"\*", "[^/]*")
    regex = regex.replace("/\0", "(/[^/]+)*").replace("\0", "(/?[^/]+)*")
    return re.fullmatch(regex, fqn) is not None


def node_config(args: RosArgs, default_name: str, default_namespace: str = "") -> NodeConfig:
    """Apply __node/__ns remaps, params files (wildcards first), then -p overrides."""
    name, namespace = validate_node_name(default_name), normalize_namespace(default_namespace)
    for node, src, dst in args.remaps:
        if node not in (None, default_name):
            continue
        if src in ("__node", "__name"):
            name = validate_node_name(dst)
        elif src == "__ns":
            namespace = normalize_namespace(dst)
    fqn = namespace.rstrip("/") + "/" + name
    params: dict[str, Any] = {}
    for path in args.params_files:
        entries = load_params_file(path)
        wild = [e for e in entries if "*" in e[0]]
        exact = [e for e in entries if "*" not in e[0]]
        for pattern, values in wild + exact:
            if _pattern_matches(pattern, fqn):
                params.update(values)
    for node, key, value in args.params:
        if node in (None, name):
            params[key] = value
    remaps = tuple(
        (src, dst)
        for node, src, dst in args.remaps
        if node in (None, name) and not src.startswith("__")
    )
    level = "info"
    for node, lvl in args.log_levels:
        if node in (None, name):
            level = lvl
    return NodeConfig(name, namespace, params, remaps, level)


def ros_sections(argv: Sequence[str]) -> list[str]:
    """Only the --ros-args ... [--] parts of argv (what rcl should see), validated first."""
    parse_ros_args(argv)
    out: list[str] = []
    in_ros = False
    for arg in argv:
        if arg == "--ros-args":
            in_ros = True
            out.append(arg)
        elif in_ros and arg == "--":
            in_ros = False
            out.append(arg)
        elif in_ros:
            out.append(arg)
    return out
