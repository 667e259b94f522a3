"""Run-time side of the generated XCDR1 codec: the helpers generated code calls, and the
serialize/deserialize methods that put it in front of cyclonedds-python's serializer.

DataWriter.write calls `sample.serialize(use_version_2=False)` and DataReader.take calls
`cls.deserialize(data)`, so overriding these two IdlStruct methods on a generated class moves
every write and take onto the fast codec, with nothing else in cyclonedds changed. The fast
path covers XCDR1 (use_version_2 False, or None: .msg types are final structs without
optionals, whose default is XCDR1), little endian, no caller-supplied buffer, and samples with
a CDR_LE header in bytes or bytearray. cyclonedds' own path is kept for XCDR2, big-endian
samples or hosts, key (de)serialization, and for any value or sample the generated code
rejects (a fixed array of the wrong length, an over-long bounded string or sequence, a value
struct cannot pack, truncated data, invalid UTF-8): it then gives its own result or error.
RL_CONTROL_CDR_CODEC=cyclonedds turns the fast codec off (to compare, or to rule it out).
"""

from __future__ import annotations

import os
import struct
import sys
from collections.abc import Callable
from typing import Any, NamedTuple

from cyclonedds.idl import Endianness, IdlStruct

ENV_VAR = "RL_CONTROL_CDR_CODEC"
_U32 = struct.Struct("<I")
ZEROS = tuple(bytes(n) for n in range(8))
_SEQUENCES: dict[tuple[str, int], struct.Struct] = {}
_SEQUENCES_MAX = 512  # sequence lengths are unbounded: keep the cache small
_BUFFERS = (bytes, bytearray)


class Reject(Exception):
    """The generated code does not take this value or sample; cyclonedds' path decides."""


class Codec(NamedTuple):
    encode: Callable[[Any], bytes]
    decode: Callable[[Any], Any]
    source: str  # the generated Python, for debugging


def seq_struct(code: str, n: int) -> struct.Struct:
    """Struct for n little-endian values of one struct code (cached)."""
    packer = _SEQUENCES.get((code, n))
    if packer is None:
        if len(_SEQUENCES) >= _SEQUENCES_MAX:
            _SEQUENCES.clear()
        packer = _SEQUENCES[code, n] = struct.Struct(f"<{n}{code}")
    return packer


def u8_bytes(seq: Any) -> bytes:
    """A uint8 sequence as bytes. bytes() runs at C speed and checks range and type as
    struct's 'B' does; other iterables (e.g. a numpy array, whose buffer bytes() would copy
    raw) go through struct like cyclonedds."""
    if type(seq) in (list, bytes, bytearray):
        return bytes(seq)
    return seq_struct("B", len(seq)).pack(*seq)


def enc_strings(b: bytearray, seq: Any, bound: int) -> None:
    """Append strings, each 4-aligned: uint32 length incl. NUL, UTF-8 bytes, NUL."""
    for s in seq:
        if bound and len(s) > bound:
            raise Reject
        encoded = s.encode()
        b += ZEROS[-len(b) & 3]  # the 4-byte header keeps absolute and data alignment equal
        b += _U32.pack(len(encoded) + 1)
        b += encoded
        b += b"\x00"


def dec_strings(data: bytes | bytearray, pos: int, n: int) -> tuple[list[str], int]:
    """n strings from data at pos; (strings, position after them)."""
    out = []
    for _ in range(n):
        pos += -pos & 3
        (size,) = _U32.unpack_from(data, pos)
        if not size:
            raise Reject
        out.append(data[pos + 4 : pos + 3 + size].decode())
        pos += 4 + size
    if pos > len(data):  # a slice past the end does not raise
        raise Reject
    return out, pos


class Strings:
    """Codes the strings of one string-sequence (or string-array) field.

    Publishers repeat the same names (joint names, state names) in every message, so the last
    list and its bytes are remembered, and a repeat costs one comparison instead of a few
    calls per string. The bytes of n strings starting 4-aligned do not depend on where they
    are, so the remembered bytes are valid at any 4-aligned position.
    """

    __slots__ = ("bound", "_encoded", "_decoded")

    def __init__(self, bound: int) -> None:
        self.bound = bound
        self._encoded: tuple[list, bytes] = ([], b"")
        self._decoded: tuple[int, bytes, list[str]] = (0, b"", [])

    def encode(self, b: bytearray, seq: Any) -> None:
        if not len(seq):
            return  # nothing written, not even alignment
        b += ZEROS[-len(b) & 3]
        last, block = self._encoded
        if type(seq) is list and seq == last:
            b += block
            return
        start = len(b)
        enc_strings(b, seq, self.bound)
        self._encoded = (list(seq), bytes(b[start:]))  # a copy: the caller may mutate seq

    def decode(self, data: bytes | bytearray, pos: int, n: int) -> tuple[list[str], int]:
        if not n:
            return [], pos
        pos += -pos & 3
        count, block, strings = self._decoded
        if n == count and data.startswith(block, pos):
            return list(strings), pos + len(block)
        strings, end = dec_strings(data, pos, n)
        self._decoded = (n, bytes(data[pos:end]), strings)
        return list(strings), end


GENERATED_NAMESPACE: dict[str, Any] = {
    "_Reject": Reject,
    "_new": object.__new__,
    "_ZEROS": ZEROS,
    "_seq_struct": seq_struct,
    "_u8_bytes": u8_bytes,
}


def enabled() -> bool:
    """Whether classes built now get the fast codec (little-endian host, not switched off)."""
    return sys.byteorder == "little" and os.environ.get(ENV_VAR, "").strip() != "cyclonedds"


def attach(cls: type, codec: Codec) -> None:
    """Make cls.serialize / cls.deserialize use codec where it applies (module docstring)."""
    encode, decode = codec.encode, codec.decode

    def serialize(
        self: Any,
        buffer: Any = None,
        endianness: Endianness | None = None,
        use_version_2: bool | None = None,
    ) -> bytes:
        if buffer is None and not use_version_2 and endianness in (None, Endianness.Little):
            try:
                return encode(self)
            except Exception:  # cyclonedds' serializer gives the answer, or its error
                pass
        return IdlStruct.serialize(self, buffer, endianness, use_version_2)

    def deserialize(
        klass: type, data: Any, has_header: bool = True, use_version_2: bool | None = None
    ) -> Any:
        fast = has_header and use_version_2 is None and type(data) in _BUFFERS
        if fast and data[1:2] == b"\x01":  # CDR_LE: XCDR1, little endian
            try:
                return decode(data)
            except Exception:  # cyclonedds' deserializer gives the answer, or its error
                pass
        return klass.__idl__.deserialize(data, has_header=has_header, use_version_2=use_version_2)

    cls.serialize = serialize
    cls.deserialize = classmethod(deserialize)
    cls.__xcdr__ = codec
