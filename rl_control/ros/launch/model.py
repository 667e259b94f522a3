"""Data model of a resolved launch description: XML elements, declared arguments, node specs."""

from __future__ import annotations

import shlex
import xml.parsers.expat
from dataclasses import dataclass, field
from pathlib import Path


class LaunchError(ValueError):
    """A launch file cannot be loaded or resolved; the message names file, line and tag."""


@dataclass
class XmlElement:
    """One XML element with its source position (ElementTree drops line numbers)."""

    tag: str
    attrib: dict[str, str]
    children: list[XmlElement]
    file: Path
    line: int

    def where(self) -> str:
        """Return 'file:line: <tag>' for error messages."""
        return f"{self.file}:{self.line}: <{self.tag}>"


def load_xml(path: Path) -> XmlElement:
    """Parse an XML file into XmlElement nodes (text and comments are ignored)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise LaunchError(f"cannot read launch file {path}: {exc.strerror}") from None
    parser = xml.parsers.expat.ParserCreate()
    stack: list[XmlElement] = []
    roots: list[XmlElement] = []

    def start(tag: str, attrib: dict[str, str]) -> None:
        element = XmlElement(tag, dict(attrib), [], path, parser.CurrentLineNumber)
        (stack[-1].children if stack else roots).append(element)
        stack.append(element)

    def end(_tag: str) -> None:
        stack.pop()

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    try:
        parser.Parse(data, True)
    except xml.parsers.expat.ExpatError as exc:
        raise LaunchError(f"{path}:{exc.lineno}: malformed XML: {exc}") from None
    return roots[0]


@dataclass(frozen=True)
class ArgDecl:
    """A declared launch argument (`<arg>`), as `--show-args` lists it."""

    name: str
    default: str | None
    description: str
    choices: tuple[str, ...]
    file: Path


@dataclass
class NodeSpec:
    """One `<node>` with every substitution performed: enough to build its command line."""

    executable: str
    exec_argv: list[str]
    package: str | None = None
    args: list[str] = field(default_factory=list)  # `args=`, shell-split, before --ros-args
    name: str | None = None
    namespace: str | None = None
    # ("-p", "name:=value") or ("--params-file", path), in declaration order: later wins.
    parameters: list[tuple[str, str]] = field(default_factory=list)
    remappings: list[tuple[str, str]] = field(default_factory=list)
    output: str = "log"
    respawn: bool = False
    respawn_delay: float = 0.0
    shutdown_on_exit: bool = False
    source: str = ""

    @property
    def label(self) -> str:
        """Output prefix: the node name, else the executable's base name."""
        return self.name or Path(self.executable).name

    def ros_args(self) -> list[str]:
        """The `--ros-args` part, in launch_ros order: name, namespace, params, remaps."""
        args = ["--ros-args"]
        if self.name is not None:
            args += ["-r", f"__node:={self.name}"]
        if self.namespace is not None:
            args += ["-r", f"__ns:={self.namespace}"]
        for flag, value in self.parameters:
            args += [flag, value]
        for src, dst in self.remappings:
            args += ["-r", f"{src}:={dst}"]
        return args

    def command(self) -> list[str]:
        """Full argv of the node process."""
        return [*self.exec_argv, *self.args, *self.ros_args()]

    def describe(self) -> str:
        """One line per node for `--print`: prefix and shell-quoted command, then options."""
        opts = [f"output={self.output}"]
        if self.respawn:
            opts.append(f"respawn=true respawn_delay={self.respawn_delay:g}")
        if self.shutdown_on_exit:
            opts.append("on_exit=shutdown")
        return f"[{self.label}] {shlex.join(self.command())}\n    # {' '.join(opts)}"


@dataclass
class LaunchPlan:
    """Result of resolving a launch file: nodes to run, log lines, an optional shutdown."""

    file: Path
    nodes: list[NodeSpec] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)
    arguments: list[ArgDecl] = field(default_factory=list)
    shutdown_reason: str | None = None
    configurations: dict[str, str] = field(default_factory=dict)
