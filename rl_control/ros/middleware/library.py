"""Finds and caches interface definitions: bundled standard ones and rl_control_msgs."""

from __future__ import annotations

import functools
import os
import sys
import threading
from pathlib import Path

from rl_control.ros.middleware.msgdef import (
    MessageSpec,
    parse_message,
    parse_service,
    split_type_name,
)

BUNDLED = Path(__file__).resolve().parent / "interfaces"
CUSTOM_PACKAGE = "rl_control_msgs"


def _custom_dirs() -> list[Path]:
    """Where rl_control_msgs .msg files live: the source tree, then installed share dirs."""
    dirs = [Path(__file__).resolve().parents[3] / "msg"]
    dirs.append(Path(sys.prefix) / "share" / "rl_control" / "msg")
    for prefix in os.environ.get("AMENT_PREFIX_PATH", "").split(os.pathsep):
        if prefix:
            dirs.append(Path(prefix) / "share" / CUSTOM_PACKAGE / "msg")
    return dirs


class InterfaceLibrary:
    """Parsed message specs by type name, loaded lazily and recursively (thread-safe)."""

    def __init__(self, search: dict[str, list[Path]] | None = None) -> None:
        self._extra = search or {}
        self._specs: dict[str, MessageSpec] = {}
        self._lock = threading.RLock()

    def _find(self, pkg: str, kind: str, name: str) -> Path:
        candidates = [d / f"{name}.{kind}" for d in self._extra.get(pkg, [])]
        if pkg == CUSTOM_PACKAGE and kind == "msg":
            candidates += [d / f"{name}.msg" for d in _custom_dirs()]
        candidates.append(BUNDLED / pkg / kind / f"{name}.{kind}")
        for path in candidates:
            if path.is_file():
                return path
        raise ValueError(f"unknown interface type '{pkg}/{kind}/{name}' (no .{kind} file found)")

    def spec(self, type_name: str) -> MessageSpec:
        """Spec of a message, or of 'pkg/srv/Name_Request'/'_Response'."""
        pkg, kind, name = split_type_name(type_name)
        full = f"{pkg}/{kind}/{name}"
        with self._lock:
            if full not in self._specs:
                if kind == "srv":
                    base = (
                        name.rsplit("_", 1)[0] if name.endswith(("_Request", "_Response")) else ""
                    )
                    if not base:
                        raise ValueError(f"{type_name!r}: name a service part, e.g. Name_Request")
                    self.service(f"{pkg}/srv/{base}")
                else:
                    path = self._find(pkg, "msg", name)
                    self._specs[full] = parse_message(path.read_text(), full)
            return self._specs[full]

    def service(self, srv_type: str) -> tuple[MessageSpec, MessageSpec]:
        """(request, response) specs of 'pkg/srv/Name'."""
        pkg, kind, name = split_type_name(srv_type)
        if kind != "srv":
            raise ValueError(f"{srv_type!r} is not a service type ('pkg/srv/Name')")
        with self._lock:
            key = f"{pkg}/srv/{name}_Request"
            if key not in self._specs:
                req, resp = parse_service(self._find(pkg, "srv", name).read_text(), srv_type)
                self._specs[req.type_name] = req
                self._specs[resp.type_name] = resp
            return self._specs[key], self._specs[f"{pkg}/srv/{name}_Response"]

    def text(self, type_name: str) -> str:
        """The .msg file's text of 'pkg/msg/Name' (comments and constants included)."""
        pkg, kind, name = split_type_name(type_name)
        if kind != "msg":
            raise ValueError(f"{type_name!r} is not a message type ('pkg/msg/Name')")
        return self._find(pkg, "msg", name).read_text()

    def closure(self, type_name: str) -> list[MessageSpec]:
        """All specs type_name references, transitively (not including itself)."""
        seen: dict[str, MessageSpec] = {}
        stack = list(self.spec(type_name).dependencies)
        while stack:
            dep = stack.pop()
            if dep not in seen:
                seen[dep] = self.spec(dep)
                stack.extend(seen[dep].dependencies)
        return list(seen.values())


@functools.lru_cache(maxsize=1)
def default_library() -> InterfaceLibrary:
    """The process-wide library (caching parsed files; definitions never change at runtime)."""
    return InterfaceLibrary()
