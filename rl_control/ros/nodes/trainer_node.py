"""trainer_node: observation + action -> transitions -> algorithm; publishes policy_update
(latched), training_stats and step_gate (the lock-step grants the bridge waits for), resets
and pauses the bridge through its services, writes the run folder, and exits when the step
budget is reached (train.launch.xml then shuts down).
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

from rl_control.graph.policy_server import PolicyUpdate
from rl_control.graph.session import build_graph_trainer
from rl_control.graph.trainer import ActionIn, TrainerHooks
from rl_control.ros import middleware as mw
from rl_control.ros.nodes import messages as m
from rl_control.training.config import load_config


def _stats_msg(row: dict[str, Any]) -> Any:
    msg = mw.message_class("rl_control_msgs/msg/TrainingStats")()
    msg.env_steps, msg.episodes = int(row["env_steps"]), int(row["episodes"])
    msg.policy_version = int(row.get("policy_version", 0))
    ret = float(row.get("train_return", math.nan))
    msg.mean_return = msg.last_return = ret
    msg.steps_per_second = float(row.get("steps_per_s", math.nan))
    extra = {k: v for k, v in row.items() if isinstance(v, (int, float)) and k != "env_steps"}
    msg.names, msg.values = list(extra), [float(v) for v in extra.values()]
    return msg


def main(argv: Sequence[str] | None = None) -> int:
    node = mw.create_node("trainer_node", sys.argv[1:] if argv is None else argv)
    msgs = m.Messages()
    p = {k: node.declare_parameter(k, d) for k, d in (
        ("config", ""), ("algo", "ppo"), ("task", "soft_wall_cartpole"), ("seed", 0),
        ("total_steps", 0), ("run_dir", "runs/default"), ("resume", True),
        ("checkpoint_every", 10), ("reset_timeout", 5.0), ("num_threads", 1),
    )}  # fmt: skip
    import torch

    torch.set_num_threads(int(p["num_threads"]))
    log = node.get_logger()
    overrides = {k: p[k] for k in ("algo", "task", "seed", "run_dir")}
    overrides.update(num_envs=1, checkpoint_every=int(p["checkpoint_every"]))
    if int(p["total_steps"]) > 0:
        overrides["total_steps"] = int(p["total_steps"])
    config = load_config(p["config"] or None, overrides)
    update_pub = node.create_publisher(
        "rl_control_msgs/msg/PolicyUpdate", "policy_update", mw.QOS_LATCHED
    )
    stats_pub = node.create_publisher("rl_control_msgs/msg/TrainingStats", "training_stats", 10)
    gate_pub = node.create_publisher("rl_control_msgs/msg/StepGate", "step_gate", 10)
    StepGate = mw.message_class("rl_control_msgs/msg/StepGate")
    reset_client = node.create_client("std_srvs/srv/Trigger", "reset")
    pause_client = node.create_client("std_srvs/srv/SetBool", "pause")
    requests: list[tuple[str, bool]] = []  # service calls run from the loop, not callbacks

    def publish_update(update: PolicyUpdate) -> None:
        update_pub.publish(msgs.policy_update_msg(update))

    def grant(step: int, episode: int, min_version: int) -> None:
        gate = StepGate(step=step, episode=episode, min_policy_version=min_version)
        msgs.stamp(gate, node.now())
        gate_pub.publish(gate)

    logged_at, last_return = [-math.inf], [math.nan]

    def publish_stats(row: dict[str, Any]) -> None:
        msg = _stats_msg(row)
        msgs.stamp(msg, node.now())
        stats_pub.publish(msg)
        fresh = not math.isnan(row["train_return"])  # NaN: no episode ended since last row
        if fresh:
            last_return[0] = row["train_return"]
        last = row["env_steps"] >= config.total_steps
        if time.monotonic() - logged_at[0] < 1.0 and not last:
            return  # SAC updates every few steps: one progress line a second is enough
        logged_at[0] = time.monotonic()
        share = 100 * row["env_steps"] / config.total_steps
        ret = last_return[0]
        ret_text = (
            "no episode ended yet" if math.isnan(ret)
            else f"return {ret:.1f}" if fresh else f"last return {ret:.1f}"
        )  # fmt: skip
        log.info(
            f"{row['env_steps']}/{config.total_steps} steps ({share:.0f}%), "
            f"policy v{row['policy_version']}, {ret_text}, {row['steps_per_s']:.0f} steps/s"
        )

    def queue(kind: str) -> Callable[..., None]:
        return lambda value=True: requests.append((kind, bool(value)))

    hooks = TrainerHooks(queue("reset"), queue("pause"), publish_update, publish_stats, grant)
    trainer, resumed = build_graph_trainer(config, hooks, resume=bool(p["resume"]))
    node.create_subscription(
        "rl_control_msgs/msg/Observation", "observation",
        lambda msg: trainer.on_observation(msg.step, msg.episode, mw.to_numpy(msg.state)), 100,
    )  # fmt: skip
    node.create_subscription(
        "rl_control_msgs/msg/Action", "action",
        lambda msg: trainer.on_action(ActionIn(
            msg.step, msg.episode, msg.policy_version, mw.to_numpy(msg.action), msg.log_prob
        )), 100,
    )  # fmt: skip
    trainer.start()
    start = trainer.session.counters.env_steps
    log.info(
        f"{'resumed' if resumed else 'started'} {config.algo} on {config.task} at step "
        f"{start} in {config.run_dir}"
    )

    def call(kind: str, value: bool) -> None:
        if kind == "reset":
            client, request = reset_client, mw.service_class("std_srvs/srv/Trigger").Request()
        else:
            client = pause_client
            request = mw.service_class("std_srvs/srv/SetBool").Request(data=value)
        try:
            client.call(request, timeout=float(p["reset_timeout"]))
        except TimeoutError:  # the bridge may be respawning; its new episode starts anyway
            log.warn(f"bridge {kind} service did not answer in {p['reset_timeout']} s")

    try:
        while mw.ok() and not trainer.done:
            # the bridge waits for this node's grants: answer each observation at once
            node.spin_once(0.01)
            trainer.poll()
            pending, requests[:] = list(requests), []
            # collapse repeated resets; the last pause state wins
            if any(kind == "reset" for kind, _ in pending):
                call("reset", True)
            pauses = [v for kind, v in pending if kind == "pause"]
            if pauses:
                call("pause", pauses[-1])
        if trainer.done:
            log.info(
                f"done: {trainer.session.counters.env_steps} steps; run folder {config.run_dir}"
            )
    except KeyboardInterrupt:  # Ctrl-C or the launch shutting down: a normal way to stop
        pass
    finally:
        mw.hold_interrupts()
        if not trainer.done:
            trainer.wait()
            trainer.checkpoint()  # keep the work done so far
        trainer.session.close()
        trainer.log.close()
        node.destroy()
        mw.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
