"""Type hashes against published values, DDS type names, and CDR bytes of every type."""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

import numpy as np
import pytest

from rl_control.ros.middleware.idltypes import TypeFactory, dds_type_name
from rl_control.ros.middleware.library import BUNDLED, default_library
from rl_control.ros.middleware.typehash import type_hash

# Values as published by ROS 2 Jazzy's generated type descriptions (ros2 topic info -v).
KNOWN_HASHES = {
    "std_msgs/msg/String": "df668c740482bbd48fb39d76a70dfd4bd59db1288021743503259e948f6b1a18",
    "std_msgs/msg/Header": "f49fb3ae2cf070f793645ff749683ac6b06203e41c891e17701b1cb597ce6a01",
    "std_msgs/msg/Empty": "20b625256f32d5dbc0d04fee44f43c41e51c70d3502f84b4a08e7a9c26a96312",
    "std_msgs/msg/Bool": "feb91e995ff9ebd09c0cb3d2aed18b11077585839fb5db80193b62d74528f6c9",
    "std_msgs/msg/MultiArrayLayout": (
        "4c66e6f78e740ac103a94cf63259f968e48c617e7699e829b63c21a5cb50dac6"
    ),
    "std_msgs/msg/MultiArrayDimension": (
        "5e773a60a4c7fc8a54985f307c7837aa2994252a126c301957a24e31282c9cbe"
    ),
    "std_msgs/msg/Float64MultiArray": (
        "1025ddc6b9552d191f89ef1a8d2f60f3d373e28b283d8891ddcc974e8c55397f"
    ),
    "builtin_interfaces/msg/Time": (
        "b106235e25a4c5ed35098aa0a61a3ee9c9b18d197f398b0e4206cea9acf9c197"
    ),
    "builtin_interfaces/msg/Duration": (
        "e8d009f659816f758b75334ee1a9ca5b5c0b859843261f14c7f937349599d93b"
    ),
    "sensor_msgs/msg/JointState": (
        "a13ee3a330e346c9d87b5aa18d24e11690752bd33a0350f11c5882bc9179260e"
    ),
    "sensor_msgs/msg/Imu": "7d9a00ff131080897a5ec7e26e315954b8eae3353c3f995c55faf71574000b5b",
    "nav_msgs/msg/Odometry": "3cc97dc7fb7502f8714462c526d369e35b603cfc34d946e3f2eda2766dfec6e0",
    "tf2_msgs/msg/TFMessage": "e369d0f05a23ae52508854b66f6aa0437f3449d652e8cbf22d5abe85d020f087",
    "rosgraph_msgs/msg/Clock": "692f7a66e93a3c83e71765d033b60349ba68023a8c689a79e48078bcb5c58564",
    "visualization_msgs/msg/MarkerArray": (
        "86cb8800b6fb05b5eff1abd7a56f62a5641d3ae9a1c29e78e67e704f1d067dcf"
    ),
    "diagnostic_msgs/msg/DiagnosticArray": (
        "5a8a36efb05fb25070fa0fb3810290c0e6cd4862b54a8fb975a1ee8dc55a333e"
    ),
    "rmw_dds_common/msg/ParticipantEntitiesInfo": (
        "91a0593bacdcc50ea9bdcf849a938b128412cc1ea821245c663bcd26f83c295e"
    ),
    "rcl_interfaces/msg/Log": "e28ce254ca8abc06abf92773b74602cdbf116ed34fbaf294fb9f81da9f318eac",
    "rcl_interfaces/msg/ParameterEvent": (
        "043e627780fcad87a22d225bc2a037361dba713fca6a6b9f4b869a5aa0393204"
    ),
    "rcl_interfaces/msg/ParameterValue": (
        "115fc089a387e23c7ecd3525c9189c379109119d6ab82e8dfbde0fdf6a7f9b68"
    ),
    "rcl_interfaces/msg/ParameterDescriptor": (
        "52175dbfda6c51153101d33d2a9da05743f66f02d5ab2ca9ec4709b46b73d704"
    ),
    "rcl_interfaces/msg/SetParametersResult": (
        "cfcc0fb0371ee5159b403960ef4300f8f9d2f1fd6117c8666b7f9654d528a9b1"
    ),
    "rcl_interfaces/srv/SetParameters_Request": (
        "130d46386b7e84ea9ecf60608a4d83cbe5e5cb7c6cc5b712b7a4e3a6c254e932"
    ),
    "rcl_interfaces/srv/SetParameters_Response": (
        "7a0e8140a0b8d98308fa81a5403a766e610af29a239caf54b7553227906fc266"
    ),
    "rcl_interfaces/srv/ListParameters_Request": (
        "a1b0b5d6b967a5b8ac5bc8563c3ea678f349e312a6a4967227c5a96bc5ce38df"
    ),
    "rcl_interfaces/srv/ListParameters_Response": (
        "31b937b82de3612426be79f231e386259f97e8dc843e3f2845288b4bfa296bdd"
    ),
}

# Golden CDR (XCDR1, little endian, with the 4-byte encapsulation header).
JOINT_STATE_CDR = (
    "00010000010000000200000005000000626173650000000002000000030000006a3100000300"
    "00006a3200000200000000000000000000000000e03f000000000000f0bf0000000000000000"
)
FLOAT64_MULTI_ARRAY_CDR = (
    "0001000000000000000000000300000000000000000000000000d03f000000000000e0bf000000000000f03f"
)


def all_message_types() -> list[str]:
    names = [f"{p.parent.parent.name}/msg/{p.stem}" for p in sorted(BUNDLED.glob("*/msg/*.msg"))]
    custom = sorted(
        (default_library()._find("rl_control_msgs", "msg", "Observation")).parent.glob("*.msg")
    )
    return names + [f"rl_control_msgs/msg/{p.stem}" for p in custom]


@pytest.fixture(scope="module")
def factory() -> TypeFactory:
    return TypeFactory()


@pytest.mark.parametrize("type_name", sorted(KNOWN_HASHES))
def test_type_hash_matches_ros2(type_name: str) -> None:
    assert type_hash(type_name) == "RIHS01_" + KNOWN_HASHES[type_name]


def test_service_part_hashes_differ_and_are_rihs() -> None:
    req, resp = (
        type_hash("std_srvs/srv/SetBool_Request"),
        type_hash("std_srvs/srv/SetBool_Response"),
    )
    assert req != resp and req.startswith("RIHS01_") and len(req) == 71


def test_every_nested_type_has_its_dds_name(factory: TypeFactory) -> None:
    cls = factory.message_class("nav_msgs/msg/Odometry")
    assert cls.__idl_typename__ == "nav_msgs::msg::dds_::Odometry_"
    header = type(cls().header)
    assert header.__idl_typename__ == "std_msgs::msg::dds_::Header_"
    assert type(cls().header.stamp).__idl_typename__ == "builtin_interfaces::msg::dds_::Time_"
    pose = type(cls().pose.pose.orientation)
    assert pose.__idl_typename__ == "geometry_msgs::msg::dds_::Quaternion_"
    assert dds_type_name("std_srvs/srv/Trigger_Request") == "std_srvs::srv::dds_::Trigger_Request_"


def test_golden_cdr_bytes(factory: TypeFactory) -> None:
    js = factory.message_class("sensor_msgs/msg/JointState")()
    js.header.stamp.sec, js.header.stamp.nanosec, js.header.frame_id = 1, 2, "base"
    js.name, js.position = ["j1", "j2"], np.array([0.5, -1.0])
    assert js.serialize().hex() == JOINT_STATE_CDR
    arr = factory.message_class("std_msgs/msg/Float64MultiArray")(data=(0.25, -0.5, 1.0))
    assert arr.serialize().hex() == FLOAT64_MULTI_ARRAY_CDR


def test_defaults_and_constants(factory: TypeFactory) -> None:
    marker = factory.message_class("visualization_msgs/msg/Marker")
    assert marker.SPHERE == 2 and marker.DELETEALL == 3
    assert marker().pose.orientation.w == 1.0  # Quaternion's .msg default
    imu = factory.message_class("sensor_msgs/msg/Imu")()
    assert imu.orientation_covariance == [0.0] * 9


def _fill(obj: object, depth: int = 0) -> None:
    """Put non-default values in every field so a round trip proves each one survives."""
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        if dataclasses.is_dataclass(value):
            _fill(value, depth + 1)
        elif isinstance(value, bool):
            setattr(obj, f.name, True)
        elif isinstance(value, int):
            setattr(obj, f.name, 3)
        elif isinstance(value, float):
            setattr(obj, f.name, 1.5)
        elif isinstance(value, str):
            setattr(obj, f.name, f"v{depth}")
        elif isinstance(value, list) and value and isinstance(value[0], float):
            setattr(obj, f.name, [2.5] * len(value))


@pytest.mark.parametrize("type_name", all_message_types())
def test_cdr_round_trip_of_every_type(factory: TypeFactory, type_name: str) -> None:
    cls = factory.message_class(type_name)
    msg = cls()
    _fill(msg)
    data = msg.serialize()
    assert data[:2] == b"\x00\x01"  # XCDR1 little-endian encapsulation
    assert cls.deserialize(data) == msg


def test_project_types_exist_with_expected_fields(factory: TypeFactory) -> None:
    action = factory.message_class("rl_control_msgs/msg/Action")()
    assert {"step", "episode", "policy_version", "action", "mean", "log_prob"} <= set(
        f.name for f in dataclasses.fields(action)
    )
    update = factory.message_class("rl_control_msgs/msg/PolicyUpdate")(data=b"\x01\x02")
    assert update.data == [1, 2]


def test_unknown_type_is_a_clear_error(factory: TypeFactory) -> None:
    with pytest.raises(ValueError, match="unknown interface type 'nope/msg/Thing'"):
        factory.message_class("nope/msg/Thing")
    with pytest.raises(ValueError, match="bad interface type name"):
        factory.message_class("JointState")


def _installed_json(kind: str, name: str, pkg: str) -> Path | None:
    """rosidl's generated type description of pkg/kind/name in a ROS 2 install, if any."""
    prefixes = [p for p in os.environ.get("AMENT_PREFIX_PATH", "").split(os.pathsep) if p]
    for prefix in [*prefixes, "/opt/ros2_jazzy_ws/install", "/opt/ros/jazzy"]:
        path = Path(prefix) / "share" / pkg / kind / f"{name}.json"
        if path.is_file():
            return path
    return None


BUNDLED_INTERFACES = sorted(BUNDLED.glob("*/msg/*.msg")) + sorted(BUNDLED.glob("*/srv/*.srv"))


@pytest.mark.parametrize(
    "path", BUNDLED_INTERFACES, ids=[f"{p.parts[-3]}/{p.stem}" for p in BUNDLED_INTERFACES]
)
def test_type_hashes_match_installed_rosidl_json(path: Path) -> None:
    """Every bundled interface against the hashes rosidl generated in a ROS 2 install."""
    pkg, kind, name = path.parts[-3], path.parts[-2], path.stem
    found = _installed_json(kind, name, pkg)
    if found is None:
        pytest.skip(f"no ROS 2 install with {pkg}/{kind}/{name}.json")
    hashes = json.loads(found.read_text())["type_hashes"]
    published = {h["type_name"]: h["hash_string"] for h in hashes}
    parts = [f"{pkg}/msg/{name}"] if kind == "msg" else [
        f"{pkg}/srv/{name}_Request", f"{pkg}/srv/{name}_Response"
    ]  # fmt: skip
    for part in parts:
        assert type_hash(part) == published[part], part
