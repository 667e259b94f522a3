"""Policy kinds by name, so checkpoints and configs can name the kind they hold."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rl_control.policies.base import Policy

_POLICIES: dict[str, type[Policy]] = {}


def register_policy(kind: str) -> Callable[[type[Policy]], type[Policy]]:
    """Class decorator: make ``cls`` buildable as ``kind``."""

    def decorate(cls: type[Policy]) -> type[Policy]:
        if kind in _POLICIES and _POLICIES[kind] is not cls:
            raise ValueError(f"policy kind {kind!r} is already registered")
        cls.kind = kind
        _POLICIES[kind] = cls
        return cls

    return decorate


def build_policy(kind: str, config: dict[str, Any]) -> Policy:
    """Instantiate a registered policy kind from its config."""
    import rl_control.policies.kinds  # noqa: F401  (registers the built-in kinds)

    if kind not in _POLICIES:
        raise ValueError(f"unknown policy kind {kind!r}; known: {sorted(_POLICIES)}")
    return _POLICIES[kind](**config)


def policy_kinds() -> list[str]:
    import rl_control.policies.kinds  # noqa: F401

    return sorted(_POLICIES)
