"""Helpers for fair, resumable learning-curve comparisons (used by every experiment script).

- :class:`Clock` / :func:`clocked_factory`: training wall and CPU seconds up to each
  evaluation, measured the same way for every algorithm: from the start of the first (step 0)
  evaluation, evaluations excluded (an evaluation lasts from its first episode's reset until
  the next training env step), so start-up and the final checkpoint are out on both sides.
- :func:`first_hit` / :func:`at_threshold`: the first evaluation at or above a threshold and
  what had been spent by then (rollouts, env steps, wall and CPU seconds).
- :func:`check_grid` / :func:`on_grid`: every policy in force at a common evaluation grid
  point was evaluated, and the curve read on that grid as a step function.
- :func:`screen`: the screening rule for PPO-MPC's initial models.
- :func:`clocked_train`: one training run from a train-config dict, returned as a clocked
  :class:`Curve` (used by every experiment script, so all measure the same way).
- :func:`settings_key` / :func:`load_result` / :func:`run_once` / :func:`run_pool`: the
  resumable-run skeleton every experiment script shares: a run's result JSON is named by a
  hash of its settings, reused only when it holds exactly those settings, and written
  atomically once the run has finished; an unfinished run folder starts over.
- :func:`grid_points` / :func:`check_disjoint` / :func:`pick_best`: a tuning stage (every
  combination of a method's tuning grid, on tuning seeds disjoint from the reported ones;
  the point with the best mean score over its tuning seeds).
- :func:`write_report`: the end of a report (figure and summary JSON written atomically, then
  the markdown table), shared by the scripts' report functions.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import multiprocessing as mp
import os
import shutil
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import gymnasium as gym
import numpy as np

_Job = TypeVar("_Job")
_Out = TypeVar("_Out")

#: an eval env is reset with seeds eval_seed + i, i < this (training envs never get those)
_EVAL_SEED_SPAN = 1_000


class Clock:
    """Training wall/CPU seconds at the start of each evaluation, evaluations excluded."""

    def __init__(self, eval_seed: int) -> None:
        self.eval_seed = eval_seed
        #: (wall s, CPU s) of training done before each evaluation, in order
        self.at_eval: list[tuple[float, float]] = []
        self._origin: tuple[float, float] | None = None
        self._eval_start: tuple[float, float] | None = None
        self._excluded = (0.0, 0.0)

    @staticmethod
    def now() -> tuple[float, float]:
        """(wall, CPU) clock readings; CPU is the whole process (all threads)."""
        return time.perf_counter(), time.process_time()

    def evaluation_started(self, now: tuple[float, float] | None = None) -> None:
        """The eval env was reset for an evaluation's first episode."""
        now = self.now() if now is None else now
        if self._eval_start is not None:  # back-to-back evaluations: no training in between
            self.at_eval.append(self.at_eval[-1])
            return
        if self._origin is None:
            self._origin = now
        self._eval_start = now
        self.at_eval.append(self._elapsed(now))

    def training_step(self, now: tuple[float, float] | None = None) -> None:
        """A training env stepped: ends the running evaluation, if any."""
        if self._eval_start is None:
            return
        now = self.now() if now is None else now
        start, excl = self._eval_start, self._excluded
        self._excluded = (excl[0] + now[0] - start[0], excl[1] + now[1] - start[1])
        self._eval_start = None

    def _elapsed(self, now: tuple[float, float]) -> tuple[float, float]:
        assert self._origin is not None
        (w, c), (w0, c0), (we, ce) = now, self._origin, self._excluded
        return w - w0 - we, c - c0 - ce


class ClockedEnv(gym.Wrapper):
    """Tells a :class:`Clock` when evaluations start and when training steps happen."""

    def __init__(self, env: gym.Env, clock: Clock) -> None:
        super().__init__(env)
        self.clock = clock
        self.is_eval = False

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):  # type: ignore[override]
        if seed is not None and 0 <= seed - self.clock.eval_seed < _EVAL_SEED_SPAN:
            self.is_eval = True
            if seed == self.clock.eval_seed:
                self.clock.evaluation_started()
        return self.env.reset(seed=seed, options=options)

    def step(self, action: Any):  # type: ignore[override]
        if not self.is_eval:
            self.clock.training_step()
        return self.env.step(action)


def clocked_factory(clock: Clock) -> Callable[..., gym.Env]:
    """An env factory for :class:`~rl_control.training.runner.Runner` wrapping every env."""
    from rl_control.envs.registration import make_env

    def factory(task: str, seed: int | None = None, **params: Any) -> gym.Env:
        return ClockedEnv(make_env(task, seed=seed, **params), clock)

    return factory


@dataclass(frozen=True)
class Curve:
    """One run's evaluations: spent so far (env steps, rollouts, wall s, CPU s) and return."""

    env_steps: np.ndarray
    rollouts: np.ndarray
    wall_s: np.ndarray
    cpu_s: np.ndarray
    returns: np.ndarray

    def __post_init__(self) -> None:
        n = len(self.returns)
        for name in ("env_steps", "rollouts", "wall_s", "cpu_s"):
            if len(getattr(self, name)) != n:
                raise ValueError(f"Curve.{name} has {len(getattr(self, name))} points, not {n}")

    @classmethod
    def from_dict(cls, data: Mapping[str, Sequence[float]]) -> Curve:
        return cls(*(np.asarray(data[k], dtype=float) for k in CURVE_KEYS))

    def to_dict(self) -> dict[str, list[float]]:
        return {k: [float(v) for v in getattr(self, k)] for k in CURVE_KEYS}

    def upto(self, env_steps: float) -> Curve:
        """The evaluations at or before ``env_steps``."""
        keep = self.env_steps <= env_steps
        return Curve(*(getattr(self, k)[keep] for k in CURVE_KEYS))


CURVE_KEYS = ("env_steps", "rollouts", "wall_s", "cpu_s", "returns")
#: what :func:`at_threshold` reports, in table order
SPENT = ("rollouts", "env_steps", "wall_s", "cpu_s")


def first_hit(steps: Sequence[float], returns: Sequence[float], threshold: float) -> float:
    """``steps`` at the first evaluation whose return is at or above ``threshold`` (NaN: none)."""
    steps, returns = np.asarray(steps, dtype=float), np.asarray(returns, dtype=float)
    if steps.shape != returns.shape:
        raise ValueError(f"steps {steps.shape} and returns {returns.shape} differ in shape")
    hit = np.nonzero(returns >= threshold)[0]
    return float(steps[hit[0]]) if len(hit) else math.nan


def at_threshold(curve: Curve, threshold: float) -> dict[str, float]:
    """Rollouts, env steps, wall and CPU seconds spent at the first evaluation >= threshold."""
    return {k: first_hit(getattr(curve, k), curve.returns, threshold) for k in SPENT}


def eval_grid(budget: int, every: int) -> np.ndarray:
    """The common evaluation grid 0, every, 2 every, ..., up to ``budget``."""
    if every <= 0 or budget < every:
        raise ValueError(f"need 0 < every <= budget, got every={every}, budget={budget}")
    return np.arange(0, budget + 1, every, dtype=float)


def check_grid(eval_steps: Sequence[float], update_size: int, grid: Sequence[float]) -> None:
    """Raise ValueError unless the policy in force at every grid point was evaluated.

    A run updates every ``update_size`` env steps; at grid point g the policy in force is the
    one after the update at floor(g / update_size) * update_size, which must be an eval point.
    """
    if update_size <= 0:
        raise ValueError(f"update_size must be positive, got {update_size}")
    evaluated = {float(s) for s in eval_steps}
    for g in grid:
        last_update = float(int(g) // update_size * update_size)
        if last_update not in evaluated:
            raise ValueError(
                f"grid point {g:g}: the policy of the update at {last_update:g} env steps was "
                f"never evaluated (evaluations at {sorted(evaluated)})"
            )


def on_grid(steps: Sequence[float], values: Sequence[float], grid: Sequence[float]) -> np.ndarray:
    """``values`` read on ``grid`` as a step function: the last evaluation at or before g."""
    steps = np.asarray(steps, dtype=float)
    if len(steps) == 0 or steps[0] > np.min(grid):
        raise ValueError("on_grid: the curve must start at or before the grid's first point")
    if np.any(np.diff(steps) < 0):
        raise ValueError("on_grid: eval steps must be sorted")
    index = np.searchsorted(steps, np.asarray(grid, dtype=float), side="right") - 1
    return np.asarray(values, dtype=float)[index]


def clocked_train(data: dict[str, Any], eval_seed: int) -> dict[str, Any]:
    """Train the run described by train-config dict ``data`` (its ``run_dir`` is used) and
    return {"curve": its evaluations as a Curve dict, "process_wall_s", "process_cpu_s"}."""
    from pathlib import Path

    from rl_control.training.config import TrainConfig
    from rl_control.training.metrics import read_metrics
    from rl_control.training.runner import Runner

    clock = Clock(eval_seed)
    wall0, cpu0 = Clock.now()
    Runner(
        TrainConfig.from_dict(data), tensorboard=False, env_factory=clocked_factory(clock)
    ).train()
    wall1, cpu1 = Clock.now()
    run_dir = Path(data["run_dir"])
    rows = read_metrics(run_dir / "metrics.csv")
    evals = [i for i, r in enumerate(rows["eval_return_mean"]) if not np.isnan(r)]
    if len(evals) != len(clock.at_eval):
        raise RuntimeError(f"{run_dir}: {len(evals)} eval rows but {len(clock.at_eval)} clocked")
    curve = Curve(
        np.array([rows["env_steps"][i] for i in evals]),
        np.array([rows["episodes"][i] for i in evals]),
        np.array([w for w, _ in clock.at_eval]),
        np.array([c for _, c in clock.at_eval]),
        np.array([rows["eval_return_mean"][i] for i in evals]),
    )
    return {"curve": curve.to_dict(), "process_wall_s": wall1 - wall0,
            "process_cpu_s": cpu1 - cpu0}  # fmt: skip


def screen(
    returns: Mapping[int, float], bar: float, needed: int, exclude: Iterable[int] = ()
) -> list[int]:
    """The screening rule: model seeds in increasing order, skipping ``exclude`` (seeds used
    during development), kept when their MPC's eval return is below ``bar`` (the zero-force
    policy's), until ``needed`` are kept. Raises ValueError if too few qualify."""
    if needed < 1:
        raise ValueError(f"needed must be at least 1, got {needed}")
    skip = set(exclude)
    kept = [s for s in sorted(returns) if s not in skip and returns[s] < bar][:needed]
    if len(kept) < needed:
        raise ValueError(f"only {len(kept)} of {needed} model seeds score below {bar:.1f}")
    return kept


def censored_median(values: Sequence[float]) -> float:
    """Median over all seeds, a seed that never got there (NaN) counting as infinitely late,
    so seeds that failed are not silently dropped (inf: the median seed never got there)."""
    arr = np.asarray(values, dtype=float)
    if len(arr) == 0:
        raise ValueError("censored_median: no values")
    return float(np.median(np.where(np.isnan(arr), np.inf, arr)))


def spread(values: Sequence[float], digits: int = 0) -> str:
    """'median [min, max]' over the seeds (censored, see :func:`censored_median`), with
    'k/n reached' when some seeds never got there."""
    arr = np.asarray(values, dtype=float)
    ok = arr[~np.isnan(arr)]
    if len(ok) == 0:
        return f"not reached (0/{len(arr)})"

    def fmt(x: float) -> str:
        return "never" if math.isinf(x) else f"{x:.{digits}f}"

    high = ok.max() if len(ok) == len(arr) else math.inf
    text = f"{fmt(censored_median(arr))} [{fmt(ok.min())}, {fmt(high)}]"
    return text if len(ok) == len(arr) else f"{text} ({len(ok)}/{len(arr)} reached)"


def median_ratio(slow: Sequence[float], fast: Sequence[float]) -> float:
    """Censored median of ``slow`` over that of ``fast``: inf if only ``fast``'s median seed
    got there, 0 if only ``slow``'s did, NaN if neither did."""
    a, b = censored_median(slow), censored_median(fast)
    if math.isinf(a) and math.isinf(b):
        return math.nan
    if math.isinf(b):
        return 0.0
    return a / b if b > 0 else (math.inf if a > 0 else math.nan)


def grid_points(axes: Mapping[str, Sequence[Any]]) -> list[dict[str, Any]]:
    """Every combination of a tuning grid ``axes`` (hyperparameter -> its values), in grid
    order (the last axis varies fastest)."""
    if not axes or any(len(v) == 0 for v in axes.values()):
        raise ValueError(f"grid_points: every axis needs at least one value, got {dict(axes)}")
    names = list(axes)
    return [dict(zip(names, combo, strict=True))
            for combo in itertools.product(*(axes[n] for n in names))]  # fmt: skip


def check_disjoint(tuning_seeds: Iterable[int], report_seeds: Iterable[int]) -> None:
    """Raise ValueError unless there are tuning seeds and none of them is reported (a pick
    scored on a reported seed would be selected on the very runs it is judged by)."""
    tuning, report = set(tuning_seeds), set(report_seeds)
    if not tuning:
        raise ValueError("no tuning seeds")
    if tuning & report:
        raise ValueError(f"tuning seeds {sorted(tuning & report)} are also reported seeds")


def pick_best(scores: Sequence[Sequence[float]]) -> int:
    """The index of the grid point whose scores (one per tuning seed) have the highest mean;
    the first such point on a tie. Raises ValueError on an empty grid, a point without scores
    or a non-finite score (a broken run must not lose or win silently)."""
    if len(scores) == 0:
        raise ValueError("pick_best: empty grid")
    means = []
    for i, point in enumerate(scores):
        arr = np.asarray(point, dtype=float)
        if arr.size == 0 or not np.all(np.isfinite(arr)):
            raise ValueError(f"pick_best: grid point {i} has scores {list(point)}")
        means.append(float(arr.mean()))
    return int(np.argmax(means))  # argmax: the first maximum


def settings_key(settings: Mapping[str, Any]) -> str:
    """A run's file name: a hash of everything that defines it (its settings)."""
    return hashlib.sha1(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:16]


def load_result(path: Path, settings: Mapping[str, Any]) -> dict[str, Any] | None:
    """The result JSON at ``path`` if it is a finished run of exactly ``settings`` (compared
    after a JSON round trip, so tuples and lists match), else None (not run yet)."""
    if not path.is_file():
        return None
    data = json.loads(path.read_text())
    return data if data.get("settings") == json.loads(json.dumps(settings)) else None


def run_once(
    result: Path,
    settings: Mapping[str, Any],
    train: Callable[[Path], Mapping[str, Any]],
    run_dir: Path,
    *,
    keep_run: bool = True,
) -> float:
    """One resumable experiment run; returns the seconds spent here (0.0: reused).

    Reuses ``result`` when it holds a finished run of ``settings``. Otherwise trains on one
    thread (every run of every method gets the same CPU), starting ``run_dir`` over (an
    unfinished run is never continued), calls ``train(run_dir)`` for the payload and writes
    ``{"settings": settings, **payload}`` atomically; ``keep_run=False`` then removes the run
    folder (the JSON holds what the report needs)."""
    if load_result(result, settings) is not None:
        return 0.0
    os.environ["OMP_NUM_THREADS"] = "1"
    import torch

    from rl_control.training.io import atomic_write_json

    torch.set_num_threads(1)
    start = time.perf_counter()
    shutil.rmtree(run_dir, ignore_errors=True)
    payload = {"settings": settings, **train(run_dir)}
    result.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_json(result, payload)
    if not keep_run:
        shutil.rmtree(run_dir, ignore_errors=True)
    return time.perf_counter() - start


def train_run(
    s: Mapping[str, Any], task: str, run_dir: Path, label: str, *,
    eval_every: int | None = None, init_from: str | None = None,
) -> tuple[list[tuple[int, float]], Any, float]:  # fmt: skip
    """Train one in-process run of settings ``s`` (``algo``, ``env``, ``seed``,
    ``total_steps``, ``algo_config`` and, unless given, ``eval_every``) on ``task`` into
    ``run_dir``: one evaluation episode per point, no checkpoints until the last. Returns the
    evaluation curve as (env step, mean return), the final policy and the training seconds."""
    from rl_control.training.checkpoint import load_checkpoint, policy_from_record
    from rl_control.training.config import TrainConfig
    from rl_control.training.metrics import read_metrics
    from rl_control.training.runner import Runner

    start = time.perf_counter()
    config = TrainConfig(
        algo=s["algo"], task=task, env=dict(s["env"]), seed=s["seed"],
        total_steps=s["total_steps"], algo_config=dict(s["algo_config"]),
        eval_every=s["eval_every"] if eval_every is None else eval_every, eval_episodes=1,
        checkpoint_every=0, run_dir=str(run_dir), label=label, init_from=init_from,
    )  # fmt: skip
    Runner(config, tensorboard=False).train()
    seconds = time.perf_counter() - start
    metrics = read_metrics(run_dir / "metrics.csv")
    curve = [
        (int(step), float(ret))
        for step, ret in zip(metrics["env_steps"], metrics["eval_return_mean"], strict=True)
        if not np.isnan(ret)
    ]
    return curve, policy_from_record(load_checkpoint(run_dir)["policy"]), seconds


def run_pool(fn: Callable[[_Job], _Out], jobs: Iterable[_Job], workers: int) -> Iterator[_Out]:
    """``fn`` over ``jobs``: in this process for one worker (no interpreter start-up), else on
    ``workers`` spawned processes, yielding results as they finish."""
    if workers <= 1:
        yield from map(fn, jobs)
        return
    with mp.get_context("spawn").Pool(workers) as pool:
        yield from pool.imap_unordered(fn, list(jobs))


def write_report(fig: Any, out: Path, name: str, summary: Mapping[str, Any], title: str,
                 header: Sequence[str], rows: Sequence[Sequence[object]],
                 notes: Sequence[str], run: Any, dpi: int = 80) -> Path:  # fmt: skip
    """The end every experiment's report shares: the figure (laid out, then closed) as
    <out>/<name>.png and the summary as <out>/<name>.json, both written atomically, then the
    table <out>/<name>.md (bench/results_table.py: ``run`` is its ``start_run()``); returns
    the table's path."""
    import io
    import sys

    import matplotlib.pyplot as plt

    from rl_control.training.io import atomic_write_bytes, atomic_write_json

    bench = str(Path(__file__).resolve().parents[1] / "bench")
    if bench not in sys.path:
        sys.path.insert(0, bench)
    from results_table import write_markdown

    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    plt.close(fig)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(out / f"{name}.png", buffer.getvalue())
    atomic_write_json(out / f"{name}.json", summary)
    return write_markdown(name, title, header, rows, notes, run=run, out_dir=out)
