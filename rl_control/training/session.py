"""The run-folder side of training, independent of where transitions come from.

:class:`RunSession` keeps the counters, aggregates episode returns and update statistics
into metrics rows, writes checkpoints and the learning curve. The in-process
:class:`~rl_control.training.runner.Runner` drives it from gymnasium envs; the ROS trainer
node drives it from topics.
"""

from __future__ import annotations

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
from rl_control.training.io import RunPaths
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


def restore_run(
    checkpoint_path: str | Path, config: TrainConfig, algorithm: Algorithm
) -> tuple[dict[str, Any], Counters]:
    """Load a run's checkpoint into ``algorithm`` and the RNGs, after checking it was made
    by the same algorithm on the same task; returns the checkpoint and its counters."""
    checkpoint = load_checkpoint(checkpoint_path)
    for key in ("algo", "task"):
        if checkpoint.get(key) != getattr(config, key):
            raise ValueError(
                f"cannot resume {config.run_dir}: it holds {key} {checkpoint.get(key)!r}, "
                f"not {getattr(config, key)!r}"
            )
    algorithm.load_state_dict(checkpoint["algorithm_state"])
    set_rng_state(checkpoint["rng"])
    return checkpoint, RunSession.counters_from_checkpoint(checkpoint)


class RunSession:
    """Counters, metrics rows, checkpoints and learning curve of one run folder."""

    def __init__(
        self,
        config: TrainConfig,
        paths: RunPaths,
        counters: Counters | None = None,
        tensorboard: bool = True,
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
        }

    def save(self, algorithm: Algorithm) -> None:
        """Atomically replace the run's checkpoint, then redraw its learning curve."""
        start = time.perf_counter()
        save_checkpoint(self.paths.checkpoint, algorithm, self.checkpoint_meta())
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
