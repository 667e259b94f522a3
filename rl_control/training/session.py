"""The run-folder side of training, independent of where transitions come from.

:class:`RunSession` keeps the counters, aggregates episode returns and update statistics
into metrics rows, writes checkpoints and the learning curve. The in-process
:class:`~rl_control.training.runner.Runner` drives it from gymnasium envs; the ROS trainer
node drives it from topics.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rl_control.algorithms.base import Algorithm
from rl_control.training.checkpoint import load_checkpoint, save_checkpoint
from rl_control.training.config import TrainConfig
from rl_control.training.evaluation import EvalResult
from rl_control.training.io import RunPaths, atomic_write_yaml
from rl_control.training.metrics import MetricsLogger
from rl_control.training.plotting import plot_learning_curve
from rl_control.training.rng import get_rng_state, set_rng_state


@dataclass
class Counters:
    """Progress of a run; stored in checkpoints so a resumed run continues them."""

    env_steps: int = 0
    episodes: int = 0
    updates: int = 0
    wall_time: float = 0.0


#: config keys a resumed run may change: the budget (to continue), where the folder is and
#: how often it is saved (the graph trainer counts checkpoint_every in updates) and where the
#: envs step (sync or async vector envs give the same run)
RESUMABLE_CHANGES = ("total_steps", "run_dir", "checkpoint_every", "vector", "vector_workers")


def default_run_dir(config: TrainConfig) -> Path:
    """``runs/<label or algo>_<task>_seed<seed>``, suffixed ``_2``, ``_3``, ... if taken."""
    base = Path("runs") / f"{config.label or config.algo}_{config.task}_seed{config.seed}"
    candidate, n = base, 1
    while candidate.exists() and any(candidate.iterdir()):
        n += 1
        candidate = base.with_name(f"{base.name}_{n}")
    return candidate


def config_differences(saved: Mapping[str, Any], config: TrainConfig) -> list[str]:
    """``key: old -> new`` for every setting (besides budget and folder) that differs."""
    new = config.to_dict()
    keys = [k for k in new if k not in RESUMABLE_CHANGES]
    return [f"{k} {saved.get(k)!r} -> {new[k]!r}" for k in keys if saved.get(k) != new[k]]


def check_run_folder(
    config: TrainConfig, resume: bool, force: bool = False
) -> dict[str, Any] | None:
    """Apply the run-folder rule of :func:`open_run_folder` without touching anything;
    returns the checkpoint a resume would continue (None for a new run)."""
    root = Path(config.run_dir) if config.run_dir else default_run_dir(config)
    paths = RunPaths(root)
    if resume and paths.checkpoint.is_file():
        checkpoint = load_checkpoint(paths.checkpoint)
        for key in ("algo", "task"):
            if checkpoint.get(key) != getattr(config, key):
                raise ValueError(
                    f"cannot resume {root}: it holds {key} {checkpoint.get(key)!r}, "
                    f"not {getattr(config, key)!r}"
                )
        changed = config_differences(checkpoint.get("train_config", {}), config)
        if changed and not force:
            raise ValueError(
                f"cannot resume {root}: its config differs ({'; '.join(changed)}); "
                f"resume with the run's own settings or force it"
            )
        steps = int(checkpoint.get("env_steps", 0))
        if steps >= config.total_steps:
            raise ValueError(
                f"run {root} already has {steps} env steps; raise the step budget above "
                f"that to continue"
            )
        return checkpoint
    if root.exists() and any(root.iterdir()):
        held = " (already holds a checkpoint)" if paths.checkpoint.is_file() else ""
        raise ValueError(
            f"run folder {root} already exists and is not empty{held}; use --resume {root} "
            f"(rl-control train) or resume:=true (launch), or another run folder"
        )
    return None


def open_run_folder(
    config: TrainConfig, algorithm: Algorithm, resume: bool, force: bool = False
) -> tuple[RunPaths, dict[str, Any] | None]:
    """The one run-folder rule of ``rl-control train`` and the graph trainer.

    * no ``run_dir``: a new folder ``runs/<algo>_<task>_seed<seed>`` (suffixed if taken);
    * ``resume`` and the folder holds a checkpoint: continue it, after checking that it was
      made by the same algorithm on the same task with the same settings (only the budget
      may change; ``force`` accepts other differences) and that its budget is not spent;
    * otherwise the folder must be empty or missing.

    Fills in ``config.run_dir``, loads the checkpoint into ``algorithm`` and the RNGs, writes
    ``config.yaml`` and returns the paths and the checkpoint (None for a new run).
    """
    checkpoint = check_run_folder(config, resume, force)
    root = Path(config.run_dir) if config.run_dir else default_run_dir(config)
    if checkpoint is not None:
        algorithm.load_state_dict(checkpoint["algorithm_state"])
        set_rng_state(checkpoint["rng"])
    root.mkdir(parents=True, exist_ok=True)
    config.run_dir = str(root)
    paths = RunPaths(root)
    atomic_write_yaml(paths.config, config.to_dict())
    return paths, checkpoint


class RunSession:
    """Counters, metrics rows, checkpoints and learning curve of one run folder."""

    def __init__(
        self,
        config: TrainConfig,
        paths: RunPaths,
        counters: Counters | None = None,
        tensorboard: bool = True,
        pending: Mapping[str, Any] | None = None,
    ) -> None:
        self.config = config
        self.paths = paths
        self.counters = counters or Counters()
        resume_step = self.counters.env_steps if counters is not None else None
        self.metrics = MetricsLogger(
            paths.metrics, paths.tensorboard if tensorboard else None, resume_step
        )
        self._returns: list[float] = []
        self._stats: dict[str, list[float]] = {}
        self._started = time.perf_counter()
        self._wall_at_start = self.counters.wall_time
        self._row_step, self._row_time = self.counters.env_steps, self._started
        if pending:  # what a checkpoint's run had gathered for its next row
            self._restore_pending(pending)
        self._start_step = self.counters.env_steps
        #: seconds spent evaluating and checkpointing, kept out of the steps/s figures
        self.excluded_time = 0.0
        self.last_eval: EvalResult | None = None

    @property
    def wall_time(self) -> float:
        """Seconds of training including earlier (resumed) segments."""
        return self._wall_at_start + time.perf_counter() - self._started

    def exclude_time(self, seconds: float) -> None:
        """Keep ``seconds`` (evaluation, checkpointing) out of the steps/s measurements."""
        self._row_time += seconds
        self.excluded_time += seconds

    @property
    def steps_per_s(self) -> float:
        """Training throughput of this session (env steps per second, excluding evaluation)."""
        elapsed = time.perf_counter() - self._started - self.excluded_time
        steps = self.counters.env_steps - self._start_step
        return steps / elapsed if elapsed > 0 else math.nan

    def add_steps(self, steps: int, episode_returns: Iterable[float] = ()) -> None:
        """Count ``steps`` env steps and the returns of episodes that ended (NaN = none)."""
        self.counters.env_steps += int(steps)
        finished = [float(r) for r in episode_returns if not math.isnan(float(r))]
        self.counters.episodes += len(finished)
        self._returns += finished

    def add_update(self, stats: Mapping[str, float]) -> None:
        """Count one update and keep its statistics for the next row (averaged)."""
        self.counters.updates += 1
        for key, value in stats.items():
            self._stats.setdefault(key, []).append(float(value))

    def steps_since_row(self) -> int:
        return self.counters.env_steps - self._row_step

    def write_row(self, evaluation: EvalResult | None = None) -> dict[str, Any]:
        """Write one metrics row from everything gathered since the previous one."""
        now = time.perf_counter()
        elapsed, steps = now - self._row_time, self.steps_since_row()
        if evaluation is not None:
            self.last_eval = evaluation
        row: dict[str, Any] = {
            "env_steps": self.counters.env_steps,
            "episodes": self.counters.episodes,
            "updates": self.counters.updates,
            "wall_time": round(self.wall_time, 3),
            "steps_per_s": steps / elapsed if steps > 0 and elapsed > 0 else math.nan,
            "train_return": float(np.mean(self._returns)) if self._returns else math.nan,
            "eval_return_mean": evaluation.mean if evaluation else math.nan,
            "eval_return_std": evaluation.std if evaluation else math.nan,
        }
        row.update({k: float(np.mean(v)) for k, v in self._stats.items()})
        self.metrics.log(row)
        self._returns, self._stats = [], {}
        self._row_step, self._row_time = self.counters.env_steps, now
        return row

    def pending(self) -> dict[str, Any]:
        """What has been gathered for the next metrics row (episode returns, update stats):
        checkpoints keep it, so a resumed run writes the same rows as an uninterrupted one."""
        stats = {k: list(v) for k, v in self._stats.items()}
        return {"returns": list(self._returns), "stats": stats, "row_step": self._row_step}

    def _restore_pending(self, pending: Mapping[str, Any]) -> None:
        self._returns = [float(r) for r in pending.get("returns", [])]
        self._stats = {k: [float(x) for x in v] for k, v in pending.get("stats", {}).items()}
        self._row_step = int(pending.get("row_step", self.counters.env_steps))

    def snapshot(self) -> dict[str, Any]:
        """Counters and pending row data now, for :meth:`rewind` (an update boundary)."""
        self.counters.wall_time = self.wall_time
        return {"counters": dataclasses.replace(self.counters), "pending": self.pending()}

    def rewind(self, snapshot: Mapping[str, Any]) -> None:
        """Return to a :meth:`snapshot`: work gathered since then is not counted."""
        wall = self.wall_time
        self.counters = dataclasses.replace(snapshot["counters"])
        self._wall_at_start, self._started = wall, time.perf_counter()  # time still passed
        self._restore_pending(snapshot["pending"])

    def checkpoint_meta(self) -> dict[str, Any]:
        """Everything besides the algorithm that a checkpoint of this run stores."""
        self.counters.wall_time = self.wall_time
        return {
            "task": self.config.task,
            "env": dict(self.config.env),
            "algo_config": dict(self.config.algo_config),
            "seed": self.config.seed,
            "train_config": self.config.to_dict(),
            "env_steps": self.counters.env_steps,
            "episodes": self.counters.episodes,
            "updates": self.counters.updates,
            "wall_time": self.counters.wall_time,
            "rng": get_rng_state(),
            "pending_row": self.pending(),
        }

    def save(
        self,
        algorithm: Algorithm,
        extra: Mapping[str, Any] | None = None,
        rng: Mapping[str, Any] | None = None,
    ) -> None:
        """Atomically replace the run's checkpoint (plus ``extra`` entries; ``rng`` instead of
        the generators' current state), then redraw its learning curve."""
        start = time.perf_counter()
        meta = {**self.checkpoint_meta(), **(extra or {})}
        if rng is not None:
            meta["rng"] = rng
        save_checkpoint(self.paths.checkpoint, algorithm, meta)
        self.plot()
        self.exclude_time(time.perf_counter() - start)

    def plot(self) -> None:
        """Redraw ``learning_curve.png`` from the metrics CSV."""
        plot_learning_curve(self.paths.metrics, self.paths.curve)

    def close(self) -> None:
        self.metrics.close()

    @staticmethod
    def counters_from_checkpoint(checkpoint: Mapping[str, Any]) -> Counters:
        """Counters stored by :meth:`checkpoint_meta`."""
        return Counters(
            env_steps=int(checkpoint.get("env_steps", 0)),
            episodes=int(checkpoint.get("episodes", 0)),
            updates=int(checkpoint.get("updates", 0)),
            wall_time=float(checkpoint.get("wall_time", 0.0)),
        )
