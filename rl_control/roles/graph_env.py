"""The task and env of the node graph's bridges, estimators and trainer from a training
config's ``env`` section: one rule with the in-process runner (``make_env(task, **env)``),
refused at launch where the graph cannot honour a setting as the runner's env does.

Kept apart from :mod:`rl_control.roles.session` (the trainer's) so that a bridge or
estimator process imports no torch.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rl_control.tasks.params import RANDOMIZATION_KEY, task_params
from rl_control.tasks.registry import GRAPH_FACTS, make_task, require_task_facts
from rl_control.training.config import load_config

if TYPE_CHECKING:
    import gymnasium as gym

    from rl_control.tasks.base import Task


def graph_env_settings(source: str, task: str) -> dict[str, Any]:
    """The ``env`` settings a bridge or estimator of ``task`` builds from its ``config``
    parameter: a training YAML's (the trainer's rule: a task other than the file's drops its
    env), or a checkpoint's, run folder's or ``.onnx`` policy's (deploy: the task parameters
    it was trained with; it deploys into its task's nominal world, so a randomisation it
    trained under is not drawn); none for an empty ``source``."""
    if not source:
        return {}
    if Path(source).suffix.lower() in (".yaml", ".yml"):
        return dict(load_config(source, {"task": task}).env)
    from rl_control.training.checkpoint import deployment_task

    trained_on, env = deployment_task(source)
    if trained_on and trained_on != task:
        raise ValueError(f"{source} was trained on task {trained_on!r}, not {task!r}")
    return task_params(env)


def check_graph_env(task: str, env: Mapping[str, Any] | None) -> None:
    """One-line ValueError naming the first ``env`` setting of ``task`` that the node graph
    cannot honour as the in-process env does (the task's ``graph_limits``; a randomised
    latency or sensor noise), instead of a graph that silently trains on another env."""
    env = dict(env or {})
    bound = make_task(task, env)
    limits = bound.definition.graph_limits
    refused = dict(limits(bound.params)) if limits is not None else {}
    if RANDOMIZATION_KEY in env:
        from rl_control.envs.randomization import SENSOR_RANGES, RandomizationParams

        ranges = RandomizationParams.from_config(env[RANDOMIZATION_KEY])
        for name in SENSOR_RANGES:  # unset names take the defaults, which are not off
            if getattr(ranges, name) != (0.0, 0.0):
                refused[f"{RANDOMIZATION_KEY}.{name}"] = (
                    f"range {list(getattr(ranges, name))} perturbs the env's observation; the "
                    "bridge's sensors are exact: set [0, 0]"
                )
    if refused:
        name, why = next(iter(refused.items()))
        raise ValueError(
            f"env.{name} of task {task!r}: the node graph cannot honour it ({why}); "
            "train it in process (rl-control train)"
        )


def graph_task(
    task: str, env: Mapping[str, Any] | None = None, who: str = "the node graph"
) -> Task:
    """``task`` with the ``env`` settings, as the graph's nodes and trainer use it (its
    graph facts and settings checked)."""
    require_task_facts(task, GRAPH_FACTS, who)
    check_graph_env(task, env)
    return make_task(task, dict(env or {}))


def graph_env(
    task: str, env: Mapping[str, Any] | None = None, render_mode: str | None = None
) -> gym.Env:
    """The env a sim bridge simulates: ``make_env(task, **env)``, the in-process runner's own
    call on a config's ``env`` (task parameters and the domain-randomisation wrapper), once
    :func:`check_graph_env` passed."""
    from rl_control.envs.registration import make_env

    check_graph_env(task, env)
    return make_env(task, render_mode=render_mode, **dict(env or {}))
