"""The training configuration: a YAML file plus command-line overrides.

A file looks like::

    algo: ppo
    task: soft_wall_cartpole
    env: {}                 # task parameters passed to make_env
    num_envs: 4
    total_steps: 200000
    seed: 0
    algo_config:            # passed to make_algorithm; `--set algo.<key>=<value>` edits it
      learning_rate: 3e-4
"""

from __future__ import annotations

import dataclasses
import os
import warnings
from dataclasses import dataclass, field
from typing import Any

import yaml

from rl_control.training.io import YamlLoader, read_yaml


@dataclass
class TrainConfig:
    """Everything that defines a training run (saved as ``config.yaml`` in the run folder)."""

    algo: str
    task: str
    env: dict[str, Any] = field(default_factory=dict)
    num_envs: int = 1
    total_steps: int = 100_000
    seed: int = 0
    algo_config: dict[str, Any] = field(default_factory=dict)
    #: env steps between deterministic evaluations (0: only at the start and the end)
    eval_every: int = 10_000
    eval_episodes: int = 5
    #: env steps between checkpoints (0: only at the end)
    checkpoint_every: int = 50_000
    #: minimum env steps between metrics rows, so per-step learners (SAC) do not flood the CSV
    log_every: int = 1_000
    #: run folder; default ``runs/<label or algo>_<task>_seed<seed>`` (suffixed if taken)
    run_dir: str | None = None
    #: run folder or checkpoint of an on-policy run to warm-start from (TRPO -> PPO)
    init_from: str | None = None
    #: curve label used by `rl-control plot` to group seeds (default: the algorithm name)
    label: str | None = None
    #: torch intra-op threads while training; 1 suits the small networks here and does not
    #: stall when other work shares the cores (torch's default, one per core, does)
    num_threads: int = 1
    #: ``sync``: the envs step in this process; ``async``: shares of them in ``vector_workers``
    #: processes as well (rl_control/envs/subproc.py); same results, other wall time
    vector: str = "sync"
    #: worker processes of ``vector: async`` beside the training process (which steps the
    #: first share); 0 = one share per env, at most one per core
    vector_workers: int = 0

    def __post_init__(self) -> None:
        for name in ("algo", "task"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value:
                raise ValueError(f"config key {name!r} must be a non-empty string, got {value!r}")
        for name in ("env", "algo_config"):
            value = getattr(self, name)
            if value is None:
                setattr(self, name, {})
            elif not isinstance(value, dict):
                raise ValueError(f"config key {name!r} must be a mapping, got {value!r}")
        positive = ("num_envs", "total_steps", "eval_episodes", "num_threads")
        counts = ("seed", "eval_every", "checkpoint_every", "log_every", "vector_workers")
        for name in positive + counts:
            value = getattr(self, name)
            if isinstance(value, float) and value.is_integer():
                value = int(value)  # `total_steps: 1e6` is a float in YAML
                setattr(self, name, value)
            if not isinstance(value, int) or isinstance(value, bool):
                raise ValueError(f"config key {name!r} must be an integer, got {value!r}")
            if value < (1 if name in positive else 0):
                bound = "positive" if name in positive else "non-negative"
                raise ValueError(f"config key {name!r} must be {bound}, got {value}")
        if self.vector not in ("sync", "async"):
            raise ValueError(f"config key 'vector' must be 'sync' or 'async', got {self.vector!r}")
        if self.vector_workers >= self.num_envs:
            raise ValueError(
                f"config key 'vector_workers' ({self.vector_workers}) must be below num_envs "
                f"({self.num_envs}): each worker and the training process step at least one env"
            )
        for name in ("run_dir", "init_from", "label"):
            value = getattr(self, name)
            if isinstance(value, os.PathLike):
                setattr(self, name, os.fspath(value))
            elif value is not None and not isinstance(value, str):
                raise ValueError(f"config key {name!r} must be a string, got {value!r}")

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "config") -> TrainConfig:
        """Build from a mapping, rejecting unknown and missing keys by name."""
        if not isinstance(data, dict):
            raise ValueError(f"{source} must be a YAML mapping, got {type(data).__name__}")
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown key(s) in {source}: {', '.join(map(str, unknown))}")
        for name in ("algo", "task"):
            if name not in data:
                raise ValueError(f"{source} is missing the required key {name!r}")
        return cls(**data)

    def to_dict(self) -> dict[str, Any]:
        """Plain mapping suitable for YAML."""
        return dataclasses.asdict(self)


def parse_value(text: str) -> Any:
    """Parse an override value as YAML (numbers, booleans, lists, null; else the string)."""
    try:
        return yaml.load(text, Loader=YamlLoader)
    except yaml.YAMLError:
        return text


def apply_set(data: dict[str, Any], assignment: str) -> None:
    """Apply one ``--set key=value``; ``algo.<k>`` and ``env.<k>`` address the nested maps."""
    key, sep, text = assignment.partition("=")
    key = key.strip()
    if not sep or not key:
        raise ValueError(f"--set expects key=value, got {assignment!r}")
    value = parse_value(text)
    head, dot, rest = key.partition(".")
    if dot:
        target = {"algo": "algo_config", "algo_config": "algo_config", "env": "env"}.get(head)
        if target is None or not rest:
            raise ValueError(f"--set key {key!r}: nested keys must start with 'algo.' or 'env.'")
        nested = data.get(target) or {}
        data[target] = {**nested, rest: value}
        return
    known = {f.name for f in dataclasses.fields(TrainConfig)}
    if key not in known:
        raise ValueError(f"--set: unknown config key {key!r}; known: {', '.join(sorted(known))}")
    data[key] = value


def load_config(
    path: str | os.PathLike[str] | None = None,
    overrides: dict[str, Any] | None = None,
    sets: list[str] | None = None,
) -> TrainConfig:
    """Read ``path`` (optional), then apply ``overrides`` (field -> value, None = keep), then
    ``sets`` (``key=value`` strings).

    Changing ``algo`` or ``task`` away from the file's value drops the file's ``algo_config``
    or ``env`` respectively, since those settings belong to the other algorithm or task.
    """
    data: dict[str, Any] = {}
    source = "command line"
    if path is not None:
        source = str(path)
        loaded = read_yaml(path)
        if loaded is None:
            loaded = {}
        if not isinstance(loaded, dict):
            raise ValueError(f"{path} must hold a YAML mapping, got {type(loaded).__name__}")
        data = dict(loaded)
    for name, value in (overrides or {}).items():
        if value is None:
            continue
        nested = {"algo": "algo_config", "task": "env"}.get(name)
        if nested and data.get(name) not in (None, value) and data.get(nested):
            warnings.warn(
                f"{name} changed from {data[name]!r} to {value!r}: ignoring the file's {nested}",
                stacklevel=2,
            )
            data[nested] = {}
        data[name] = value
    for assignment in sets or []:
        apply_set(data, assignment)
    return TrainConfig.from_dict(data, source)
