"""M-DeMoRL (paper and public-code ``mpc_acts`` variant) vs SAC vs MBPO against real env steps.

Tasks: the 2R leg (``two_link_leg``), ``HalfCheetah-v5`` and ``Hopper-v5``; 3 seeds each; epochs
of 1000 env steps; after every epoch the SAC actor of every method is evaluated on the same
deterministic episodes (``eval_episodes``, seeds train_seed + 10000 + i: the runner's protocol,
identical for all methods). Return threshold per task, by a rule fixed before any run and
reading SAC's curves only: thr = R0 + 0.8 (R_end − R0) with R0, R_end SAC's mean (over seeds)
eval return at epoch 0 and at the last epoch (written to --runs/threshold_<task>.json); none
(NaN, epochs to it undefined) when SAC's R_end is not above R0.
Elite-fraction ablation p ∈ {1, 5, 10, 20, 50, 100} % (M-DeMoRL, paper variant) on the 2R leg.

Budget (this machine: 2 cores shared by several sessions, niced runs got ~7 % of a core each
while this was written; one SAC update of the default 256x256 nets at batch 256 measured 40 ms
CPU here): the configs of config/train/*_two_link_leg.yaml with the cuts in :data:`BUDGET`, the
same for every method (SAC nets 128x128, batch 128, one gradient step per 2 env steps; MBPO 2x
the SAC updates instead of 20x; model refit once per epoch, at most 5 passes; MBPO 10k rollout
starts per refit; ``mpc_acts`` 1 particle per sequence, 2 iterations), 3 epochs on the 2R
leg, 3 on each MuJoCo task (measured on HalfCheetah-v5 at load 13: an epoch of training 4 CPU-s
for SAC, 6 for M-DeMoRL, 8 for MBPO, one evaluation 2.5 CPU-s, ~400 CPU-s for the 18 MuJoCo
runs; at load 25 niced runs got 2-7 % of a core, so they take ~80 min on 4 workers). The
``mpc_acts`` variant runs on the 2R leg only (on HalfCheetah one epoch of it took over 3
wall-minutes); ``--mujoco-mpc-acts`` adds it.
``--full`` drops every cut (the yaml configs as they are). Per task: SAC first, then the other
methods and the ablation; then the threshold and the results (rewritten after each task).

Resumable: one record per finished run (its settings with the budget cuts, eval curve, timings)
under <out>/m_demorl_study_runs/, written atomically when the run finishes (commit them: they
are the table's source and survive the machine); a rerun reuses them. A run's own folder
(checkpoints, replay buffers) is under --runs while it trains and removed when it finishes.
A run with no record here whose seed is in the earlier summary (<out>/m_demorl_study.json,
same plan and budget cuts: records lost with another machine) keeps that summary's row and is
not rerun, unless a record of the same seed shows a different epoch-0 return (then it is
rerun) or ``--rerun-kept`` is given; the table marks kept rows.

    python experiments/m_demorl_study.py                 # default budgets
    python experiments/m_demorl_study.py --tasks two_link_leg   # the 2R leg part only
    python experiments/m_demorl_study.py --tasks HalfCheetah-v5 Hopper-v5 --workers 4
    python experiments/m_demorl_study.py --tasks HalfCheetah-v5 --rerun-kept  # records for all
    python experiments/m_demorl_study.py --leg-epochs 80 --mujoco-epochs 100 --full
    python experiments/m_demorl_study.py --quick         # smoke run (not a result)
Writes <out>/m_demorl_study.{md,json,csv,png} (default out: experiments/results).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script: make `experiments` importable
    sys.path.insert(0, str(ROOT))

from experiments import fair  # noqa: E402
from experiments import m_demorl_report as report  # noqa: E402

LEG, MUJOCO = "two_link_leg", ("HalfCheetah-v5", "Hopper-v5")
#: method -> (algorithm, config file, algo_config overrides)
METHODS: dict[str, tuple[str, str, dict[str, Any]]] = {
    "SAC": ("sac", "sac_two_link_leg.yaml", {}),
    "MBPO": ("mbpo", "mbpo_two_link_leg.yaml", {}),
    "M-DeMoRL (paper)": ("m_demorl", "m_demorl_two_link_leg.yaml", {}),
    "M-DeMoRL (mpc_acts)": ("m_demorl", "m_demorl_two_link_leg.yaml", {"mpc_acts": True}),
}
MPC_ACTS = "M-DeMoRL (mpc_acts)"
ELITE_FRACTIONS = (0.01, 0.05, 0.1, 0.2, 0.5, 1.0)
EPOCH = 1000
EVAL_SEED_OFFSET = 10_000  # rl_control.training.evaluation.EVAL_SEED_OFFSET
_SAC_CUT = {"hidden": [128, 128], "batch_size": 128, "train_freq": 2, "gradient_steps": 1}
_MODEL_CUT = {"model_train_freq": 1000, "model_epochs": 5}
#: per algorithm (and for mpc_acts): the machine-budget cuts, dropped by --full
BUDGET: dict[str, dict[str, Any]] = {
    "sac": dict(_SAC_CUT),
    "mbpo": {
        "sac": {**_SAC_CUT, "gradient_steps": 2},
        **_MODEL_CUT,
        "rollout_batch_size": 10000,
        "model_buffer_size": 10000,
    },  # fmt: skip
    "m_demorl": {"sac": dict(_SAC_CUT), **_MODEL_CUT},
    "mpc_acts": {"act_particles": 1, "act_iterations": 2},
}
#: the smoke run: tiny nets and episodes on top of the budget cuts
_QUICK_SAC = {"hidden": [16, 16], "batch_size": 16, "learning_starts": 50}
QUICK_CUT: dict[str, dict[str, Any]] = {
    "sac": _QUICK_SAC,
    "mbpo": {
        "sac": {**_QUICK_SAC, "gradient_steps": 1},
        "model_hidden": [16, 16],
        "model_epochs": 2,
        "model_train_freq": 50,
        "rollout_batch_size": 64,
    },  # fmt: skip
    "m_demorl": {
        "sac": _QUICK_SAC,
        "model_hidden": [16, 16],
        "model_epochs": 2,
        "model_train_freq": 50,
        "num_samples": 8,
        "starts_schedule": [0, 1, 8, 8],
        "horizon_schedule": [0, 1, 3, 3],
    },  # fmt: skip
    "mpc_acts": {"act_iterations": 1},
}


@dataclass(frozen=True)
class Plan:
    """Sizes of one invocation."""

    leg_epochs: int = 3
    mujoco_epochs: int = 3
    seeds: tuple[int, ...] = (0, 1, 2)
    ablation_seeds: tuple[int, ...] = (0,)
    eval_episodes: int = 3
    epoch: int = EPOCH
    full: bool = False  # no budget cuts
    quick: bool = False
    tasks: tuple[str, ...] = (LEG, *MUJOCO)
    fractions: tuple[float, ...] = ELITE_FRACTIONS
    mujoco_mpc_acts: bool = False  # the mpc_acts variant on the MuJoCo tasks too


QUICK = Plan(leg_epochs=2, mujoco_epochs=2, seeds=(0,), ablation_seeds=(0,), eval_episodes=1,
             epoch=100, quick=True, tasks=(LEG,), fractions=(0.1, 1.0))  # fmt: skip


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in over.items():
        out[k] = _merge(out.get(k, {}), v) if isinstance(v, dict) else v
    return out


def settings(plan: Plan, method: str, task: str, seed: int, **extra: Any) -> dict[str, Any]:
    """Everything that defines one run (its result file is named by a hash of it)."""
    from rl_control.training.io import read_yaml

    algo, config, over = METHODS[method]
    ac = read_yaml(ROOT / "config/train" / config)["algo_config"]
    if not plan.full:
        ac = _merge(ac, BUDGET[algo])
        ac = _merge(ac, BUDGET["mpc_acts"]) if over.get("mpc_acts") else ac
    if plan.quick:
        ac = _merge(ac, QUICK_CUT[algo])
        ac = _merge(ac, QUICK_CUT["mpc_acts"]) if over.get("mpc_acts") else ac
    epochs = plan.leg_epochs if task == LEG else plan.mujoco_epochs
    env: dict[str, Any] = {}
    if plan.quick:
        env = {"max_steps": plan.epoch} if task == LEG else {"max_episode_steps": plan.epoch}
    return {
        "method": method, "algo": algo, "task": task, "env": env, "seed": seed,
        "total_steps": epochs * plan.epoch, "eval_every": plan.epoch,
        "eval_episodes": plan.eval_episodes, "algo_config": _merge(_merge(ac, over), extra),
    }  # fmt: skip


key = fair.settings_key
load_result = fair.load_result


def budget_cuts(plan: Plan) -> dict[str, Any]:
    """The machine-budget cuts in force under ``plan`` (none with --full)."""
    return {} if plan.full else BUDGET


def run_job(job: tuple[dict, str, str]) -> tuple[str, float]:
    """Train one run unless its record exists; returns (key, seconds spent here).

    ``job`` is (settings, results folder, run folders): the record (settings, eval curve,
    timings) is written atomically into the results folder when the run finishes; the run's
    own folder (checkpoints, replay) goes under the run folders and is removed then."""
    s, results, runs = job
    name = key(s)

    def train(run_dir: Path) -> dict:
        data = {k: s[k] for k in ("algo", "task", "seed", "total_steps", "eval_every",
                                  "eval_episodes", "algo_config")}  # fmt: skip
        data.update(env=dict(s["env"]), num_envs=1, checkpoint_every=0, run_dir=str(run_dir),
                    label=name, log_every=s["eval_every"])  # fmt: skip
        return fair.clocked_train(data, s["seed"] + EVAL_SEED_OFFSET)

    record = Path(results) / f"{name}.json"
    seconds = fair.run_once(record, s, train, Path(runs) / name, keep_run=False)
    return name, seconds


def run_all(jobs: list[dict], results: Path, runs: Path, workers: int) -> None:
    """Run ``jobs`` (in the given order) on ``workers`` processes."""
    todo = {key(s): s for s in jobs}
    print(f"{len(todo)} runs to do", flush=True)
    if todo:
        work = [(s, str(results), str(runs)) for s in todo.values()]
        _report(fair.run_pool(run_job, work, workers), todo)


def _report(results: Iterable[tuple[str, float]], todo: dict[str, dict]) -> None:
    for done, (name, seconds) in enumerate(results, 1):
        s = todo[name]
        extra = s["algo_config"].get("elite_fraction", "")
        print(f"  [{done}/{len(todo)}] {s['method']} {s['task']} seed {s['seed']} "
              f"p={extra}: {seconds:.0f} s", flush=True)  # fmt: skip


def task_jobs(plan: Plan, task: str) -> tuple[list[dict], list[dict], list[dict]]:
    """(SAC runs, the other methods' runs, ablation runs) of one task."""
    sac = [settings(plan, "SAC", task, s) for s in plan.seeds]
    methods = [m for m in METHODS if m != "SAC"
               and (task == LEG or plan.mujoco_mpc_acts or m != MPC_ACTS)]  # fmt: skip
    rest = [settings(plan, m, task, s) for m in methods for s in plan.seeds]
    ablation = [  # p = 10 % (the default) is the same run as the paper variant's
        settings(plan, "M-DeMoRL (paper)", task, s, elite_fraction=p)
        for p in plan.fractions for s in plan.ablation_seeds
    ] if task == LEG else []  # fmt: skip
    return sac, rest, ablation


def threshold(plan: Plan, task: str, results: Path, earlier: dict[str, Any]) -> dict[str, float]:
    """The task's return threshold from SAC's rows alone (written to the results folder)."""
    from rl_control.training.io import atomic_write_json

    rows = report.task_rows(plan, task, task_jobs, key, results, earlier)[0]
    out = report.sac_threshold(rows[("groups", "SAC")])
    atomic_write_json(results / f"threshold_{task}.json", out)
    return out


def run_task(plan: Plan, task: str, results: Path, runs: Path, workers: int,
             earlier: dict[str, Any], rerun_kept: bool = False) -> dict[str, float]:  # fmt: skip
    """Run ``task``'s jobs that have no row (SAC first in the queue), then its threshold.

    A job whose seed is kept from the earlier summary is not rerun (``rerun_kept``: it is, so
    that every row gets a committed record); a second pass runs the kept rows that the new
    records showed inconsistent (:func:`m_demorl_report.task_rows`)."""
    for _ in range(3):
        _, todo, _ = report.task_rows(plan, task, task_jobs, key, results,
                                      {} if rerun_kept else earlier)  # fmt: skip
        if not todo:
            return threshold(plan, task, results, earlier)
        run_all(todo, results, runs, workers)
    raise RuntimeError(f"{task}: runs still missing after three passes")


def main(argv: Iterable[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny budgets: a smoke run")
    parser.add_argument("--full", action="store_true", help="no machine-budget cuts")
    parser.add_argument("--leg-epochs", type=int, default=Plan.leg_epochs)
    parser.add_argument("--mujoco-epochs", type=int, default=Plan.mujoco_epochs)
    parser.add_argument("--ablation-seeds", type=int, default=len(Plan.ablation_seeds))
    parser.add_argument("--mujoco-mpc-acts", action="store_true",
                        help="run the mpc_acts variant on the MuJoCo tasks too")  # fmt: skip
    parser.add_argument("--tasks", nargs="+", help=f"subset of {(LEG, *MUJOCO)}")
    parser.add_argument("--out", type=Path, help="results folder (default experiments/results)")
    parser.add_argument(
        "--runs",
        type=Path,
        help="run folders while a run trains (default runs/experiments/…); the per-run "
        "records go to <out>/m_demorl_study_runs",
    )
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--rerun-kept",
        action="store_true",
        help="also run the jobs whose rows are only kept from the earlier summary (no record)",
    )
    parser.add_argument(
        "--report-only",
        action="store_true",
        help="no runs: the tables from the finished runs (tasks with a threshold)",
    )
    args = parser.parse_args(None if argv is None else list(argv))
    if args.workers < 1 or min(args.leg_epochs, args.mujoco_epochs, args.ablation_seeds) < 1:
        raise ValueError("--workers, --leg-epochs, --mujoco-epochs, --ablation-seeds must be >= 1")
    plan = QUICK if args.quick else Plan(
        args.leg_epochs, args.mujoco_epochs, ablation_seeds=tuple(range(args.ablation_seeds)),
        full=args.full, mujoco_mpc_acts=args.mujoco_mpc_acts,
    )  # fmt: skip
    if args.tasks:
        unknown = set(args.tasks) - {LEG, *MUJOCO}
        if unknown:
            raise ValueError(f"--tasks: unknown {sorted(unknown)}; known {(LEG, *MUJOCO)}")
        plan = replace(plan, tasks=tuple(t for t in plan.tasks if t in args.tasks))
    out = args.out or ROOT / ("runs/experiments_quick" if args.quick else "experiments/results")
    results = out / ("m_demorl_study_runs" + "_quick" * args.quick)
    runs = args.runs or ROOT / "runs/experiments" / (
        "m_demorl_study_quick" if args.quick else "m_demorl_study"
    )
    # read once: the summary this invocation rewrites after each task keeps these rows too
    earlier = report.earlier_summary(out / "m_demorl_study.json", plan, budget_cuts(plan))
    command = " ".join(["python experiments/m_demorl_study.py",
                        *(sys.argv[1:] if argv is None else argv)])  # fmt: skip
    t0, summary = time.perf_counter(), {}
    if args.report_only:  # every task whose SAC runs finished, with the runs done so far
        return report.write_results(plan, task_jobs, key, results, out, 0.0, earlier, command)
    for task in plan.tasks:
        thr = run_task(plan, task, results, runs, args.workers, earlier, args.rerun_kept)
        print(f"{task}: threshold {thr['threshold']:.1f} (from SAC: {thr})", flush=True)
        summary = report.write_results(plan, task_jobs, key, results, out,
                                       time.perf_counter() - t0, earlier, command)  # fmt: skip
    return summary


if __name__ == "__main__":
    main()
