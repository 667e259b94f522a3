"""Table, learning curves, summary and gait GIF of experiments/quadruped12_slope.py."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from results_table import RunInfo

    from experiments.quadruped12_slope import Plan


def header(slopes: tuple[float, ...]) -> tuple[str, ...]:
    cols = [c for s in slopes for c in (f"speed {s:g} rad (m/s)", f"CoT {s:g} rad")]
    return ("policy", "seeds", *cols, "falls")


def speed_cell(values: list[float]) -> str:
    """'median [min, max]' over seeds, or the one value."""
    v = np.asarray(values, dtype=float)
    if len(v) == 1:
        return f"{v[0]:.3f}"
    return f"{np.median(v):.3f} [{v.min():.3f}, {v.max():.3f}]"


def cot_cell(values: list[float]) -> str:
    """Cost of transport over the seeds that moved forward ('-' for those that did not)."""
    v = np.asarray(values, dtype=float)
    ok = v[np.isfinite(v)]
    back = len(v) - len(ok)
    if not len(ok):
        return "- (moved back)"
    text = (
        f"{ok[0]:.2f}" if len(ok) == 1 else f"{np.median(ok):.2f} [{ok.min():.2f}, {ok.max():.2f}]"
    )
    return text + (f" ({back}/{len(v)} moved back)" if back else "")


def _metric(finals: list[dict], slope: str, name: str) -> list[float]:
    return [float(f[slope][name]) for f in finals]


def _falls(finals: list[dict], slopes: list[str]) -> str:
    fell = [f"{s} rad ({n}/{len(finals)})" for s in slopes
            if (n := sum(bool(f[s]["fell"]) for f in finals))]  # fmt: skip
    return ", ".join(fell) or "none"


def write_results(
    plan: Plan,
    quick: bool,
    out: Path,
    found: dict[str, list[dict]],
    references: dict[str, dict[str, dict]],
    runs: Path,
    run: RunInfo,
    seconds: float,
    study: str = "quadruped12_slope",
) -> dict[str, Any]:
    """Write <study>.{md,json,png} (and the best policy's GIF); return the summary."""
    from results_table import write_markdown

    from experiments.quadruped12_slope import (
        EVAL_SLOPES,
        FALL_PENALTY,
        FLAT_MARGIN,
        HAND_SET,
        ROW_NAMES,
        beats,
        key,
        speeds,
    )
    from rl_control.training.io import atomic_write_json

    slopes = [f"{s:g}" for s in EVAL_SLOPES]
    zero = speeds(references["zero action (nominal trot)"])
    summary: dict[str, Any] = {
        "quick": quick, "budget": plan.budget, "planned_seeds": list(plan.seeds),
        "slopes": slopes, "references": references, "rows": {},
    }  # fmt: skip
    table = []
    for config, results in found.items():
        name = ROW_NAMES[config]
        if not results:
            table.append([name, "none finished", *["-"] * (2 * len(slopes)), "-"])
            continue
        finals = [r["final"] for r in results]
        learned = {s: _metric(finals, s, "speed") for s in slopes}
        summary["rows"][name] = {
            "config": config, "seeds": [r["settings"]["seed"] for r in results],
            "keys": [key(r["settings"]) for r in results], "speed": learned,
            "cost_of_transport": {s: _metric(finals, s, "cost_of_transport") for s in slopes},
            "fell": {s: [bool(f[s]["fell"]) for f in finals] for s in slopes},
            "train_seconds": [r["train_seconds"] for r in results],
            "curves": [r["curve"] for r in results], "goal": beats(learned, zero),
        }  # fmt: skip
        cells = [c for s in slopes for c in (speed_cell(learned[s]),
                 cot_cell(_metric(finals, s, "cost_of_transport")))]  # fmt: skip
        seeds = ", ".join(str(r["settings"]["seed"]) for r in results)
        table.append([name, seeds, *cells, _falls(finals, slopes)])
    for name, final in references.items():
        cells = [c for s in slopes for c in (speed_cell([final[s]["speed"]]),
                 cot_cell([final[s]["cost_of_transport"]]))]  # fmt: skip
        table.append([name, "-", *cells, _falls([final], slopes)])
    finished = sorted({r["settings"]["seed"] for rs in found.values() for r in rs})
    summary["seeds"] = finished
    complete = all(len(f) == len(plan.seeds) for f in found.values())
    goal_lines = []
    for name, row in summary["rows"].items():
        g, steep, flat = row["goal"], slopes[-1], slopes[0]
        verdict = "climbs and beats it" if g["steep"] else "does not climb and beat it"
        goal_lines.append(
            f"{name}: median speed on {steep} rad {np.median(row['speed'][steep]):.3f} vs the "
            f"zero action's {zero[steep]:.3f} m/s ({verdict}); on flat ground "
            f"{np.median(row['speed'][flat]):.3f} vs {zero[flat]:.3f} m/s"
            f" ({'holds' if g['flat'] else 'loses'}: the rule is ≥ {FLAT_MARGIN:.0%} of it);"
            f" it fell on {steep} rad in {sum(row['fell'][steep])}/{len(row['seeds'])} seeds."
        )
    gif = _record_best(out, runs, summary, study, quick)
    notes = [
        f"Budget: {plan.budget} env steps per run (the M-DeMoRL paper trains its quadruped in "
        f"< 60 episodes of 1000 steps), {len(plan.seeds)} seeds planned, every finished seed "
        "reported (none screened)"
        + ("." if complete else "; INCOMPLETE: the study was stopped before every run "
           "finished, rows list the seeds they have (rerun the command to finish it)."),
        "Training: config/train/ppo_quadruped12_slopes.yaml, each episode's ground drawn "
        "from {0, 0.1, 0.17} rad; settings chosen once before the runs (zero tuning trials). "
        f"The fall-penalty row: the same with the task's fall_penalty {FALL_PENALTY:g} "
        "(subtracted on the step into a fall, what 1 m of progress earns; set once, "
        "untuned); the metrics are the same for both rows.",
        "Metrics: one deterministic 10 s episode per policy and slope (the task has no noise). "
        "Speed = distance along +x (uphill) / 10 s, so a fall counts as standing still from "
        "then on; CoT = Σ|τ·q̇|Δt / (m g d), only where d > 0. Cells: median [min, max] over "
        "seeds.",
        "Hand-set constant shift: every foot x −0.05 m (the bound), front feet z +0.02 m, rear "
        f"feet −0.02 m, no step-length or y change ({HAND_SET.tolist()}); the best "
        "of a 45-point grid (x ∈ {−0.05, −0.025, 0, 0.025, 0.05} m, step-length change ∈ "
        "{−0.06, 0, 0.06} m, front/rear z ∈ {0, ±0.02, ±0.04} m) by distance on 0.17 rad.",
        *goal_lines,
        (f"Gait of the best seed on {slopes[-1]} rad: {gif.name} and {gif.stem}_gait.png."
         if gif else "No GIF (no checkpoint on this machine)."),
        f"Wall time {seconds / 60:.1f} min (runs reused from earlier invocations count 0).",
    ]  # fmt: skip
    title = "quadruped12 on flat ground and slopes: learned vs the zero action" + (
        " (QUICK)" * quick
    )
    write_markdown(study, title, header(EVAL_SLOPES), table, notes, run=run, out_dir=out)
    _plot(summary, out / f"{study}.png")
    atomic_write_json(out / f"{study}.json", summary)
    return summary


def _best(summary: dict) -> tuple[str, int] | None:
    """(run key, seed) of the learned run fastest on the steepest slope."""
    steep = summary["slopes"][-1]
    best = [(row["speed"][steep][i], row["keys"][i], row["seeds"][i])
            for row in summary["rows"].values() for i in range(len(row["keys"]))]  # fmt: skip
    if not best:
        return None
    _, name, seed = max(best)
    return name, seed


def _record_best(out: Path, runs: Path, summary: dict, study: str, quick: bool) -> Path | None:
    """The best run's GIF and gait diagram on the steepest slope (skipped with a note when
    its run folder is not on this machine: the GIF already in the results stays)."""
    from experiments.quadruped12_slope import EVAL_SEED_OFFSET, eval_env, walk
    from rl_control.training.checkpoint import load_checkpoint, policy_from_record

    best = _best(summary)
    gif = out / (f"{study}_best" + "_quick" * quick + ".gif")
    if best is None:
        return None
    key, seed = best
    summary["best"] = {"key": key, "seed": seed}
    run_dir = runs / key
    if not (run_dir / "checkpoint.pt").is_file():
        print(f"note: no checkpoint in {run_dir}; the best policy's GIF was not re-recorded")
        return gif if gif.is_file() else None
    checkpoint = load_checkpoint(run_dir)
    policy = policy_from_record(checkpoint["policy"])
    env = eval_env(dict(checkpoint.get("env", {})), float(summary["slopes"][-1]))
    walk(policy, env, seed + EVAL_SEED_OFFSET, record=gif)
    return gif


def _plot(summary: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from rl_control.training.io import atomic_write_bytes

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    for name, row in summary["rows"].items():
        for seed, curve in zip(row["seeds"], row["curves"], strict=True):
            steps, returns = zip(*curve, strict=True)
            left.plot(steps, returns, marker="o", label=f"{name}, seed {seed}")
    left.set_xlabel("env steps")
    left.set_ylabel("eval return (one episode, its seed's slope)")
    left.legend(fontsize=7)
    slopes = summary["slopes"]
    x = np.arange(len(slopes))
    bars: list[tuple[str, list[float]]] = [
        (name, [float(np.median(row["speed"][s])) for s in slopes])
        for name, row in summary["rows"].items()
    ]
    bars += [(name, [ref[s]["speed"] for s in slopes])
             for name, ref in summary["references"].items()]  # fmt: skip
    width = 0.8 / max(len(bars), 1)
    for i, (name, values) in enumerate(bars):
        right.bar(x + i * width, values, width, label=name)
    right.axhline(0.0, color="k", lw=0.5)
    right.set_xticks(x + width * (len(bars) - 1) / 2, [f"{s} rad" for s in slopes])
    right.set_ylabel("forward speed (m/s; learned: median over seeds)")
    right.legend(fontsize=7)
    fig.tight_layout()
    import io

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    plt.close(fig)
    atomic_write_bytes(path, buf.getvalue())
