"""Build cyclonedds-python IdlStruct classes from parsed .msg specs (ROS 2 DDS naming, XCDR1)."""

from __future__ import annotations

import dataclasses
import threading
from types import SimpleNamespace
from typing import Any

import numpy as np
from cyclonedds.idl import IdlStruct, make_idl_struct
from cyclonedds.idl import types as t

from rl_control.ros.middleware.library import InterfaceLibrary, default_library
from rl_control.ros.middleware.msgdef import Field, FieldType, MessageSpec, split_type_name
from rl_control.ros.middleware.xcdr import install as install_codec

# .msg primitive -> IDL type, as rosidl_adapter maps it (char is uint8, byte is octet).
_PRIMS: dict[str, Any] = {
    "bool": bool, "byte": t.byte, "char": t.uint8, "float32": t.float32, "float64": t.float64,
    "int8": t.int8, "uint8": t.uint8, "int16": t.int16, "uint16": t.uint16, "int32": t.int32,
    "uint32": t.uint32, "int64": t.int64, "uint64": t.uint64, "string": str, "wstring": str,
}  # fmt: skip
_ZERO: dict[str, Any] = {
    "bool": False,
    "float32": 0.0,
    "float64": 0.0,
    "string": "",
    "wstring": "",
}


# Values stored as they are; checked by exact type first since every field set goes through
# _ros_setattr (the generated decoders in xcdr/ fill __dict__ with what it would store).
_PLAIN = frozenset({float, int, str, list, bool})


def _ros_setattr(self: Any, name: str, value: Any) -> None:
    """Let fields take numpy arrays, tuples, bytes and array.array (as rclpy messages do);
    they are stored as lists, which is what the CDR serializer iterates."""
    if type(value) in _PLAIN:
        pass
    elif isinstance(value, np.ndarray):
        value = value.tolist()
    elif isinstance(value, (tuple, bytes, bytearray)) or type(value).__name__ == "array":
        value = list(value)
    object.__setattr__(self, name, value)


def dds_type_name(type_name: str) -> str:
    """'pkg/msg/Name' -> 'pkg::msg::dds_::Name_' (rosidl_typesupport's DDS naming)."""
    pkg, kind, name = split_type_name(type_name)
    return f"{pkg}::{kind}::dds_::{name}_"


def ros_type_name(dds_name: str) -> str:
    """'pkg::msg::dds_::Name_' -> 'pkg/msg/Name'; a name of another form is returned as is."""
    parts = dds_name.split("::")
    if len(parts) == 4 and parts[2] == "dds_" and parts[3].endswith("_"):
        return f"{parts[0]}/{parts[1]}/{parts[3][:-1]}"
    return dds_name


class TypeFactory:
    """Builds and caches one Python class per interface type (thread-safe)."""

    def __init__(self, library: InterfaceLibrary | None = None) -> None:
        self.library = library or default_library()
        self._classes: dict[str, type] = {}
        self._lock = threading.RLock()

    def _element(self, ftype: FieldType) -> Any:
        if ftype.is_primitive:
            if ftype.string_bound is not None:
                return t.bounded_str[ftype.string_bound]
            return _PRIMS[ftype.base]
        return self.message_class(ftype.base)

    def _annotation(self, ftype: FieldType) -> Any:
        elem = self._element(ftype)
        if ftype.array == "array":
            return t.array[elem, ftype.size]
        if ftype.array == "bounded_sequence":
            return t.sequence[elem, ftype.size]
        if ftype.array == "sequence":
            return t.sequence[elem]
        return elem

    def _scalar_default(self, ftype: FieldType) -> Any:
        if ftype.is_primitive:
            return _ZERO.get(ftype.base, 0)
        return self.message_class(ftype.base)()

    def _default_factory(self, f: Field) -> Any:
        ftype = f.type
        if f.default is not None:
            value = f.default
            return (lambda: list(value)) if isinstance(value, list) else (lambda: value)
        if ftype.array == "array":
            return lambda: [self._scalar_default(ftype) for _ in range(ftype.size or 0)]
        if ftype.array is not None:
            return list
        if ftype.is_primitive:
            value = _ZERO.get(ftype.base, 0)
            return lambda: value
        cls = self.message_class(ftype.base)
        return cls

    def _build(self, spec: MessageSpec) -> type:
        fields = {f.name: self._annotation(f.type) for f in spec.fields}
        cls = make_idl_struct(
            spec.short_name, dds_type_name(spec.type_name), fields, dataclassify=False
        )
        for f in spec.fields:  # every field gets a default, as rclpy messages have
            setattr(cls, f.name, dataclasses.field(default_factory=self._default_factory(f)))
        cls = dataclasses.dataclass(cls)
        # Set on the class, not via a base: cyclonedds' XTypes builder walks the bases.
        cls.__setattr__ = _ros_setattr
        for const in spec.constants:
            setattr(cls, const.name, const.value)
        cls.__ros_type__ = spec.type_name
        # Writers and readers then (de)serialize with code generated for this type.
        install_codec(cls, spec, self.library.spec, self.message_class)
        return cls

    def message_class(self, type_name: str) -> type[IdlStruct]:
        """Class of a message, or of a service part 'pkg/srv/Name_Request'."""
        pkg, kind, name = split_type_name(type_name)
        full = f"{pkg}/{kind}/{name}"
        with self._lock:
            if full not in self._classes:
                self._classes[full] = self._build(self.library.spec(full))
            return self._classes[full]

    def service_class(self, srv_type: str) -> SimpleNamespace:
        """Namespace with .Request and .Response classes, like rclpy's service types."""
        pkg, kind, name = split_type_name(srv_type)
        if kind != "srv":
            raise ValueError(f"{srv_type!r} is not a service type ('pkg/srv/Name')")
        self.library.service(srv_type)
        return SimpleNamespace(
            Request=self.message_class(f"{pkg}/srv/{name}_Request"),
            Response=self.message_class(f"{pkg}/srv/{name}_Response"),
            type_name=srv_type,
        )
