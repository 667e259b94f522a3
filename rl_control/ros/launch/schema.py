"""The launch XML subset the runner accepts, checked before anything is evaluated.

Like `ros2 launch`, a whole file is parsed up front, so a refused tag, attribute or
substitution is reported whatever the arguments and conditions are.
"""

from __future__ import annotations

from rl_control.ros.launch.model import LaunchError, XmlElement
from rl_control.ros.launch.substitutions import parse_template

_CONDITIONS = frozenset({"if", "unless"})
ACTIONS: dict[str, frozenset[str]] = {
    "arg": frozenset({"name", "default", "description"}),
    "let": frozenset({"name", "value"}),
    "node": frozenset(
        {
            "pkg",
            "exec",
            "name",
            "namespace",
            "output",
            "respawn",
            "respawn_delay",
            "on_exit",
            "args",
        }
    ),
    "include": frozenset({"file"}),
    # ROS 2 composition: one process (exec) hosting its <composable_node> children
    "node_container": frozenset(
        {"pkg", "exec", "name", "namespace", "output", "respawn", "respawn_delay", "on_exit"}
    ),
    "group": frozenset(),
    "push-ros-namespace": frozenset({"namespace"}),
    "log": frozenset({"message"}),
    "shutdown": frozenset({"reason"}),
}
# Nested entities take no if/unless (ros2 launch rejects them there too).
NESTED: dict[tuple[str, str], frozenset[str]] = {
    ("arg", "choice"): frozenset({"value"}),
    ("node", "param"): frozenset({"name", "value", "from"}),
    ("node", "remap"): frozenset({"from", "to"}),
    ("node_container", "composable_node"): frozenset({"pkg", "plugin", "name", "namespace"}),
    ("composable_node", "param"): frozenset({"name", "value", "from"}),
    ("composable_node", "remap"): frozenset({"from", "to"}),
    ("include", "arg"): frozenset({"name", "value"}),
}
REQUIRED: dict[str, tuple[str, ...]] = {
    "arg": ("name",),
    "let": ("name", "value"),
    "node": ("exec",),
    # namespace too: launch_ros's ComposableNodeContainer takes no default for it
    "node_container": ("exec", "name", "namespace"),
    "composable_node": ("plugin", "name"),
    "include": ("file",),
    "push-ros-namespace": ("namespace",),
    "log": ("message",),
    "choice": ("value",),
    "remap": ("from", "to"),
}
# Attributes taken literally by ros2 launch (no substitutions).
LITERAL = frozenset(
    {("arg", "name"), ("arg", "description"), ("choice", "value"), ("node", "respawn_delay"),
     ("node", "on_exit"), ("node_container", "respawn_delay"), ("node_container", "on_exit")}
)  # fmt: skip
_HINTS = {
    "required": ' (ROS 1; use on_exit="shutdown")',
    "ns": " (ROS 1; use namespace=)",
    "type": " (ROS 1; use exec=)",
}


def validate(element: XmlElement) -> None:
    """Raise LaunchError naming file, line, tag and attribute for anything outside the subset."""
    if element.tag != "launch":
        raise LaunchError(f"{element.where()}: root tag must be <launch>")
    if element.attrib:
        _refuse_attributes(element, set(element.attrib))
    for child in element.children:
        _validate_action(child)


def _refuse_attributes(element: XmlElement, names: set[str]) -> None:
    name = sorted(names)[0]
    raise LaunchError(f"{element.where()}: unsupported attribute '{name}'{_HINTS.get(name, '')}")


def _validate_action(element: XmlElement) -> None:
    if element.tag not in ACTIONS:
        raise LaunchError(
            f"{element.where()}: unsupported tag <{element.tag}> "
            f"(supported: {', '.join(f'<{t}>' for t in ACTIONS)})"
        )
    _check_attributes(element, ACTIONS[element.tag] | _CONDITIONS)
    if "if" in element.attrib and "unless" in element.attrib:
        raise LaunchError(f"{element.where()}: 'if' and 'unless' cannot be used together")
    for child in element.children:
        if element.tag == "group":
            _validate_action(child)
        elif (element.tag, child.tag) == ("node_container", "composable_node"):
            _check_attributes(child, NESTED[(element.tag, child.tag)])
            _validate_nested(child)
        elif (element.tag, child.tag) in NESTED:
            _check_attributes(child, NESTED[(element.tag, child.tag)])
            if child.children:
                raise LaunchError(
                    f"{child.where()}: nested <{child.children[0].tag}> not supported"
                )
            _check_nested(child)
        else:
            raise LaunchError(
                f"{child.where()}: unsupported tag <{child.tag}> inside <{element.tag}>"
            )


def _validate_nested(element: XmlElement) -> None:
    """The <param> and <remap> children of a <composable_node>."""
    for child in element.children:
        if (element.tag, child.tag) not in NESTED:
            raise LaunchError(
                f"{child.where()}: unsupported tag <{child.tag}> inside <{element.tag}>"
            )
        _check_attributes(child, NESTED[(element.tag, child.tag)])
        if child.children:
            raise LaunchError(f"{child.where()}: nested <{child.children[0].tag}> not supported")
        _check_nested(child)


def _check_attributes(element: XmlElement, allowed: frozenset[str]) -> None:
    extra = set(element.attrib) - allowed
    if extra:
        _refuse_attributes(element, extra)
    for name in REQUIRED.get(element.tag, ()):
        if name not in element.attrib:
            raise LaunchError(f"{element.where()}: missing attribute '{name}'")
    for name, value in element.attrib.items():
        if (element.tag, name) in LITERAL:
            continue
        try:
            parse_template(value)
        except LaunchError as exc:
            raise LaunchError(f"{element.where()} {name}=: {exc}") from None


def _check_nested(element: XmlElement) -> None:
    if element.tag == "arg":  # <include><arg>
        for name in ("name", "value"):
            if name not in element.attrib:
                raise LaunchError(f"{element.where()}: missing attribute '{name}'")
    if element.tag != "param":
        return
    has_from, has_name = "from" in element.attrib, "name" in element.attrib
    if has_from == has_name:
        raise LaunchError(f"{element.where()}: needs exactly one of 'name' or 'from'")
    if has_from and "value" in element.attrib:
        raise LaunchError(f"{element.where()}: 'from' and 'value' are mutually exclusive")
    if has_name and "value" not in element.attrib:
        raise LaunchError(
            f"{element.where()}: missing attribute 'value' (nested params unsupported)"
        )
