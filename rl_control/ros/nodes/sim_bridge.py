"""sim_bridge: a task's PyBullet world on topics (lock-step for training, or free-running).

Publishes /clock (at most every `clock_period` wall seconds), joint_states (the lock-step
tag in header.frame_id), imu, ground_truth/odom and /tf odom -> <base_frame>_ground_truth
(floating bases only; the estimator publishes odom -> base_frame); takes
`action` (rl_control_msgs/Action) or, if `command_topic` is set, ros2_control-style
std_msgs/Float64MultiArray commands; serves `reset` (std_srvs/Trigger, message
"step=<k>;episode=<e>") and `pause` (std_srvs/SetBool). With `trainer_gate` (training) a
lock-step also waits for the trainer's `step_gate` (rl_control_msgs/StepGate) grant.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from typing import Any

from rl_control.envs.registration import make_env
from rl_control.graph.bridge import LockStepBridge
from rl_control.graph.sensors import SensorReadings, encode_step_tag
from rl_control.robot.pybullet import PyBulletRobot
from rl_control.ros import middleware as mw
from rl_control.ros.nodes import messages as m
from rl_control.tasks.registry import GRAPH_FACTS, make_task, require_task_facts


def main(argv: Sequence[str] | None = None) -> int:
    node = mw.create_node("sim_bridge", sys.argv[1:] if argv is None else argv)
    msgs = m.Messages()
    p = {k: node.declare_parameter(k, d) for k, d in (
        ("task", "soft_wall_cartpole"), ("seed", 0), ("lock_step", True), ("step_timeout", 1.0),
        ("real_time_factor", 1.0), ("reset_on_termination", False), ("gui", False),
        ("command_topic", ""), ("odom_frame", "odom"), ("base_frame", "base_link"),
        ("clock_period", 0.05), ("trainer_gate", False),
    )}  # fmt: skip
    require_task_facts(p["task"], GRAPH_FACTS, "the sim bridge")
    task = make_task(p["task"])
    env = make_env(p["task"], render_mode="human" if p["gui"] else None)
    robot = PyBulletRobot(env, task.joint_names, task.dt)
    lock_step = bool(p["lock_step"])
    bridge = LockStepBridge(
        robot, task, timeout=float(p["step_timeout"]), hold_on_miss=True,
        gated=lock_step and bool(p["trainer_gate"]),
    )  # fmt: skip
    pubs = {
        "clock": node.create_publisher("rosgraph_msgs/msg/Clock", "/clock", mw.QOS_CLOCK),
        "js": node.create_publisher("sensor_msgs/msg/JointState", "joint_states", 10),
        "imu": node.create_publisher("sensor_msgs/msg/Imu", "imu", 10),
        "odom": node.create_publisher("nav_msgs/msg/Odometry", "ground_truth/odom", 10),
        "tf": node.create_publisher("tf2_msgs/msg/TFMessage", "/tf", 10),
    }

    last_pub, last_clock = [time.monotonic()], [0.0]

    def publish(r: SensorReadings | None) -> None:
        if r is None:
            return
        last_pub[0] = time.monotonic()
        if not lock_step and p["reset_on_termination"]:
            state = task.estimate(r)
            if task.terminated(state) or bridge.episode_steps >= task.max_steps:
                r = bridge.reset()
        if time.monotonic() - last_clock[0] >= p["clock_period"] or bridge.episode_steps == 0:
            # /clock goes to every node; throttled to wall-clock rate it stops costing a
            # delivery per node and step (stamps on every message stay exact)
            last_clock[0] = time.monotonic()
            pubs["clock"].publish(msgs.clock(r.stamp))
        if r.imu is not None:
            pubs["imu"].publish(msgs.imu(r, p["base_frame"]))
        if r.base is not None:
            truth = f"{p['base_frame']}_ground_truth"  # the estimator owns odom -> base_frame
            pubs["odom"].publish(msgs.odometry(r.stamp, r.base, p["odom_frame"], truth))
            pubs["tf"].publish(msgs.tf(r.stamp, r.base, p["odom_frame"], truth))
        pubs["js"].publish(msgs.joint_state(r))  # last: the estimator fires on joint states

    def on_action(msg: Any) -> None:
        if lock_step:
            publish(bridge.on_action(msg.step, mw.to_numpy(msg.action), msg.policy_version))
        else:
            bridge.command(mw.to_numpy(msg.action))

    def on_command(msg: Any) -> None:
        action = mw.to_numpy(msg.data)
        if lock_step:
            publish(bridge.on_action(bridge.step, action))
        else:
            bridge.command(action)

    def on_reset(_: Any, response: Any) -> Any:
        r = bridge.reset()
        publish(r)
        response.success, response.message = True, encode_step_tag(r.step, r.episode)
        return response

    def on_pause(request: Any, response: Any) -> Any:
        publish(bridge.pause(bool(request.data)))
        response.success, response.message = True, "paused" if bridge.paused else "running"
        return response

    node.create_subscription("rl_control_msgs/msg/Action", "action", on_action, 10)
    if bridge.gated:
        node.create_subscription(
            "rl_control_msgs/msg/StepGate", "step_gate",
            lambda msg: publish(bridge.on_grant(msg.step, msg.episode, msg.min_policy_version)),
            10,
        )  # fmt: skip
    if p["command_topic"]:
        node.create_subscription(
            "std_msgs/msg/Float64MultiArray", p["command_topic"], on_command, 10
        )
    node.create_service("std_srvs/srv/Trigger", "reset", on_reset)
    node.create_service("std_srvs/srv/SetBool", "pause", on_pause)
    log = node.get_logger()
    publish(bridge.reset(seed=int(p["seed"])))
    log.info(f"{p['task']} bridge up ({'lock-step' if lock_step else 'free-running'})")
    period = task.dt / p["real_time_factor"] if p["real_time_factor"] > 0 else 0.0
    next_step = time.monotonic()
    try:
        while mw.ok():
            node.spin_once(
                0.02 if lock_step else max(0.0, min(0.02, next_step - time.monotonic()))
            )
            if lock_step:
                misses = bridge.misses
                stepped = bridge.poll()
                if stepped is not None:
                    if bridge.misses > misses:
                        log.warn(f"no action for step {stepped.step - 1}: held the last one")
                    publish(stepped)
                elif not bridge.paused and time.monotonic() - last_pub[0] > bridge.timeout / 4:
                    publish(bridge.readings)  # a late subscriber gets the step again (idempotent)
            elif time.monotonic() >= next_step:
                next_step = max(next_step + period, time.monotonic() - period)
                publish(bridge.step_free())
    except KeyboardInterrupt:  # Ctrl-C or the launch shutting down: a normal way to stop
        pass
    finally:
        mw.hold_interrupts()
        robot.close()
        node.destroy()
        mw.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
