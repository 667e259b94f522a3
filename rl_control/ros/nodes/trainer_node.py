"""trainer_node: observation + action -> transitions -> algorithm; publishes policy_update
(latched), training_stats and step_gate (the lock-step grants the bridge waits for), resets
and pauses the bridge through its services, writes the run folder, and exits when the step
budget is reached (train.launch.xml then shuts down). With `workers` > 1 the observation,
action, step_gate, reset and pause of worker k are under `worker_<k>/`; policy_update and
training_stats stay one topic each. The logic is
:class:`rl_control.roles.trainer_role.TrainerRole`'s.
"""

from __future__ import annotations

import sys
import time
from typing import Any

from rl_control.roles.lanes import worker_prefix
from rl_control.roles.params import TRAINER_NODE, declare
from rl_control.roles.policy_server import PolicyUpdate
from rl_control.roles.trainer import ActionIn
from rl_control.roles.trainer_role import TrainerRole, trainer_config
from rl_control.ros import middleware as mw
from rl_control.ros.launch.checks import exit_on_config_error
from rl_control.ros.nodes import messages as m
from rl_control.ros.run_loop import main_argv, run_node


class TrainerNode:
    """Topics, service clients and parameters of the trainer, bound to a :class:`TrainerRole`."""

    def __init__(self, node: mw.Node) -> None:
        self.node, self.msgs, p = node, m.Messages(), declare(node, TRAINER_NODE)
        self.p = p
        import torch

        torch.set_num_threads(p["num_threads"])
        names = ("config", "algo", "task", "seed", "run_dir", "total_steps", "checkpoint_every",
                 "workers")  # fmt: skip
        config = trainer_config(**{k: p[k] for k in names})
        pub = node.create_publisher
        self.update_pub = pub("rl_control_msgs/msg/PolicyUpdate", "policy_update", mw.QOS_LATCHED)
        self.stats_pub = pub("rl_control_msgs/msg/TrainingStats", "training_stats", 10)
        ns = [worker_prefix(k, p["workers"]) for k in range(p["workers"])]
        self.gate_pubs = [pub("rl_control_msgs/msg/StepGate", f"{w}step_gate", 10) for w in ns]
        self.StepGate = mw.message_class("rl_control_msgs/msg/StepGate")
        client = node.create_client
        self.clients = [
            {"reset": client("std_srvs/srv/Trigger", f"{w}reset"),
             "pause": client("std_srvs/srv/SetBool", f"{w}pause")} for w in ns
        ]  # fmt: skip
        self.timeout, log = p["reset_timeout"], node.get_logger()
        self.role = TrainerRole(
            config, self.publish_update, self.publish_stats, self.grant, self.call, p["resume"],
            self.timeout, time.monotonic, log.info, log.warn, force_resume=p["force_resume"],
            update_period=p["update_period"], worker_timeout=p["worker_timeout"],
        )  # fmt: skip
        for k, w in enumerate(ns):
            self.subscribe(k, w)

    def subscribe(self, k: int, w: str) -> None:
        """Observation and action of worker ``k`` (topic prefix ``w``)."""
        trainer, sub = self.role.trainer, self.node.create_subscription

        def on_obs(msg: Any) -> None:
            trainer.on_observation(msg.step, msg.episode, mw.to_numpy(msg.state), k)

        def on_action(msg: Any) -> None:
            act = mw.to_numpy(msg.action)
            version = msg.policy_version
            trainer.on_action(ActionIn(msg.step, msg.episode, version, act, msg.log_prob), k)

        sub("rl_control_msgs/msg/Observation", f"{w}observation", on_obs, 100)
        sub("rl_control_msgs/msg/Action", f"{w}action", on_action, 100)

    def publish_update(self, update: PolicyUpdate) -> None:
        self.update_pub.publish(self.msgs.policy_update_msg(update))

    def grant(self, worker: int, step: int, episode: int, min_version: int) -> None:
        gate = self.StepGate(step=step, episode=episode, min_policy_version=min_version)
        self.msgs.stamp(gate, self.node.now())
        self.gate_pubs[worker].publish(gate)

    def publish_stats(self, row: dict[str, Any]) -> None:
        msg = m.training_stats(row)
        self.msgs.stamp(msg, self.node.now())
        self.stats_pub.publish(msg)

    def call(self, kind: str, value: bool, worker: int) -> tuple[bool, str]:
        """A bridge service call: (success, message); TimeoutError when it does not answer."""
        if kind == "reset":
            request = mw.service_class("std_srvs/srv/Trigger").Request()
        else:
            request = mw.service_class("std_srvs/srv/SetBool").Request(data=value)
        response = self.clients[worker][kind].call(request, timeout=self.timeout)
        return bool(response.success), str(response.message)


@exit_on_config_error("trainer_node")
def main(argv: list[str] | None = None) -> int:
    node = mw.create_node("trainer_node", main_argv(argv))
    trainer = TrainerNode(node)
    trainer.role.start()
    # the bridge waits for this node's grants: answer each observation at once
    return run_node(node, trainer.role.tick, 0.01, trainer.role.close)


if __name__ == "__main__":
    sys.exit(main())
