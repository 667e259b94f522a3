"""The one list of tasks: env registration, the graph nodes and the MPC model read it.

A task is one module ending in a :class:`~rl_control.tasks.base.TaskDefinition` and one line
here (or :func:`register_task` from a plugin module named in ``RL_CONTROL_TASK_MODULES``,
comma-separated, imported when this module is: node subprocesses inherit the variable).
``--task`` also takes any registered gymnasium id; such a task has no task facts, and whoever
needs them refuses it through :func:`require_task_facts`.
"""

from __future__ import annotations

import importlib
import os
from typing import Any

from rl_control.tasks import (
    function_opt,
    minitaur,
    minitaur_tg,
    quadruped12,
    soft_wall_cartpole,
    two_link_leg,
)
from rl_control.tasks.base import FACTS, Task, TaskDefinition

#: environment variable naming extra task modules to import (comma-separated)
PLUGIN_VARIABLE = "RL_CONTROL_TASK_MODULES"

#: what the node graph needs of a task: sensors -> state, and reward/termination on it
GRAPH_FACTS = ("layout", "joint_names", "estimate", "observation", "reward", "terminated")

TASKS: dict[str, TaskDefinition] = {
    d.name: d for d in (soft_wall_cartpole.DEFINITION, two_link_leg.DEFINITION,
                        minitaur.DEFINITION, minitaur_tg.DEFINITION, quadruped12.DEFINITION,
                        *function_opt.DEFINITIONS)
}  # fmt: skip


def register_task(definition: TaskDefinition) -> None:
    """Add a task (re-registering the same definition changes nothing)."""
    known = TASKS.get(definition.name)
    if known is not None and known is not definition:
        raise ValueError(f"task {definition.name!r} is already registered")
    TASKS[definition.name] = definition


def task_names() -> list[str]:
    return sorted(TASKS)


def is_gym_id(name: str) -> bool:
    """True for a gymnasium id that is not an rl_control task (e.g. ``Pendulum-v1``)."""
    if name in TASKS:
        return False
    import gymnasium as gym

    import rl_control.envs  # noqa: F401  (registers the rl_control ids)

    return name in gym.registry


def check_task_name(name: str) -> None:
    """Raise ValueError unless ``name`` is an rl_control task or a gymnasium id."""
    if name not in TASKS and not is_gym_id(name):
        raise ValueError(
            f"unknown task {name!r}; known: {task_names()} or any registered gymnasium id"
        )


def get_task(name: str) -> TaskDefinition:
    """The definition of rl_control task ``name``."""
    if name not in TASKS:
        raise ValueError(f"unknown task {name!r}; known: {task_names()}")
    return TASKS[name]


def make_task(name: str, params: dict[str, Any] | None = None) -> Task:
    """Task ``name`` with parameter overrides (the same keys as ``make_env``)."""
    return get_task(name).bind(params)


def require_task_facts(name: str, needs: tuple[str, ...], who: str) -> TaskDefinition | None:
    """The definition of ``name`` if it provides ``needs``, else a one-line ValueError.

    ``needs`` are keys of :data:`rl_control.tasks.base.FACTS`; with none needed any
    gymnasium id passes (and None is returned for it).
    """
    check_task_name(name)
    if not needs:
        return TASKS.get(name)
    words = ", ".join(FACTS[f] for f in needs)
    if name not in TASKS:
        raise ValueError(
            f"task {name!r} is a plain gymnasium env: {who} needs its {words} "
            f"(rl_control tasks: {task_names()})"
        )
    missing = [f for f in needs if f not in TASKS[name].facts()]
    if missing:
        having = [n for n in task_names() if set(needs) <= set(TASKS[n].facts())]
        raise ValueError(
            f"task {name!r} has no {', '.join(FACTS[f] for f in missing)}: {who} needs its "
            f"{words} (tasks with them: {having})"
        )
    return TASKS[name]


def _import_plugins() -> None:
    names = os.environ.get(PLUGIN_VARIABLE, "").split(",")
    for module in filter(None, (name.strip() for name in names)):
        try:
            importlib.import_module(module)
        except Exception as err:  # any failure: the run must not go on without the task
            raise ValueError(
                f"{PLUGIN_VARIABLE} names task module {module!r}, which failed to import: {err}"
            ) from err


_import_plugins()
