"""Building (or resuming) a :class:`GraphTrainer` and its run folder from a TrainConfig."""

from __future__ import annotations

import os
from pathlib import Path

from rl_control.graph.trainer import GraphTrainer, TrainerHooks
from rl_control.graph.transition_log import TransitionLog
from rl_control.tasks.registry import GRAPH_FACTS, make_task, require_task_facts
from rl_control.training.config import TrainConfig
from rl_control.training.io import RunPaths, atomic_write_yaml
from rl_control.training.rng import seed_everything
from rl_control.training.session import RunSession, restore_run

#: file of the run folder holding the transitions recorded since the last checkpoint
TRANSITION_LOG = "transitions.bin"


def build_graph_trainer(
    config: TrainConfig,
    hooks: TrainerHooks | None = None,
    resume: bool = True,
    tensorboard: bool = False,
) -> tuple[GraphTrainer, bool]:
    """The trainer for ``config.run_dir``; resumes when the folder holds a checkpoint.

    Returns (trainer, resumed). A resumed run must match the folder's algo and task; with
    ``resume=False`` a folder that already holds a checkpoint is refused.
    """
    from rl_control.algorithms.registry import make_algorithm
    from rl_control.algorithms.spec import AlgorithmSpec

    if not config.run_dir:
        raise ValueError("the graph trainer needs a run folder (run_dir)")
    if config.num_envs != 1:
        raise ValueError(
            f"the graph trainer feeds one bridge: num_envs must be 1, not {config.num_envs}"
        )
    seed_everything(config.seed)
    require_task_facts(config.task, GRAPH_FACTS, "the node graph")
    task = make_task(config.task, config.env)
    spec = AlgorithmSpec(task.obs_dim, task.action_low, task.action_high, num_envs=1, task=task)
    algorithm = make_algorithm(config.algo, spec, dict(config.algo_config), config.seed)
    paths = RunPaths(Path(config.run_dir))
    resumed = paths.checkpoint.is_file()
    if resumed and not resume:
        raise ValueError(f"run folder {paths.root} already holds a checkpoint; resume or move it")
    counters, recorded = None, 0
    if resumed:
        checkpoint, counters = restore_run(paths.checkpoint, config, algorithm)
        recorded = int(checkpoint.get("graph_recorded", 0))
    else:
        paths.root.mkdir(parents=True, exist_ok=True)
    atomic_write_yaml(paths.config, config.to_dict())
    session = RunSession(config, paths, counters, tensorboard=tensorboard)
    log = TransitionLog(os.path.join(paths.root, TRANSITION_LOG), task.obs_dim, task.act_dim)
    trainer = GraphTrainer(
        task, algorithm, session, log, hooks, config.total_steps, config.checkpoint_every,
        recorded,
    )  # fmt: skip
    return trainer, resumed
