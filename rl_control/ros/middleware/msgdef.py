"""Parser for ROS 2 .msg/.srv files (the rosidl .msg grammar, as rosidl_adapter reads it)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

PRIMITIVES = (
    "bool", "byte", "char", "float32", "float64", "int8", "uint8", "int16", "uint16",
    "int32", "uint32", "int64", "uint64", "string", "wstring",
)  # fmt: skip
_INT_RANGES = {
    "int8": (-(2**7), 2**7 - 1), "uint8": (0, 2**8 - 1), "int16": (-(2**15), 2**15 - 1),
    "uint16": (0, 2**16 - 1), "int32": (-(2**31), 2**31 - 1), "uint32": (0, 2**32 - 1),
    "int64": (-(2**63), 2**63 - 1), "uint64": (0, 2**64 - 1), "byte": (0, 255), "char": (0, 255),
}  # fmt: skip
_NAME = re.compile(r"[a-z][a-z0-9_]*\Z")
_CONST = re.compile(r"[A-Z][A-Z0-9_]*\Z")
_TYPE = re.compile(
    r"(?P<base>[A-Za-z][A-Za-z0-9_]*(/[A-Za-z][A-Za-z0-9_]*)?)"
    r"(<=(?P<strbound>\d+))?(\[(?P<arr>(<=)?\d*)\])?\Z"
)
EMPTY_MEMBER = "structure_needs_at_least_one_member"


@dataclass(frozen=True)
class FieldType:
    """A field's type: primitive name or nested 'pkg/msg/Name', plus array/bound details."""

    base: str
    string_bound: int | None = None
    array: str | None = None  # None, "sequence", "bounded_sequence" or "array"
    size: int | None = None

    @property
    def is_primitive(self) -> bool:
        return self.base in PRIMITIVES


@dataclass(frozen=True)
class Field:
    name: str
    type: FieldType
    default: Any = None


@dataclass(frozen=True)
class Constant:
    name: str
    type: str
    value: Any


@dataclass(frozen=True)
class MessageSpec:
    """One message (or service request/response) structure."""

    type_name: str  # 'pkg/msg/Name' or 'pkg/srv/Name_Request'
    fields: tuple[Field, ...]
    constants: tuple[Constant, ...]

    @property
    def package(self) -> str:
        return self.type_name.split("/")[0]

    @property
    def short_name(self) -> str:
        return self.type_name.split("/")[-1]

    @property
    def dependencies(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(f.type.base for f in self.fields if not f.type.is_primitive))


def split_type_name(type_name: str) -> tuple[str, str, str]:
    """'pkg/msg/Name' (or 'pkg/Name', meaning msg) -> (pkg, 'msg', Name)."""
    parts = type_name.split("/") if isinstance(type_name, str) else []
    if len(parts) == 2:
        parts = [parts[0], "msg", parts[1]]
    if len(parts) != 3 or parts[1] not in ("msg", "srv") or not all(parts):
        raise ValueError(f"bad interface type name {type_name!r}: expected 'pkg/msg/Name'")
    return parts[0], parts[1], parts[2]


def _parse_type(text: str, package: str, where: str) -> FieldType:
    m = _TYPE.match(text)
    if not m:
        raise ValueError(f"{where}: bad type {text!r}")
    base = m["base"]
    if base not in PRIMITIVES:
        if "/" in base:
            pkg, name = base.split("/")
        elif base == "Header":  # ROS 1 habit; ROS 2 spells std_msgs/Header
            pkg, name = "std_msgs", "Header"
        else:
            pkg, name = package, base
        base = f"{pkg}/msg/{name}"
    bound = int(m["strbound"]) if m["strbound"] else None
    if bound is not None and base not in ("string", "wstring"):
        raise ValueError(f"{where}: only strings take a <= bound, got {text!r}")
    arr, array, size = m["arr"], None, None
    if arr is not None:
        if arr == "":
            array = "sequence"
        elif arr.startswith("<="):
            array, size = "bounded_sequence", int(arr[2:])
        else:
            array, size = "array", int(arr)
    return FieldType(base, bound, array, size)


def _parse_scalar(ftype: str, text: str, where: str) -> Any:
    text = text.strip()
    if ftype == "bool":
        low = text.lower()
        if low in ("true", "1"):
            return True
        if low in ("false", "0"):
            return False
        raise ValueError(f"{where}: bad bool {text!r}")
    if ftype in ("float32", "float64"):
        return float(text)
    if ftype in ("string", "wstring"):
        if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
            return text[1:-1]
        return text
    value = int(text, 0)
    lo, hi = _INT_RANGES[ftype]
    if not lo <= value <= hi:
        raise ValueError(f"{where}: {value} out of range for {ftype}")
    return value


def _parse_default(ftype: FieldType, text: str, where: str) -> Any:
    if not ftype.is_primitive:
        raise ValueError(f"{where}: nested types cannot have default values")
    if ftype.array is None:
        return _parse_scalar(ftype.base, text, where)
    inner = text.strip()
    if not (inner.startswith("[") and inner.endswith("]")):
        raise ValueError(f"{where}: array default must be [a, b, ...]")
    items = [s for s in inner[1:-1].split(",") if s.strip()]
    return [_parse_scalar(ftype.base, s, where) for s in items]


def parse_message(text: str, type_name: str) -> MessageSpec:
    """Parse .msg text into a MessageSpec named type_name ('pkg/msg/Name')."""
    package = type_name.split("/")[0]
    fields: list[Field] = []
    constants: list[Constant] = []
    for lineno, raw in enumerate(text.splitlines(), 1):
        where = f"{type_name} line {lineno}"
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split(None, 1)
        if len(parts) < 2:
            raise ValueError(f"{where}: expected 'type name', got {line!r}")
        type_text, rest = parts
        name_part = re.split(r"[\s=#]", rest, maxsplit=1)[0]
        after = rest[len(name_part) :].lstrip()
        if after.startswith("="):  # constant: string values keep '#'
            if not _CONST.match(name_part):
                raise ValueError(f"{where}: constant name {name_part!r} must be UPPER_CASE")
            value_text = after[1:]
            if type_text not in ("string", "wstring"):
                value_text = value_text.split("#", 1)[0]
            if type_text not in PRIMITIVES:
                raise ValueError(f"{where}: constant type {type_text!r} must be primitive")
            value = _parse_scalar(type_text, value_text, where)
            constants.append(Constant(name_part, type_text, value))
            continue
        if not _NAME.match(name_part) or "__" in name_part or name_part.endswith("_"):
            raise ValueError(f"{where}: bad field name {name_part!r}")
        ftype = _parse_type(type_text, package, where)
        default_text = after.split("#", 1)[0].strip() if '"' not in after else after.strip()
        default = _parse_default(ftype, default_text, where) if default_text else None
        fields.append(Field(name_part, ftype, default))
    names = [f.name for f in fields]
    if len(set(names)) != len(names):
        raise ValueError(f"{type_name}: duplicate field names in {names}")
    if not fields:  # rosidl inserts a dummy member so C structs are never empty
        fields.append(Field(EMPTY_MEMBER, FieldType("uint8")))
    return MessageSpec(type_name, tuple(fields), tuple(constants))


def parse_service(text: str, type_name: str) -> tuple[MessageSpec, MessageSpec]:
    """Parse .srv text into its Name_Request and Name_Response specs."""
    pkg, _, name = split_type_name(type_name)
    chunks = re.split(r"^\s*---\s*$", text, flags=re.MULTILINE)
    if len(chunks) != 2:
        raise ValueError(f"{type_name}: a .srv needs exactly one '---' separator")
    req = parse_message(chunks[0], f"{pkg}/srv/{name}_Request")
    resp = parse_message(chunks[1], f"{pkg}/srv/{name}_Response")
    return req, resp
