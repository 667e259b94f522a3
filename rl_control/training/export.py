"""``rl-control export``: a run's deterministic policy as ONNX or TorchScript, plus a sidecar.

The exported graph maps raw observations [N, obs_dim] (float32) to env actions [N, act_dim]:
the observation normaliser is folded in as constants (the float32 statistics the policy
itself uses), then the mean action, then the unit-to-bounds scaling. The YAML sidecar holds
what a deployment needs beside the graph: joint order, action bounds and scale, default
pose, kp/kd and the control period (from a robot config when one is given, else from the
task).
"""

from __future__ import annotations

import copy
import io
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch
import yaml
from torch import nn

from rl_control.models.actor_critic import GaussianActorCritic, SquashedGaussianActor
from rl_control.models.bounded_policy import BoundedPolicy
from rl_control.robot.config import RobotConfig, load_robot_config
from rl_control.tasks.registry import make_task, require_task_facts
from rl_control.training.checkpoint import load_checkpoint, policy_from_record, resolve_checkpoint

FORMATS = ("onnx", "torchscript")
#: the neural kinds; MPC policies solve an optimisation per step and cannot be one graph
EXPORTABLE = ("gaussian_mlp", "squashed_gaussian_mlp")
SUFFIX = {"onnx": ".onnx", "torchscript": ".pt"}


class DeterministicPolicy(nn.Module):
    """A neural policy's mean action from raw observations, normalisation folded in."""

    def __init__(self, policy: BoundedPolicy) -> None:
        super().__init__()
        if not isinstance(policy, GaussianActorCritic | SquashedGaussianActor):
            _refuse(policy.kind)
        self.squashed = isinstance(policy, SquashedGaussianActor)
        # a frozen copy: the exported graph carries no autograd state of the policy's
        self.net = copy.deepcopy(policy.net if self.squashed else policy.mean_net)
        self.net.requires_grad_(False)
        self.act_dim = policy.act_dim
        rms = policy.obs_rms
        enabled = policy.normalize_obs_enabled
        # float32 from the float64 statistics, as RunningMeanStd.normalize does for float32
        mean = rms.mean.float() if enabled else torch.zeros(policy.obs_dim)
        std = torch.sqrt(rms.var + 1e-8).float() if enabled else torch.ones(policy.obs_dim)
        self.register_buffer("obs_mean", mean.detach().clone())
        self.register_buffer("obs_std", std.detach().clone())
        self.clip = 10.0 if enabled else float("inf")
        self.register_buffer("center", policy.action_center.detach().clone().float())
        self.register_buffer("half_range", policy.action_half_range.detach().clone().float())

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        nobs = ((obs - self.obs_mean) / self.obs_std).clamp(-self.clip, self.clip)
        out = self.net(nobs)
        if self.squashed:
            out = torch.tanh(out[..., : self.act_dim])
        return self.center + self.half_range * out


def _refuse(kind: str) -> None:
    raise ValueError(f"cannot export policy kind {kind!r}; exportable kinds: {list(EXPORTABLE)}")


def sidecar(checkpoint: dict[str, Any], robot: RobotConfig | None) -> dict[str, Any]:
    """Deployment facts of the exported policy (plain YAML types)."""
    policy, name = checkpoint["policy"]["config"], checkpoint["task"]
    # a gymnasium id has no rl_control task: no joints, period or gains to report
    known = require_task_facts(name, (), "export") is not None
    task = make_task(name, checkpoint.get("env")) if known else None
    params = None if task is None else task.params
    facts: dict[str, Any] = {
        "task": name, "algo": checkpoint.get("algo"), "kind": checkpoint["policy"]["kind"],
        "task_params": dict(checkpoint.get("env") or {}),  # what the observation depends on
        "obs_dim": int(policy["obs_dim"]), "act_dim": int(policy["act_dim"]),
        "input": "observation", "output": "action",
        "action_low": [float(x) for x in policy["action_low"]],
        "action_high": [float(x) for x in policy["action_high"]],
        "joint_names": None if task is None else list(task.joint_names),
        "control_period": None if task is None else float(task.dt),
        "kp": getattr(params, "kp", None), "kd": getattr(params, "kd", None),
        "default_pose": None, "action_scale": None,
    }  # fmt: skip
    if robot is not None and task is None:
        raise ValueError(f"--robot needs an rl_control task; the run's task is {name!r}")
    if robot is not None:
        if robot.task != task.name or robot.policy_joints != task.joint_names:
            raise ValueError(
                f"robot {robot.robot!r} is for task {robot.task!r} with joints "
                f"{list(robot.policy_joints)}; the run is {task.name!r} with "
                f"{list(task.joint_names)}"
            )
        joints = robot.joints
        facts.update(
            robot=robot.robot, control_period=robot.control_period,
            pd_period=robot.loop_period,  # the rate kp/kd are closed at: part of the actuator
            kp=[j.kp for j in joints], kd=[j.kd for j in joints],
            default_pose=[j.home for j in joints], action_scale=[j.action_scale for j in joints],
            command_interface=robot.command_interface, policy_output=robot.policy_output,
            controller_joints=list(robot.controller_joints),
        )  # fmt: skip
    return facts


def export_policy(
    run: str | Path, fmt: str, out: str | Path | None = None, robot: str | None = None
) -> tuple[Path, Path]:
    """Write the model and its ``.yaml`` sidecar; returns both paths."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}; choices: {list(FORMATS)}")
    checkpoint = load_checkpoint(run)
    if checkpoint["policy"]["kind"] not in EXPORTABLE:
        _refuse(checkpoint["policy"]["kind"])
    module = DeterministicPolicy(policy_from_record(checkpoint["policy"])).eval()
    facts = sidecar(checkpoint, None if robot is None else load_robot_config(robot))
    target = Path(out) if out else resolve_checkpoint(run).with_name("policy" + SUFFIX[fmt])
    example = torch.zeros(1, facts["obs_dim"])
    target.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "onnx":
        target.write_bytes(_onnx_bytes(module, example))
    else:
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore", DeprecationWarning)  # jit is what C++ loads today
            torch.jit.trace(module, example).save(str(target))
    side = target.with_suffix(".yaml")
    side.write_text(yaml.safe_dump({**facts, "format": fmt, "model": target.name},
                                   sort_keys=False))  # fmt: skip
    return target, side


def _onnx_bytes(module: nn.Module, example: torch.Tensor) -> bytes:
    buffer = io.BytesIO()
    with warnings.catch_warnings(), torch.no_grad():
        # the TorchScript-based exporter: the dynamo one needs onnxscript, not a dependency
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", FutureWarning)
        torch.onnx.export(
            module, (example,), buffer, dynamo=False, input_names=["observation"],
            output_names=["action"], opset_version=17,
            dynamic_axes={"observation": {0: "batch"}, "action": {0: "batch"}},
        )  # fmt: skip
    return buffer.getvalue()


def run_onnx(path: str | Path, obs: np.ndarray) -> np.ndarray:
    """Run an exported ONNX policy with onnxruntime on a batch of observations."""
    import onnxruntime

    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(["action"], {"observation": np.asarray(obs, dtype=np.float32)})[0]
