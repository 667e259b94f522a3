"""Keyword overrides of a task's frozen params dataclass, with unknown names rejected."""

from __future__ import annotations

import dataclasses
from typing import Any, TypeVar

P = TypeVar("P")


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
