"""Peer process for the multi-process middleware tests and the latency bench.

Echoes /ping (std_msgs/String) to /pong, echoes rl_control_msgs/Observation on /obs_in to
/obs_out, serves SetBool on /peer/toggle, publishes /clock = 42.5 s, declares a few parameters
(served by the parameter services), logs 'peer ready' (to /rosout), and exits when its stdin
closes (so a crashed test never leaves it running).
"""

from __future__ import annotations

import sys
import threading

from rl_control.ros import middleware as mw


def main() -> None:
    node = mw.create_node("peer", sys.argv[1:])
    pong = node.create_publisher("std_msgs/msg/String", "/pong")
    obs_out = node.create_publisher("rl_control_msgs/msg/Observation", "/obs_out")
    clock = node.create_publisher("rosgraph_msgs/msg/Clock", "/clock", mw.QOS_CLOCK)
    clock_cls = mw.message_class("rosgraph_msgs/msg/Clock")
    node.create_subscription("std_msgs/msg/String", "/ping", pong.publish)
    node.create_subscription("rl_control_msgs/msg/Observation", "/obs_in", obs_out.publish)

    def toggle(request, response):
        response.success = bool(request.data)
        response.message = "on" if request.data else "off"
        return response

    node.create_service("std_srvs/srv/SetBool", "/peer/toggle", toggle)
    node.create_timer(0.05, lambda: clock.publish(clock_cls(clock=mw.seconds_to_stamp(42.5))))
    for name, default in (("gain", 1.5), ("mode", "fast"), ("limits", [1.0, 2.0]),
                          ("nested.depth", 3), ("nested.deeper.flag", True)):  # fmt: skip
        node.declare_parameter(name, default)
    node.get_logger().info("peer ready")
    threading.Thread(target=lambda: (sys.stdin.read(), mw.shutdown()), daemon=True).start()
    print("ready", flush=True)
    mw.spin(node)


if __name__ == "__main__":
    main()
