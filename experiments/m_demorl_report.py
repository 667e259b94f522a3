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


#: one seed's result in a table: from its committed record, or kept from an earlier summary
Row = dict[str, Any]


def _record_row(record: dict[str, Any], epoch: int) -> Row:
    c = fair.Curve.from_dict(record["curve"])
    wall = np.diff(c.wall_s)  # training seconds per epoch, evaluations excluded
    return {
        "seed": record["settings"]["seed"], "epochs": [float(x) for x in c.env_steps / epoch],
        "returns": [float(x) for x in c.returns],
        "train_s_per_epoch": float(np.median(wall)) if len(wall) else math.nan,
        "process_wall_s": float(record.get("process_wall_s", math.nan)), "kept": False,
    }  # fmt: skip


def _summary_row(group: dict[str, Any] | None, seed: int) -> Row | None:
    """Seed ``seed`` of a group of an earlier summary (evaluated once per epoch), if there."""
    if group is None or seed not in group["seeds"]:
        return None
    i = group["seeds"].index(seed)
    returns = [float(x) for x in group["returns"][i]]
    return {"seed": seed, "epochs": [float(e) for e in range(len(returns))], "returns": returns,
            "train_s_per_epoch": float(group["train_s_per_epoch"][i]),
            "process_wall_s": float(group["process_wall_s"][i]), "kept": True}  # fmt: skip


def _place(s: dict[str, Any], ablation: bool) -> tuple[str, str]:
    """Where a job's row goes in a task summary: ("groups", method) or ("ablation", p)."""
    return ("ablation", f"{s['algo_config']['elite_fraction']:g}") if ablation else (
        "groups", s["method"])  # fmt: skip


def task_rows(plan: Plan, task: str, task_jobs: Callable, key: Callable, results: Path,
              earlier: dict[str, Any]) -> tuple[dict[tuple[str, str], list[Row]], list[dict],
                                                list[str]]:  # fmt: skip
    """The rows of ``task``'s jobs: (rows per place, jobs without a row, rows dropped).

    A job's row is its record in ``results`` when there is one, else its seed in ``earlier``
    (:func:`earlier_summary`). A kept row whose epoch-0 return differs from that of a record of
    the same seed is dropped: epoch 0 evaluates the untrained SAC actor, the same for every
    method under a seed, so a difference means the code or the env changed since the earlier
    summary and the rows are not one experiment."""
    sac, rest, ablation = task_jobs(plan, task)
    old = earlier.get(task, {})
    placed: list[tuple[tuple[str, str], dict, Row | None]] = []
    for s, is_ablation in [(s, False) for s in sac + rest] + [(s, True) for s in ablation]:
        where = _place(s, is_ablation)
        record = fair.load_result(results / f"{key(s)}.json", s)
        row = (_record_row(record, plan.epoch) if record is not None
               else _summary_row(old.get(where[0], {}).get(where[1]), s["seed"]))  # fmt: skip
        placed.append((where, s, row))
    start = {r["seed"]: r["returns"][0] for _, _, r in placed if r is not None and not r["kept"]}
    rows: dict[tuple[str, str], list[Row]] = {}
    missing: dict[str, dict] = {}
    dropped: list[str] = []
    for where, s, row in placed:
        if row is not None and row["kept"] and not _same_start(row, start):
            dropped.append(f"{where[1]} seed {row['seed']}")
            row = None
        if row is None:
            missing.setdefault(key(s), s)
        else:
            rows.setdefault(where, []).append(row)
    return rows, list(missing.values()), dropped


def _same_start(row: Row, start: dict[int, float]) -> bool:
    """Whether a kept row's epoch-0 return is that of the records of its seed (if any)."""
    if row["seed"] not in start:
        return True
    return math.isclose(row["returns"][0], start[row["seed"]], rel_tol=1e-6, abs_tol=1e-6)


def sac_threshold(sac: list[Row]) -> dict[str, float]:
    """The threshold rule on SAC's rows alone: R0 + 0.8 (R_end - R0) of the mean returns."""
    r0 = float(np.mean([r["returns"][0] for r in sac]))
    end = float(np.mean([r["returns"][-1] for r in sac]))
    # no threshold when SAC did not improve: the rule would put it at or below R0, which
    # every method "reaches" at epoch 0
    return {"r0": r0, "sac_end": end, "threshold": r0 + 0.8 * (end - r0) if end > r0 else math.nan}


def _group(rows: list[Row], thr: float) -> dict[str, Any]:
    """Per-seed curves of one method: returns per epoch, epochs to threshold, cost."""
    return {
        "seeds": [r["seed"] for r in rows],
        "returns": [r["returns"] for r in rows],
        "epochs_to_threshold": [fair.first_hit(r["epochs"], r["returns"], thr) for r in rows],
        "train_s_per_epoch": [r["train_s_per_epoch"] for r in rows],
        "process_wall_s": [r["process_wall_s"] for r in rows],
        "kept_seeds": [r["seed"] for r in rows if r["kept"]],
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


def earlier_summary(path: Path, plan: Plan, budget: dict[str, Any]) -> dict[str, Any]:
    """The task summaries in the results at ``path`` made under the same plan and budget cuts
    (all tasks, also those outside ``plan.tasks``): the rows of runs whose records are not in
    the results folder (lost with the machine they ran on) are kept from them."""
    if not path.is_file():
        return {}
    old = json.loads(path.read_text())
    if json.loads(json.dumps(budget)) != old.get("budget_cuts"):
        return {}
    now = vars(plan)
    return {t: ts for t, ts in old.get("tasks", {}).items()
            if _task_plan(now, t) == _task_plan(old.get("plan", {}), t)}  # fmt: skip


def write_results(
    plan: Plan,
    task_jobs: Callable,
    key: Callable,
    results: Path,
    out: Path,
    total_s: float,
    earlier: dict[str, Any],
    command: str = "python experiments/m_demorl_study.py",
) -> dict[str, Any]:
    """Write <out>/m_demorl_study.{md,json,csv,png} from the rows of every task whose SAC seeds
    all have one (records in ``results``, else kept from ``earlier``)."""
    from experiments.m_demorl_study import LEG, METHODS, MUJOCO, budget_cuts
    from rl_control.training.io import atomic_write_json, atomic_write_text

    summary: dict[str, Any] = {"quick": plan.quick, "seeds": list(plan.seeds), "tasks": {},
                               "plan": {k: v for k, v in vars(plan).items()},
                               "budget_cuts": budget_cuts(plan)}  # fmt: skip
    for task in (LEG, *MUJOCO):
        rows, _, dropped = task_rows(plan, task, task_jobs, key, results, earlier)
        if len(rows.get(("groups", "SAC"), [])) < len(plan.seeds):
            continue  # no threshold yet
        thr = sac_threshold(rows[("groups", "SAC")])
        ts: dict[str, Any] = {"threshold": thr, "groups": {
            m: _group(rows[("groups", m)], thr["threshold"]) for m in METHODS
            if ("groups", m) in rows}}  # fmt: skip
        if task == LEG:
            places = [("ablation", f"{p:g}") for p in plan.fractions]
            ts["ablation"] = {w[1]: _group(rows[w], thr["threshold"]) for w in places if w in rows}
        ts["speedup_vs_best_baseline"] = speedup(ts)
        if dropped:
            ts["dropped"] = dropped
        summary["tasks"][task] = ts
    summary["leg_ratio_to_sac"] = leg_ratio(summary["tasks"].get("two_link_leg", {"groups": {}}))
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out / "m_demorl_study.md", _markdown(plan, summary, total_s, command))
    atomic_write_json(out / "m_demorl_study.json", summary)
    _write_csv(out / "m_demorl_study.csv", summary)
    plot(out / "m_demorl_study.png", summary, plan.epoch)
    return summary


def _kept_note(ts: dict[str, Any]) -> list[str]:
    """Which rows come from an earlier summary, which were dropped from it, as lines."""
    sections = [*ts["groups"].items(), *((f"p = {float(p) * 100:g} %", g)
                                         for p, g in ts.get("ablation", {}).items())]  # fmt: skip
    kept = [f"{name} seeds {g['kept_seeds']}" for name, g in sections if g.get("kept_seeds")]
    lines = []
    if kept:
        lines += ["From an earlier invocation with the same budgets (their per-run records are "
                  "not in the results folder; the summary's rows are kept as they were, seconds "
                  f"measured at that invocation's load): {'; '.join(kept)}.", ""]  # fmt: skip
    if ts.get("dropped"):
        lines += ["Dropped from the earlier summary (their epoch-0 return differs from a record "
                  f"of the same seed: the code or env changed; rerun them): "
                  f"{', '.join(ts['dropped'])}.", ""]  # fmt: skip
    return lines


def _markdown(plan: Plan, summary: dict[str, Any], total_s: float, command: str) -> str:
    title = "M-DeMoRL vs SAC vs MBPO against real env steps" + " (QUICK: not results)" * plan.quick
    budget = "none (--full: the yaml configs as they are)" if plan.full else (
        "; ".join(f"{k}: {json.dumps(v)}" for k, v in summary["budget_cuts"].items()))  # fmt: skip
    lines = [
        f"# {title}", "",
        f"`{command}` ({total_s / 60:.1f} min in this invocation; finished runs are reused; "
        f"the runs took {_run_minutes(summary):.0f} process-minutes in all, over invocations "
        "at different loads).", "",
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
        lines += _kept_note(ts)
        lines += _summary_table(ts["groups"]) + ["", "Eval return per epoch:", ""]
        lines += _epoch_table(ts["groups"]) + [""]
        if ts.get("ablation"):
            named = {f"p = {float(p) * 100:g} %": g for p, g in ts["ablation"].items()}
            seeds = list(plan.ablation_seeds)
            head = f"Elite-fraction ablation (M-DeMoRL, paper variant; seeds {seeds}):"
            lines += [head, ""] + _summary_table(named, "p") + [""]
    missing = [t for t in plan.tasks if t not in summary["tasks"]]  # asked for, SAC unfinished
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
