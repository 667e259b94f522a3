"""Tables, plot and summary of experiments/m_demorl_study.py (kept apart from running it)."""

from __future__ import annotations

import csv
import io
import json
import math
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from experiments import fair

if TYPE_CHECKING:
    from experiments.m_demorl_study import Plan

PAPER = "dmd-mpc-m-demorl.txt"
MAIN = "M-DeMoRL (paper)"
BASELINES = ("SAC", "MBPO")


def _pm(values: Sequence[float], digits: int = 1) -> str:
    arr = np.asarray(values, dtype=float)
    if len(arr) == 0:
        return "-"
    return f"{arr.mean():.{digits}f} ± {arr.std():.{digits}f}" + (
        f" (n={len(arr)})" if len(arr) < 3 else ""
    )


def _x(ratio: float) -> str:
    return (
        "n/a (the median seed of neither reached the threshold)"
        if math.isnan(ratio)
        else f"{ratio:.2f}x"
    )


def _load(runs: Path, jobs: list[dict], key: Callable[[dict], str]) -> list[dict]:
    out = []
    for s in jobs:
        path = runs / f"{key(s)}.json"
        if path.is_file() and (data := json.loads(path.read_text())).get("settings") == s:
            out.append(data)
    return out


def _group(results: list[dict], epoch: int, thr: float) -> dict[str, Any]:
    """Per-seed curves of one method: returns per epoch, epochs to threshold, cost."""
    curves = [fair.Curve.from_dict(r["curve"]) for r in results]
    per_epoch = []
    for c in curves:
        wall = np.diff(c.wall_s)  # training seconds per epoch, evaluations excluded
        per_epoch.append(float(np.median(wall)) if len(wall) else math.nan)
    return {
        "seeds": [r["settings"]["seed"] for r in results],
        "returns": [[float(x) for x in c.returns] for c in curves],
        "epochs_to_threshold": [
            fair.first_hit(c.env_steps / epoch, c.returns, thr) for c in curves
        ],  # fmt: skip
        "train_s_per_epoch": per_epoch,
        "process_wall_s": [float(r.get("process_wall_s", math.nan)) for r in results],
    }


def _epoch_table(groups: dict[str, dict]) -> list[str]:
    names = list(groups)
    n = max((len(r) for g in groups.values() for r in g["returns"]), default=0)
    lines = ["| epoch | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
    for e in range(n):
        cells = [_pm([r[e] for r in g["returns"] if len(r) > e]) for g in groups.values()]
        lines.append(f"| {e} | " + " | ".join(cells) + " |")
    return lines


def _summary_table(groups: dict[str, dict], label: str = "method") -> list[str]:
    lines = [f"| {label} | seeds | epochs to threshold | final return | mean return over epochs "
             "1.. | train s / epoch |", "|---|---|---|---|---|---|"]  # fmt: skip
    for name, g in groups.items():
        finals = [r[-1] for r in g["returns"]]
        area = [float(np.mean(r[1:])) for r in g["returns"] if len(r) > 1]
        lines.append(
            f"| {name} | {len(g['seeds'])} | {fair.spread(g['epochs_to_threshold'])} | "
            f"{_pm(finals)} | {_pm(area)} | {_pm(g['train_s_per_epoch'], 0)} |"
        )
    return lines


def speedup(task_summary: dict[str, Any]) -> float:
    """Censored-median epochs to threshold of the best baseline over M-DeMoRL's (paper)."""
    groups = task_summary["groups"]
    if MAIN not in groups or not all(b in groups for b in BASELINES):
        return math.nan
    best = min(fair.censored_median(groups[b]["epochs_to_threshold"]) for b in BASELINES)
    main = fair.censored_median(groups[MAIN]["epochs_to_threshold"])
    if math.isinf(best) and math.isinf(main):
        return math.nan
    return 0.0 if math.isinf(main) else math.inf if math.isinf(best) else best / max(main, 1e-9)


def leg_ratio(task_summary: dict[str, Any]) -> float:
    """M-DeMoRL (paper) / SAC mean final return on the 2R leg."""
    g = task_summary["groups"]
    if MAIN not in g or "SAC" not in g:
        return math.nan
    sac = float(np.mean([r[-1] for r in g["SAC"]["returns"]]))
    return float(np.mean([r[-1] for r in g[MAIN]["returns"]])) / sac if sac > 0 else math.nan


#: Plan fields a task's results depend on (besides its own epochs and the budget cuts)
_SHARED_PLAN = ("epoch", "seeds", "eval_episodes", "full", "quick")


def _task_plan(plan: dict[str, Any], task: str) -> dict[str, Any]:
    from experiments.m_demorl_study import LEG

    keys = (*_SHARED_PLAN, "leg_epochs", "ablation_seeds", "fractions") if task == LEG else (
        *_SHARED_PLAN, "mujoco_epochs")  # fmt: skip
    return json.loads(json.dumps({k: plan.get(k) for k in keys}))  # tuples -> lists


def kept_tasks(
    path: Path, plan: Plan, budget: dict[str, Any], tasks: Sequence[str]
) -> dict[str, Any]:
    """Tasks of ``plan`` other than ``tasks`` whose summary in the results at ``path`` was made
    under the same plan and budget cuts: kept as they are, so a run of some tasks on a machine
    without the others' per-run files does not drop them from the tables."""
    if not path.is_file():
        return {}
    old = json.loads(path.read_text())
    same_budget = json.loads(json.dumps(budget)) == old.get("budget_cuts")
    now = vars(plan)
    return {
        t: ts
        for t, ts in old.get("tasks", {}).items()
        if t not in tasks and same_budget  # also tasks left out of this run by --tasks
        and _task_plan(now, t) == _task_plan(old.get("plan", {}), t)
    }  # fmt: skip


def write_results(plan: Plan, tasks: list[str], task_jobs: Callable, key: Callable,
                  runs: Path, out: Path, total_s: float) -> dict[str, Any]:  # fmt: skip
    """Write <out>/m_demorl_study.{md,json,csv,png} from the finished runs of ``tasks``."""
    from experiments.m_demorl_study import BUDGET, LEG, METHODS, MUJOCO
    from rl_control.training.io import atomic_write_json, atomic_write_text

    summary: dict[str, Any] = {"quick": plan.quick, "seeds": list(plan.seeds), "tasks": {},
                               "plan": {k: v for k, v in vars(plan).items()},
                               "budget_cuts": {} if plan.full else BUDGET}  # fmt: skip
    kept = kept_tasks(out / "m_demorl_study.json", plan, summary["budget_cuts"], tasks)
    for task in [t for t in (LEG, *MUJOCO) if t in tasks or t in kept]:
        if task in kept:  # its per-run files are not here: the earlier summary as it was
            summary["tasks"][task] = {**kept[task], "kept": True}
            continue
        thr = json.loads((runs / f"threshold_{task}.json").read_text())
        sac, rest, ablation = task_jobs(plan, task)
        groups = {}
        for method in METHODS:
            res = _load(runs, [s for s in sac + rest if s["method"] == method], key)
            if res:
                groups[method] = _group(res, plan.epoch, thr["threshold"])
        ts: dict[str, Any] = {"threshold": thr, "groups": groups}
        if ablation:
            ts["ablation"] = {}
            for p in plan.fractions:
                jobs = [s for s in ablation if s["algo_config"]["elite_fraction"] == p]
                if res := _load(runs, jobs, key):
                    ts["ablation"][f"{p:g}"] = _group(res, plan.epoch, thr["threshold"])
        ts["speedup_vs_best_baseline"] = speedup(ts)
        summary["tasks"][task] = ts
    summary["leg_ratio_to_sac"] = leg_ratio(summary["tasks"].get("two_link_leg", {"groups": {}}))
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out / "m_demorl_study.md", _markdown(plan, summary, total_s))
    atomic_write_json(out / "m_demorl_study.json", summary)
    _write_csv(out / "m_demorl_study.csv", summary)
    plot(out / "m_demorl_study.png", summary, plan.epoch)
    return summary


def _markdown(plan: Plan, summary: dict[str, Any], total_s: float) -> str:
    title = "M-DeMoRL vs SAC vs MBPO against real env steps" + " (QUICK: not results)" * plan.quick
    budget = "none (--full: the yaml configs as they are)" if plan.full else (
        "; ".join(f"{k}: {json.dumps(v)}" for k, v in summary["budget_cuts"].items()))  # fmt: skip
    lines = [
        f"# {title}", "",
        f"`python experiments/m_demorl_study.py{' --quick' * plan.quick}` ({total_s / 60:.1f} "
        f"min in this invocation; finished runs are reused; the runs took "
        f"{_run_minutes(summary):.0f} process-minutes in all, 2 at a time).", "",
        f"Budgets: epochs of {plan.epoch} env steps; {plan.leg_epochs} epochs on the 2R leg, "
        f"{plan.mujoco_epochs} on each MuJoCo task; seeds {list(plan.seeds)}; evaluation after "
        f"every epoch, {plan.eval_episodes} deterministic episodes of the SAC actor for every "
        "method (seeds train seed + 10000 + i). Configs: config/train/{sac,mbpo,m_demorl}_"
        f"two_link_leg.yaml with these machine-budget cuts, the same for all: {budget}. "
        "Threshold per task, by a rule fixed before any run that reads SAC's curves only: "
        "R0 + 0.8 (R_end − R0), R0 and R_end SAC's mean return at epoch 0 and at the last "
        "epoch. Epochs to threshold: median [min, max] over seeds (a seed that never got "
        "there counts as later than all); returns: mean ± std over seeds. On the MuJoCo ids "
        "the model's learned reward is used and model rollouts never terminate (no task facts); "
        "on the 2R leg the exact reward (config `exact_reward: true`)."
        + ("" if plan.mujoco_mpc_acts else " The mpc_acts variant runs on the 2R leg only "
           "(`--mujoco-mpc-acts` adds it on the MuJoCo tasks)."), "",
    ]  # fmt: skip
    for task, ts in summary["tasks"].items():
        thr = ts["threshold"]
        lines += [
            f"## {task}",
            "",
            f"Threshold {thr['threshold']:.1f} (SAC: epoch 0 {thr['r0']:.1f}, last epoch "
            f"{thr['sac_end']:.1f}). Best baseline / M-DeMoRL (paper) epochs to threshold: "
            f"{_x(ts['speedup_vs_best_baseline'])}."
            if not math.isnan(thr["threshold"])
            else f"No threshold: SAC's mean return at the last epoch ({thr['sac_end']:.1f}) is "
            f"not above its epoch-0 return ({thr['r0']:.1f}), so epochs to threshold and the "
            "speed-up are undefined.",
            "",
        ]
        if ts.get("kept"):
            lines += ["From an earlier invocation with the same budgets (its per-run files were "
                      "not on this machine; the summary is kept as it was).", ""]  # fmt: skip
        lines += _summary_table(ts["groups"]) + ["", "Eval return per epoch:", ""]
        lines += _epoch_table(ts["groups"]) + [""]
        if ts.get("ablation"):
            named = {f"p = {float(p) * 100:g} %": g for p, g in ts["ablation"].items()}
            seeds = list(plan.ablation_seeds)
            head = f"Elite-fraction ablation (M-DeMoRL, paper variant; seeds {seeds}):"
            lines += [head, ""] + _summary_table(named, "p") + [""]
    missing = [t for t in plan.tasks if t not in summary["tasks"]]
    if missing:
        lines += [f"Not run yet (their SAC runs have not finished): {', '.join(missing)}.", ""]
    sp = [f"{t} {_x(ts['speedup_vs_best_baseline'])}" if not math.isnan(
        ts["threshold"]["threshold"]) else f"{t} n/a (no threshold: SAC did not improve)"
        for t, ts in summary["tasks"].items()]  # fmt: skip
    lines += [
        f"Paper ({PAPER}): M-DeMoRL progresses ~30 % faster than the best prior method (a "
        f"speed-up of 1.3x); measured (best of SAC/MBPO epochs to threshold over M-DeMoRL's, "
        f"paper variant): {', '.join(sp)}.",
        "",
        f"Paper, 2R leg: 2x SAC's reward at 80 epochs; measured at {plan.leg_epochs} epochs: "
        f"{summary['leg_ratio_to_sac']:.2f}x (M-DeMoRL paper variant / SAC, mean final return).",
        "", f"Load average at the end: {' / '.join(f'{x:.1f}' for x in os.getloadavg())} "
        "(the machine is shared; seconds are comparable only within one run).",
    ]  # fmt: skip
    return "\n".join(lines) + "\n"


def _run_minutes(summary: dict[str, Any]) -> float:
    """Wall minutes of every distinct run reported (the ablation's p = 10 % is counted twice)."""
    total = 0.0
    for ts in summary["tasks"].values():
        for g in [*ts["groups"].values(), *ts.get("ablation", {}).values()]:
            total += float(np.nansum(g["process_wall_s"]))
    return total / 60


def _write_csv(path: Path, summary: dict[str, Any]) -> None:
    from rl_control.training.io import atomic_write_text

    rows: list[list[Any]] = [["task", "group", "seed", "epoch", "eval_return"]]
    for task, ts in summary["tasks"].items():
        named = {
            **ts["groups"],
            **{f"ablation p={p}": g for p, g in ts.get("ablation", {}).items()},
        }
        for name, g in named.items():
            for seed, ret in zip(g["seeds"], g["returns"], strict=True):
                rows += [[task, name, seed, e, r] for e, r in enumerate(ret)]
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    atomic_write_text(path, buffer.getvalue())


def plot(path: Path, summary: dict[str, Any], epoch: int) -> None:
    """Mean eval return ± std over seeds against env steps, one panel per task + ablation."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [
        (t, ts["groups"], ts["threshold"]["threshold"]) for t, ts in summary["tasks"].items()
    ]
    panels += [(f"{t}: elite fraction p", {f"p={float(p) * 100:g} %": g for p, g in
                ts["ablation"].items()}, ts["threshold"]["threshold"])
               for t, ts in summary["tasks"].items() if ts.get("ablation")]  # fmt: skip
    fig, axes = plt.subplots(1, len(panels), figsize=(4.6 * len(panels), 3.8), squeeze=False)
    for ax, (title, groups, thr) in zip(axes[0], panels, strict=True):
        for name, g in groups.items():
            n = min(len(r) for r in g["returns"])
            arr = np.array([r[:n] for r in g["returns"]])
            x = np.arange(n) * epoch
            ax.plot(x, arr.mean(0), label=f"{name} ({len(arr)})")
            ax.fill_between(x, arr.mean(0) - arr.std(0), arr.mean(0) + arr.std(0), alpha=0.2)
        ax.axhline(thr, ls="--", color="k", lw=0.8, label="threshold")
        ax.set(title=title, xlabel="real env steps", ylabel="eval return")
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
