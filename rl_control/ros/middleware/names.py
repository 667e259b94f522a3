"""ROS 2 name validation and resolution (namespaces, ~, {node}/{ns}, remap rules)."""

from __future__ import annotations

import re
from collections.abc import Sequence

_TOKEN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


def validate_node_name(name: str) -> str:
    """Return name if it is a valid node base name, else raise ValueError naming it."""
    if not isinstance(name, str) or not _TOKEN.match(name):
        raise ValueError(f"invalid node name {name!r}: use letters, digits and _, not first digit")
    return name


def normalize_namespace(namespace: str) -> str:
    """'' or 'a/b' or '/a/b/' to the absolute form '/' or '/a/b'."""
    if not isinstance(namespace, str):
        raise TypeError(f"namespace must be a str, got {type(namespace).__name__}")
    stripped = namespace.strip("/")
    if not stripped:
        return "/"
    for token in stripped.split("/"):
        if not _TOKEN.match(token):
            raise ValueError(f"invalid namespace {namespace!r}: bad token {token!r}")
    return "/" + stripped


def _check_tokens(name: str, original: str) -> None:
    if name == "/":
        raise ValueError(f"invalid topic name {original!r}: '/' alone is not a topic")
    if name.endswith("/") or "//" in name:
        raise ValueError(f"invalid topic name {original!r}: empty token")
    for token in name.strip("/").split("/"):
        if not _TOKEN.match(token):
            raise ValueError(f"invalid topic name {original!r}: bad token {token!r}")


def expand_topic_name(topic: str, node_name: str, namespace: str) -> str:
    """Expand topic to a fully qualified name without applying remaps."""
    if not isinstance(topic, str) or not topic:
        raise ValueError(f"invalid topic name {topic!r}: must be a non-empty string")
    ns = normalize_namespace(namespace)
    fqn_node = ns.rstrip("/") + "/" + node_name
    name = topic.replace("{node}", node_name).replace("{ns}", ns.rstrip("/") or "")
    if "{" in name or "}" in name:
        raise ValueError(f"invalid topic name {topic!r}: unknown substitution")
    if name == "~":
        name = fqn_node
    elif name.startswith("~/"):
        name = fqn_node + name[1:]
    elif "~" in name:
        raise ValueError(f"invalid topic name {topic!r}: '~' allowed only at the start")
    if not name.startswith("/"):
        name = ns.rstrip("/") + "/" + name
    _check_tokens(name, topic)
    return name


def resolve_topic_name(
    topic: str,
    node_name: str,
    namespace: str,
    remaps: Sequence[tuple[str, str]] = (),
) -> str:
    """Expand topic then apply the first matching remap rule (rcl semantics: both sides
    of a rule are expanded relative to the node before comparing)."""
    expanded = expand_topic_name(topic, node_name, namespace)
    for src, dst in remaps:
        if expand_topic_name(src, node_name, namespace) == expanded:
            return expand_topic_name(dst, node_name, namespace)
    return expanded


def service_name(
    name: str, node_name: str, namespace: str, remaps: Sequence[tuple[str, str]]
) -> str:
    """Services resolve exactly like topics."""
    return resolve_topic_name(name, node_name, namespace, remaps)
