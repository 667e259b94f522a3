"""A managed (lifecycle) node's services over the middleware facade, on either back-end:
``~/change_state``, ``~/get_state``, ``~/get_available_transitions`` (lifecycle_msgs, what
``ros2 lifecycle`` calls) and ``~/transition_event``, bound to a ROS-free lifecycle
(:class:`rl_control.roles.hardware_lifecycle.BridgeLifecycle`)."""

from __future__ import annotations

from typing import Any

from rl_control.roles.hardware_lifecycle import STATES, TRANSITIONS, BridgeLifecycle
from rl_control.ros import middleware as mw


class LifecycleServices:
    """Serves ``lifecycle``'s transitions; each one taken is logged and published."""

    def __init__(self, node: mw.Node, lifecycle: BridgeLifecycle) -> None:
        self.node, self.lifecycle, self.log = node, lifecycle, node.get_logger().info
        self._event = mw.message_class("lifecycle_msgs/msg/TransitionEvent")
        self._events = node.create_publisher(
            "lifecycle_msgs/msg/TransitionEvent", "~/transition_event", 10
        )
        node.create_service("lifecycle_msgs/srv/ChangeState", "~/change_state", self.on_change)
        node.create_service("lifecycle_msgs/srv/GetState", "~/get_state", self.on_get)
        node.create_service("lifecycle_msgs/srv/GetAvailableTransitions",
                            "~/get_available_transitions", self.on_available)  # fmt: skip
        self._description = mw.message_class("lifecycle_msgs/msg/TransitionDescription")

    def on_change(self, request: Any, response: Any) -> Any:
        life, start = self.lifecycle, self.lifecycle.state
        transition = life.resolve(int(request.transition.id), str(request.transition.label))
        response.success, why = life.change(transition)
        self.log(why)
        if response.success:
            # rcl_lifecycle leaves timestamp 0; the node's clock in ns says when it happened
            event = self._event(timestamp=round(self.node.now() * 1e9))
            event.transition.id, event.transition.label = transition, TRANSITIONS[transition][0]
            event.start_state.id, event.start_state.label = start, STATES[start]
            event.goal_state.id, event.goal_state.label = life.state, life.label
            self._events.publish(event)
        return response

    def on_get(self, _: Any, response: Any) -> Any:
        response.current_state.id = self.lifecycle.state
        response.current_state.label = self.lifecycle.label
        return response

    def on_available(self, _: Any, response: Any) -> Any:
        out = []
        for transition, (label, start, goal) in TRANSITIONS.items():
            if start == self.lifecycle.state:
                item = self._description()
                item.transition.id, item.transition.label = transition, label
                item.start_state.id, item.start_state.label = start, STATES[start]
                item.goal_state.id, item.goal_state.label = goal, STATES[goal]
                out.append(item)
        response.available_transitions = out
        return response
