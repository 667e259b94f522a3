"""state_estimator: joint_states (+ imu) -> observation (rl_control_msgs/Observation).

The observation keeps the sensor timestamp and the bridge's lock-step (step, episode) tag;
ground-truth odometry from the bridge, where there is one, is relayed as odom and /tf.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

from rl_control.graph.estimator import StateEstimator
from rl_control.ros import middleware as mw
from rl_control.ros.nodes import messages as m
from rl_control.tasks.registry import GRAPH_FACTS, make_task, require_task_facts


def main(argv: Sequence[str] | None = None) -> int:
    node = mw.create_node("state_estimator", sys.argv[1:] if argv is None else argv)
    msgs = m.Messages()
    p = {k: node.declare_parameter(k, d) for k, d in (
        ("task", "soft_wall_cartpole"), ("max_input_age", 0.05), ("publish_tf", True),
        ("odom_frame", "odom"), ("base_frame", "base_link"),
    )}  # fmt: skip
    require_task_facts(p["task"], GRAPH_FACTS, "the state estimator")
    estimator = StateEstimator(make_task(p["task"]))
    obs_pub = node.create_publisher("rl_control_msgs/msg/Observation", "observation", 10)
    odom_pub = node.create_publisher("nav_msgs/msg/Odometry", "odom", 10)
    tf_pub = (
        node.create_publisher("tf2_msgs/msg/TFMessage", "/tf", 10) if p["publish_tf"] else None
    )
    log = node.get_logger()
    latest_imu: list[Any] = [None]
    latest_odom: list[Any] = [None]
    Observation = mw.message_class("rl_control_msgs/msg/Observation")

    def on_imu(msg: Any) -> None:
        latest_imu[0] = msg

    def on_joint_states(msg: Any) -> None:
        t = mw.stamp_to_seconds(msg.header.stamp)
        # inputs too far apart in time are not fused into one observation
        age = p["max_input_age"]
        imu, odom = (
            x if x is not None and abs(mw.stamp_to_seconds(x.header.stamp) - t) <= age else None
            for x in (latest_imu[0], latest_odom[0])
        )  # fmt: skip
        try:
            est = estimator.estimate(msgs.readings(msg, imu, odom))
        except ValueError as err:  # e.g. the quadruped before its first IMU sample
            log.warn(f"no observation at t={t:.3f}: {err}")
            return
        out = Observation()
        out.header.stamp = msg.header.stamp
        out.step, out.episode = est.step, est.episode
        out.names, out.state = list(est.names), [float(v) for v in est.state]
        obs_pub.publish(out)

    def on_odom(msg: Any) -> None:
        latest_odom[0] = msg
        # simulation: the ground truth is the estimate, republished in the estimator's frames
        msg.header.frame_id, msg.child_frame_id = p["odom_frame"], p["base_frame"]
        odom_pub.publish(msg)
        if tf_pub is not None:
            tfm = mw.message_class("tf2_msgs/msg/TFMessage")()
            transform = mw.message_class("geometry_msgs/msg/TransformStamped")()
            transform.header, transform.child_frame_id = msg.header, msg.child_frame_id
            pose = msg.pose.pose
            t = transform.transform.translation
            t.x, t.y, t.z = pose.position.x, pose.position.y, pose.position.z
            transform.transform.rotation = pose.orientation
            tfm.transforms = [transform]
            tf_pub.publish(tfm)

    node.create_subscription("sensor_msgs/msg/Imu", "imu", on_imu, 10)
    node.create_subscription("sensor_msgs/msg/JointState", "joint_states", on_joint_states, 10)
    node.create_subscription("nav_msgs/msg/Odometry", "ground_truth/odom", on_odom, 10)
    log.info(f"estimating {p['task']} state from joint_states")
    try:
        while mw.ok():
            node.spin_once(0.1)
    except KeyboardInterrupt:  # Ctrl-C or the launch shutting down: a normal way to stop
        pass
    finally:
        mw.hold_interrupts()
        node.destroy()
        mw.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
