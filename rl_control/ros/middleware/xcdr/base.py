"""Shared parts of the XCDR1 code generator: primitive layout, the generated module and the
body of one generated function with its run of fixed-size items."""

from __future__ import annotations

import itertools
import struct
from collections.abc import Callable
from typing import Any

from rl_control.ros.middleware.msgdef import PRIMITIVES, FieldType, MessageSpec
from rl_control.ros.middleware.xcdr import runtime as rt

# .msg primitive -> (struct code, size), as idltypes maps them onto cyclonedds types (byte and
# char are uint8). XCDR1 aligns a primitive to its size. Strings are handled apart.
PRIM: dict[str, tuple[str, int]] = {
    "bool": ("?", 1), "byte": ("B", 1), "char": ("B", 1), "int8": ("b", 1), "uint8": ("B", 1),
    "int16": ("h", 2), "uint16": ("H", 2), "int32": ("i", 4), "uint32": ("I", 4),
    "int64": ("q", 8), "uint64": ("Q", 8), "float32": ("f", 4), "float64": ("d", 8),
}  # fmt: skip
# cyclonedds maps both to `str`, encoded as UTF-8 (kept as is: no byte may change)
STRINGS = ("string", "wstring")
HEADER = b"\x00\x01\x00\x00"  # CDR_LE encapsulation, as cyclonedds writes it for XCDR1
Item = tuple[str, int, int]  # struct code, alignment, size in bytes


class Unsupported(ValueError):
    """The spec uses something this generator does not know; the type keeps cyclonedds' path."""


def layout(items: list[Item], phase: int) -> tuple[str, int]:
    """struct format of items starting at `phase` (offset mod 8), and the phase after them."""
    fmt, pos = ["<"], phase
    for code, align, size in items:
        pad = -pos % align
        if pad:
            fmt.append(f"{pad}x")
        fmt.append(code)
        pos += pad + size
    return "".join(fmt), pos % 8


class Module:
    """Source and namespace of the functions generated for one root type."""

    def __init__(
        self,
        spec_of: Callable[[str], MessageSpec],
        class_of: Callable[[str], type],
        bodies: dict[str, type[Body]],
    ) -> None:
        self.spec_of, self.class_of, self.bodies = spec_of, class_of, bodies
        self.ns: dict[str, Any] = dict(rt.GENERATED_NAMESPACE)
        self.source: list[str] = []
        self._ids = itertools.count()
        self._elements: dict[tuple[str, str], str] = {}

    def fresh(self, prefix: str) -> str:
        return f"{prefix}{next(self._ids)}"

    def const(self, value: Any, prefix: str = "K") -> str:
        name = self.fresh(prefix)
        self.ns[name] = value
        return name

    def element(self, kind: str, type_name: str) -> str:
        """Name of the function coding one struct element of a sequence or array
        ('enc': f(obj, buf); 'dec': f(data, pos) -> (obj, pos)), generated on first use."""
        key = (kind, type_name)
        if key not in self._elements:
            name = self._elements[key] = self.fresh(f"_{kind}_")
            body = self.bodies[kind](self, None)
            self.source += body.function(name, type_name, top=False)
        return self._elements[key]

    def compile(self, label: str) -> dict[str, Any]:
        """Run the source; the namespace then holds the generated functions. (Names in it
        come from msgdef, which admits only identifiers as field and type names.)"""
        exec(compile("\n".join(self.source), f"<xcdr {label}>", "exec"), self.ns)
        return self.ns


class Body:
    """One generated function: its lines and the run of fixed-size items not yet emitted."""

    def __init__(self, module: Module, phase: int | None) -> None:
        self.mod = module
        self.phase = phase  # offset from the data start mod 8, None when unknown here
        self.lines: list[str] = []
        self.depth = 1
        self.run: list[Item] = []

    def function(self, name: str, type_name: str, top: bool) -> list[str]:
        """Source lines of function `name` for type_name: the top-level one or an element's."""
        raise NotImplementedError

    def emit(self, line: str) -> None:
        self.lines.append("    " * self.depth + line)

    def run_struct(self) -> tuple[str, int | None]:
        """Name of the run's Struct and its size, or of its table of 8 (by phase) and None."""
        if self.phase is not None:
            fmt, self.phase = layout(self.run, self.phase)
            packer = struct.Struct(fmt)
            return self.mod.const(packer, "S"), packer.size
        table = [layout(self.run, p) for p in range(8)]
        ends = {end for _, end in table}
        self.phase = ends.pop() if len(ends) == 1 else None
        return self.mod.const(tuple(struct.Struct(fmt) for fmt, _ in table), "T"), None

    def field_kind(self, ftype: FieldType) -> str:
        if ftype.base not in PRIMITIVES:
            self.mod.spec_of(ftype.base)  # unknown nested types fail here, at generation
            return "struct"
        if ftype.base in STRINGS:
            return "string"
        if ftype.base not in PRIM:
            raise Unsupported(f"primitive {ftype.base!r}")
        return "prim"
