"""Robustness of PPO on the Minitaur's trajectory generator, trained with and without domain
randomisation (issue 12: "a robustness table of a policy trained with and without it").

Two training conditions, the same PPO settings, seeds and env-step budget:
config/train/ppo_minitaur_tg.yaml (nominal physics) and ppo_minitaur_tg_randomized.yaml
(every episode redraws mass, joint friction, motor strength, ground friction, latency and
sensor noise from its ranges: rl_control/envs/randomization.py). Every final policy, and the
generator alone (zero residual) as the reference, is evaluated on one grid of perturbations
(:data:`GRID`): nominal, single quantities at the edge of the training ranges and beyond
them, and the training distribution itself. Each perturbation fixes the randomisation
wrapper's ranges to one value ([v, v]), so it is the same code path as training. Leg lengths
are not in the grid: PyBullet cannot change a loaded body's link geometry, so the
randomisation does not cover them either.

Reported per condition: forward distance of a deterministic 500-step (5 s) episode (m; up to
the fall when the robot falls), median [min, max] over seeds, and the falls. Every policy meets
the same evaluation seeds.

Resumable: one JSON per finished run (training + its evaluation on the grid) under
experiments/results/robustness_runs/ (commit them); a rerun skips those.

    nice -n 10 python experiments/robustness.py            # 3 seeds x 8k steps x 2 conditions
    python experiments/robustness.py --report-only          # the table from finished runs
    python experiments/robustness.py --quick                # smoke run (not a result)
Writes <out>/robustness.{md,json} (default out: experiments/results).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
for path in (ROOT, ROOT / "bench"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from experiments import fair  # noqa: E402

TASK = "minitaur_tg"
CONFIGS = {
    "nominal": ROOT / "config/train/ppo_minitaur_tg.yaml",
    "randomised": ROOT / "config/train/ppo_minitaur_tg_randomized.yaml",
}
ROWS = {"nominal": "PPO, trained on nominal physics", "randomised": "PPO, trained randomised",
        "zero": "generator alone (zero residual)"}  # fmt: skip
#: evaluation episodes are reset with seeds EVAL_SEED + i (training and the runner's own
#: evaluations use other seeds), the same for every policy
EVAL_SEED = 20_000
#: the randomisation keys with their nominal value (what a condition does not perturb)
NOMINAL = {
    "base_mass_scale": 1.0, "leg_mass_scale": 1.0, "joint_friction": 0.0,
    "motor_strength": 1.0, "ground_friction": 1.0, "latency": 0.0, "noise_angle": 0.0,
    "noise_velocity": 0.0, "noise_torque": 0.0, "noise_orientation": 0.0,
}  # fmt: skip
#: (name, fixed values, episodes); "randomised" draws from the randomised config's ranges.
#: Deterministic conditions need one episode (the task has no noise of its own).
GRID: tuple[tuple[str, dict[str, float], int], ...] = (
    ("nominal", {}, 1),
    ("base mass x1.2 (range edge)", {"base_mass_scale": 1.2}, 1),
    ("base mass x1.5 (outside)", {"base_mass_scale": 1.5}, 1),
    ("ground friction 0.5 (range edge)", {"ground_friction": 0.5}, 1),
    ("ground friction 0.3 (outside)", {"ground_friction": 0.3}, 1),
    ("motor strength x0.8 (range edge)", {"motor_strength": 0.8}, 1),
    ("motor strength x0.6 (outside)", {"motor_strength": 0.6}, 1),
    ("latency 20 ms (outside)", {"latency": 0.02}, 1),
    ("sensor noise at the range maxima", {"noise_angle": 0.01, "noise_velocity": 0.1,
                                          "noise_torque": 0.05, "noise_orientation": 0.005}, 2),
    ("randomised (the training ranges)", {"randomised": 1.0}, 3),
)  # fmt: skip


@dataclass(frozen=True)
class Plan:
    budget: int  # env steps per training run
    seeds: tuple[int, ...]
    env: tuple[tuple[str, Any], ...] = ()  # task parameters of every env (smoke run only)
    overrides: tuple[tuple[str, Any], ...] = ()  # algo_config overrides (smoke run only)
    episodes: int | None = None  # evaluation episodes per condition (None: the grid's)
    eval_steps: int = 500  # control steps of an evaluation episode (5 s: 10 gait cycles)


#: sized for a shared 2-core machine (~12 env steps/s per worker at load 24): ~1 h niced
FULL = Plan(8_000, (0, 1, 2))
QUICK = Plan(
    60, (0,), env=(("max_steps", 30), ("settle_steps", 100)), overrides=(("n_steps", 30),),
    episodes=1, eval_steps=20,
)  # fmt: skip


def condition_env(values: dict[str, float], randomised: dict[str, Any]) -> dict[str, Any]:
    """The ``domain_randomization`` ranges of one grid condition: every key fixed ([v, v]) at
    its nominal value unless the condition sets it; "randomised": the training ranges."""
    if "randomised" in values:
        return {k: [float(a), float(b)] for k, (a, b) in randomised.items()}
    unknown = sorted(set(values) - set(NOMINAL))
    if unknown:
        raise ValueError(f"grid condition sets unknown quantities {unknown}")
    return {k: [float(v), float(v)] for k, v in {**NOMINAL, **values}.items()}


def grid(plan: Plan) -> list[dict[str, Any]]:
    """The evaluation grid as plain data (part of every run's settings)."""
    from rl_control.training.io import read_yaml

    ranges = read_yaml(CONFIGS["randomised"])["env"]["domain_randomization"]
    return [
        {"name": name, "domain_randomization": condition_env(values, ranges),
         "episodes": plan.episodes or episodes}
        for name, values, episodes in GRID
    ]  # fmt: skip


def settings(plan: Plan, config: str, seed: int) -> dict[str, Any]:
    """Everything that defines one run (its result file is named by a hash of it)."""
    from rl_control.training.io import read_yaml

    common = {"config": config, "seed": seed, "grid": grid(plan),
              "eval_env": {**dict(plan.env), "max_steps": plan.eval_steps}}  # fmt: skip
    if config == "zero":
        return common
    data = read_yaml(CONFIGS[config])
    algo = {**data["algo_config"], **dict(plan.overrides)}
    if "n_steps" in dict(plan.overrides):
        algo["batch_size"] = min(algo["batch_size"], algo["n_steps"])
    env = {**data["env"], **dict(plan.env)}
    return {**common, "algo": data["algo"], "env": env, "algo_config": algo,
            "total_steps": plan.budget}  # fmt: skip


def jobs(plan: Plan) -> list[dict[str, Any]]:
    """The generator alone (the reference, cheap), then seed by seed (a stopped study
    leaves whole seeds)."""
    runs = [settings(plan, c, s) for s in plan.seeds for c in ("nominal", "randomised")]
    return [settings(plan, "zero", 0), *runs]


key = fair.settings_key


def load(results: Path, s: dict) -> dict | None:
    return fair.load_result(results / f"{key(s)}.json", s)


def evaluate(policy: Any, s: dict[str, Any]) -> list[dict[str, Any]]:
    """The policy's walk on every grid condition: one entry per condition."""
    from rl_control.envs.registration import make_env
    from rl_control.training import recording

    out = []
    for condition in s["grid"]:
        episodes = []
        for i in range(condition["episodes"]):
            env = make_env(TASK, **s["eval_env"],
                           domain_randomization=condition["domain_randomization"])  # fmt: skip
            try:
                trace = recording.rollout(policy, env, EVAL_SEED + i)
                max_steps = env.unwrapped.params.max_steps
            finally:
                env.close()
            walk = recording.walk_metrics(trace)
            episodes.append({"distance": walk["distance"], "steps": trace.steps,
                             "fell": trace.steps < max_steps})  # fmt: skip
        out.append({"name": condition["name"], "episodes": episodes})
    return out


def run_job(job: tuple[dict, str, str]) -> tuple[str, float]:
    """Train one run (unless done), evaluate its final policy on the grid, write its JSON."""
    s, results, runs = job
    name = key(s)

    def train(run_dir: Path) -> dict[str, Any]:
        from rl_control.policies.constant import ConstantPolicy

        start = time.perf_counter()
        if s["config"] == "zero":
            policy: Any = ConstantPolicy.zeros(8)  # the generator alone
        else:
            _, policy, _ = fair.train_run(s, TASK, run_dir, name, eval_every=s["total_steps"])
        trained = time.perf_counter()
        grid_result = evaluate(policy, s)
        return {"grid_result": grid_result, "train_seconds": trained - start,
                "eval_seconds": time.perf_counter() - trained}  # fmt: skip

    return name, fair.run_once(Path(results) / f"{name}.json", s, train, Path(runs) / name)


HEADER = ("condition", ROWS["nominal"], ROWS["randomised"], ROWS["zero"])


def _cell(found: list[dict], condition: str) -> tuple[str, list[float]]:
    """'median [min, max] m, falls k/n' over the runs' episodes of ``condition``."""
    if not found:
        return "-", []
    per_run, falls, total = [], 0, 0
    for r in found:
        entry = next(c for c in r["grid_result"] if c["name"] == condition)
        per_run.append(float(np.mean([e["distance"] for e in entry["episodes"]])))
        falls += sum(e["fell"] for e in entry["episodes"])
        total += len(entry["episodes"])
    return f"{fair.spread(per_run, 2)}; falls {falls}/{total}", per_run


def report(plan: Plan, quick: bool, out: Path, found: dict[str, list[dict]], run: Any,
           seconds: float) -> dict[str, Any]:  # fmt: skip
    """Write robustness.{md,json} from the finished runs; return the summary."""
    from results_table import write_markdown

    from rl_control.training.io import atomic_write_json

    if not any(found.values()):
        raise RuntimeError("robustness: no finished runs to report")
    summary: dict[str, Any] = {"quick": quick, "budget": plan.budget,
                               "planned_seeds": list(plan.seeds), "conditions": {}}  # fmt: skip
    table = []
    for name, _, _ in GRID:
        cells, values = [], {}
        for row in ROWS:
            text, per_run = _cell(found[row], name)
            cells.append(text)
            values[row] = per_run
        summary["conditions"][name] = values
        table.append([name, *cells])
    seeds = sorted({r["settings"]["seed"] for row in ("nominal", "randomised")
                    for r in found[row]})  # fmt: skip
    summary["seeds"] = seeds
    complete = all(len(found[r]) == len(plan.seeds) for r in ("nominal", "randomised"))
    train_s = [r["train_seconds"] for row in ("nominal", "randomised") for r in found[row]]
    notes = [
        f"Budget: {plan.budget} env steps per training run, PPO with the slides' tuned "
        "settings (config/train/ppo_minitaur_tg.yaml and ppo_minitaur_tg_randomized.yaml "
        "differ only in env.domain_randomization), seeds "
        f"{', '.join(map(str, seeds)) or 'none'} of {len(plan.seeds)} planned"
        + (
            "."
            if complete
            else "; INCOMPLETE: only the seeds both conditions finished are "
            "in the table; rerun the command to finish the study."
        ),
        f"Cells: forward distance (m) in a deterministic {plan.eval_steps}-step "
        f"({plan.eval_steps / 100:g} s) episode, up to the fall if the robot fell; median "
        "[min, max] over seeds of each seed's mean over the condition's episodes (1 for a "
        "fixed perturbation, 2 with sensor noise, 3 drawn from the training ranges); falls "
        "counted over all episodes. Every policy meets the same evaluation seeds "
        f"({EVAL_SEED} + i). The generator alone is deterministic: one run, no seeds.",
        "A perturbation fixes one quantity ([v, v] in the randomisation wrapper), the others "
        "nominal; 'range edge' is the end of the training range, 'outside' beyond it. Leg "
        "lengths are not covered: PyBullet cannot change a loaded body's link geometry.",
        f"Training wall time per run: {fair.spread(train_s, 0)} s (machine shared; "
        f"total {seconds / 60:.1f} min in this invocation, reused runs count 0).",
    ]
    title = "Robustness: PPO on minitaur_tg trained with and without domain randomisation"
    write_markdown("robustness", title + " (QUICK)" * quick, HEADER, table, notes, run=run,
                   out_dir=out)  # fmt: skip
    atomic_write_json(out / "robustness.json", summary)
    return summary


def main(argv: Iterable[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny budgets: a smoke run")
    parser.add_argument("--budget", type=int, help="env steps per training run (default 8000)")
    parser.add_argument("--out", type=Path, help="results folder (default experiments/results)")
    parser.add_argument("--runs", type=Path, help="run folders (default runs/experiments/...)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--report-only", action="store_true", help="no runs: the table only")
    args = parser.parse_args(None if argv is None else list(argv))
    if args.workers < 1:
        raise ValueError(f"--workers must be at least 1, got {args.workers}")
    plan = QUICK if args.quick else FULL
    if args.budget is not None:
        if args.budget < 1:
            raise ValueError(f"--budget must be at least 1, got {args.budget}")
        plan = Plan(args.budget, plan.seeds, plan.env, plan.overrides, plan.episodes,
                    plan.eval_steps)  # fmt: skip
    from results_table import start_run

    run = start_run(argv=["experiments/robustness.py", *(argv or sys.argv[1:])])
    out = args.out or ROOT / ("runs/experiments_quick" if args.quick else "experiments/results")
    results = out / ("robustness_runs" + "_quick" * args.quick)
    runs = args.runs or ROOT / "runs/experiments" / ("robustness" + "_quick" * args.quick)
    t0 = time.perf_counter()
    todo = [s for s in jobs(plan) if load(results, s) is None]
    print(f"{len(todo)} of {len(jobs(plan))} runs to do", flush=True)
    if not args.report_only and todo:
        work = [(s, str(results), str(runs)) for s in todo]
        for i, (name, spent) in enumerate(fair.run_pool(run_job, work, args.workers), 1):
            print(f"  [{i}/{len(todo)}] {name}: {spent:.0f} s", flush=True)
    found = {row: [f for s in jobs(plan) if s["config"] == row
                   if (f := load(results, s)) is not None] for row in ROWS}  # fmt: skip
    return report(plan, args.quick, out, paired(found), run, time.perf_counter() - t0)


def paired(found: dict[str, list[dict]]) -> dict[str, list[dict]]:
    """Only the seeds both training conditions finished (a stopped study compares like with
    like); the generator alone is kept as it is."""
    done = [{r["settings"]["seed"] for r in found[row]} for row in ("nominal", "randomised")]
    both = done[0] & done[1]
    return {row: runs if row == "zero" else [r for r in runs if r["settings"]["seed"] in both]
            for row, runs in found.items()}  # fmt: skip


if __name__ == "__main__":
    main()
