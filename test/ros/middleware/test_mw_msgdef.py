"""The .msg/.srv parser."""

from __future__ import annotations

import pytest

from rl_control.ros.middleware.msgdef import EMPTY_MEMBER, parse_message, parse_service

TEXT = """
# comment line
int32 ANSWER=42
string GREETING="hi # not a comment"
std_msgs/Header header   # trailing comment
float64[] data
float64[36] cov
uint8[<=4] small
string<=8 label "abc"
Point p
float64 gain 0.5
int16[] seq [1, -2, 3]
"""


def test_fields_constants_and_defaults() -> None:
    spec = parse_message(TEXT, "pkg/msg/Thing")
    assert [f.name for f in spec.fields] == [
        "header", "data", "cov", "small", "label", "p", "gain", "seq",
    ]  # fmt: skip
    types = {f.name: f.type for f in spec.fields}
    assert types["header"].base == "std_msgs/msg/Header"
    assert types["p"].base == "pkg/msg/Point"  # same-package reference
    assert (types["data"].array, types["data"].size) == ("sequence", None)
    assert (types["cov"].array, types["cov"].size) == ("array", 36)
    assert (types["small"].array, types["small"].size) == ("bounded_sequence", 4)
    assert types["label"].string_bound == 8
    defaults = {f.name: f.default for f in spec.fields}
    assert defaults["label"] == "abc" and defaults["gain"] == 0.5 and defaults["seq"] == [1, -2, 3]
    consts = {c.name: c.value for c in spec.constants}
    assert consts == {"ANSWER": 42, "GREETING": "hi # not a comment"}
    assert spec.dependencies == ("std_msgs/msg/Header", "pkg/msg/Point")


def test_empty_message_gets_rosidl_dummy_member() -> None:
    spec = parse_message("# nothing\n", "std_msgs/msg/Empty")
    assert [(f.name, f.type.base) for f in spec.fields] == [(EMPTY_MEMBER, "uint8")]


def test_service_split() -> None:
    req, resp = parse_service("bool data\n---\nbool success\nstring message\n", "a/srv/Set")
    assert req.type_name == "a/srv/Set_Request" and resp.type_name == "a/srv/Set_Response"
    assert [f.name for f in resp.fields] == ["success", "message"]


@pytest.mark.parametrize(
    "text, match",
    [
        ("float64", "expected 'type name'"),
        ("float64 BadName", "bad field name"),
        ("int8 x 300", "out of range"),
        ("uint8 lower=1", "UPPER_CASE"),
        ("float64<=3 x", "only strings"),
        ("int32 x\nint32 x", "duplicate"),
        ("Point p 3", "nested types cannot have default"),
    ],
)
def test_bad_definitions_name_the_problem(text: str, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        parse_message(text, "pkg/msg/Bad")


def test_service_needs_separator() -> None:
    with pytest.raises(ValueError, match="---"):
        parse_service("bool data\n", "a/srv/Set")
