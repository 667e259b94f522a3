"""Table, learning curves, summary and gait GIF of experiments/minitaur_walk.py."""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from experiments import fair

if TYPE_CHECKING:
    from results_table import RunInfo

    from experiments.minitaur_walk import Plan

HEADER = (
    "policy", "seeds", "forward distance per episode (m)", "forward speed (m/s)",
    "cost of transport", "episode return", "distance per seed (m)",
    "seeds farther than the generator alone",
)  # fmt: skip
METRICS = ("distance", "speed", "cost_of_transport", "return")
#: the curves' line style of each settings variant, in minitaur_walk.VARIANTS order
LINE_STYLES = ("-", "--", ":", "-.", (0, (5, 1, 1, 1, 1, 1)))


def _values(results: list[dict]) -> dict[str, list[float]]:
    out = {m: [r["final"].get(m, math.nan) for r in results] for m in METRICS[:3]}
    out["return"] = [r["curve"][-1][1] for r in results]
    return out


def curve_of(result: dict, first: dict | None) -> tuple[np.ndarray, np.ndarray]:
    """(env steps, eval return) of a row's run; TRPO → PPO: the TRPO half, then the PPO
    half shifted by the TRPO half's steps (its step-0 evaluation is the TRPO half's end)."""
    steps, returns = (np.array(v, dtype=float) for v in zip(*result["curve"], strict=True))
    if first is None:
        return steps, returns
    s0, r0 = (np.array(v, dtype=float) for v in zip(*first["curve"], strict=True))
    return np.concatenate([s0, steps[1:] + s0[-1]]), np.concatenate([r0, returns[1:]])


def _cell(values: list[float], digits: int) -> str:
    return fair.spread([v if math.isfinite(v) else math.nan for v in values], digits)


def write_results(
    plan: Plan,
    quick: bool,
    out: Path,
    found: dict[str, list[dict]],
    zero: dict[str, float],
    runs: Path,
    run: RunInfo,
    seconds: float,
) -> dict[str, Any]:
    """Write minitaur_walk.{md,json,png} (and the best policy's GIF); return the summary."""
    from results_table import write_markdown

    from experiments import minitaur_walk as mw
    from rl_control.training.io import atomic_write_json

    results_dir = out / ("minitaur_walk_runs" + "_quick" * quick)
    summary: dict[str, Any] = {
        "quick": quick, "budget": plan.budget, "every": plan.every,
        "seeds": list(plan.seeds), "variants": list(plan.variants), "zero_residual": zero,
        "rows": {},
    }  # fmt: skip
    table, curves = [], {}
    for row, results in found.items():
        if not results:
            table.append([row, "none finished", "-", "-", "-", "-", "-", "-"])
            continue
        values = _values(results)
        seeds = [r["settings"]["seed"] for r in results]
        firsts = [mw.load(results_dir, r["settings"]["init_from"]) if r["settings"]["init_from"]
                  else None for r in results]  # fmt: skip
        curves[row] = [curve_of(r, f) for r, f in zip(results, firsts, strict=True)]
        summary["rows"][row] = {**values, "seeds": seeds,
                                "keys": [mw.key(r["settings"]) for r in results]}  # fmt: skip
        table.append([
            row, ", ".join(map(str, seeds)), _cell(values["distance"], 2),
            _cell(values["speed"], 3), _cell(values["cost_of_transport"], 2),
            _cell(values["return"], 2), ", ".join(f"{d:.2f}" for d in values["distance"]),
            f"{sum(d > zero['distance'] for d in values['distance'])}/{len(seeds)}",
        ])  # fmt: skip
    table.append([
        "zero residual (generator alone)", "-", f"{zero['distance']:.2f}",
        f"{zero['speed']:.3f}", f"{zero['cost_of_transport']:.2f}", "-", "-", "-",
    ])  # fmt: skip
    finished = {r["settings"]["seed"] for results in found.values() for r in results}
    summary["seeds"], summary["planned_seeds"] = sorted(finished), list(plan.seeds)
    if not any(found.values()):
        raise RuntimeError("minitaur_walk: no finished runs to report")
    best_row, best = max(
        ((r, i) for r in found for i in range(len(found[r]))),
        key=lambda ri: summary["rows"][ri[0]]["distance"][ri[1]],
    )
    best_key, best_seed = summary["rows"][best_row]["keys"][best], found[best_row][best]
    best_seed = best_seed["settings"]["seed"]
    summary["best"] = {"row": best_row, "seed": best_seed, "key": best_key}
    gif = _record_best(out, runs / best_key, found[best_row][best], mw.walk, quick)
    complete = all(len(f) == len(plan.seeds) for f in found.values())
    notes = [
        f"Budget: {plan.budget} env steps per row and seed (TRPO → PPO: TRPO for "
        f"{plan.budget // 2}, then PPO warm-started from its networks for the rest), "
        f"{len(plan.seeds)} seeds, every finished seed reported (none screened)"
        + (
            "."
            if complete
            else "; INCOMPLETE: the study was stopped before every run "
            "finished, rows list the seeds they have (rerun the command to finish it)."
        ),
        "Hyperparameters: each algorithm's own tuned settings from the slides, as in "
        "config/train/{ppo,trpo,trpo_then_ppo}_minitaur.yaml (tuned there for the raw "
        "8-motor action space); no per-algorithm tuning in the plain, "
        f"'{mw.VARIANT_LABELS['horizon'].lstrip(' ·')}', "
        f"'{mw.VARIANT_LABELS['gamma'].lstrip(' ·')}' and "
        f"'{mw.VARIANT_LABELS['std'].lstrip(' ·')}' rows (the same change for each of the "
        "three). Plain rows: those settings "
        "as they are. Rows "
        f"'{mw.VARIANT_LABELS['horizon'].lstrip(' ·')}': the same with two task-level changes "
        f"for all three, gamma {mw.variant_overrides('horizon')['gamma']} (a {mw.HORIZON_S:g} s "
        "horizon at the 100 Hz control rate, where the slides' 0.909 / 0.974 / 0.913 are "
        "0.11 / 0.38 / 0.11 s, under one 0.5 s trot period) and initial log-std "
        f"{mw.RESIDUAL_LOG_STD:g} in the unit action space (std 0.37 of the ±0.25 rad bound: "
        "0.7 % of draws clipped, against 32 % at the default std 1); see "
        "experiments/minitaur_walk.py. Trajectory generator: the defaults of "
        "rl_control/tasks/minitaur_tg.py (2 Hz trot, swing 0.3 rad, extension 0.35 rad, "
        "residual ±0.25), untuned.",
    ]
    if {"gamma", "std"} & set(plan.variants):
        notes.append(
            f"Rows '{mw.VARIANT_LABELS['gamma'].lstrip(' ·')}' and "
            f"'{mw.VARIANT_LABELS['std'].lstrip(' ·')}': each of those two changes alone (gamma "
            "0.99 with the default initial std; initial log-std -1 with each algorithm's slides' "
            "gamma), to separate what each contributes. Curves: one colour per algorithm, one "
            "line style per variant (solid slides, dashed both changes, dotted gamma only, "
            "dash-dot std only, dash-dot-dot tuned)."
        )
    if "tuned" in plan.variants:
        notes.append(
            f"Rows '{mw.VARIANT_LABELS['tuned'].lstrip(' ·')}': the one per-algorithm variant, "
            "tuned with equal effort: each algorithm's settings are the best of its own Optuna "
            "study (experiments/minitaur_tune.py; tables minitaur_tune_ppo.md and "
            "minitaur_tune_trpo.md: the same trials, steps per trial, search-space size, "
            "sampler seed, pruner and objective, trained on a seed not reported here). PPO "
            "runs config/train/ppo_minitaur_tg_tuned.yaml, TRPO trpo_minitaur_tg_tuned.yaml, "
            "TRPO → PPO TRPO's for its TRPO half and PPO's for its PPO half."
        )
    notes += [
        "Metrics: the final policy's deterministic 1000-step episode (10 s; the task has no "
        "noise, so all evaluation episodes are alike). Cost of transport = Σ|τ·q̇|Δt / (m g d), "
        "m the robot's mass. Cells: median [min, max] over seeds.",
        f"Best policy: {best_row}, seed {best_seed}"
        + (f"; its gait: {gif.name} and {gif.stem}_gait.png." if gif else "."),
        f"Wall time {seconds / 60:.1f} min (runs reused from earlier invocations count 0).",
    ]
    title = "Minitaur walking on the trajectory-generator action space" + " (QUICK)" * quick
    write_markdown("minitaur_walk", title, HEADER, table, notes, run=run, out_dir=out)
    _plot(curves, zero, out / "minitaur_walk.png", plan)
    atomic_write_json(out / "minitaur_walk.json", summary)
    return summary


def _record_best(out: Path, run_dir: Path, result: dict, walk: Any, quick: bool) -> Path | None:
    """The best policy's GIF and gait diagram (skipped with a note when its run folder is
    not on this machine: the GIF already in the results stays)."""
    from rl_control.training.checkpoint import load_checkpoint, policy_from_record

    gif = out / ("minitaur_walk_best" + "_quick" * quick + ".gif")
    if not (run_dir / "checkpoint.pt").is_file():
        print(f"note: no checkpoint in {run_dir}; the best policy's GIF was not re-recorded")
        return gif if gif.is_file() else None
    policy = policy_from_record(load_checkpoint(run_dir)["policy"])
    walk(policy, result["settings"]["env"], result["settings"]["seed"] + 10_000, record=gif)
    return gif


def _plot(curves: dict, zero: dict, path: Path, plan: Plan) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from experiments.minitaur_walk import ROWS, VARIANTS, row_name
    from rl_control.training.io import atomic_write_bytes

    fig, ax = plt.subplots(figsize=(11, 4.5))
    grid = np.arange(0, plan.budget + 1, plan.every, dtype=float)
    for row, runs in curves.items():
        ys = np.array([fair.on_grid(s, r, grid) for s, r in runs])
        algo, variant = next((a, v) for v in VARIANTS[::-1] for a in ROWS
                             if row == row_name(a, v))  # fmt: skip
        style = LINE_STYLES[VARIANTS.index(variant)]  # one line style per variant
        color = f"C{ROWS.index(algo)}"  # one colour per algorithm
        ax.plot(grid, ys.mean(0), linestyle=style, color=color,
                label=f"{row} (mean of {len(runs)})")  # fmt: skip
        ax.fill_between(grid, ys.min(0), ys.max(0), color=color, alpha=0.15)
    ax.set_xlabel("env steps")
    ax.set_ylabel("eval return (forward m − energy)")
    ax.set_title("minitaur_tg: learning curves (band: min-max over seeds)")
    ax.legend(fontsize="x-small", loc="upper left", bbox_to_anchor=(1.01, 1))  # off the curves
    fig.tight_layout()
    import io

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    plt.close(fig)
    atomic_write_bytes(path, buffer.getvalue())
