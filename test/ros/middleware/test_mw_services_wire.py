"""Service samples on the rmw_cyclonedds wire: request header first, same DDS type name."""

import dataclasses

import pytest

from rl_control.ros.middleware.embedded import services
from rl_control.ros.middleware.idltypes import TypeFactory


@pytest.fixture(autouse=True)
def embedded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RL_CONTROL_MIDDLEWARE", "embedded")  # its message classes, even with ROS


def test_wire_class_prepends_the_request_header() -> None:
    types = TypeFactory()
    request_cls = types.service_class("std_srvs/srv/SetBool").Request
    wire = services.wire_class(request_cls, "std_srvs/srv/SetBool_Request", types)
    names = [f.name for f in dataclasses.fields(wire)]
    assert names[:2] == ["rmw_client_id", "rmw_sequence_number"]
    assert names[2:] == [f.name for f in dataclasses.fields(request_cls)]
    assert services.wire_class(request_cls, "std_srvs/srv/SetBool_Request", types) is wire
    sample = services._wrap(wire, 7, 3, request_cls(data=True))
    assert (sample.rmw_client_id, sample.rmw_sequence_number, sample.data) == (7, 3, True)
    assert services._unwrap(request_cls, sample) == request_cls(data=True)


def test_message_types_are_not_services() -> None:
    with pytest.raises(ValueError, match="not a service type"):
        services._names("std_msgs/msg/String")
