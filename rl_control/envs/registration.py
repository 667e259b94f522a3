"""Gymnasium ids of the tasks and :func:`make_env`, the one way the runner builds envs.

The ids and env entry points come from the task registry
(:data:`rl_control.tasks.registry.TASKS`). Importing :mod:`rl_control.envs` registers them
(idempotently); the env modules, and so PyBullet, are imported only when an env is made.
``make_env`` also builds any other registered gymnasium id (``Pendulum-v1``, ...).
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
from gymnasium.envs.registration import load_env_creator

from rl_control.envs.randomization import CONFIG_KEY, DomainRandomization, RandomizationParams
from rl_control.tasks.registry import TASKS, check_task_name


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

    ``task`` is an rl_control task name or any registered gymnasium id (made by ``gym.make``
    with ``params`` as its keyword arguments; its action space must be a Box). The
    ``domain_randomization`` key, when present, wraps the env in
    :class:`~rl_control.envs.randomization.DomainRandomization` with those ranges. With a seed
    the env is reset once with it and its action space seeded, so sampling and the first
    episode are reproducible. Unknown tasks or parameters raise ValueError.
    """
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise TypeError(f"seed must be an int or None, got {seed!r}")
    register_envs()
    check_task_name(task)
    randomization = params.pop(CONFIG_KEY, None)
    if task in TASKS:
        env = load_env_creator(TASKS[task].entry_point)(**params)
    else:
        env = _make_gym_env(task, params)
    if randomization is not None:
        try:
            env = DomainRandomization(env, RandomizationParams.from_config(randomization))
        except BaseException:
            env.close()
            raise
    if seed is not None:
        env.reset(seed=seed)
        env.action_space.seed(seed)
        env.observation_space.seed(seed)
    return env


def _make_gym_env(env_id: str, params: dict[str, Any]) -> gym.Env:
    try:
        env = gym.make(env_id, **params)
    except TypeError as err:  # an unknown keyword of the env's constructor
        raise ValueError(
            f"gymnasium env {env_id!r} does not take {sorted(params)}: {err}"
        ) from None
    if not isinstance(env.action_space, gym.spaces.Box):
        env.close()
        raise ValueError(
            f"gymnasium env {env_id!r} has action space {env.action_space}; rl_control "
            "algorithms need a Box (continuous) action space"
        )
    return env
