"""PPO vs TRPO vs TRPO → PPO on the Minitaur's trajectory-generator action space (minitaur_tg).

The slides' comparison (trpo-ppo-quadruped-locomotion-slides.txt) redone where walking is
within reach of a small budget: the policy adds a bounded leg-space residual to a 2 Hz
trotting reference (Tan et al. 2018). Each algorithm runs with its own tuned settings from
the slides, as the config files hold them (config/train/{ppo,trpo,trpo_then_ppo}_minitaur
.yaml); the generator keeps its defaults (rl_control/tasks/minitaur_tg.py). Every row gets
the same env-step budget: TRPO → PPO is TRPO for half of it, then PPO (the slides' "new
values") warm-started from that run's networks for the other half. The zero-residual policy
(the generator alone) is the reference row.

Five settings variants, all reported, every seed; the first four are applied alike to all three
algorithms (no per-algorithm tuning), the fifth is tuned per algorithm with equal effort:

- ``slides``: the config files' settings as they are (tuned for the raw 8-motor task);
- ``horizon``: two task-level changes on top, the same for all three rows. (1) The discount
  by a horizon in seconds, γ = 1 − Δt / ``HORIZON_S``: the slides' γ (0.909, 0.974, 0.913)
  are horizons of 11, 38 and 11 control steps, 0.11-0.38 s at this task's 100 Hz, less than
  one 0.5 s trot period, so the return a residual is judged by ends before the step it
  shaped has landed; ``HORIZON_S`` = 1 s (two periods) gives γ = 0.99. (2) The initial
  exploration std of a residual policy: std 1 in the unit action space is ±0.25 rad, as wide
  as the bound, so 32 % of the untrained policy's draws are clipped and its noise alone
  cuts an episode's return from 2.31 to ~1.0 (two 10 s episodes, seeds 10000-10001);
  ``RESIDUAL_LOG_STD`` = −1 (std 0.37 of the bound, 0.09 rad; 0.7 % clipped; return ~1.9)
  lets the first rollouts explore around the generator's gait rather than destroy it;
- ``gamma``: ``horizon``'s change (1) alone (γ = 0.99, the default initial std);
- ``std``: ``horizon``'s change (2) alone (initial log-std −1, each algorithm's slides' γ).
  These two separate what each change contributes to ``horizon``;
- ``tuned``: this one variant is per algorithm. Each algorithm's settings are the best of its
  own Optuna study (experiments/minitaur_tune.py: the same trials, steps per trial, search
  space size, sampler seed, pruner and objective for PPO and TRPO, on a training seed never
  reported here): PPO runs config/train/ppo_minitaur_tg_tuned.yaml, TRPO
  trpo_minitaur_tg_tuned.yaml, and TRPO → PPO TRPO's tuned settings for its TRPO half and
  PPO's for its PPO half.

Reported per row, on the final policy's deterministic 1000-step episode (the task has no
noise by default, so every evaluation episode is the same): forward distance (m), mean
forward speed (m/s), cost of transport E / (m g d) with E = Σ |τ·q̇| Δt, and the return.

Resumable: one JSON per finished run under experiments/results/minitaur_walk_runs/ (commit
them); a rerun skips those and restarts unfinished runs. Run folders (checkpoints) go to
runs/experiments/minitaur_walk/. The jobs go seed by seed (every variant asked for, every
row), so a stopped study leaves whole seeds. The table shows the variants of ``--variants``;
``--report-only`` with the default shows all five.

    OMP_NUM_THREADS=1 nice -n 19 python experiments/minitaur_walk.py   # 5 seeds x 40k steps
    OMP_NUM_THREADS=1 nice -n 19 python experiments/minitaur_walk.py --variants gamma,std
    OMP_NUM_THREADS=1 nice -n 19 python experiments/minitaur_walk.py --variants tuned
    python experiments/minitaur_walk.py --budget 10000 --every 5000 --variants slides  # 1st study
    python experiments/minitaur_walk.py --quick              # smoke run (not a result)
Writes <out>/minitaur_walk.{md,json,png} and the best policy's minitaur_walk_best.gif and
minitaur_walk_best_gait.png (default out: experiments/results).
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
for path in (ROOT, ROOT / "bench"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from experiments import fair, minitaur_tune  # noqa: E402

TASK = "minitaur_tg"
CONFIGS = {
    "ppo": ROOT / "config/train/ppo_minitaur.yaml",
    "trpo": ROOT / "config/train/trpo_minitaur.yaml",
    "trpo_then_ppo": ROOT / "config/train/trpo_then_ppo_minitaur.yaml",
}
#: the ``tuned`` variant's configs, where its studies write them: TRPO → PPO's PPO half PPO's
TUNED_CONFIGS = {"ppo": minitaur_tune.tuned_config("ppo"),
                 "trpo": minitaur_tune.tuned_config("trpo"),
                 "trpo_then_ppo": minitaur_tune.tuned_config("ppo")}  # fmt: skip
ROWS = ("PPO", "TRPO", "TRPO → PPO")
EVAL_SEED_OFFSET = 10_000  # rl_control.training.evaluation.EVAL_SEED_OFFSET
#: the return's horizon in seconds of the ``horizon`` variant: two periods of the 2 Hz trot
HORIZON_S = 1.0
#: the ``horizon`` variant's initial log-std in the unit action space (std e^-1 of the bound)
RESIDUAL_LOG_STD = -1.0
VARIANTS = ("slides", "horizon", "gamma", "std", "tuned")
#: how a variant's rows are labelled in the table (the slides' rows keep the plain names)
VARIANT_LABELS = {
    "slides": "",
    "horizon": " · γ by 1 s, σ₀ e⁻¹",
    "gamma": " · γ by 1 s only",
    "std": " · σ₀ e⁻¹ only",
    "tuned": " · tuned per algorithm",
}


def horizon_gamma(horizon_s: float, control_dt: float) -> float:
    """The discount whose effective horizon 1 / (1 − γ) is ``horizon_s`` of control steps."""
    if not 0 < control_dt < horizon_s:
        raise ValueError(f"need 0 < control_dt < horizon_s, got {control_dt}, {horizon_s}")
    return 1.0 - control_dt / horizon_s


def variant_overrides(variant: str) -> dict[str, Any]:
    """The algo_config entries a variant sets, the same for every algorithm (module doc);
    ``tuned`` sets none alike: its settings are each algorithm's own file (TUNED_CONFIGS)."""
    if variant in ("slides", "tuned"):
        return {}
    if variant not in VARIANTS:
        raise ValueError(f"unknown variant {variant!r} (known: {', '.join(VARIANTS)})")
    from rl_control.tasks.minitaur_tg import MinitaurTGParams

    gamma = {"gamma": round(horizon_gamma(HORIZON_S, MinitaurTGParams().control_dt), 6)}
    std = {"init_log_std": RESIDUAL_LOG_STD}
    # ``gamma`` and ``std`` are ``horizon``'s two changes one at a time
    return {"horizon": {**gamma, **std}, "gamma": gamma, "std": std}[variant]


@dataclass(frozen=True)
class Plan:
    budget: int  # env steps of every row
    every: int  # evaluation interval (learning curves)
    seeds: tuple[int, ...]
    env: tuple[tuple[str, Any], ...] = ()
    overrides: tuple[tuple[str, Any], ...] = ()  # algo_config overrides (smoke run only)
    variants: tuple[str, ...] = VARIANTS


FULL = Plan(40_000, 10_000, (0, 1, 2, 3, 4))
#: smoke run: 30-step episodes, a shorter landing before the first one, 30 steps per update
QUICK = Plan(
    120, 60, (0,), env=(("max_steps", 30), ("settle_steps", 100)), overrides=(("n_steps", 30),)
)


def settings(
    plan: Plan, config: str, seed: int, steps: int, init: dict | None, variant: str = "slides"
) -> dict:
    """Everything that defines one run (its result file is named by a hash of it; the
    ``slides`` variant's are the settings of the study before variants existed)."""
    from rl_control.training.io import read_yaml

    data = read_yaml((TUNED_CONFIGS if variant == "tuned" else CONFIGS)[config])
    algo = {**data["algo_config"], **variant_overrides(variant), **dict(plan.overrides)}
    if "batch_size" in algo and "n_steps" in dict(plan.overrides):
        algo["batch_size"] = min(algo["batch_size"], algo["n_steps"])
    return {
        "algo": data["algo"], "config": config, "seed": seed, "total_steps": steps,
        "env": dict(plan.env), "algo_config": algo, "eval_every": plan.every,
        "init_from": init,
    }  # fmt: skip


def row_name(row: str, variant: str) -> str:
    """A table row: an algorithm (one of ROWS) under a settings variant."""
    return row + VARIANT_LABELS[variant]


def rows(plan: Plan) -> dict[str, list[dict]]:
    """The runs of each reported row, by seed (TRPO → PPO: the PPO half; its TRPO half is
    its ``init_from``)."""
    half = plan.budget // 2
    out: dict[str, list[dict]] = {}
    for variant in plan.variants:
        ppo, trpo, both = (out.setdefault(row_name(r, variant), []) for r in ROWS)
        for seed in plan.seeds:
            ppo.append(settings(plan, "ppo", seed, plan.budget, None, variant))
            trpo.append(settings(plan, "trpo", seed, plan.budget, None, variant))
            first = settings(plan, "trpo", seed, half, None, variant)
            both.append(settings(plan, "trpo_then_ppo", seed, plan.budget - half, first, variant))
    return out


key = fair.settings_key


def load(results: Path, s: dict) -> dict | None:
    return fair.load_result(results / f"{key(s)}.json", s)


def run_job(job: tuple[dict, str, str]) -> tuple[str, float]:
    """Train one run (unless done), evaluate its final policy, write its result JSON."""
    s, results, runs = job
    name = key(s)

    def train(run_dir: Path) -> dict:
        start = time.perf_counter()
        init_from = str(Path(runs) / key(s["init_from"])) if s["init_from"] else None
        curve, _, _ = fair.train_run(s, TASK, run_dir, name, init_from=init_from)
        final = final_walk(run_dir, s)
        return {"curve": curve, "final": final, "seconds": time.perf_counter() - start}

    return name, fair.run_once(Path(results) / f"{name}.json", s, train, Path(runs) / name)


def walk(policy: Any, env_params: dict, seed: int, record: Path | None = None) -> dict:
    """Walking metrics of one deterministic episode (and its GIF and gait diagram)."""
    from rl_control.envs.registration import make_env
    from rl_control.training import recording

    env = make_env(TASK, **env_params)
    try:
        trace = recording.rollout(policy, env, seed, frame_every=5 if record else 0,
                                  frame_steps=400)  # fmt: skip
    finally:
        env.close()
    if record is not None:
        recording.save_gif(trace.frames, record, fps=recording.GIF_FPS)
        gait = record.with_name(f"{record.stem}_gait.png")
        recording.save_gait_diagram(trace, gait, title="best policy: foot contacts")
    return {**recording.walk_metrics(trace), "steps": trace.steps}


def final_walk(run_dir: Path, s: dict) -> dict:
    from rl_control.training.checkpoint import load_checkpoint, policy_from_record

    policy = policy_from_record(load_checkpoint(run_dir)["policy"])
    return walk(policy, s["env"], s["seed"] + EVAL_SEED_OFFSET)


def run_all(jobs: list[dict], results: Path, runs: Path, workers: int) -> None:
    """Run the unfinished ``jobs`` in order on ``workers`` processes (1: in this one); a
    warm-started run starts once the run it starts from has finished (it comes earlier in
    ``jobs`` or is done)."""
    todo = list({key(s): s for s in jobs if load(results, s) is None}.values())
    print(f"{len(todo)} of {len(jobs)} runs to do", flush=True)
    if not todo:
        return
    results.mkdir(parents=True, exist_ok=True)
    runs.mkdir(parents=True, exist_ok=True)
    if workers == 1:
        for i, s in enumerate(todo, 1):
            seconds = run_job((s, str(results), str(runs)))[1]
            print(f"  [{i}/{len(todo)}] {describe(s)}: {seconds:.0f} s", flush=True)
        return
    done = 0
    with mp.get_context("spawn").Pool(workers) as pool:
        running: dict[str, tuple[dict, Any]] = {}
        while todo or running:
            for s in list(todo):
                ready = s["init_from"] is None or load(results, s["init_from"]) is not None
                if len(running) < workers and ready:
                    job = (s, str(results), str(runs))
                    running[key(s)] = (s, pool.apply_async(run_job, (job,)))
                    todo.remove(s)
            if not running:
                raise RuntimeError("a warm-started run waits for a run that is not scheduled")
            for name, (s, result) in list(running.items()):
                if result.ready():
                    done += 1
                    seconds = result.get()[1]
                    print(f"  [{done}] {describe(s)}: {seconds:.0f} s", flush=True)
                    del running[name]
            time.sleep(0.2)


def describe(s: dict) -> str:
    warm = " (from TRPO)" if s["init_from"] else ""
    return f"{s['config']}{warm} seed {s['seed']}, {s['total_steps']} steps"


def ensure_checkpoints(jobs: list[dict], results: Path, runs: Path) -> None:
    """A TRPO half whose result exists but whose run folder is gone (another machine) while
    its PPO half is still to run is run again (deterministic), so the PPO half can start."""
    pending = [s for s in jobs if load(results, s) is None]
    for s in pending:
        first = s["init_from"]
        if first and not (runs / key(first) / "checkpoint.pt").is_file():
            (results / f"{key(first)}.json").unlink(missing_ok=True)


def main(argv: Iterable[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny budgets: a smoke run")
    parser.add_argument("--budget", type=int, help="env steps per row (default 40000)")
    parser.add_argument(
        "--every", type=int, help="evaluation interval (default: a quarter of the budget)"
    )
    parser.add_argument("--seeds", help="comma-separated seeds (default 0-4)")
    parser.add_argument(
        "--variants", default=",".join(VARIANTS),
        help=f"settings variants, comma-separated (default and known: {','.join(VARIANTS)})",
    )  # fmt: skip
    parser.add_argument("--out", type=Path, help="results folder (default experiments/results)")
    parser.add_argument("--runs", type=Path, help="run folders (default runs/experiments/...)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--report-only", action="store_true",
        help="no runs: the table from the finished ones (rows name their seeds)",
    )  # fmt: skip
    args = parser.parse_args(None if argv is None else list(argv))
    if args.workers < 1:
        raise ValueError(f"--workers must be at least 1, got {args.workers}")
    plan = QUICK if args.quick else FULL
    variants = tuple(v for v in args.variants.split(",") if v)
    for v in variants:
        variant_overrides(v)  # raises on an unknown name
    budget = plan.budget if args.budget is None else args.budget
    every = args.every or (plan.every if args.budget is None else budget // 4)
    # the last evaluation of each run (its reported return) is its final policy's
    if every < 1 or budget % 2 or (budget // 2) % every:
        raise ValueError(f"half of --budget must be a multiple of --every: {budget}, {every}")
    seeds = tuple(int(s) for s in args.seeds.split(",")) if args.seeds else plan.seeds
    plan = Plan(budget, every, seeds, plan.env, plan.overrides, variants)
    from results_table import start_run

    from experiments.minitaur_walk_report import write_results

    run = start_run(["experiments/minitaur_walk.py", *(argv or sys.argv[1:])])
    out = args.out or ROOT / ("runs/experiments_quick" if args.quick else "experiments/results")
    results = out / ("minitaur_walk_runs" + "_quick" * args.quick)
    runs = args.runs or ROOT / "runs/experiments" / ("minitaur_walk" + "_quick" * args.quick)
    t0 = time.perf_counter()
    table = rows(plan)
    # seed by seed (a stopped study leaves whole seeds), each TRPO half before its PPO half
    jobs = [
        s
        for i in range(len(plan.seeds))
        for row in table.values()
        for s in ([row[i]["init_from"]] if row[i]["init_from"] else []) + [row[i]]
    ]
    if not args.report_only:
        ensure_checkpoints(jobs, results, runs)
        run_all(jobs, results, runs, workers=args.workers)
    found = {r: [f for s in group if (f := load(results, s)) is not None]
             for r, group in table.items()}  # fmt: skip
    if not args.report_only and any(len(f) < len(plan.seeds) for f in found.values()):
        raise RuntimeError("a run of the study has no result (see the messages above)")
    from rl_control.policies.constant import ConstantPolicy

    zero = walk(ConstantPolicy.zeros(8), dict(plan.env), EVAL_SEED_OFFSET)  # generator alone
    return write_results(plan, args.quick, out, found, zero, runs, run, time.perf_counter() - t0)


if __name__ == "__main__":
    main()
