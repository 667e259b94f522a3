"""GI-PPO slides, physics problems: return against env steps on the soft-wall cart-pole for
LR, RP, PPO, LR+RP and GI-PPO under two α rules (RP, LR+RP and GI-PPO through the task's
differentiable step), with the wall-clock per run (their Table 2 measure).

Fair by construction: every method shares the settings of config/train/<algo>_soft_wall_cartpole
.yaml (1 env, 200 env steps per update, [64, 64] tanh actor and critic, γ 0.99, λ 0.95; PPO's
file is overridden to the same), each gets the same tuning effort (the same learning-rate grid,
scored by the mean eval return over the grid on tuning seeds never reported) and every run the
same budget and evaluation grid (every ``every`` env steps, the same deterministic episodes,
checked). Method-specific settings are fixed, not tuned: RP's and LR+RP's window and GI-PPO's
∂A/∂a window 16 steps, 4 PPO epochs (PPO and GI-PPO), one full-batch step per rollout (LR, RP,
LR+RP). GI-PPO runs twice, as two methods tuned alike: with the public code's α rule at its
defaults (×1.1 per update from 1e-5) and with the slides' criteria as a per-update search
(rl_control/algorithms/gi_ppo.py, ``alpha_rule``: "code" / "slides"). Variants: "standard"
starts (the tip never reaches the walls under a good policy) and "wide" starts
(experiments/ppo_mpc_vs_ppo.py: ~12 % start in a wall, so the contact model matters).

Resumable: one JSON per run under <out>/gi_ppo_cartpole/ (fair.run_once: reused only with
exactly its settings); run folders under --runs (default runs/gi_ppo_cartpole), removed once
their JSON is written.

    python experiments/gi_ppo_cartpole.py            # tuning + report runs (one process)
    python experiments/gi_ppo_cartpole.py --quick    # smoke run, tiny budgets (not a result)
Writes <out>/gi_ppo_cartpole.{md,json,png} (default out: experiments/results).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
for _p in (ROOT, ROOT / "bench"):
    if str(_p) not in sys.path:
        sys.path.insert(0, str(_p))

from results_table import start_run  # noqa: E402

from experiments import fair  # noqa: E402

METHODS = ("lr", "rp", "ppo", "lr_rp", "gi_ppo", "gi_ppo_slides")
LABELS = {"lr": "LR", "rp": "RP", "ppo": "PPO", "lr_rp": "LR+RP",
          "gi_ppo": "GI-PPO, code's α rule",
          "gi_ppo_slides": "GI-PPO, slides' α rule"}  # fmt: skip
GI = ("gi_ppo", "gi_ppo_slides")
#: a method's config/train file when it is not <method>_soft_wall_cartpole.yaml
CONFIG_FILE = {"gi_ppo_slides": "gi_ppo"}
TASK = "soft_wall_cartpole"
VARIANTS: dict[str, dict[str, Any]] = {
    "standard": {},
    "wide": {"init_range": [0.25, 0.5, 1.0, 3.0]},  # as experiments/ppo_mpc_vs_ppo.py
}
#: PPO's config file holds SB3's defaults; these make it the shared settings of the others
PPO_SHARED = {"n_epochs": 4, "batch_size": 64, "max_grad_norm": 0.5}
#: per-method settings over the config file's (not tuned)
EXTRA = {"ppo": PPO_SHARED, "gi_ppo_slides": {"alpha_rule": "slides"}}
EVAL_SEED_OFFSET = 10_000  # rl_control.training.evaluation.EVAL_SEED_OFFSET


@dataclass(frozen=True)
class Plan:
    budget: int  # env steps per run
    every: int  # evaluation grid
    eval_episodes: int
    n_steps: int  # env steps per update (1 env)
    report_seeds: tuple[int, ...]
    tuning_seeds: tuple[int, ...]
    learning_rates: tuple[float, ...]
    variants: tuple[str, ...]
    env_overrides: tuple[tuple[str, Any], ...] = ()


FULL = Plan(4000, 400, 3, 200, (0, 1, 2), (100,), (3e-4, 1e-3, 3e-3, 1e-2), ("standard", "wide"))
QUICK = Plan(100, 50, 1, 50, (0,), (100,), (1e-3,), ("standard",), (("max_steps", 30),))


def settings(plan: Plan, algo: str, variant: str, seed: int, lr: float) -> dict[str, Any]:
    return {
        "algo": algo, "variant": variant, "seed": seed, "total_steps": plan.budget,
        "eval_every": plan.every, "eval_episodes": plan.eval_episodes,
        "env": {**VARIANTS[variant], **dict(plan.env_overrides)},
        "algo_config": {"n_steps": plan.n_steps, "learning_rate": lr,
                        **EXTRA.get(algo, {})},
    }  # fmt: skip


def run_job(job: tuple[dict[str, Any], str, str]) -> tuple[str, float]:
    """Train one run unless its JSON exists: curve, α trajectory, wall and CPU seconds."""
    from rl_control.training.io import read_yaml
    from rl_control.training.metrics import read_metrics

    s, results, folders = job
    name = fair.settings_key(s)

    def train(run_dir: Path) -> dict[str, Any]:
        config = CONFIG_FILE.get(s["algo"], s["algo"])
        data = read_yaml(ROOT / f"config/train/{config}_soft_wall_cartpole.yaml")
        data["algo_config"] = {**data.get("algo_config", {}), **s["algo_config"]}
        data.update({k: s[k] for k in ("seed", "total_steps", "eval_every", "eval_episodes")},
                    num_envs=1, env=dict(s["env"]), checkpoint_every=0, run_dir=str(run_dir),
                    label=name)  # fmt: skip
        out = fair.clocked_train(data, s["seed"] + EVAL_SEED_OFFSET)
        rows = read_metrics(run_dir / "metrics.csv")
        alpha = rows.get("alpha", [])
        out["alpha"] = [a for a in alpha if not np.isnan(a)]
        return out

    # the JSON holds what the report needs: the run folder (outside the results) goes
    return name, fair.run_once(Path(results) / f"{name}.json", s, train, Path(folders) / name,
                               keep_run=False)  # fmt: skip


def run_all(jobs: list[dict[str, Any]], runs: Path, folders: Path, workers: int) -> None:
    todo = [s for s in jobs if load(runs, s) is None]
    print(f"{len(todo)} of {len(jobs)} runs to do", flush=True)
    work = [(s, str(runs), str(folders)) for s in todo]
    for i, (name, sec) in enumerate(fair.run_pool(run_job, work, workers), 1):
        print(f"  [{i}/{len(todo)}] {name}: {sec:.0f} s", flush=True)


def load(runs: Path, s: dict[str, Any]) -> dict[str, Any] | None:
    return fair.load_result(runs / f"{fair.settings_key(s)}.json", s)


def grid_returns(plan: Plan, result: dict[str, Any]) -> np.ndarray:
    """The run's eval returns on the common grid (checked: every policy was evaluated)."""
    curve = fair.Curve.from_dict(result["curve"])
    grid = fair.eval_grid(plan.budget, plan.every)
    fair.check_grid(curve.env_steps, plan.n_steps, grid)
    return fair.on_grid(curve.env_steps, curve.returns, grid)


def choose(plan: Plan, runs: Path) -> dict[str, float]:
    """Each method's learning rate: the best mean eval return over the grid (tuning seeds)."""
    picks = {}
    for algo in METHODS:
        scores = []
        for lr in plan.learning_rates:
            res = [
                load(runs, settings(plan, algo, "standard", sd, lr)) for sd in plan.tuning_seeds
            ]
            if any(r is None for r in res):
                raise ValueError(f"tuning run of {algo} at lr {lr:g} missing")
            scores.append([grid_returns(plan, r).mean() for r in res])
        picks[algo] = plan.learning_rates[fair.pick_best(scores)]
    return picks


def report(plan: Plan, runs: Path, out: Path, picks: dict[str, float], run: Any,
           quick: bool) -> Path:  # fmt: skip
    """Per-variant table, curves and α plot, summary JSON; names where GI-PPO does not win."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    grid = fair.eval_grid(plan.budget, plan.every)
    mid = int(np.searchsorted(grid, plan.budget // 2))
    summary: dict[str, Any] = {"quick": quick, "seeds": list(plan.report_seeds),
                               "budget": plan.budget, "picks": picks, "variants": {}}  # fmt: skip
    rows, misses = [], []
    fig, axes = plt.subplots(1, len(plan.variants) + 1, figsize=(5 * len(plan.variants) + 5, 4))
    for ax, variant in zip(axes, plan.variants, strict=False):
        cells: dict[str, dict[str, Any]] = {}
        for algo in METHODS:
            res = [load(runs, settings(plan, algo, variant, sd, picks[algo]))
                   for sd in plan.report_seeds]  # fmt: skip
            res = [r for r in res if r is not None]
            if not res:
                continue
            curves = np.array([grid_returns(plan, r) for r in res])
            cells[algo] = {
                "grid_mean": [float(c.mean()) for c in curves],
                "mid": [float(c[mid]) for c in curves], "final": [float(c[-1]) for c in curves],
                "wall_s": float(np.mean([r["process_wall_s"] for r in res])),
                "cpu_s": float(np.mean([r["process_cpu_s"] for r in res])),
                "alpha_final": [r["alpha"][-1] for r in res if r["alpha"]],
                "alpha_max": [max(r["alpha"]) for r in res if r["alpha"]],
            }  # fmt: skip
            med = np.median(curves, axis=0)
            line = ax.plot(grid, med, label=LABELS[algo])[0]
            ax.fill_between(grid, curves.min(0), curves.max(0), alpha=0.15, color=line.get_color())
            if algo in GI:
                for r in res:
                    # one metrics row per evaluation: α averaged over the row's updates
                    steps = plan.every * np.arange(1, len(r["alpha"]) + 1)
                    style = "-" if variant == "standard" else ":"
                    axes[-1].plot(steps, r["alpha"], style, color=line.get_color(), alpha=0.7)
        ax.set(title=f"{variant} starts", xlabel="env steps", ylabel="eval return (median, range)")
        if ax.lines:
            ax.legend(fontsize=7)
        summary["variants"][variant] = cells
        for algo, c in cells.items():
            rows.append(
                [
                    variant,
                    LABELS[algo],
                    f"{picks[algo]:g}",
                    len(c["final"]),
                    fair.spread(c["mid"]),
                    fair.spread(c["final"]),
                    fair.spread(c["grid_mean"]),
                    f"{c['wall_s']:.1f}",
                    f"{c['cpu_s']:.1f}",
                ]
            )
        for gi_algo in (a for a in GI if a in cells):
            gi = np.median(cells[gi_algo]["grid_mean"])
            better = [LABELS[a] for a, c in cells.items()
                      if a not in GI and np.median(c["grid_mean"]) >= gi]  # fmt: skip
            if better:
                misses.append(f"{variant}, {LABELS[gi_algo]}: {', '.join(better)}")
    axes[-1].set(title="GI-PPO α (standard starts: solid, wide: dotted)", xlabel="env steps",
                 ylabel="α (mean of each evaluation's updates)", yscale="log")  # fmt: skip
    summary["gi_ppo_not_best"] = misses
    seeds = ", ".join(map(str, plan.report_seeds))
    notes = [
        f"{plan.budget} env steps per run, evaluated every {plan.every} on the same "
        f"{plan.eval_episodes} deterministic episodes (400 steps max, return ≤ 6000); report "
        f"seeds {seeds}; cells: median [min, max] over seeds.",
        f"Tuning (equal for all {len(METHODS)} methods): learning rate in "
        f"{list(plan.learning_rates)} on seed(s) "
        f"{list(plan.tuning_seeds)}, standard starts, scored by the mean eval return over the "
        "grid; the pick is used on both variants. The shared structure (1 env, 200 steps per "
        "update, 4 PPO epochs) is the PPO tuned in experiments/ppo_mpc_vs_ppo.py, so it was "
        "chosen for PPO.",
        "GI-PPO not best by the median mean-over-grid return (baselines at or above it): "
        + ("; ".join(misses) if misses else "none"),
        "Learning rates picked at the grid's edge (their optimum may lie beyond it): "
        + (
            ", ".join(
                f"{LABELS[a]} {lr:g}"
                for a, lr in picks.items()
                if lr in (min(plan.learning_rates), max(plan.learning_rates))
            )
            or "none"
        ),
        f"GI-PPO's α in the last metrics row (mean of its {plan.every // plan.n_steps} "
        f"updates), code's rule: {alpha_text(summary, 'gi_ppo')}; the rule moves it by at "
        f"most ×1.1 per update from 1e-5, so after {plan.budget // plan.n_steps} updates "
        f"α ≤ {1e-5 * 1.1 ** (plan.budget // plan.n_steps):.1e}: the α-policy step is tiny "
        "at this budget and GI-PPO is close to PPO with π_h ≈ π_θ̄.",
        "Slides' rule (each update: the largest α on a ×2 ladder, from 4× the last one, whose "
        "fitted α-policy passes the determinant, improvement and out-of-range tests; none: "
        f"plain PPO): α in the last metrics row {alpha_text(summary, 'gi_ppo_slides')}; "
        f"largest row mean {alpha_text(summary, 'gi_ppo_slides', 'alpha_max')}.",
        "Wall s / CPU s: mean per run of the whole training process (start-up, evaluations "
        "and all), one process, niced, on 2 cores shared with other jobs: measured under "
        "load, wall is mostly waiting.",
    ]
    header = ("starts", "method", "lr", "seeds", f"return at {grid[mid]:.0f}",
              f"return at {plan.budget}", "mean over grid", "wall s", "CPU s")  # fmt: skip
    title = "GI-PPO and its baselines on the soft-wall cart-pole: eval return against env steps"
    return fair.write_report(fig, out, "gi_ppo_cartpole", summary, title, header, rows, notes,
                             run)  # fmt: skip


def alpha_text(summary: dict[str, Any], algo: str, field: str = "alpha_final") -> str:
    """Median [min, max] over seeds of a GI-PPO method's α ``field`` per variant."""
    parts = [f"{v} {np.median(c[algo][field]):.1e} "
             f"[{min(c[algo][field]):.1e}, {max(c[algo][field]):.1e}]"
             for v, c in summary["variants"].items()
             if algo in c and c[algo].get(field)]  # fmt: skip
    return "; ".join(parts) or "no runs"


def main(argv: Iterable[str] | None = None) -> Path:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny budgets (smoke run)")
    parser.add_argument("--report-only", action="store_true")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--out", type=Path, help="results folder (default experiments/results)")
    parser.add_argument("--runs", type=Path, help="run folders (default runs/gi_ppo_cartpole)")
    args = parser.parse_args(None if argv is None else list(argv))
    run = start_run(argv=["experiments/gi_ppo_cartpole.py", *(argv or sys.argv[1:])])
    plan = QUICK if args.quick else FULL
    out = args.out or (
        ROOT / "runs/experiments_quick" if args.quick else ROOT / "experiments/results"
    )
    runs, folders = out / "gi_ppo_cartpole", args.runs or ROOT / "runs/gi_ppo_cartpole"
    if not args.report_only:
        tuning = [settings(plan, a, "standard", sd, lr) for a in METHODS
                  for lr in plan.learning_rates for sd in plan.tuning_seeds]  # fmt: skip
        run_all(tuning, runs, folders, args.workers)
    picks = choose(plan, runs)
    if not args.report_only:
        report_jobs = [settings(plan, a, v, sd, picks[a]) for v in plan.variants
                       for sd in plan.report_seeds for a in METHODS]  # fmt: skip
        run_all(report_jobs, runs, folders, args.workers)
    path = report(plan, runs, out, picks, run, args.quick)
    print(path.read_text())
    return path


if __name__ == "__main__":
    main()
