"""Parameter store shared by both back-ends' semantics: overrides from --ros-args win."""

from __future__ import annotations

import threading
from typing import Any


class ParameterNotDeclaredError(ValueError):
    """get_parameter on a name that was never declared."""


def coerce(name: str, value: Any, default: Any) -> Any:
    """Give an override the type of its default (rcl allows int->float), else TypeError."""
    if default is None or value is None:
        return value
    if isinstance(default, bool) or isinstance(value, bool):
        if isinstance(default, bool) and isinstance(value, bool):
            return value
        raise TypeError(f"parameter {name!r}: expected {type(default).__name__}, got {value!r}")
    if isinstance(default, float) and isinstance(value, int):
        return float(value)
    if isinstance(default, (list, tuple)) and isinstance(value, (list, tuple)):
        return list(value)
    if not isinstance(value, type(default)):
        raise TypeError(f"parameter {name!r}: expected {type(default).__name__}, got {value!r}")
    return value


class Parameters:
    """Declared parameters of one node (thread-safe)."""

    def __init__(self, overrides: dict[str, Any]) -> None:
        self._overrides = dict(overrides)
        self._values: dict[str, Any] = {}
        self._defaults: dict[str, Any] = {}  # what later sets are coerced against
        self._lock = threading.Lock()

    def declare(self, name: str, default: Any = None) -> Any:
        if not isinstance(name, str) or not name:
            raise ValueError(f"invalid parameter name {name!r}")
        with self._lock:
            if name in self._values:
                raise ValueError(f"parameter {name!r} is already declared")
            value = self._overrides.get(name, default)
            value = coerce(name, value, default)
            self._values[name] = value
            self._defaults[name] = default
            return value

    def get(self, name: str) -> Any:
        with self._lock:
            if name not in self._values:
                raise ParameterNotDeclaredError(f"parameter {name!r} is not declared")
            return self._values[name]

    def has(self, name: str) -> bool:
        with self._lock:
            return name in self._values

    def names(self) -> list[str]:
        """Declared names in declaration order."""
        with self._lock:
            return list(self._values)

    def default(self, name: str) -> Any:
        """The declared default (None: any type may be set), None if undeclared."""
        with self._lock:
            return self._defaults.get(name)

    def _check(self, name: str, value: Any) -> Any:
        if name not in self._values:
            raise ParameterNotDeclaredError(f"parameter {name!r} is not declared")
        default = self._defaults[name]
        if value is None and default is not None:
            raise TypeError(f"parameter {name!r}: cannot unset a {type(default).__name__}")
        return coerce(name, value, default)

    def set_many(self, values: dict[str, Any]) -> dict[str, Any]:
        """Set declared parameters all or none, each coerced as an override would be; returns
        the stored values. Raises ParameterNotDeclaredError or TypeError naming the first bad
        one (nothing is changed then)."""
        with self._lock:
            checked = {name: self._check(name, value) for name, value in values.items()}
            self._values.update(checked)
            return checked
