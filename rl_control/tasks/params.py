"""Keyword overrides of a task's frozen params dataclass, with unknown names rejected."""

from __future__ import annotations

import dataclasses
from typing import Any, TypeVar

P = TypeVar("P")

#: ``env`` settings that configure wrappers around a task's env (see
#: rl_control.envs.randomization), not the task's own parameters
RANDOMIZATION_KEY = "domain_randomization"
WRAPPER_KEYS = (RANDOMIZATION_KEY,)


def task_params(env_params: dict[str, Any] | None) -> dict[str, Any]:
    """The task's own parameters among a config's ``env`` settings (wrapper keys dropped)."""
    return {k: v for k, v in (env_params or {}).items() if k not in WRAPPER_KEYS}


def override_params(base: P, overrides: dict[str, Any]) -> P:
    """``base`` with ``overrides`` applied; lists (from YAML) become tuples.

    Raises ValueError naming every unknown parameter; the dataclass validates the values.
    """
    known = sorted(f.name for f in dataclasses.fields(base))
    unknown = sorted(set(overrides) - set(known))
    if unknown:
        raise ValueError(f"unknown {type(base).__name__} params {unknown}; known: {known}")
    values = {k: tuple(v) if isinstance(v, list) else v for k, v in overrides.items()}
    return dataclasses.replace(base, **values)
