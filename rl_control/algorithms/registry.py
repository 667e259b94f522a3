"""Algorithms by name: ``make_algorithm`` for configs and the CLI, ``register_algorithm`` for
algorithms that live in later modules (PPO-MPC, M-DeMoRL)."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

import numpy as np

from rl_control.algorithms.base import Algorithm
from rl_control.algorithms.config import config_from_dict
from rl_control.algorithms.ppo import PPO, PPOConfig
from rl_control.algorithms.sac import SAC, SACConfig
from rl_control.algorithms.trpo import TRPO, TRPOConfig

#: factory(obs_dim, action_low, action_high, num_envs, config, seed) -> Algorithm
AlgorithmFactory = Callable[[int, np.ndarray, np.ndarray, int, dict[str, Any], int], Algorithm]

# modules that register further algorithms on import; missing ones are skipped
_PLUGIN_MODULES = ("rl_control.algorithms.ppo_mpc", "rl_control.algorithms.demorl")


def algorithm_factory(cls: type, config_cls: type) -> AlgorithmFactory:
    """The factory of an Algorithm class whose config dataclass is ``config_cls``."""

    def build(
        obs_dim: int,
        action_low: np.ndarray,
        action_high: np.ndarray,
        num_envs: int,
        config: dict[str, Any],
        seed: int,
    ) -> Algorithm:
        cfg = config_from_dict(config_cls, cls.name, config)
        return cls(obs_dim, action_low, action_high, num_envs, cfg, seed)

    return build


ALGORITHMS: dict[str, AlgorithmFactory] = {
    "ppo": algorithm_factory(PPO, PPOConfig),
    "trpo": algorithm_factory(TRPO, TRPOConfig),
    "sac": algorithm_factory(SAC, SACConfig),
}


#: task facts (``rl_control.tasks.base.FACTS``) an algorithm needs beyond a gymnasium env
TASK_FACTS: dict[str, tuple[str, ...]] = {}


def register_algorithm(
    name: str, factory: AlgorithmFactory, task_facts: tuple[str, ...] = ()
) -> None:
    """Make ``factory`` buildable as ``name`` (re-registering the same factory is a no-op);
    ``task_facts``: what a model-based algorithm needs of the task (e.g. its dynamics)."""
    if name in ALGORITHMS and ALGORITHMS[name] is not factory:
        raise ValueError(f"algorithm {name!r} is already registered")
    ALGORITHMS[name] = factory
    TASK_FACTS[name] = tuple(task_facts)


def algorithm_task_facts(name: str) -> tuple[str, ...]:
    """The task facts algorithm ``name`` needs (none for model-free ones or unknown names)."""
    _load_plugins()
    return TASK_FACTS.get(name, ())


def _load_plugins() -> None:
    for module in _PLUGIN_MODULES:
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as err:  # not landed yet
            if err.name != module:
                raise


def algorithm_names() -> list[str]:
    _load_plugins()
    return sorted(ALGORITHMS)


def make_algorithm(
    name: str,
    obs_dim: int,
    action_low: np.ndarray,
    action_high: np.ndarray,
    num_envs: int,
    config: dict[str, Any],
    seed: int,
) -> Algorithm:
    """Build algorithm ``name``; unknown names and unknown config keys raise ValueError."""
    _load_plugins()
    if name not in ALGORITHMS:
        raise ValueError(f"unknown algorithm {name!r}; known: {sorted(ALGORITHMS)}")
    if config is not None and not isinstance(config, dict):
        raise TypeError(f"algorithm config must be a mapping, got {type(config).__name__}")
    return ALGORITHMS[name](obs_dim, action_low, action_high, num_envs, config or {}, seed)
