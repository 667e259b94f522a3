"""Versioned gymnasium ids of the tasks and :func:`make_env`, the one way the runner builds envs.

Importing :mod:`rl_control.envs` registers the ids (idempotently); the env modules, and so
PyBullet, are imported only when an env is made.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import gymnasium as gym
from gymnasium.envs.registration import load_env_creator


@dataclass(frozen=True)
class TaskSpec:
    """A task's gymnasium id and the ``module:Class`` of its env."""

    env_id: str
    entry_point: str


TASKS: dict[str, TaskSpec] = {
    "soft_wall_cartpole": TaskSpec(
        "rl_control/SoftWallCartPole-v0",
        "rl_control.envs.soft_wall_cartpole:SoftWallCartPoleEnv",
    ),
    "two_link_leg": TaskSpec(
        "rl_control/TwoLinkLeg-v0", "rl_control.envs.two_link_leg:TwoLinkLegEnv"
    ),
    "minitaur": TaskSpec("rl_control/Minitaur-v0", "rl_control.envs.minitaur:MinitaurEnv"),
}


def register_envs() -> None:
    """Register every task id with gymnasium; calling it again changes nothing.

    Episodes are truncated by the envs themselves (``max_steps`` is a task parameter), so no
    TimeLimit wrapper is registered.
    """
    for spec in TASKS.values():
        if spec.env_id not in gym.registry:
            gym.register(id=spec.env_id, entry_point=spec.entry_point)


def make_env(task: str, seed: int | None = None, **params: Any) -> gym.Env:
    """Build the env of ``task`` with parameter overrides (and ``render_mode``), seeded if asked.

    With a seed the env is reset once with it and its action space seeded, so sampling and
    the first episode are reproducible. Unknown tasks or parameters raise ValueError.
    """
    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}; known: {sorted(TASKS)}")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise TypeError(f"seed must be an int or None, got {seed!r}")
    register_envs()
    env_cls = load_env_creator(TASKS[task].entry_point)
    env = env_cls(**params)
    if seed is not None:
        env.reset(seed=seed)
        env.action_space.seed(seed)
        env.observation_space.seed(seed)
    return env
