"""Per-message cost of the embedded back-end's XCDR1 codec (micro-benchmark, one process).

Run: python bench/codec_speed.py [--repeat 5] [--profile TYPE]
For the messages a lock-step env step sends (JointState, Observation, Action, Odometry,
TFMessage, Clock, Reward) it prints µs per message to serialize and to deserialize with
cyclonedds-python's own serializer and with the generated codec (what DataWriter.write and
DataReader.take call), and for publish -> take through one embedded node (a DataWriter and a
DataReader in one participant: no network, only the per-message Python work) with the codec
in use. RL_CONTROL_CDR_CODEC=cyclonedds switches the generated codec off, for the "before"
publish -> take figures. --profile TYPE runs cProfile over publish + take of that message.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import time
from collections.abc import Callable
from typing import Any

import numpy as np

os.environ.setdefault("RL_CONTROL_MIDDLEWARE", "embedded")
os.environ.setdefault("ROS_DOMAIN_ID", str(10 + os.getpid() % 220))
os.environ.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")

from results_table import start_run, write_markdown  # noqa: E402

from rl_control.ros.middleware.embedded import create_node, shutdown  # noqa: E402
from rl_control.ros.middleware.idltypes import TypeFactory  # noqa: E402

Builder = Callable[[TypeFactory], Any]


def _header(types: TypeFactory, frame: str = "world") -> Any:
    header = types.message_class("std_msgs/msg/Header")()
    header.stamp.sec, header.stamp.nanosec, header.frame_id = 12, 345_000_000, frame
    return header


def joint_state(n: int) -> Builder:
    def build(types: TypeFactory) -> Any:
        rng = np.random.default_rng(n)
        return types.message_class("sensor_msgs/msg/JointState")(
            header=_header(types, "base"),
            name=[f"joint_{i}" for i in range(n)],
            position=rng.normal(size=n),
            velocity=rng.normal(size=n),
            effort=rng.normal(size=n),
        )

    return build


def observation(n: int) -> Builder:
    def build(types: TypeFactory) -> Any:
        return types.message_class("rl_control_msgs/msg/Observation")(
            header=_header(types), step=1234, episode=7,
            names=[f"state_{i}" for i in range(n)],
            state=np.random.default_rng(n).normal(size=n),
        )  # fmt: skip

    return build


def action(n: int) -> Builder:
    def build(types: TypeFactory) -> Any:
        values = np.random.default_rng(n).normal(size=n)
        return types.message_class("rl_control_msgs/msg/Action")(
            header=_header(types), step=1234, episode=7, policy_version=3,
            action=values, mean=values * 0.5, log_prob=-1.25,
        )  # fmt: skip

    return build


def odometry(types: TypeFactory) -> Any:
    odom = types.message_class("nav_msgs/msg/Odometry")(
        header=_header(types, "odom"), child_frame_id="base_link"
    )
    odom.pose.pose.position.x, odom.pose.pose.orientation.w = 0.3, 1.0
    odom.twist.twist.linear.x, odom.twist.twist.angular.z = 0.1, -0.2
    odom.pose.covariance = np.eye(6).ravel() * 1e-3
    odom.twist.covariance = np.eye(6).ravel() * 1e-2
    return odom


def tf_message(types: TypeFactory) -> Any:
    tf = types.message_class("geometry_msgs/msg/TransformStamped")(
        header=_header(types, "odom"), child_frame_id="base_link"
    )
    tf.transform.translation.x, tf.transform.rotation.w = 0.3, 1.0
    return types.message_class("tf2_msgs/msg/TFMessage")(transforms=[tf])


def clock(types: TypeFactory) -> Any:
    return types.message_class("rosgraph_msgs/msg/Clock")(clock=_header(types).stamp)


def reward(types: TypeFactory) -> Any:
    return types.message_class("rl_control_msgs/msg/Reward")(
        header=_header(types), step=1234, episode=7, reward=0.75
    )


CASES: dict[str, Builder] = {
    "JointState 2 joints": joint_state(2),
    "JointState 12 joints": joint_state(12),
    "Observation 4 floats": observation(4),
    "Observation 40 floats": observation(40),
    "Action 1 dim": action(1),
    "Action 4 dims": action(4),
    "Odometry": odometry,
    "TFMessage 1 transform": tf_message,
    "Clock": clock,
    "Reward": reward,
}


def best_of(fn: Callable[[], Any], repeat: int, number: int) -> float:
    """Least µs per call over `repeat` timed loops (least = least disturbed by other jobs)."""
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        for _ in range(number):
            fn()
        best = min(best, (time.perf_counter() - t0) / number)
    return best * 1e6


class Loopback:
    """A publisher and a subscription on one topic of one embedded node."""

    def __init__(self, node: Any, type_name: str, topic: str) -> None:
        self.got: list[Any] = []
        self.pub = node.create_publisher(type_name, topic, 10)
        self.sub = node.create_subscription(type_name, topic, self.got.append, 10)

    def once(self, msg: Any) -> Any:
        """publish, then take through the subscription (the node executor's dispatch)."""
        self.pub.publish(msg)
        self.sub.dispatch()
        return self.got.pop()


def codec_times(msg: Any, repeat: int, number: int) -> tuple[float, ...]:
    """µs to serialize and deserialize msg with cyclonedds-python's serializer, then with the
    class's own methods (the generated codec when installed)."""
    cls = type(msg)
    idl, data = cls.__idl__, msg.serialize(use_version_2=False)
    times = [
        best_of(lambda: idl.serialize(msg, use_version_2=False), repeat, number),
        best_of(lambda: idl.deserialize(data), repeat, number),
    ]
    if hasattr(cls, "__xcdr__"):
        times.append(best_of(lambda: msg.serialize(use_version_2=False), repeat, number))
        times.append(best_of(lambda: cls.deserialize(data), repeat, number))
    return tuple(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--number", type=int, default=2000)
    parser.add_argument("--profile", choices=sorted(CASES), default=None)
    args = parser.parse_args()
    run = start_run(["RL_CONTROL_CDR_CODEC"])
    node = create_node("codec_speed", [])
    types = node._ctx.types  # the classes the node's endpoints use
    try:
        if args.profile:
            profile(node, types, args.profile, args.number * 5)
            return
        fast = hasattr(types.message_class("std_msgs/msg/Empty"), "__xcdr__")
        codec = "generated" if fast else "cyclonedds"
        print(f"load average {os.getloadavg()[0]:.1f}; µs per message, best of {args.repeat}; "
              f"publish+take with the {codec} codec")  # fmt: skip
        print(f"{'':29} {'cyclonedds':>15} {'generated':>15}")
        print(f"{'message':22} {'bytes':>6} {'ser':>7} {'deser':>7} {'ser':>7} {'deser':>7} "
              f"{'speed-up':>9} {'publish+take':>13}")  # fmt: skip
        rows = []
        for i, (label, build) in enumerate(CASES.items()):
            msg = build(types)
            times = codec_times(msg, args.repeat, args.number)
            loop = Loopback(node, type(msg).__ros_type__, f"/codec_speed/t{i}")
            wire = best_of(lambda msg=msg, loop=loop: loop.once(msg), args.repeat, args.number)
            fast = "".join(f" {t:7.1f}" for t in times[2:]) or f" {'-':>7} {'-':>7}"
            ratio = f"{sum(times[:2]) / sum(times[2:]):8.1f}x" if times[2:] else f"{'-':>9}"
            print(f"{label:22} {len(msg.serialize()):6d} {times[0]:7.1f} {times[1]:7.1f}{fast} "
                  f"{ratio} {wire:13.1f}")  # fmt: skip
            rows.append([label, len(msg.serialize()), *(f"{t:.1f}" for t in times[:2]),
                         *(f"{t:.1f}" for t in (times[2:] or (float("nan"),) * 2)),
                         ratio.strip(), f"{wire:.1f}"])  # fmt: skip
        path = write_markdown(
            "codec_speed", "Embedded back-end: µs per message, XCDR1 codec",
            ["message", "bytes", "cyclonedds ser", "cyclonedds deser", "generated ser",
             "generated deser", "speed-up", f"publish+take ({codec})"],
            rows,
            [f"best of {args.repeat} loops of {args.number}; publish+take: one node, a writer "
             "and a reader in one participant (no network), through the node's dispatch."],
            run=run,
        )  # fmt: skip
        print(f"wrote {path}")
    finally:
        shutdown()


def profile(node: Any, types: TypeFactory, label: str, number: int) -> None:
    """cProfile of publish + take for one message type."""
    msg = CASES[label](types)
    loop = Loopback(node, type(msg).__ros_type__, "/codec_speed/profile")
    prof = cProfile.Profile()
    prof.enable()
    for _ in range(number):
        loop.once(msg)
    prof.disable()
    pstats.Stats(prof).sort_stats("tottime").print_stats(25)


if __name__ == "__main__":
    main()
