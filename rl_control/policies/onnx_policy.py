"""A policy exported by ``rl-control export --format onnx``, run with onnxruntime.

The graph maps raw observations to env actions (normaliser and bound scaling folded in), so
acting is one session call. The YAML sidecar beside the model (same stem, ``.yaml``) gives
the task, dimensions and action bounds. Only the mean action was exported: acting is
deterministic only. onnxruntime is imported when a policy is built, so registering this
kind costs nothing where onnxruntime is not installed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import yaml

from rl_control.policies.base import Policy, PolicyOutput
from rl_control.policies.registry import register_policy


def read_sidecar(model: Path) -> dict[str, Any]:
    """The export sidecar of ``model``; a one-line ValueError if it is missing or foreign."""
    side = model.with_suffix(".yaml")
    try:
        facts = yaml.safe_load(side.read_text())
    except OSError as err:
        raise ValueError(
            f"ONNX policy {model} has no readable sidecar {side}: {err.strerror}"
        ) from None
    needed = ("format", "task", "obs_dim", "act_dim", "action_low", "action_high")
    missing = [k for k in needed if not isinstance(facts, dict) or k not in facts]
    if missing or facts["format"] != "onnx":
        raise ValueError(
            f"{side} is not an rl-control ONNX export sidecar "
            f"(lacks {missing or ['format: onnx']})"
        )
    return facts


@register_policy("onnx")
class OnnxPolicy(Policy):
    """Deterministic actions from an exported ``.onnx`` model and its sidecar."""

    def __init__(self, path: str) -> None:
        model = Path(path)
        if not model.is_file():
            raise ValueError(f"ONNX policy file not found: {model}")
        facts = read_sidecar(model)
        self.path = str(model)
        self.task: str = str(facts["task"] or "")
        self.task_params: dict[str, Any] = dict(facts.get("task_params") or {})
        self.control_period: float | None = facts.get("control_period")
        self.obs_dim, self.act_dim = int(facts["obs_dim"]), int(facts["act_dim"])
        self.action_low = np.asarray(facts["action_low"], dtype=np.float64)
        self.action_high = np.asarray(facts["action_high"], dtype=np.float64)
        if self.action_low.shape != (self.act_dim,) or self.action_high.shape != (self.act_dim,):
            raise ValueError(f"sidecar of {model}: action bounds need {self.act_dim} entries")
        import onnxruntime  # lazy: only deployments that load an .onnx file need it

        try:
            self.session = onnxruntime.InferenceSession(
                self.path, providers=["CPUExecutionProvider"]
            )
        except Exception as err:  # onnxruntime raises its own types for unreadable models
            raise ValueError(
                f"cannot load ONNX model {model}: {str(err).splitlines()[0]}"
            ) from None

    def act(self, obs: np.ndarray, deterministic: bool = True) -> PolicyOutput:
        """The exported mean action for a batch [N, obs_dim]; sampling is refused."""
        if not deterministic:
            raise ValueError(
                f"ONNX policy {self.path} holds only the mean action: act with "
                f"deterministic=True (sampling needs the training checkpoint)"
            )
        obs = np.asarray(obs, dtype=np.float32)
        if obs.ndim != 2 or obs.shape[1] != self.obs_dim:
            raise ValueError(
                f"ONNX policy expects observations [N, {self.obs_dim}], got {list(obs.shape)}"
            )
        action = self.session.run(["action"], {"observation": obs})[0].astype(np.float64)
        return PolicyOutput(action, action.copy(), np.zeros(len(action)))

    def get_config(self) -> dict[str, Any]:
        return {"path": self.path}

    def get_state(self) -> dict[str, Any]:
        """Empty: the weights live in the model file named by the config."""
        return {}

    def set_state(self, state: dict[str, Any]) -> None:
        if state:
            raise ValueError(
                f"ONNX policy state lives in its model file; got state keys {sorted(state)}"
            )
