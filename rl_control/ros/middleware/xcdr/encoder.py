"""Generates the encoder of a message type: straight-line struct packing into a bytearray."""

from __future__ import annotations

from rl_control.ros.middleware.msgdef import FieldType, MessageSpec
from rl_control.ros.middleware.xcdr import runtime as rt
from rl_control.ros.middleware.xcdr.base import HEADER, PRIM, Body, Module


class Encoder(Body):
    """Generates `f(obj) -> bytes` (top level) or `f(obj, buf)` (an element)."""

    def __init__(self, module: Module, phase: int | None) -> None:
        super().__init__(module, phase)
        self.values: list[str] = []

    def function(self, name: str, type_name: str, top: bool) -> list[str]:
        if top:
            self.emit(f"b = bytearray({HEADER!r})")
        self.struct(self.mod.spec_of(type_name), "o")
        self.flush()
        if top:
            self.emit("return bytes(b)")
        return [f"def {name}(o{'' if top else ', b'}):"] + self.lines

    def item(self, code: str, align: int, size: int, value: str) -> None:
        self.run.append((code, align, size))
        self.values.append(value)

    def flush(self) -> None:
        if not self.run:
            return
        packer, size = self.run_struct()
        if size is None:
            packer += "[(len(b) + 4) & 7]"
        self.emit(f"b += {packer}.pack({', '.join(self.values)})")
        self.run, self.values = [], []

    def local(self, expr: str, prefix: str = "x") -> str:
        name = self.mod.fresh(prefix)
        self.emit(f"{name} = {expr}")
        return name

    def struct(self, spec: MessageSpec, obj: str) -> None:
        for f in spec.fields:
            ftype, attr = f.type, f"{obj}.{f.name}"
            kind = self.field_kind(ftype)
            if ftype.array is not None:
                self.array(ftype, kind, self.local(attr, "a"))
            elif kind == "struct":
                self.struct(self.mod.spec_of(ftype.base), self.local(attr))
            elif kind == "string":
                self.string(attr, ftype.string_bound)
            else:
                code, size = PRIM[ftype.base]
                self.item(code, size, size, attr)

    def string(self, attr: str, bound: int | None) -> None:
        if bound:
            attr = self.local(attr, "s")
            self.emit(f"if len({attr}) > {bound}: raise _Reject")
        encoded = self.local(f"{attr}.encode()", "e")
        self.item("I", 4, 4, f"len({encoded}) + 1")  # length counts the terminating NUL
        self.flush()
        self.emit(f"b += {encoded}")
        self.emit("b += b'\\x00'")
        self.phase = None

    def array(self, ftype: FieldType, kind: str, seq: str) -> None:
        if ftype.array == "array":
            self.emit(f"if len({seq}) != {ftype.size}: raise _Reject")
            if kind == "prim":  # fixed-size: joins the run
                code, size = PRIM[ftype.base]
                self.item(f"{ftype.size}{code}", size, size * ftype.size, f"*{seq}")
                return
            self.flush()
        else:
            if ftype.array == "bounded_sequence":
                self.emit(f"if len({seq}) > {ftype.size}: raise _Reject")
            self.item("I", 4, 4, f"len({seq})")
            self.flush()
        if kind == "string":
            strings = self.mod.const(rt.Strings(ftype.string_bound or 0), "M")
            self.emit(f"{strings}.encode(b, {seq})")
        elif kind == "struct":
            self.emit(f"for el in {seq}: {self.mod.element('enc', ftype.base)}(el, b)")
        else:
            self.prim_sequence(ftype.base, seq)
        self.phase = None

    def prim_sequence(self, base: str, seq: str) -> None:
        code, size = PRIM[base]
        self.emit(f"if {seq}:")
        self.depth += 1
        if size == 8:  # elements align to 8; the length before them only to 4
            if self.phase is None:
                self.emit("b += _ZEROS[(4 - len(b)) & 7]")
            elif self.phase % 8:
                self.emit(f"b += {bytes(-self.phase % 8)!r}")
        if code == "B":
            self.emit(f"b += _u8_bytes({seq})")
        else:
            self.emit(f"b += _seq_struct({code!r}, len({seq})).pack(*{seq})")
        self.depth -= 1
