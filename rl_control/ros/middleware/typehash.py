"""REP 2011 type descriptions and RIHS01 type hashes, computed as rosidl does."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from rl_control.ros.middleware.library import InterfaceLibrary, default_library
from rl_control.ros.middleware.msgdef import FieldType, MessageSpec

# type_description_interfaces/msg/FieldType ids; .msg types map through IDL first
# (rosidl_adapter: char -> uint8, byte -> octet).
_IDS = {
    "int8": 2, "uint8": 3, "char": 3, "int16": 4, "uint16": 5, "int32": 6, "uint32": 7,
    "int64": 8, "uint64": 9, "float32": 10, "float64": 11, "bool": 15, "byte": 16,
    "string": 17, "wstring": 18,
}  # fmt: skip
_NESTED = 1
_BOUNDED_STRING = {"string": 21, "wstring": 22}
_ARRAY_OFFSET = {None: 0, "array": 48, "bounded_sequence": 96, "sequence": 144}


def _field_type(ftype: FieldType) -> dict[str, Any]:
    if ftype.is_primitive:
        base = _IDS[ftype.base]
        if ftype.string_bound is not None:
            base = _BOUNDED_STRING[ftype.base]
    else:
        base = _NESTED
    return {
        "type_id": base + _ARRAY_OFFSET[ftype.array],
        "capacity": ftype.size or 0,
        "string_capacity": ftype.string_bound or 0,
        "nested_type_name": "" if ftype.is_primitive else ftype.base,
    }


def _individual(spec: MessageSpec) -> dict[str, Any]:
    return {
        "type_name": spec.type_name,
        "fields": [{"name": f.name, "type": _field_type(f.type)} for f in spec.fields],
    }


def type_description(type_name: str, library: InterfaceLibrary | None = None) -> dict[str, Any]:
    """The hashable type description (defaults omitted, references sorted by name)."""
    lib = library or default_library()
    refs = sorted(lib.closure(type_name), key=lambda s: s.type_name)
    return {
        "type_description": _individual(lib.spec(type_name)),
        "referenced_type_descriptions": [_individual(s) for s in refs],
    }


def type_hash(type_name: str, library: InterfaceLibrary | None = None) -> str:
    """'RIHS01_<sha256>' of a message type (or a service's _Request/_Response part)."""
    text = json.dumps(
        type_description(type_name, library),
        ensure_ascii=True,
        allow_nan=False,
        indent=None,
        separators=(", ", ": "),  # what rosidl uses (rcl's libyaml cannot change them)
        sort_keys=False,
    )
    return "RIHS01_" + hashlib.sha256(text.encode("utf-8")).hexdigest()
