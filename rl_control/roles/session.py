"""What the node graph builds from a training config: the task and env of its bridges and
estimators (one rule with the in-process runner, refused where the graph cannot honour a
setting) and the :class:`GraphTrainer` with its run folder (built or resumed)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rl_control.roles.trainer import GraphTrainer, TrainerHooks
from rl_control.roles.transition_log import PendingJournal, TransitionLog
from rl_control.tasks.params import RANDOMIZATION_KEY, task_params
from rl_control.tasks.registry import GRAPH_FACTS, make_task, require_task_facts
from rl_control.training.config import TrainConfig, load_config
from rl_control.training.rng import seed_everything
from rl_control.training.session import RunSession, open_run_folder

if TYPE_CHECKING:
    import gymnasium as gym

    from rl_control.tasks.base import Task

#: file of the run folder holding the transitions recorded since the last checkpoint
TRANSITION_LOG = "transitions.bin"
#: file of the run folder holding the transitions paired but not yet recorded
PENDING_JOURNAL = "pending.bin"


def check_graph_task(task: str, algo: str | None = None) -> None:
    """One-line ValueError unless the node graph can run ``task`` (and ``algo`` learn it)."""
    from rl_control.tasks.registry import task_names

    if task not in task_names():  # gymnasium ids have no sensors/estimator for the graph
        raise ValueError(f"unknown task {task!r}; known: {task_names()}")
    require_task_facts(task, GRAPH_FACTS, "the node graph")
    if algo is not None:
        from rl_control.algorithms.registry import algorithm_names, algorithm_task_facts

        if algo not in algorithm_names():
            raise ValueError(f"unknown algorithm {algo!r}; known: {algorithm_names()}")
        needs = algorithm_task_facts(algo)
        require_task_facts(task, needs, f"algorithm {algo!r}")
        if "differentiable" in needs:  # the replay steps observations (AnalyticPPO's check)
            from rl_control.tasks.registry import make_task

            bound = make_task(task)
            if bound.obs_dim != bound.layout.size:
                raise ValueError(f"algorithm {algo!r} needs a task that observes its full "
                                 f"state; {task!r}'s observation is not its state")  # fmt: skip


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
    for name, why in refused.items():
        raise ValueError(f"env.{name} of task {task!r}: the node graph cannot honour it ({why}); "
                         "train it in process (rl-control train)")  # fmt: skip


def graph_task(task: str, env: Mapping[str, Any] | None = None, who: str = "the node graph"
               ) -> Task:  # fmt: skip
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


def build_graph_trainer(
    config: TrainConfig,
    hooks: TrainerHooks | None = None,
    resume: bool = True,
    tensorboard: bool = False,
    force: bool = False,
) -> tuple[GraphTrainer, bool]:
    """The trainer for ``config.run_dir`` (a new ``runs/...`` folder when unset).

    Returns (trainer, resumed). The run folder follows the rule of ``rl-control train``
    (:func:`~rl_control.training.session.open_run_folder`): ``resume`` continues a folder's
    checkpoint only if it was made with the same settings (``force``: despite differences)
    and its budget is not spent; without ``resume`` a non-empty folder is refused.
    """
    from rl_control.algorithms.registry import make_algorithm
    from rl_control.algorithms.spec import AlgorithmSpec

    workers = int(config.num_envs)  # one bridge/estimator/policy group per parallel env
    if workers < 1:
        raise ValueError(f"the graph trainer needs num_envs (workers) >= 1, not {workers}")
    seed_everything(config.seed)
    task = graph_task(config.task, config.env)
    spec = AlgorithmSpec(
        task.obs_dim, task.action_low, task.action_high, num_envs=workers, task=task
    )
    algorithm = make_algorithm(config.algo, spec, dict(config.algo_config), config.seed)
    paths, checkpoint = open_run_folder(config, algorithm, resume, force)
    counters, recorded, pending = None, 0, None
    if checkpoint is not None:
        counters = RunSession.counters_from_checkpoint(checkpoint)
        recorded = int(checkpoint.get("graph_recorded", 0))
        pending = checkpoint.get("pending_row")
    session = RunSession(config, paths, counters, tensorboard=tensorboard, pending=pending)
    log = TransitionLog(os.path.join(paths.root, TRANSITION_LOG), task.obs_dim, task.act_dim)
    journal = PendingJournal(os.path.join(paths.root, PENDING_JOURNAL), task.obs_dim, task.act_dim)
    trainer = GraphTrainer(
        task, algorithm, session, log, hooks, config.total_steps, config.checkpoint_every,
        recorded, workers=workers, journal=journal,
    )  # fmt: skip
    return trainer, checkpoint is not None
