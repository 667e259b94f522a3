"""policy_node: observation -> action (rl_control_msgs/Action) with the policy version.

The policy comes from `checkpoint` (deploy) or from the trainer's policy_update (swapped in
between episodes, or at once with `swap_mid_episode` in training, acting again on the newest
observation). Publishes solve_time (std_msgs/Float64MultiArray, s), deadline_misses
(std_msgs/UInt32, the count so far, at each miss) and, for planners that return a plan,
plan_markers (visualization_msgs/MarkerArray) for rviz; logs a status line every
`status_period` s. The logic is :class:`rl_control.roles.policy_role.PolicyRole`'s.
"""

from __future__ import annotations

import sys
import time
from typing import Any

from rl_control.roles.params import POLICY_NODE, declare
from rl_control.roles.policy_role import policy_role_from_params
from rl_control.roles.policy_server import ActionResult
from rl_control.ros import middleware as mw
from rl_control.ros.launch.checks import exit_on_config_error
from rl_control.ros.nodes import messages as m
from rl_control.ros.nodes.realtime import apply_node_realtime
from rl_control.ros.run_loop import Unit, main_argv, run_units


class PolicyNode:
    """Topics and parameters of the policy node, bound to a
    :class:`~rl_control.roles.policy_role.PolicyRole`."""

    def __init__(self, node: mw.Node) -> None:
        self.node, self.msgs, p = node, m.Messages(), declare(node, POLICY_NODE)
        self.p, self.markers, self.plan_frame = p, p["publish_markers"], p["plan_frame"]
        import torch

        torch.set_num_threads(p["num_threads"])
        log = node.get_logger()
        self.role = policy_role_from_params(p, time.monotonic, log.info, log.warn, log.error)
        self._misses_published = 0
        self.Action = mw.message_class("rl_control_msgs/msg/Action")
        pub = node.create_publisher
        self.action_pub = pub("rl_control_msgs/msg/Action", "action", 10)
        self.solve_pub = pub("std_msgs/msg/Float64MultiArray", "solve_time", 10)
        self.misses_pub = pub("std_msgs/msg/UInt32", "deadline_misses", 10)
        self.marker_pub = pub("visualization_msgs/msg/MarkerArray", "plan_markers", 1)
        node.create_subscription(
            "rl_control_msgs/msg/Observation", "observation", self.on_observation, 10
        )
        node.create_subscription(
            "rl_control_msgs/msg/PolicyUpdate", "policy_update", self.on_update, mw.QOS_LATCHED
        )
        apply_node_realtime(node, p)  # last: the DDS threads exist, all are raised

    def on_observation(self, msg: Any) -> None:
        stamp = mw.stamp_to_seconds(msg.header.stamp)
        state = mw.to_numpy(msg.state)
        self.publish(
            self.role.on_observation(msg.step, msg.episode, state, stamp, self.node.now()),
            msg.header.stamp,
        )

    def on_update(self, msg: Any) -> None:
        result = self.role.on_update(self.msgs.policy_update(msg), self.node.now())
        if result is not None:
            self.publish(result, mw.seconds_to_stamp(self.role.last_stamp))

    def publish(self, result: ActionResult | None, stamp: Any) -> None:
        misses = self.role.deadline_misses
        if misses != self._misses_published:  # a held action publishes nothing else
            self._misses_published = misses
            self.misses_pub.publish(mw.message_class("std_msgs/msg/UInt32")(data=misses))
        if result is None:
            return
        out = m.action(self.Action(), result, stamp)
        self.action_pub.publish(out)
        if self.solve_pub.get_subscription_count():  # skip the per-step cost: nobody listens
            solve = mw.message_class("std_msgs/msg/Float64MultiArray")()
            solve.data = [result.solve_time]
            self.solve_pub.publish(solve)
        markers = self.markers and "plan" in result.info
        if markers and self.marker_pub.get_subscription_count():
            self.marker_pub.publish(m.plan_markers(result, stamp, self.plan_frame))


def compose(argv: list[str]) -> Unit:
    node = mw.create_node("policy_node", argv)
    policy = PolicyNode(node)
    return Unit(node, policy.role.tick, 0.05, policy.role.close)


@exit_on_config_error("policy_node")
def main(argv: list[str] | None = None) -> int:
    return run_units([compose(main_argv(argv))])


if __name__ == "__main__":
    sys.exit(main())
