"""Algorithms by name: ``make_algorithm`` for configs and the CLI, ``register_algorithm`` for
algorithms that live in plugin modules (PPO-MPC, later M-DeMoRL).

Plugin modules are listed in :data:`PLUGIN_MODULES` and imported on first use (PPO-MPC pulls
in the MPC stack); each must import: a broken or missing one raises, naming the module.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from rl_control.algorithms.base import Algorithm
from rl_control.algorithms.ppo import PPO
from rl_control.algorithms.sac import SAC
from rl_control.algorithms.spec import AlgorithmSpec
from rl_control.algorithms.trpo import TRPO

#: builder(spec, config, seed) -> Algorithm, e.g. ``PPO.build``
AlgorithmBuilder = Callable[[AlgorithmSpec, dict[str, Any], int], Algorithm]

#: modules that call :func:`register_algorithm` when imported; every one must import
PLUGIN_MODULES: list[str] = [
    "rl_control.algorithms.ppo_mpc",
    "rl_control.algorithms.m_demorl",
    "rl_control.algorithms.mbpo",
    "rl_control.algorithms.gps",
    "rl_control.algorithms.lr_rp",
    "rl_control.algorithms.gi_ppo",
]

ALGORITHMS: dict[str, AlgorithmBuilder] = {
    "ppo": PPO.build,
    "trpo": TRPO.build,
    "sac": SAC.build,
}


#: task facts (``rl_control.tasks.base.FACTS``) an algorithm needs beyond a gymnasium env
TASK_FACTS: dict[str, tuple[str, ...]] = {}


def register_algorithm(
    name: str, builder: AlgorithmBuilder, task_facts: tuple[str, ...] = ()
) -> None:
    """Make ``builder`` buildable as ``name`` (re-registering the same builder is a no-op);
    ``task_facts``: what a model-based algorithm needs of the task (e.g. its dynamics)."""
    if name in ALGORITHMS and ALGORITHMS[name] != builder:
        raise ValueError(f"algorithm {name!r} is already registered")
    ALGORITHMS[name] = builder
    TASK_FACTS[name] = tuple(task_facts)


def algorithm_task_facts(name: str) -> tuple[str, ...]:
    """The task facts algorithm ``name`` needs (none for model-free ones or unknown names)."""
    load_plugins()
    return TASK_FACTS.get(name, ())


def load_plugins() -> None:
    """Import every module of :data:`PLUGIN_MODULES` (imports are cached after the first)."""
    for module in PLUGIN_MODULES:
        try:
            importlib.import_module(module)
        except Exception as err:
            raise ImportError(
                f"algorithm plugin module {module!r} failed to import: {err}"
            ) from err


def algorithm_names() -> list[str]:
    load_plugins()
    return sorted(ALGORITHMS)


def make_algorithm(
    name: str, spec: AlgorithmSpec, config: dict[str, Any] | None, seed: int
) -> Algorithm:
    """Build algorithm ``name`` for ``spec``; unknown names and config keys raise ValueError."""
    load_plugins()
    if name not in ALGORITHMS:
        raise ValueError(f"unknown algorithm {name!r}; known: {sorted(ALGORITHMS)}")
    if not isinstance(spec, AlgorithmSpec):
        raise TypeError(f"make_algorithm needs an AlgorithmSpec, got {type(spec).__name__}")
    if config is not None and not isinstance(config, dict):
        raise TypeError(f"algorithm config must be a mapping, got {type(config).__name__}")
    return ALGORITHMS[name](spec, config or {}, seed)
