"""Embedded-back-end latency bench: round trip of a small message between two processes.

Run: python bench/middleware_latency.py [--count 2000] [--seconds 3]
Prints p50/p99 round-trip latency (std_msgs/String ping -> echo process -> pong) and the
pipelined round-trip rate (messages/s) with a window of outstanding pings, then the same
latency around a loop of three processes (ping -> echo -> echo -> pong: the shape of a
lock-step, bridge -> estimator -> policy -> bridge), and writes them to
bench/results/middleware_latency.md (target: round-trip p50 <= 0.5 ms).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
from results_table import RunInfo, start_run, verdict, write_markdown

TARGET_P50_MS = 0.5  # embedded round trip, two processes


def echo(topic_in: str, topic_out: str) -> None:
    """Child: echo topic_in to topic_out until stdin closes."""
    from rl_control.ros import middleware as mw

    node = mw.create_node(f"bench_echo{os.getpid()}")
    pong = node.create_publisher("std_msgs/msg/String", topic_out, mw.QoS(depth=100))
    node.create_subscription("std_msgs/msg/String", topic_in, pong.publish, mw.QoS(depth=100))
    threading.Thread(target=lambda: (sys.stdin.read(), mw.shutdown()), daemon=True).start()
    print("ready", flush=True)
    mw.spin(node)


def measure(count: int, seconds: float, window: int) -> dict[str, float]:
    """Parent: ping-pong latency, then pipelined throughput (seconds > 0)."""
    from rl_control.ros import middleware as mw

    node = mw.create_node("bench_client")
    cls = mw.message_class("std_msgs/msg/String")
    received: list[str] = []
    ping = node.create_publisher("std_msgs/msg/String", "/bench/ping", mw.QoS(depth=100))
    node.create_subscription(
        "std_msgs/msg/String", "/bench/pong", lambda m: received.append(m.data), mw.QoS(depth=100)
    )
    end = time.monotonic() + 15
    while not received and time.monotonic() < end:  # both directions discovered
        ping.publish(cls(data="warmup"))
        mw.spin_once(node, 0.05)
    if not received:
        raise RuntimeError("echo process never answered")
    mw.spin_once(node, 0.2)
    received.clear()
    rtts = []
    for i in range(count):
        tag = str(i)
        t0 = time.perf_counter()
        ping.publish(cls(data=tag))
        while not received or received[-1] != tag:
            mw.spin_once(node, 1.0)
        rtts.append(time.perf_counter() - t0)
    received.clear()
    sent = 0
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < seconds or not sent:
        while sent - len(received) < window:
            ping.publish(cls(data="x"))
            sent += 1
        mw.spin_once(node, 0.01)
    elapsed = time.perf_counter() - t0
    rtt_ms = np.array(rtts) * 1e3
    node.destroy()
    return {
        "p50_ms": float(np.percentile(rtt_ms, 50)),
        "p99_ms": float(np.percentile(rtt_ms, 99)),
        "mean_ms": float(rtt_ms.mean()),
        "round_trips_per_s": len(received) / elapsed,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--window", type=int, default=8)
    parser.add_argument("--echo", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.echo:
        echo(*args.echo)
        return
    run = start_run()
    env = dict(os.environ, RL_CONTROL_MIDDLEWARE="embedded")
    env.setdefault("ROS_DOMAIN_ID", str(10 + os.getpid() % 220))
    os.environ.update(RL_CONTROL_MIDDLEWARE="embedded", ROS_DOMAIN_ID=env["ROS_DOMAIN_ID"])
    result = around(["/bench/ping", "/bench/pong"], env, args.count, args.seconds, args.window)
    loop = around(["/bench/ping", "/bench/hop", "/bench/pong"], env, args.count, 0.0, 1)
    result.update({f"loop3_{k}": v for k, v in loop.items() if k.endswith("_ms")})
    from rl_control.ros import middleware as mw

    mw.shutdown()
    print(
        f"embedded back-end, 2 processes, std_msgs/String: round trip p50 "
        f"{result['p50_ms']:.3f} ms, p99 {result['p99_ms']:.3f} ms, mean {result['mean_ms']:.3f}"
        f" ms over {args.count}; pipelined (window {args.window}) "
        f"{result['round_trips_per_s']:.0f} round trips/s"
        f" = {2 * result['round_trips_per_s']:.0f} messages/s"
    )
    print(
        f"loop through 3 processes: p50 {result['loop3_p50_ms']:.3f} ms, p99 "
        f"{result['loop3_p99_ms']:.3f} ms, mean {result['loop3_mean_ms']:.3f} ms"
    )
    print(f"wrote {write_table(result, args, run)}")


def around(
    topics: list[str], env: dict[str, str], count: int, seconds: float, window: int
) -> dict[str, float]:
    """measure() with one echo process per hop between consecutive topics."""
    children = [
        subprocess.Popen(
            [sys.executable, __file__, "--echo", a, b],
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        for a, b in zip(topics, topics[1:], strict=False)
    ]
    try:
        for child in children:
            if child.stdout.readline().strip() != "ready":
                raise RuntimeError("echo process failed to start")
        return measure(count, seconds, window)
    finally:
        for child in children:
            child.stdin.close()
            child.wait(timeout=10)


def write_table(result: dict[str, float], args: argparse.Namespace, run: RunInfo) -> Path:
    """bench/results/middleware_latency.md from the measured figures."""
    rate = result["round_trips_per_s"]
    rows = [
        ["round trip p50", f"{result['p50_ms']:.3f} ms", f"≤ {TARGET_P50_MS} ms",
         verdict(result["p50_ms"] <= TARGET_P50_MS)],
        ["round trip p99", f"{result['p99_ms']:.3f} ms", "", ""],
        ["round trip mean", f"{result['mean_ms']:.3f} ms", "", ""],
        ["loop through 3 processes p50", f"{result['loop3_p50_ms']:.3f} ms", "", ""],
        ["loop through 3 processes p99", f"{result['loop3_p99_ms']:.3f} ms", "", ""],
        [f"pipelined, window {args.window}", f"{rate:.0f} round trips/s = {2 * rate:.0f} msgs/s",
         "", ""],
    ]  # fmt: skip
    return write_markdown(
        "middleware_latency",
        "Embedded back-end: round trip between two processes",
        ["metric", "value", "target", "result"],
        rows,
        [f"std_msgs/String ping -> echo process -> pong, {args.count} sequential round trips, "
         f"then {args.seconds:g} s pipelined with {args.window} pings outstanding.",
         "loop through 3 processes: ping -> echo -> echo -> pong, the lock-step's shape "
         "(bridge -> estimator -> policy -> bridge) without any work at the nodes: its p50 "
         "bounds graph training from above at 1 / p50 steps per second."],
        run=run,
    )  # fmt: skip


if __name__ == "__main__":
    main()
