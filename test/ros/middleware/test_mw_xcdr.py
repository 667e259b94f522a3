"""The generated XCDR1 codec against cyclonedds-python's serializer: same bytes, equal samples,
for every interface type with random contents, and cyclonedds' path wherever it applies."""

from __future__ import annotations

import dataclasses
import struct
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from cyclonedds.idl import Endianness

from rl_control.ros.middleware.embedded import services
from rl_control.ros.middleware.idltypes import TypeFactory
from rl_control.ros.middleware.library import BUNDLED, InterfaceLibrary, default_library
from rl_control.ros.middleware.msgdef import FieldType
from rl_control.ros.middleware.xcdr import runtime as xcdr_runtime

SAMPLES = 25  # random samples per type
TEXT = ["", "a", "base_link", "é", "日本語", "x😀y", "tab\there", "nul\x00in", "ÿ" * 7]
INTS = {
    "int8": (-(2**7), 2**7 - 1), "uint8": (0, 2**8 - 1), "byte": (0, 255), "char": (0, 255),
    "int16": (-(2**15), 2**15 - 1), "uint16": (0, 2**16 - 1), "int32": (-(2**31), 2**31 - 1),
    "uint32": (0, 2**32 - 1), "int64": (-(2**63), 2**63 - 1), "uint64": (0, 2**64 - 1),
}  # fmt: skip
SPECIAL = [0.0, -0.0, 1.5, float("inf"), float("-inf"), float("nan")]
FLOATS = SPECIAL + [-2.25e300, 5e-324]
FLOATS32 = SPECIAL + [-3.0e38, 1e-45]  # float32 extremes

# Every feature of the .msg grammar, in orders that move alignment around.
FEATURES = {
    "Everything": """
        bool b
        byte by
        char ch
        float64 f64
        int8 i8
        int64 i64
        uint8 u8
        int16 i16
        uint16 u16
        string s
        int32 i32
        uint32 u32
        wstring ws
        uint64 u64
        float32 f32
        string<=5 bounded_s
        float64[3] f64_arr
        uint8[4] u8_arr
        byte[2] byte_arr
        char[3] char_arr
        bool[2] bool_arr
        int8[3] i8_arr
        string[2] s_arr
        string<=3[2] bounded_s_arr
        Inner[2] inner_arr
        Inner inner
        float32[] f32_seq
        int64[] i64_seq
        uint8[] u8_seq
        bool[] bool_seq
        int16[<=3] i16_bseq
        string[] s_seq
        string<=4[<=2] bounded_s_bseq
        Inner[] inner_seq
        Inner[<=2] inner_bseq
        Nothing nothing
        uint8 last
    """,
    "Inner": "uint8 flag\nfloat64 value\nstring label\nint16[] shorts\nuint8[2] pair",
    "Nothing": "# no fields: rosidl's dummy member\nint32 CONSTANT=3",
    "EndsWithString": "uint8 a\nfloat64[] b\nstring c",
}


def standard_types() -> list[str]:
    found = [f"{p.parent.parent.name}/msg/{p.stem}" for p in sorted(BUNDLED.glob("*/msg/*.msg"))]
    custom = default_library()._find("rl_control_msgs", "msg", "Observation").parent
    found += [f"rl_control_msgs/msg/{p.stem}" for p in sorted(custom.glob("*.msg"))]
    for srv in sorted(BUNDLED.glob("*/srv/*.srv")):
        found += [f"{srv.parent.parent.name}/srv/{srv.stem}_{p}" for p in ("Request", "Response")]
    return found


@pytest.fixture(scope="module")
def factory() -> TypeFactory:
    return TypeFactory()


@pytest.fixture(scope="module")
def features(tmp_path_factory: pytest.TempPathFactory) -> TypeFactory:
    folder = tmp_path_factory.mktemp("xcdr_test_msgs")
    for name, text in FEATURES.items():
        (folder / f"{name}.msg").write_text("\n".join(s.strip() for s in text.splitlines()))
    return TypeFactory(InterfaceLibrary({"xcdr_test_msgs": [Path(folder)]}))


def random_scalar(base: str, bound: int | None, rng: np.random.Generator) -> Any:
    if base == "bool":
        return bool(rng.integers(2))
    if base in INTS:
        lo, hi = INTS[base]
        return [lo, hi, 0, 1, lo + int(rng.random() * (hi - lo))][int(rng.integers(5))]
    if base == "float64":
        return float(rng.choice(FLOATS)) if rng.random() < 0.3 else float(rng.normal() * 1e3)
    if base == "float32":  # values a float32 holds exactly, so a round trip returns them
        return float(np.float32(rng.choice(FLOATS32) if rng.random() < 0.3 else rng.normal()))
    text = str(rng.choice(TEXT))
    return text[:bound] if bound else text


def random_value(ftype: FieldType, types: TypeFactory, rng: np.random.Generator) -> Any:
    def one() -> Any:
        if ftype.is_primitive:
            return random_scalar(ftype.base, ftype.string_bound, rng)
        return random_message(types, ftype.base, rng)

    if ftype.array is None:
        return one()
    if ftype.array == "array":
        n = ftype.size
    else:
        n = int(rng.integers(0, (ftype.size if ftype.size is not None else 4) + 1))
    return [one() for _ in range(n)]


def random_message(
    types: TypeFactory, type_name: str, rng: np.random.Generator, cls: type | None = None
) -> Any:
    """A message of type_name (as class cls if given) with random values in every field."""
    cls = cls or types.message_class(type_name)
    ftypes = field_types(types, type_name)
    names = [f.name for f in dataclasses.fields(cls)]
    return cls(**{name: random_value(ftypes[name], types, rng) for name in names})


def field_types(types: TypeFactory, type_name: str) -> dict[str, FieldType]:
    spec = services.wire_spec(types.library.spec(type_name))  # with the service header fields
    return {f.name: f.type for f in spec.fields}


def assert_same(a: Any, b: Any, where: str = "msg") -> None:
    """Equal values of the same types all the way down; floats compared bit for bit."""
    assert type(a) is type(b), f"{where}: {type(a).__name__} != {type(b).__name__}"
    if dataclasses.is_dataclass(a):
        assert vars(a).keys() == vars(b).keys(), where
        for f in dataclasses.fields(a):
            assert_same(getattr(a, f.name), getattr(b, f.name), f"{where}.{f.name}")
    elif isinstance(a, list):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            assert_same(x, y, f"{where}[{i}]")
    elif isinstance(a, float):
        assert struct.pack("<d", a) == struct.pack("<d", b), f"{where}: {a!r} != {b!r}"
    else:
        assert a == b, f"{where}: {a!r} != {b!r}"


def check_codec(cls: type, msg: Any) -> bytes:
    """The fast codec and cyclonedds agree on msg; returns the bytes."""
    codec = cls.__xcdr__
    expected = cls.__idl__.serialize(msg, use_version_2=False)
    assert codec.encode(msg) == expected  # the fast path itself, no fallback
    assert msg.serialize() == expected and msg.serialize(use_version_2=False) == expected
    reference = cls.__idl__.deserialize(expected)
    padded = expected.ljust((len(expected) + 3) & ~3, b"\0")  # as DataWriter.write sends it
    for data in (expected, padded, bytearray(padded)):
        assert_same(codec.decode(data), reference)
        assert_same(cls.deserialize(data), reference)
    return expected


@pytest.mark.parametrize("type_name", standard_types())
def test_every_type_same_bytes_and_samples(factory: TypeFactory, type_name: str) -> None:
    cls = factory.message_class(type_name)
    cls.__idl__.populate()
    assert cls.__idl__.default_version == 1  # the fast path takes use_version_2=None as XCDR1
    rng = np.random.default_rng(abs(hash(type_name)) % 2**32)
    check_codec(cls, cls())
    for _ in range(SAMPLES):
        msg = random_message(factory, type_name, rng)
        check_codec(cls, msg)
        decoded = cls.deserialize(msg.serialize())
        assert_same(decoded, cls.__idl__.deserialize(msg.serialize()))


@pytest.mark.parametrize("type_name", sorted(FEATURES))
def test_every_msg_feature(features: TypeFactory, type_name: str) -> None:
    full = f"xcdr_test_msgs/msg/{type_name}"
    cls = features.message_class(full)
    rng = np.random.default_rng(7)
    check_codec(cls, cls())
    for _ in range(SAMPLES * 4):
        check_codec(cls, random_message(features, full, rng))


def test_service_wire_classes(factory: TypeFactory) -> None:
    rng = np.random.default_rng(3)
    for type_name in [t for t in standard_types() if "/srv/" in t]:
        wire = services.wire_class(factory.message_class(type_name), type_name, factory)
        for _ in range(SAMPLES):
            check_codec(wire, random_message(factory, type_name, rng, wire))


def test_rejected_values_take_cyclonedds_path(features: TypeFactory) -> None:
    cls = features.message_class("xcdr_test_msgs/msg/Everything")
    bad = {
        "f64_arr": [1.0, 2.0],  # fixed array of the wrong length
        "s_arr": ["a"],
        "bounded_s": "toolong",  # over the string bound
        "i16_bseq": [1, 2, 3, 4],  # over the sequence bound
        "bounded_s_bseq": ["abcde"],
        "u8": 256,  # out of range
        "u8_seq": [1, 300],
        "f32": 1e40,
        "s": 5,  # not a string
    }
    for name, value in bad.items():
        msg = cls()
        setattr(msg, name, value)
        with pytest.raises(Exception):  # noqa: B017 - _Reject, struct.error, ...
            cls.__xcdr__.encode(msg)
        with pytest.raises(Exception) as ours:
            msg.serialize()
        with pytest.raises(Exception) as theirs:
            cls.__idl__.serialize(msg, use_version_2=False)
        assert type(ours.value) is type(theirs.value), name


def test_other_encodings_and_truncated_samples(factory: TypeFactory) -> None:
    cls = factory.message_class("sensor_msgs/msg/JointState")
    msg = random_message(factory, "sensor_msgs/msg/JointState", np.random.default_rng(1))
    msg.name, msg.position = ["a", "bc"], [1.0, 2.0]
    big = cls.__idl__.serialize(msg, endianness=Endianness.Big, use_version_2=False)
    assert msg.serialize(endianness=Endianness.Big) == big and big[1] == 0
    assert_same(cls.deserialize(big), cls.__idl__.deserialize(big))
    v2 = cls.__idl__.serialize(msg, use_version_2=True)
    assert msg.serialize(use_version_2=True) == v2
    assert_same(cls.deserialize(v2), cls.__idl__.deserialize(v2))
    data = msg.serialize()
    for cut in range(4, len(data)):
        try:
            expected = cls.__idl__.deserialize(data[:cut])
        except Exception as exc:
            with pytest.raises(type(exc)):
                cls.deserialize(data[:cut])
        else:
            assert_same(cls.deserialize(data[:cut]), expected)


def test_remembered_strings_follow_changes(factory: TypeFactory) -> None:
    cls = factory.message_class("rl_control_msgs/msg/Observation")
    msg = cls(names=["x", "theta"], state=[0.0, 1.0])
    first = check_codec(cls, msg)
    msg.names[1] = "phi"  # mutated in place: the remembered copy must not follow
    second = check_codec(cls, msg)
    assert first != second and cls.deserialize(second).names == ["x", "phi"]
    assert cls.deserialize(first).names == ["x", "theta"]
    decoded = cls.deserialize(first)
    decoded.names.append("mine")  # a returned list is the caller's own
    assert cls.deserialize(first).names == ["x", "theta"]


def test_generated_code_packs_runs_of_fixed_fields(factory: TypeFactory) -> None:
    source = factory.message_class("nav_msgs/msg/Odometry").__xcdr__.source
    encode = source.split("def decode")[0]
    assert encode.count(".pack(") == 3  # stamp + frame length, child length, 85 doubles


def test_switch_off_keeps_cyclonedds(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(xcdr_runtime.ENV_VAR, "cyclonedds")
    cls = TypeFactory().message_class("std_msgs/msg/String")
    assert not hasattr(cls, "__xcdr__")
    assert cls(data="hi").serialize() == bytes.fromhex("0001000003000000686900")


def test_encoder_and_decoder_merge_nested_fixed_fields_into_one_struct_call() -> None:
    """Pose = Point + Quaternion: the generated encoder (xcdr/encoder.py) packs, and the
    decoder (xcdr/decoder.py) unpacks, all 7 doubles with one precompiled struct.Struct."""
    from rl_control.ros.middleware.xcdr import generate

    factory = TypeFactory()
    name = "geometry_msgs/msg/Pose"
    cls = factory.message_class(name)
    codec = generate(factory.library.spec(name), factory.library.spec, factory.message_class, cls)
    encode = codec.source.split("def decode")[0]
    decode = codec.source[len(encode) :]
    assert encode.count(".pack(") == 1 and decode.count(".unpack_from(") == 1
    pose = cls()
    pose.position.x, pose.orientation.w = 1.5, -0.25
    assert cls.deserialize(pose.serialize()) == pose
