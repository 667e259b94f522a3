"""Parameter services and /parameter_events of embedded nodes, with rcl_interfaces types, so that
`ros2 param list/get/set/describe/dump` and rqt reach them as they reach rclpy nodes.

Each node serves <node fqn>/{list,get,set}_parameters, get_parameter_types,
describe_parameters and set_parameters_atomically. Sets go through the node's Parameters store,
i.e. the same coercion as overrides (int -> float allowed, other type changes refused).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rl_control.ros.middleware.api import QoS
from rl_control.ros.middleware.convert import seconds_to_stamp
from rl_control.ros.middleware.params import ParameterNotDeclaredError

if TYPE_CHECKING:
    from rl_control.ros.middleware.embedded.node import EmbeddedNode

EVENTS_TOPIC = "/parameter_events"
# rmw_qos_profile_parameter_events: reliable, volatile, keep-last 1000
EVENTS_QOS = QoS(depth=1000)
SEPARATOR = "."
_PKG = "rcl_interfaces"

# rcl_interfaces/msg/ParameterType values
(NOT_SET, BOOL, INTEGER, DOUBLE, STRING, BYTE_ARRAY,
 BOOL_ARRAY, INTEGER_ARRAY, DOUBLE_ARRAY, STRING_ARRAY) = range(10)  # fmt: skip
_FIELDS = {
    BOOL: "bool_value", INTEGER: "integer_value", DOUBLE: "double_value",
    STRING: "string_value", BYTE_ARRAY: "byte_array_value", BOOL_ARRAY: "bool_array_value",
    INTEGER_ARRAY: "integer_array_value", DOUBLE_ARRAY: "double_array_value",
    STRING_ARRAY: "string_array_value",
}  # fmt: skip
_CONVERT = {BOOL: bool, INTEGER: int, DOUBLE: float, STRING: str, BYTE_ARRAY: bytes}
_ELEMENT = {BOOL_ARRAY: bool, INTEGER_ARRAY: int, DOUBLE_ARRAY: float, STRING_ARRAY: str}


def _array_type(items: list[Any]) -> int | None:
    kinds = {bool if isinstance(v, bool) else type(v) for v in items}
    if kinds == {bool}:
        return BOOL_ARRAY
    if kinds == {int}:
        return INTEGER_ARRAY
    if kinds and kinds <= {int, float}:
        return DOUBLE_ARRAY
    if kinds == {str}:
        return STRING_ARRAY
    return None


def parameter_type(value: Any, hint: Any = None) -> int:
    """ParameterType of a Python value; an empty list takes the type of hint (the declared
    default) when that is a non-empty list, else is reported as a string array."""
    if value is None:
        return NOT_SET
    for cls, ptype in ((bool, BOOL), (int, INTEGER), (float, DOUBLE), (str, STRING)):
        if isinstance(value, cls):
            return ptype
    if isinstance(value, (bytes, bytearray)):
        return BYTE_ARRAY
    if isinstance(value, (list, tuple)):
        if value:
            ptype = _array_type(list(value))
        else:
            ptype = _array_type(list(hint)) if isinstance(hint, (list, tuple)) else None
            ptype = ptype or STRING_ARRAY
        if ptype is not None:
            return ptype
    raise TypeError(f"{value!r} has no ROS parameter type")


def to_value_msg(value: Any, cls: type, hint: Any = None) -> Any:
    """value as a rcl_interfaces/msg/ParameterValue of class cls."""
    ptype = parameter_type(value, hint)
    msg = cls(type=ptype)
    if ptype in _CONVERT:
        field_value: Any = _CONVERT[ptype](value)
        setattr(msg, _FIELDS[ptype], list(field_value) if ptype == BYTE_ARRAY else field_value)
    elif ptype in _ELEMENT:
        setattr(msg, _FIELDS[ptype], [_ELEMENT[ptype](v) for v in value])
    return msg


def from_value_msg(msg: Any) -> Any:
    """The Python value a ParameterValue carries (None when PARAMETER_NOT_SET)."""
    if msg.type == NOT_SET:
        return None
    if msg.type not in _FIELDS:
        raise TypeError(f"unknown parameter type {msg.type}")
    value = getattr(msg, _FIELDS[msg.type])
    if msg.type == BYTE_ARRAY:
        return bytes(v if isinstance(v, int) else ord(v) for v in value)
    return list(value) if msg.type in _ELEMENT else value


def list_names(names: list[str], prefixes: list[str], depth: int) -> tuple[list[str], list[str]]:
    """(names, prefixes) answering ListParameters as rclpy does (depth 0 is recursive)."""

    def shallow(rest: str) -> bool:
        return depth == 0 or rest.count(SEPARATOR) < depth

    def under(name: str, prefix: str) -> bool:
        rest = name[len(prefix) + 1 :]
        return name == prefix or (name.startswith(prefix + SEPARATOR) and shallow(rest))

    picked = [
        n for n in names if (not prefixes and shallow(n)) or any(under(n, p) for p in prefixes)
    ]
    found = [n.rsplit(SEPARATOR, 1)[0] for n in picked if SEPARATOR in n]
    return picked, list(dict.fromkeys(found))


class ParameterServices:
    """Serves one node's parameters and publishes its /parameter_events."""

    def __init__(self, node: EmbeddedNode) -> None:
        self._node = node
        self._params = node._params
        self._cls = {name: node._ctx.types.message_class(f"{_PKG}/msg/{name}") for name in (
            "Parameter", "ParameterValue", "ParameterDescriptor", "ParameterEvent",
            "SetParametersResult",
        )}  # fmt: skip
        self._time_cls = node._ctx.types.message_class("builtin_interfaces/msg/Time")
        self._events = node.create_publisher(
            f"{_PKG}/msg/ParameterEvent", EVENTS_TOPIC, EVENTS_QOS
        )
        for service, srv_type, handler in (
            ("describe_parameters", "DescribeParameters", self._describe),
            ("get_parameters", "GetParameters", self._get),
            ("get_parameter_types", "GetParameterTypes", self._get_types),
            ("list_parameters", "ListParameters", self._list),
            ("set_parameters", "SetParameters", self._set),
            ("set_parameters_atomically", "SetParametersAtomically", self._set_atomically),
        ):
            node.create_service(f"{_PKG}/srv/{srv_type}", f"~/{service}", handler)

    # -- conversions ------------------------------------------------------------------
    def _value_msg(self, name: str, value: Any) -> Any:
        cls = self._cls["ParameterValue"]
        try:
            return to_value_msg(value, cls, self._params.default(name))
        except TypeError:  # e.g. a dict default: not a ROS parameter type, shown as not set
            return cls(type=NOT_SET)

    def _parameter_msgs(self, values: dict[str, Any]) -> list[Any]:
        return [
            self._cls["Parameter"](name=name, value=self._value_msg(name, value))
            for name, value in values.items()
        ]

    def publish_event(self, *, new: dict[str, Any] | None = None,
                      changed: dict[str, Any] | None = None) -> None:  # fmt: skip
        """Publish a ParameterEvent for declared (new) or set (changed) parameters."""
        self._events.publish(
            self._cls["ParameterEvent"](
                stamp=seconds_to_stamp(self._node.now(), self._time_cls),
                node=self._node.fully_qualified_name,
                new_parameters=self._parameter_msgs(new or {}),
                changed_parameters=self._parameter_msgs(changed or {}),
            )
        )

    def _apply(self, params: list[Any]) -> Any:
        """Set params (Parameter messages) all or none; a SetParametersResult either way."""
        try:
            values = {p.name: from_value_msg(p.value) for p in params}
            stored = self._params.set_many(values)
        except (ParameterNotDeclaredError, TypeError, ValueError) as exc:
            return self._cls["SetParametersResult"](successful=False, reason=str(exc))
        self._node._on_parameters_set(stored)
        self.publish_event(changed=stored)
        return self._cls["SetParametersResult"](successful=True)

    # -- service handlers ---------------------------------------------------------------
    # Like rclpy: a request naming an undeclared parameter gets an empty answer.
    def _describe(self, request: Any, response: Any) -> Any:
        if all(self._params.has(n) for n in request.names):
            response.descriptors = [
                self._cls["ParameterDescriptor"](
                    name=n,
                    type=self._value_msg(n, self._params.get(n)).type,
                    dynamic_typing=self._params.default(n) is None,
                )
                for n in request.names
            ]
        return response

    def _get(self, request: Any, response: Any) -> Any:
        if all(self._params.has(n) for n in request.names):
            response.values = [self._value_msg(n, self._params.get(n)) for n in request.names]
        return response

    def _get_types(self, request: Any, response: Any) -> Any:
        if all(self._params.has(n) for n in request.names):
            response.types = [self._value_msg(n, self._params.get(n)).type for n in request.names]
        return response

    def _list(self, request: Any, response: Any) -> Any:
        names, prefixes = list_names(self._params.names(), list(request.prefixes), request.depth)
        response.result.names, response.result.prefixes = names, prefixes
        return response

    def _set(self, request: Any, response: Any) -> Any:
        response.results = [self._apply([p]) for p in request.parameters]
        return response

    def _set_atomically(self, request: Any, response: Any) -> Any:
        response.result = self._apply(list(request.parameters))
        return response
