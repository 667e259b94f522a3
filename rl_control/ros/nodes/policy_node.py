"""policy_node: observation -> action (rl_control_msgs/Action) with the policy version.

The policy comes from `checkpoint` (deploy) or from the trainer's policy_update (swapped in
between episodes, or at once with `swap_mid_episode` in training, acting again on the newest
observation). Publishes solve_time (std_msgs/Float64MultiArray, s) and,
for planners that return a plan, plan_markers (visualization_msgs/MarkerArray) for rviz.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from rl_control.graph.policy_server import ActionResult, PolicyServer, task_observation
from rl_control.ros import middleware as mw
from rl_control.ros.nodes import messages as m


def _markers(result: ActionResult, stamp: Any, frame: str) -> Any:
    """The plan [H, state_dim] as a line strip through its first two state entries."""
    marker = mw.message_class("visualization_msgs/msg/Marker")()
    marker.header.stamp, marker.header.frame_id = stamp, frame
    marker.ns, marker.id, marker.type = "mpc_plan", 0, 4  # LINE_STRIP
    marker.scale.x = 0.01
    marker.color.r, marker.color.g, marker.color.a = 1.0, 0.3, 1.0
    marker.pose.orientation.w = 1.0
    Point = mw.message_class("geometry_msgs/msg/Point")
    plan = np.asarray(result.info["plan"], dtype=np.float64).reshape(len(result.info["plan"]), -1)
    marker.points = [
        Point(x=float(s[0]), y=float(s[1]) if s.size > 1 else 0.0, z=0.0) for s in plan
    ]
    out = mw.message_class("visualization_msgs/msg/MarkerArray")()
    out.markers = [marker]
    return out


def main(argv: Sequence[str] | None = None) -> int:
    node = mw.create_node("policy_node", sys.argv[1:] if argv is None else argv)
    msgs = m.Messages()
    p = {k: node.declare_parameter(k, d) for k, d in (
        ("checkpoint", ""), ("deterministic", False), ("max_observation_age", 0.1),
        ("policy_wait_timeout", 60.0), ("publish_markers", True), ("device", "cpu"),
        ("num_threads", 1), ("task", ""), ("plan_frame", "odom"), ("swap_mid_episode", False),
        ("seed", -1),
    )}  # fmt: skip
    import torch

    torch.set_num_threads(int(p["num_threads"]))
    observe = task_observation(p["task"], {}) if p["task"] else None
    policy = None
    if p["checkpoint"]:
        from rl_control.training.checkpoint import load_checkpoint, policy_from_record

        checkpoint = load_checkpoint(p["checkpoint"])
        policy = policy_from_record(checkpoint["policy"])
        if observe is None:  # the checkpoint knows the task it was trained on
            observe = task_observation(checkpoint.get("task", ""), checkpoint.get("env"))
    server = PolicyServer(
        policy, 0, p["deterministic"], p["max_observation_age"], observe,
        swap_mid_episode=p["swap_mid_episode"],
        seed=int(p["seed"]) if int(p["seed"]) >= 0 else None,  # sampled actions repeat
    )  # fmt: skip
    Action = mw.message_class("rl_control_msgs/msg/Action")
    action_pub = node.create_publisher("rl_control_msgs/msg/Action", "action", 10)
    solve_pub = node.create_publisher("std_msgs/msg/Float64MultiArray", "solve_time", 10)
    marker_pub = node.create_publisher("visualization_msgs/msg/MarkerArray", "plan_markers", 1)
    log = node.get_logger()

    def on_observation(msg: Any) -> None:
        stamp = mw.stamp_to_seconds(msg.header.stamp)
        try:
            result = server.act(msg.step, msg.episode, mw.to_numpy(msg.state), stamp, node.now())
        except ValueError as err:  # e.g. an observation that does not fit the policy
            log.error(f"cannot act on step {msg.step}: {err}")
            return
        publish(result, msg.header.stamp)

    def publish(result: ActionResult | None, stamp: Any) -> None:
        if result is None:
            return
        out = Action()
        out.header.stamp = stamp
        out.step, out.episode, out.policy_version = (
            result.step,
            result.episode,
            result.policy_version,
        )
        out.action, out.mean = [float(v) for v in result.action], [float(v) for v in result.mean]
        out.log_prob = result.log_prob
        action_pub.publish(out)
        if solve_pub.get_subscription_count():  # skip the per-step cost when nobody listens
            solve = mw.message_class("std_msgs/msg/Float64MultiArray")()
            solve.data = [result.solve_time]
            solve_pub.publish(solve)
        if p["publish_markers"] and "plan" in result.info and marker_pub.get_subscription_count():
            marker_pub.publish(_markers(result, stamp, p["plan_frame"]))

    def on_update(msg: Any) -> None:
        update = msgs.policy_update(msg)
        if server.offer(update):
            log.info(f"policy v{update.version} received ({len(update.data)} bytes)")
            if server.swap_mid_episode and server.last_stamp is not None:
                publish(server.act_again(node.now()), mw.seconds_to_stamp(server.last_stamp))
        else:
            log.warn(
                f"policy update v{update.version} rejected ({server.rejected_updates} so far)"
            )

    node.create_subscription("rl_control_msgs/msg/Observation", "observation", on_observation, 10)
    node.create_subscription(
        "rl_control_msgs/msg/PolicyUpdate", "policy_update", on_update, mw.QOS_LATCHED
    )
    waited_since = time.monotonic()
    try:
        while mw.ok():
            node.spin_once(0.05)
            if (
                server.policy is None
                and time.monotonic() - waited_since > p["policy_wait_timeout"]
            ):
                log.error(
                    f"no policy after {p['policy_wait_timeout']} s (no checkpoint, no update)"
                )
                return 1
    except KeyboardInterrupt:  # Ctrl-C or the launch shutting down: a normal way to stop
        pass
    finally:
        mw.hold_interrupts()
        if server.stale_observations:
            log.info(f"{server.stale_observations} stale observations skipped")
        node.destroy()
        mw.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
