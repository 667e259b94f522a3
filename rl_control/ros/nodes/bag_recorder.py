"""bag_recorder: the graph's topics into an MCAP bag (`rl-control record`, `record:=true`).

Subscribes `topics` (space-separated, `name` from rl_control.roles.topics or
`name:pkg/msg/Type`; empty = every topic of the table) with the table's QoS, so latched
topics (robot_description, /tf_static, policy_update) arrive even when published before the
recorder started; writes ROS 2 CDR messages through mcap-ros2-support
(:mod:`rl_control.ros.bag`) and moves the finished file to `output` on exit (Ctrl-C, the
launch's stop or `duration`).
"""

from __future__ import annotations

import sys
import time

from rl_control.roles.params import BAG_RECORDER, declare
from rl_control.ros import bag
from rl_control.ros import middleware as mw
from rl_control.ros.launch.checks import exit_on_config_error
from rl_control.ros.run_loop import main_argv, run_node


class BagRecorderNode:
    """One bag being written from the subscribed topics."""

    def __init__(self, node: mw.Node) -> None:
        self.p = p = declare(node, BAG_RECORDER)
        self.output = p["output"] or time.strftime("bags/rl_control_%Y%m%d-%H%M%S.mcap")
        topics = bag.resolve_topics(p["topics"].split())
        self.writer = bag.BagWriter(self.output)
        bag.Recorder(node, topics, self.writer)
        self.duration, self.start = p["duration"], time.monotonic()
        self.node, self.topics = node, topics

    def tick(self) -> int | None:
        """Exit code 0 once `duration` (wall s) has passed, if one is set."""
        if self.duration > 0 and time.monotonic() - self.start >= self.duration:
            return 0
        return None

    def close(self) -> None:
        self.writer.close()
        print(f"bag_recorder: wrote {self.writer.count} messages to {self.output}", flush=True)


@exit_on_config_error("bag_recorder")
def main(argv: list[str] | None = None) -> int:
    node = mw.create_node("bag_recorder", main_argv(argv))
    recorder = BagRecorderNode(node)
    node.get_logger().info(f"recording {len(recorder.topics)} topics to {recorder.output}")
    return run_node(node, recorder.tick, 0.05, recorder.close)


if __name__ == "__main__":
    sys.exit(main())
