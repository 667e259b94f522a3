"""Learning-curve figures: one run's curve, and several runs grouped by label over seeds.

Figures are drawn with matplotlib's object API on the Agg canvas (no pyplot, no display, no
global backend switch) and written atomically like every other run-folder file.
"""

from __future__ import annotations

import io
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from rl_control.training.io import RunPaths, atomic_write_bytes, read_yaml
from rl_control.training.metrics import read_metrics

#: what each metrics column measures, for axis labels and legends
METRIC_NAMES = {
    "eval_return_mean": "eval return (deterministic policy)",
    "train_return": "training-episode return (stochastic policy)",
}
#: curves with at most this many points are drawn with a marker on every point
MARKER_MAX_POINTS = 100


@dataclass
class RunCurve:
    """Return against env steps of one run (``seed`` None when the run does not say)."""

    label: str
    steps: np.ndarray
    returns: np.ndarray
    metric: str
    seed: int | None = None
    source: str = ""


def save_png(fig: Figure, out: str | os.PathLike[str], dpi: int = 100) -> Path:
    """Write ``fig`` to ``out`` as a PNG, atomically (no half-written image is ever seen)."""
    FigureCanvasAgg(fig)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    atomic_write_bytes(out, buffer.getvalue())
    return Path(out)


def _finite(steps: list[float], values: list[float]) -> tuple[np.ndarray, np.ndarray]:
    s, v = np.asarray(steps, dtype=float), np.asarray(values, dtype=float)
    keep = np.isfinite(s) & np.isfinite(v)
    return s[keep], v[keep]


def load_curve(run_dir: str | os.PathLike[str]) -> RunCurve:
    """Eval return of a run folder (train return if it was never evaluated, as graph runs
    are not), labelled by the config's ``label`` or else its algorithm."""
    paths = RunPaths(Path(run_dir))
    if not paths.root.is_dir():
        raise ValueError(f"run folder not found: {paths.root}")
    columns = read_metrics(paths.metrics)
    label, seed = paths.root.name, None
    if paths.config.is_file():
        config = read_yaml(paths.config) or {}
        label = str(config.get("label") or config.get("algo") or label)
        seed = config.get("seed")
    steps = columns.get("env_steps", [])
    for metric in METRIC_NAMES:
        s, v = _finite(steps, columns.get(metric, []))
        if len(s):
            return RunCurve(label, s, v, metric, seed, str(paths.root))
    raise ValueError(f"run folder {paths.root} has no logged returns yet")


def plot_learning_curve(csv_path: str | os.PathLike[str], out: str | os.PathLike[str]) -> Path:
    """One run: training-episode return and deterministic eval return (± std) vs env steps."""
    columns = read_metrics(csv_path)
    fig = Figure(figsize=(7, 4))
    ax = fig.add_subplot()
    steps = columns.get("env_steps", [])
    s, v = _finite(steps, columns.get("train_return", []))
    if len(s):
        ax.plot(s, v, color="tab:gray", alpha=0.7, label="train episodes (mean)")
    s, v = _finite(steps, columns.get("eval_return_mean", []))
    if len(s):
        std_by_step = dict(zip(steps, columns.get("eval_return_std", []), strict=True))
        std = np.nan_to_num(np.asarray([std_by_step.get(x, 0.0) for x in s], dtype=float))
        ax.plot(s, v, color="tab:blue", marker="o", ms=3, label="eval (deterministic)")
        ax.fill_between(s, v - std, v + std, color="tab:blue", alpha=0.2)
    ax.set_xlabel("env steps")
    ax.set_ylabel("episode return")
    ax.grid(alpha=0.3)
    if ax.has_data():
        ax.legend(loc="best")
    fig.tight_layout()
    return save_png(fig, out)


def group_curves(curves: Sequence[RunCurve]) -> dict[tuple[str, str], list[RunCurve]]:
    """Runs by (label, metric), in first-seen order: a spread is over seeds of one label
    measured one way, so two runs of a label with the same seed are refused."""
    groups: dict[tuple[str, str], list[RunCurve]] = {}
    for curve in curves:
        group = groups.setdefault((curve.label, curve.metric), [])
        twin = next((c for c in group if curve.seed is not None and c.seed == curve.seed), None)
        if twin is not None:
            raise ValueError(
                f"{twin.source} and {curve.source} are both {curve.label!r} with seed "
                f"{curve.seed}: a spread needs different seeds; plot one of them, or train "
                f"them under different labels (--set label=NAME)"
            )
        group.append(curve)
    return groups


def aggregate(curves: Sequence[RunCurve], band: str = "minmax") -> tuple[np.ndarray, ...]:
    """(steps, mean, low, high) of curves on the logged steps that all of them cover
    (each run interpolated between its own rows onto the others' steps).

    ``band`` is ``"minmax"`` (envelope over seeds) or ``"std"`` (mean ± one std).
    """
    if band not in ("minmax", "std"):
        raise ValueError(f"band must be 'minmax' or 'std', got {band!r}")
    start = max(float(c.steps[0]) for c in curves)
    stop = min(float(c.steps[-1]) for c in curves)
    if stop < start:  # no overlap: fall back to the first curve's steps
        grid = curves[0].steps
    else:
        grid = np.unique(np.concatenate([c.steps for c in curves]))
        grid = grid[(grid >= start) & (grid <= stop)]
    values = np.stack([np.interp(grid, c.steps, c.returns) for c in curves])
    mean = values.mean(axis=0)
    if band == "std":
        std = values.std(axis=0)
        return grid, mean, mean - std, mean + std
    return grid, mean, values.min(axis=0), values.max(axis=0)


def draw_runs(
    curves: Sequence[RunCurve], band: str = "minmax", title: str | None = None
) -> Figure:
    """One line (mean over seeds, a marker per logged point) and band per label and metric;
    the axis, or with mixed metrics each legend entry, says which return is plotted."""
    groups = group_curves(curves)
    metrics = {metric for _, metric in groups}
    fig = Figure(figsize=(7, 4))
    ax = fig.add_subplot()
    for (label, metric), group in groups.items():
        grid, mean, low, high = aggregate(group, band)
        n = len(group)
        name = label if len(metrics) == 1 else f"{label}: {METRIC_NAMES[metric]}"
        sparse = len(grid) <= MARKER_MAX_POINTS
        (line,) = ax.plot(
            grid, mean, label=f"{name} (mean of {n} seeds)" if n > 1 else name,
            marker="o" if sparse else None, ms=3,
            linestyle="--" if metric == "train_return" and len(metrics) > 1 else "-",
        )  # fmt: skip
        if n > 1:
            ax.fill_between(grid, low, high, color=line.get_color(), alpha=0.2)
    ax.set_xlabel("env steps")
    ax.set_ylabel(METRIC_NAMES[metrics.pop()] if len(metrics) == 1 else "episode return")
    if title:
        ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(loc="best")
    fig.tight_layout()
    return fig


def plot_runs(
    run_dirs: Sequence[str | os.PathLike[str]],
    out: str | os.PathLike[str],
    band: str = "minmax",
    title: str | None = None,
) -> Path:
    """Overlay several runs (see :func:`draw_runs`) and write the PNG ``out``, whose folder
    must exist (a typo should not create directories)."""
    if not run_dirs:
        raise ValueError("plot needs at least one run folder")
    out = Path(out)
    if out.suffix.lower() != ".png":
        raise ValueError(f"the plot is written as PNG: --out must end in .png, got {out}")
    if not out.parent.is_dir():
        raise ValueError(f"folder for --out does not exist: {out.parent}")
    fig = draw_runs([load_curve(d) for d in run_dirs], band, title)
    return save_png(fig, out)
