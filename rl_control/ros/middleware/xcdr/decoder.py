"""Generates the decoder of a message type: struct unpacking and objects built directly."""

from __future__ import annotations

from rl_control.ros.middleware.msgdef import FieldType
from rl_control.ros.middleware.xcdr import runtime as rt
from rl_control.ros.middleware.xcdr.base import PRIM, Body, Module


class Decoder(Body):
    """Generates `f(data) -> obj` (top level) or `f(data, pos) -> (obj, pos)` (an element).

    Objects are made without __init__ and their __dict__ filled, which is what the dataclass
    __init__ with idltypes' _ros_setattr stores for decoded values (uint8[N] bytes as a list),
    at a fraction of the cost. A `plain` root class (a service wire class, no _ros_setattr) is
    called instead, with bytes for uint8[N] as cyclonedds passes them.
    """

    def __init__(self, module: Module, phase: int | None) -> None:
        super().__init__(module, phase)
        self.tuple_name = ""
        self.count = 0
        self.after_run: list[str] = []  # constructions that read the run's unpacked values

    def function(
        self, name: str, type_name: str, top: bool, plain: type | None = None
    ) -> list[str]:
        if top:
            self.emit("pos = 4")
        obj = self.struct(type_name, plain)
        self.flush()
        if not top:
            self.emit(f"return {obj}, pos")
            return [f"def {name}(data, pos):"] + self.lines
        self.emit("if pos > len(data): raise _Reject")  # slices past the end do not raise
        self.emit(f"return {obj}")
        return [f"def {name}(data):"] + self.lines

    def item(self, code: str, align: int, size: int, count: int = 1) -> int:
        """Add to the run; index of the item's first value in the unpacked tuple."""
        if not self.run:
            self.tuple_name, self.count = self.mod.fresh("v"), 0
        self.run.append((code, align, size))
        self.count += count
        return self.count - count

    def value(self, code: str, align: int, size: int) -> str:
        """Add a one-value item to the run; expression of its decoded value."""
        index = self.item(code, align, size)
        return f"{self.tuple_name}[{index}]"

    def later(self, line: str) -> None:
        (self.after_run if self.run else self.lines).append("    " * self.depth + line)

    def flush(self) -> None:
        if not self.run:
            return
        unpacker, size = self.run_struct()
        if size is None:
            self.emit(f"_s = {unpacker}[(pos + 4) & 7]")
            unpacker, size = "_s", "_s.size"
        self.emit(f"{self.tuple_name} = {unpacker}.unpack_from(data, pos)")
        self.emit(f"pos += {size}")
        self.lines += self.after_run
        self.run, self.after_run = [], []

    def struct(self, type_name: str, plain: type | None = None) -> str:
        spec = self.mod.spec_of(type_name)
        values = []
        for f in spec.fields:
            ftype = f.type
            kind = self.field_kind(ftype)
            if ftype.array is not None:
                values.append(self.array(ftype, kind, raw_bytes=plain is not None))
            elif kind == "struct":
                values.append(self.struct(ftype.base))
            elif kind == "string":
                values.append(self.string(self.value("I", 4, 4)))
            else:
                code, size = PRIM[ftype.base]
                values.append(self.value(code, size, size))
        obj = self.mod.fresh("o")
        cls = self.mod.const(plain or self.mod.class_of(type_name), "C")
        if plain is not None:
            args = ", ".join(f"{f.name}={v}" for f, v in zip(spec.fields, values, strict=True))
            self.later(f"{obj} = {cls}({args})")
            return obj
        self.later(f"{obj} = _new({cls})")
        self.later(f"d = {obj}.__dict__")
        for f, value in zip(spec.fields, values, strict=True):
            self.later(f"d[{f.name!r}] = {value}")
        return obj

    def string(self, length: str) -> str:
        """Decode a string whose length (incl. NUL) is `length` in the open run."""
        self.flush()
        n, s = self.mod.fresh("n"), self.mod.fresh("s")
        self.emit(f"{n} = {length}")
        self.emit(f"if not {n}: raise _Reject")
        self.emit(f"{s} = data[pos:pos + {n} - 1].decode()")
        self.emit(f"pos += {n}")
        self.phase = None
        return s

    def array(self, ftype: FieldType, kind: str, raw_bytes: bool) -> str:
        if ftype.array == "array" and kind == "prim":  # fixed-size: joins the run
            code, size = PRIM[ftype.base]
            i = self.item(f"{ftype.size}{code}", size, size * ftype.size, ftype.size)
            part = f"{self.tuple_name}[{i}:{i + ftype.size}]"
            # cyclonedds returns uint8[N] as bytes; _ros_setattr stores a list
            return f"bytes({part})" if raw_bytes and code == "B" else f"list({part})"
        if ftype.array == "array":
            self.flush()
            count = str(ftype.size)
        else:
            count = self.value("I", 4, 4)
            self.flush()
        n, seq = self.mod.fresh("n"), self.mod.fresh("q")
        self.emit(f"{n} = {count}")
        if kind == "string":
            strings = self.mod.const(rt.Strings(ftype.string_bound or 0), "M")
            self.emit(f"{seq}, pos = {strings}.decode(data, pos, {n})")
        elif kind == "struct":
            self.emit(f"{seq} = []")
            self.emit(f"for _ in range({n}):")
            self.emit(f"    el, pos = {self.mod.element('dec', ftype.base)}(data, pos)")
            self.emit(f"    {seq}.append(el)")
        else:
            self.prim_sequence(ftype.base, n, seq)
        self.phase = None
        return seq

    def prim_sequence(self, base: str, n: str, seq: str) -> None:
        code, size = PRIM[base]
        self.emit(f"if {n}:")
        self.depth += 1
        if size == 8:
            if self.phase is None:
                self.emit("pos += (4 - pos) & 7")
            elif self.phase % 8:
                self.emit(f"pos += {-self.phase % 8}")
        if code == "B":
            self.emit(f"{seq} = list(data[pos:pos + {n}])")
        else:
            self.emit(f"{seq} = list(_seq_struct({code!r}, {n}).unpack_from(data, pos))")
        self.emit(f"pos += {n}" if size == 1 else f"pos += {size} * {n}")
        self.depth -= 1
        self.emit("else:")
        self.emit(f"    {seq} = []")
