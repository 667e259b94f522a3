"""Building (or resuming) a :class:`GraphTrainer` and its run folder from a TrainConfig."""

from __future__ import annotations

import os

from rl_control.roles.graph_env import graph_task
from rl_control.roles.trainer import GraphTrainer, TrainerHooks
from rl_control.roles.transition_log import PendingJournal, TransitionLog
from rl_control.tasks.registry import GRAPH_FACTS, require_task_facts
from rl_control.training.config import TrainConfig
from rl_control.training.rng import seed_everything
from rl_control.training.session import RunSession, open_run_folder

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
