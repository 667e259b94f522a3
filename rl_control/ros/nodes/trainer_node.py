"""trainer_node: observation + action -> transitions -> algorithm; publishes policy_update
(latched), training_stats and step_gate (the lock-step grants the bridge waits for), resets
and pauses the bridge through its services, writes the run folder, and exits when the step
budget is reached (train.launch.xml then shuts down). The logic is
:class:`rl_control.roles.trainer_role.TrainerRole`'s.
"""

from __future__ import annotations

import sys
import time
from typing import Any

from rl_control.roles.params import TRAINER_NODE, declare
from rl_control.roles.policy_server import PolicyUpdate
from rl_control.roles.trainer import ActionIn
from rl_control.roles.trainer_role import TrainerRole, trainer_config
from rl_control.ros import middleware as mw
from rl_control.ros.launch.checks import exit_on_config_error
from rl_control.ros.nodes import messages as m
from rl_control.ros.nodes.run import main_argv, run_node


class TrainerNode:
    """Topics, service clients and parameters of the trainer, bound to a :class:`TrainerRole`."""

    def __init__(self, node: mw.Node) -> None:
        self.node, self.msgs, p = node, m.Messages(), declare(node, TRAINER_NODE)
        self.p = p
        import torch

        torch.set_num_threads(p["num_threads"])
        names = ("config", "algo", "task", "seed", "run_dir", "total_steps", "checkpoint_every")
        config = trainer_config(**{k: p[k] for k in names})
        pub = node.create_publisher
        self.update_pub = pub("rl_control_msgs/msg/PolicyUpdate", "policy_update", mw.QOS_LATCHED)
        self.stats_pub = pub("rl_control_msgs/msg/TrainingStats", "training_stats", 10)
        self.gate_pub = pub("rl_control_msgs/msg/StepGate", "step_gate", 10)
        self.StepGate = mw.message_class("rl_control_msgs/msg/StepGate")
        self.clients = {
            "reset": node.create_client("std_srvs/srv/Trigger", "reset"),
            "pause": node.create_client("std_srvs/srv/SetBool", "pause"),
        }
        self.timeout, log = p["reset_timeout"], node.get_logger()
        self.role = TrainerRole(
            config, self.publish_update, self.publish_stats, self.grant, self.call, p["resume"],
            self.timeout, time.monotonic, log.info, log.warn, force_resume=p["force_resume"],
        )  # fmt: skip
        trainer = self.role.trainer
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

    def publish_update(self, update: PolicyUpdate) -> None:
        self.update_pub.publish(self.msgs.policy_update_msg(update))

    def grant(self, step: int, episode: int, min_version: int) -> None:
        gate = self.StepGate(step=step, episode=episode, min_policy_version=min_version)
        self.msgs.stamp(gate, self.node.now())
        self.gate_pub.publish(gate)

    def publish_stats(self, row: dict[str, Any]) -> None:
        msg = m.training_stats(row)
        self.msgs.stamp(msg, self.node.now())
        self.stats_pub.publish(msg)

    def call(self, kind: str, value: bool) -> None:
        """A bridge service call; TimeoutError when it does not answer in time."""
        if kind == "reset":
            request = mw.service_class("std_srvs/srv/Trigger").Request()
        else:
            request = mw.service_class("std_srvs/srv/SetBool").Request(data=value)
        self.clients[kind].call(request, timeout=self.timeout)


@exit_on_config_error("trainer_node")
def main(argv: list[str] | None = None) -> int:
    node = mw.create_node("trainer_node", main_argv(argv))
    trainer = TrainerNode(node)
    trainer.role.start()
    # the bridge waits for this node's grants: answer each observation at once
    return run_node(node, trainer.role.tick, 0.01, trainer.role.close)


if __name__ == "__main__":
    sys.exit(main())
