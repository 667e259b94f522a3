"""GPS vs PPO vs iLQR on the soft-wall cart-pole and on the 2R leg (issue 16).

Task: the soft-wall cart-pole with 2 s episodes (200 steps, best return 3000). Training and
guiding starts: uniform in ±(0.2 m, 0.4 rad, 0.5 m/s, 1 rad/s), where the pole tip starts in
a wall for part of the starts; "wide" test starts: ±(0.3 m, 0.6 rad, 1 m/s, 2 rad/s), wider
than every guiding sample's. Methods, on the same env and the same evaluation grid (every
``every`` env steps, the runner's deterministic episodes on the training starts):
- GPS (config/train/gps_soft_wall_cartpole.yaml, the lecture's Algorithm 1) and PPO
  (config/train/ppo_soft_wall_cartpole.yaml on 1 env with one episode per update and 4
  epochs, the structure experiments/ppo_mpc_vs_ppo.py tuned: the file as written, 2048 steps
  per update, fits 3 updates in the budget), each tuned alike: a tuning stage runs every point
  of the method's grid (``tune``: 5 values of its most sensitive hyperparameter, GPS's Φ step
  size ``phi_lr``, PPO's ``learning_rate``) on tuning seeds disjoint from the reported ones,
  on the training starts only, and the point with the best mean eval return over the grid
  (fair.pick_best) is then run on the reported seeds on both start distributions;
- iLQR feedback law of the nearest guide (the trajectory optimiser alone, no re-planning),
  from each GPS seed's guides;
- iLQR as MPC (policy kind ilqr_mpc: re-planned every 10 steps over 30 with 2 iterations, on
  the task's model; uses no env steps to learn, and ~20 iLQR solves per episode to act).
Final policies are scored on the same 10 training-distribution and 10 wide starts
(reset seeds 20000+i). Each (method, seed) and each tuning run (method, grid point, tuning
seed) is one JSON under --runs, written atomically and kept (resumable: finished ones are
reused; ``--report-only`` summarises the finished ones). 5 seeds and 30 tuning runs: ~13 min
(the leg ~18 min) on one niced process at load average ~3, far longer on a loaded machine.
``--only METHOD...`` runs just those methods' jobs (e.g. a row made stale by a code change);
the rows of methods with no finished run under --runs are then carried from the previous
summary (<out>/gps_study.json) with the date of the run that produced them, and the notes
say which.

2R leg (``--task two_link_leg``): one 0.5 s gait cycle per episode (250 steps at 500 Hz, best
return 250); training and guiding starts at rest within ±0.05 rad of the IK solution of the
path's start (the task's reset), wide starts within ±0.2 rad; GPS
(config/train/gps_two_link_leg.yaml) and PPO (config/train/ppo_two_link_leg.yaml on 1 env, one
episode per update, 4 epochs: as written, 4 x 1024 steps per update, only 2 updates fit the
budget), tuned as on the cart-pole, on the same env steps and grid, the guide law and
iLQR-MPC (horizon 30, re-planned every 10 steps, 3 iterations) on the leg's URDF rigid-body
model (tasks/two_link_leg_model.py).

    python experiments/gps_study.py                       # cart-pole, full
    python experiments/gps_study.py --task two_link_leg   # 2R leg
    python experiments/gps_study.py --quick    # smoke run, tiny budgets (not a result)
Writes <out>/gps_study.{md,json,png} (the leg: gps_study_two_link_leg.*; default out:
experiments/results).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parents[1]
for _path in (ROOT, ROOT / "bench"):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

from results_table import start_run, write_markdown  # noqa: E402

from experiments import fair  # noqa: E402

TASK = "soft_wall_cartpole"
TRAIN = {"max_steps": 200, "init_range": [0.2, 0.4, 0.5, 1.0]}
WIDE = {"max_steps": 200, "init_range": [0.3, 0.6, 1.0, 2.0]}
FINAL_SEED = 20_000
METHODS = ("gps", "ppo")
#: the tuning grids, one hyperparameter each and the same size: GPS's step size of the Adam
#: steps on −Φ (how far an iteration moves π_θ from θ*, so how degenerate the importance
#: weights get; w_r is not tuned: the algorithm adapts it ×10 per iteration, forgetting its
#: start), PPO's learning rate (3e-4: SB3's default; 1e-3: ppo_mpc_vs_ppo's pick). Five
#: values ×~3 apart, on three tuning seeds: a first run on three values and one seed picked
#: at a grid edge on the leg for both, and within its seed noise on the cart-pole
RATES = [1e-4, 3e-4, 1e-3, 3e-3, 1e-2]
TUNE = {"gps": {"phi_lr": RATES}, "ppo": {"learning_rate": RATES}}
TUNING_SEEDS = [100, 101, 102]
FULL = {
    "seeds": [0, 1, 2, 3, 4],
    "steps": 8_000,
    "every": 2_000,
    "eval_episodes": 3,
    "final_episodes": 8,
    "tuning_seeds": TUNING_SEEDS,
    "tune": TUNE,
    "gps": {},
    # one episode per update: ppo_mpc_vs_ppo's sample-efficiency structure (1 env, 4 epochs)
    "ppo": {"num_envs": 1, "n_steps": 200, "n_epochs": 4},
    "mpc": {"horizon": 30, "replan": 10, "iterations": 2},
}
QUICK = {"seeds": [0], "steps": 120, "every": 60, "eval_episodes": 1,
         "final_episodes": 1, "env": {"max_steps": 30}, "tuning_seeds": [100],
         "tune": {"gps": {"phi_lr": [1e-3, 3e-3]}, "ppo": {"learning_rate": [1e-3, 3e-3]}},
         "ppo": {"num_envs": 1, "n_steps": 30, "n_epochs": 1},
         "gps": {"num_guides": 1, "guiding_samples": 2, "policy_samples": 1, "ilqr_iters": 2,
                 "ml_steps": 5, "phi_steps": 2, "hidden": [8]},
         "mpc": {"horizon": 10, "replan": 5, "iterations": 1}}  # fmt: skip


LEG = "two_link_leg"
#: per task: training / wide starts, learners, reward per step at best, guide-distance scale
SETUPS: dict[str, dict[str, Any]] = {
    TASK: {"train": TRAIN, "wide": WIDE, "methods": METHODS, "best": 15,
           "scale": TRAIN["init_range"]},
    LEG: {"train": {"max_steps": 250}, "wide": {"max_steps": 250, "init_noise": 0.2},
          "methods": ("gps", "ppo"), "best": 1, "scale": [0.05, 0.05]},
}  # fmt: skip
LEG_FULL = {
    "task": LEG,
    "seeds": [0, 1, 2, 3, 4],
    "steps": 10_000,
    "every": 2_000,
    "eval_episodes": 2,
    "final_episodes": 4,
    # iLQR's control cost R‖u‖² (the leg's default, mpc/ilqr.py CONTROL_COST), named here so
    # the runs' settings record it (the runs before it was added had none)
    "tuning_seeds": TUNING_SEEDS,
    "tune": TUNE,
    "gps": {"ilqr_control_cost": 1e-2},
    "ppo": {"num_envs": 1, "n_steps": 250, "n_epochs": 4},  # one gait cycle per update
    "mpc": {"horizon": 30, "replan": 10, "iterations": 3, "control_cost": 1e-2},
}
LEG_QUICK = {**QUICK, "task": LEG, "mpc": {"horizon": 10, "replan": 5, "iterations": 1}}


def task_of(plan: dict) -> str:
    return plan.get("task", TASK)  # the cart-pole plans name no task (their settings hash)


def envs(plan: dict) -> tuple[dict, dict]:
    setup = SETUPS[task_of(plan)]
    return {**setup["train"], **plan.get("env", {})}, {**setup["wide"], **plan.get("env", {})}


def score(policy: Any, env_params: dict, episodes: int, task: str = TASK) -> list[float]:
    from rl_control.envs.registration import make_env
    from rl_control.training.evaluation import evaluate

    env = make_env(task, **env_params)
    try:
        return evaluate(policy, env, episodes, FINAL_SEED).returns.tolist()
    finally:
        env.close()


class NearestGuide:
    """The iLQR feedback law g(x_t) of the guide whose start is nearest the episode's start
    (distance over the first len(scale) state entries, each in units of ``scale``)."""

    def __init__(self, samplers: list, starts: np.ndarray, scale: np.ndarray) -> None:
        from rl_control.policies.base import PolicyOutput

        self.samplers, self.out = samplers, PolicyOutput
        self.starts, self.scale = starts[:, : len(scale)], np.asarray(scale)
        self.reset()

    def reset(self, env_ids: Any = None) -> None:
        self.guide, self.t = None, 0

    def act(self, obs: np.ndarray, deterministic: bool = True) -> Any:
        obs = np.asarray(obs, dtype=np.float64)
        if self.guide is None:
            dist = np.abs((self.starts - obs[0, : len(self.scale)]) / self.scale).sum(1)
            self.guide = self.samplers[int(np.argmin(dist))]
        a = self.guide.mean(np.array([self.t]), obs)  # unit actions, the obs mapped to a state
        a = self.guide.center + self.guide.half * a
        self.t += 1
        return self.out(a, a, np.zeros(1))


def job_settings(job: dict) -> dict:
    """What defines a run: plan, method, seed and, for learners, the grid point (``overrides``)
    and whether it is a tuning run (``stage``)."""
    return {k: job[k] for k in ("plan", "method", "seed", "overrides", "stage") if k in job}


def run_job(job: dict) -> str:
    """Train (GPS, PPO) or just score (MPC) one run unless its JSON holds that run; write the
    JSON atomically (the run folder beside it is kept)."""
    path, overrides = Path(job["path"]), job.get("overrides", {})
    tuning = job.get("stage") == "tune"

    def train(run_dir: Path) -> dict[str, Any]:
        return _train(job["plan"], job["method"], job["seed"], run_dir, overrides, tuning)

    seconds = fair.run_once(path, job_settings(job), train, path.with_suffix(""))
    what = f"tuning {overrides} " if tuning else ""
    return f"{job['method']} {what}seed {job['seed']}: {seconds:.0f} s"


def tuning_jobs(plan: dict, methods: Iterable[str], runs: Path) -> list[dict]:
    """One job per (method, grid point, tuning seed): training starts only."""
    fair.check_disjoint(plan["tuning_seeds"], plan["seeds"])
    return [{"plan": plan, "method": m, "seed": s, "overrides": point, "stage": "tune",
             "path": str(runs / f"tune_{m}_{i}_{s}.json")}
            for m in methods for i, point in enumerate(fair.grid_points(plan["tune"][m]))
            for s in plan["tuning_seeds"]]  # fmt: skip


def grid_curve(plan: dict, result: dict) -> np.ndarray:
    """A learner's eval returns read on the common grid."""
    return fair.on_grid(result["steps"], result["returns"],
                        fair.eval_grid(plan["steps"], plan["every"]))  # fmt: skip


def tuning_summary(plan: dict, method: str, results: list[dict | None]) -> dict[str, Any]:
    """Every grid point of ``method`` with its tuning runs' scores (mean eval return over the
    grid, one per finished tuning seed), curves and final training-start returns, and
    ``pick``: the best point's index (fair.pick_best), None until every tuning run finished.
    ``results``: the tuning jobs' results in :func:`tuning_jobs` order (None: not run)."""
    points = fair.grid_points(plan["tune"][method])
    n = len(plan["tuning_seeds"])
    rows = []
    for i, point in enumerate(points):
        done = [r for r in results[i * n : (i + 1) * n] if r is not None]
        curves = [grid_curve(plan, r) for r in done]
        rows.append({"overrides": point, "seeds": [r["seed"] for r in done],
                     "scores": [float(c.mean()) for c in curves],
                     "curves": [c.tolist() for c in curves],
                     "final_train": [float(np.mean(r["train"])) for r in done]})  # fmt: skip
    complete = all(len(r["scores"]) == n for r in rows)
    pick = fair.pick_best([r["scores"] for r in rows]) if complete else None
    return {"axes": plan["tune"][method], "points": rows, "pick": pick}


def _train(plan: dict, method: str, seed: int, run_dir: Path, overrides: dict | None = None,
           tuning: bool = False) -> dict[str, Any]:  # fmt: skip
    """One run: its curve (trained methods) and final scores (a tuning run: training starts
    only, no guide law)."""
    from rl_control.algorithms.registry import make_algorithm
    from rl_control.training.config import TrainConfig
    from rl_control.training.runner import Runner

    train, wide = envs(plan)
    task = task_of(plan)
    n, start, result = plan["final_episodes"], time.time(), {"method": method, "seed": seed}
    if method == "ilqr_mpc":
        from rl_control.mpc.ilqr_mpc import ILQRMPCPolicy

        mpc = ILQRMPCPolicy(task, train, **plan["mpc"])
        result.update(train=score(mpc, train, n, task), wide=score(mpc, wide, n, task),
                      solves=mpc.solves, failed_solves=mpc.failed_solves)  # fmt: skip
    else:
        config_file = ROOT / f"config/train/{method}_{task}.yaml"
        cfg = yaml.safe_load(config_file.read_text())
        built: dict[str, Any] = {}

        def factory(name: str, spec: Any, config: dict, s: int) -> Any:
            built["algo"] = make_algorithm(name, spec, config, s)
            return built["algo"]

        extra = dict(plan[method])
        cfg["num_envs"] = extra.pop("num_envs", cfg["num_envs"])
        cfg.update(env=train, seed=seed, total_steps=plan["steps"], checkpoint_every=0,
                   eval_every=plan["every"], eval_episodes=plan["eval_episodes"],
                   run_dir=str(run_dir), log_every=plan["every"])  # fmt: skip
        cfg["algo_config"] = {**cfg["algo_config"], **extra, **(overrides or {})}
        Runner(TrainConfig.from_dict(cfg), tensorboard=False, algorithm_factory=factory,
               force=True).train()  # fmt: skip
        rows = [r for r in _csv(run_dir / "metrics.csv") if r["eval_return_mean"]]
        algo = built["algo"]
        result.update(steps=[float(r["env_steps"]) for r in rows],
                      returns=[float(r["eval_return_mean"]) for r in rows],
                      train=score(algo.policy, train, n, task))  # fmt: skip
        if not tuning:  # tuning sees the training starts only
            result["wide"] = score(algo.policy, wide, n, task)
        if method == "gps" and not tuning:
            guides = [algo.samplers[i] for i in algo.guide_ids]
            law = NearestGuide(guides, algo.guide_starts, SETUPS[task]["scale"])
            result.update(guide_train=score(law, train, n, task),
                          guide_wide=score(law, wide, n, task),
                          counts=algo.counts, w_r=algo.w_r, iterations=algo.iteration)  # fmt: skip
    result["seconds"] = time.time() - start
    return result


def _csv(path: Path) -> list[dict[str, str]]:
    import csv

    with open(path) as f:
        return list(csv.DictReader(f))


#: table rows: (name, method whose results hold them, result key prefix: "" or "guide_")
GROUPS = (
    ("GPS", "gps", ""),
    ("PPO", "ppo", ""),
    ("iLQR guide law (no re-planning)", "gps", "guide_"),
    ("iLQR as MPC (re-planning)", "ilqr_mpc", ""),
)
#: (method, its name in the table)
GROUPS_OF = (("gps", "GPS"), ("ppo", "PPO"))


def summarise(plan: dict, results: list[dict], quick: bool) -> dict[str, Any]:
    setup = SETUPS[task_of(plan)]
    methods = setup["methods"]
    by = {m: [r for r in results if r["method"] == m] for m in (*methods, "ilqr_mpc")}
    grid = fair.eval_grid(plan["steps"], plan["every"])
    curves = {m: [fair.on_grid(r["steps"], r["returns"], grid).tolist() for r in by[m]]
              for m in methods}  # fmt: skip

    def finals(rows: list[dict], key: str) -> tuple[list[float], list[float]]:
        return ([float(np.mean(r[key + "train"])) for r in rows],
                [float(np.mean(r[key + "wide"])) for r in rows])  # fmt: skip

    groups = {name: finals(by[m], key) for name, m, key in GROUPS
              if m in (*methods, "ilqr_mpc")}  # fmt: skip
    # the seeds every learner finished (a --report-only summary may lack some)
    # (methods with no runs here are carried from an earlier summary: see carry)
    ran = [{r["seed"] for r in by[m]} for m in methods if by[m]]
    seeds = sorted(set.intersection(*ran)) if ran else []
    return {"quick": quick, "task": task_of(plan), "methods": list(methods),
            "seeds": seeds, "planned_seeds": plan["seeds"],
            "grid": grid.tolist(), "curves": curves,
            "groups": {k: {"train": v[0], "wide": v[1]} for k, v in groups.items()},
            "gps_counts": [r.get("counts") for r in by["gps"]], "steps": plan["steps"],
            "gps_minus_guide": [(float(np.mean(r["train"]) - np.mean(r["guide_train"])),
                                 float(np.mean(r["wide"]) - np.mean(r["guide_wide"])))
                                for r in by["gps"]],
            "best_return": setup["best"] * envs(plan)[0]["max_steps"], "carried": {},
            "seconds": {m: [r["seconds"] for r in by[m]] for m in by}}  # fmt: skip


def carry(summary: dict, previous: dict, methods: Iterable[str], date: str) -> list[str]:
    """Copy the rows of ``methods`` (none of their runs are here) from the ``previous``
    summary, made on ``date``, into ``summary``; returns the table rows carried. Each carried
    method keeps the date of the run that produced it (``summary["carried"]``)."""
    methods = [m for m in methods if m in previous["seconds"]]
    rows = [name for name, m, _ in GROUPS if m in methods and name in previous["groups"]]
    for name in rows:
        summary["groups"][name] = previous["groups"][name]
    for m in methods:
        summary["seconds"][m] = previous["seconds"][m]
        if m in previous["curves"]:
            summary["curves"][m] = previous["curves"][m]
        summary["carried"][m] = previous.get("carried", {}).get(m, date)
    if "gps" in methods:
        summary["gps_counts"] = previous["gps_counts"]
        summary["gps_minus_guide"] = previous["gps_minus_guide"]
    learners = [m for m in summary["methods"] if m in methods]
    if learners:  # the seeds every learner has, carried or run here
        fresh = [set(summary["seeds"])] if len(learners) < len(summary["methods"]) else []
        summary["seeds"] = sorted(set(previous["seeds"]).intersection(*fresh))
    return rows


def previous_summary(out: Path, name: str) -> tuple[dict, str]:
    """The summary <out>/<name>.json and the date of its run (from <name>.md's machine line)."""
    path = out / f"{name}.json"
    if not path.exists():
        raise ValueError(f"--only: no previous summary {path} to carry the other rows from")
    md = path.with_suffix(".md")
    found = re.search(r"; (\d{4}-\d\d-\d\d \d\d:\d\d \w+)\. The machine",
                      md.read_text() if md.exists() else "")  # fmt: skip
    return json.loads(path.read_text()), found.group(1) if found else "an earlier run"


def _point(overrides: dict) -> str:
    return ", ".join(f"{k} {v:g}" for k, v in overrides.items())


def table(summary: dict) -> tuple[list[str], list[list[str]]]:
    """The evaluation rows (the learners at their tuning pick), then every tuning run's row."""
    grid, cur = np.asarray(summary["grid"]), summary["curves"]
    points = [g for g in grid if g > 0]
    header = ["method", *[f"return at {int(g)} env steps" for g in points],
              "mean over the grid (tuning score)", "final: training starts",
              "final: wide starts"]  # fmt: skip

    def cells(curves: list[list[float]]) -> list[str]:
        at = [fair.spread([c[int(np.searchsorted(grid, p))] for c in curves]) for p in points]
        return [*at, fair.spread([float(np.mean(c)) for c in curves])]

    rows = []
    kinds = {name: (m, key) for name, m, key in GROUPS}
    tuning = summary.get("tuning", {})
    for name, g in summary["groups"].items():
        m, key = kinds[name]
        if m != "ilqr_mpc" and not key:
            pick = tuning.get(m, {}).get("pick")
            label = name
            if pick is not None:
                label += f" ({_point(tuning[m]['points'][pick]['overrides'])}: tuning's pick)"
            row = [label, *cells(cur[m])]
        else:
            row = [name, *["- (model known, no env steps)"] * len(points), "-"]
        rows.append([*row, fair.spread(g["train"]), fair.spread(g["wide"])])
    for m, t in tuning.items():
        for i, point in enumerate(t["points"]):
            label = f"tuning, {dict(GROUPS_OF)[m]} {_point(point['overrides'])}, seeds "
            label += f"{point['seeds']}" + (" (picked)" if i == t["pick"] else "")
            rows.append([label, *cells(point["curves"]), fair.spread(point["final_train"]),
                         "- (tuning: training starts only)"])  # fmt: skip
    return header, rows


def plot(summary: dict, path: Path, title: str) -> None:
    """Median (and range over seeds) eval return against env steps; iLQR-MPC as a line."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from rl_control.training.io import atomic_write_bytes

    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    grid = np.asarray(summary["grid"])
    names = {"gps": "GPS, tuned", "ppo": "PPO, tuned"}
    for m, curves in summary["curves"].items():
        if curves:
            c = np.asarray(curves)
            ax.plot(grid, np.median(c, 0), marker="o", label=names[m])
            ax.fill_between(grid, c.min(0), c.max(0), alpha=0.2)
    mpc = summary["groups"]["iLQR as MPC (re-planning)"]["train"]
    if mpc:
        ax.axhline(float(np.median(mpc)), color="k", ls="--", label="iLQR as MPC (no env steps)")
    ax.set(xlabel="env steps used", ylabel="eval return (training starts)",
           title=title)  # fmt: skip
    ax.legend(loc="lower right")
    import io

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    plt.close(fig)
    atomic_write_bytes(path, buffer.getvalue())


def tuning_note(plan: dict, leg: bool) -> str:
    """How the learners were tuned (the same effort for both)."""
    grids = "; ".join(f"{dict(GROUPS_OF)[m]} {k} in {v}" for m, axes in plan["tune"].items()
                      for k, v in axes.items())  # fmt: skip
    written = "4 envs x 1024" if leg else "4 envs x 512"
    return (
        f"Tuning, the same for GPS and PPO: one hyperparameter, {grids}, each point on "
        f"tuning seed(s) {plan['tuning_seeds']} (never reported), training starts only, for "
        f"the same {plan['steps']} env steps and grid; score: the mean eval return over the "
        "grid (area under the curve), the best point (fair.pick_best) runs on the reported "
        "seeds on both start distributions. GPS tunes phi_lr, the Adam step on −Φ (how far "
        "an iteration moves π_θ from θ*, which decides how degenerate the importance weights "
        "get); w_r is adapted by the algorithm (×10 per iteration), so its start is not tuned. "
        f"PPO runs on 1 env with n_steps {plan['ppo']['n_steps']} (one episode) and "
        f"{plan['ppo']['n_epochs']} epochs per update (ppo_mpc_vs_ppo's sample-efficiency "
        f"structure): its config as written ({written} steps per update) fits only "
        f"{plan['steps'] // (4 * (1024 if leg else 512))} updates in the budget."
    )


def main(argv: Iterable[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny budgets (smoke run)")
    parser.add_argument("--out", type=Path, help="results folder (default experiments/results)")
    parser.add_argument("--runs", type=Path, help="per-run results (default runs/gps_study)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--task", choices=sorted(SETUPS), default=TASK)
    parser.add_argument(
        "--report-only",
        action="store_true",
        help="no runs: summarise the finished ones (missing seeds are listed)",
    )
    parser.add_argument(
        "--only",
        nargs="+",
        choices=("gps", "ppo", "ilqr_mpc"),
        help="run only these methods' jobs; rows of methods with no finished run are carried "
        "from the previous summary (the notes name them and their date)",
    )
    args = parser.parse_args(None if argv is None else list(argv))
    run = start_run(["experiments/gps_study.py", *(argv if argv is not None else sys.argv[1:])])
    leg = args.task == LEG
    plan = (LEG_QUICK if leg else QUICK) if args.quick else (LEG_FULL if leg else FULL)
    name = "gps_study" + (f"_{LEG}" if leg else "")
    out = args.out or ROOT / ("runs/experiments_quick" if args.quick else "experiments/results")
    runs = args.runs or ROOT / "runs" / (name + "_quick" * args.quick)
    runs.mkdir(parents=True, exist_ok=True)
    methods = SETUPS[args.task]["methods"]
    only = set(args.only or (*methods, "ilqr_mpc"))

    def done_result(job: dict) -> dict | None:
        return fair.load_result(Path(job["path"]), job_settings(job))

    def run_stage(jobs: list[dict], what: str) -> list[str]:
        """Run the jobs of ``only`` not yet done (none with --report-only); the ones left."""
        todo = [j for j in jobs if j["method"] in only and done_result(j) is None]
        print(f"{what}: {len(todo)} of {len(jobs)} runs to do", flush=True)
        for line in fair.run_pool(run_job, [] if args.report_only else todo, args.workers):
            print(line, flush=True)
        return [f"{what} {j['method']} {_point(j.get('overrides', {}))} seed {j['seed']}"
                for j in todo if done_result(j) is None]  # fmt: skip

    # stage 1, tuning: every grid point of every learner on the tuning seeds
    tune = tuning_jobs(plan, methods, runs)
    missing = run_stage(tune, "tuning")
    tuning = {m: tuning_summary(plan, m, [done_result(j) for j in tune if j["method"] == m])
              for m in methods}  # fmt: skip
    # stage 2: each learner's pick (once its tuning finished) on the reported seeds
    picks = {m: t["points"][t["pick"]]["overrides"] for m, t in tuning.items()
             if t["pick"] is not None}  # fmt: skip
    jobs = [{"plan": plan, "method": m, "seed": s, "overrides": picks[m],
             "path": str(runs / f"{m}_{s}.json")}
            for s in plan["seeds"] for m in methods if m in picks]  # fmt: skip
    mpc = {"plan": plan, "method": "ilqr_mpc", "seed": 0, "path": str(runs / "mpc.json")}
    # the cart-pole's MPC job first (its longest); the leg's after 3 seeds of the learners,
    # so a cut-short run still has a few seeds of every row
    jobs.insert(min(3 * len(picks), len(jobs)) if leg else 0, mpc)
    missing += run_stage(jobs, "evaluation")
    missing += [f"evaluation {m} (its tuning is unfinished)" for m in methods
                if m in only and m not in picks]  # fmt: skip
    done = [r for r in map(done_result, jobs) if r is not None]
    summary = summarise(plan, done, args.quick)
    summary["tuning"], summary["missing"] = tuning, missing
    absent = [m for m in (*methods, "ilqr_mpc")
              if m not in only and not any(r["method"] == m for r in done)]  # fmt: skip
    carried: list[str] = []
    for m in absent:  # a carried learner's tuning is the previous summary's, if any
        tuning.pop(m, None)
    if absent:
        previous, date = previous_summary(out, name)
        carried = carry(summary, previous, absent, date)
    from rl_control.training.io import atomic_write_text

    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out / f"{name}.json", json.dumps(summary, indent=1))
    what = ("2R leg, 250-step episodes (one gait cycle)" if leg
            else "soft-wall cart-pole, 200-step episodes")  # fmt: skip
    plot(summary, out / f"{name}.png", what)
    header, rows = table(summary)
    best = SETUPS[args.task]["best"]
    notes = [
        "Returns: mean over the deterministic eval episodes; cells: median [min, max] over "
        f"seeds {summary['seeds']}. Best possible "
        f"return {best * envs(plan)[0]['max_steps']} ({best} per step).",
        "GPS minus its own iLQR guide law, per seed (training / wide starts): "
        + ", ".join(f"{a:+.0f} / {b:+.0f}" for a, b in summary["gps_minus_guide"])
        + ".",
        "Curves are on the training starts (the runner's eval episodes; GPS updates per batch "
        "of episodes and is evaluated at its first update past a grid point, so a cell is its "
        "last evaluation at or before the grid point); 'final' columns score "
        f"every final policy on the same {plan['final_episodes']} starts per distribution.",
        (
            "iLQR rows use the leg's URDF rigid-body model (exact to ~1e-7 rad over 100 steps) "
            f"with iLQR's control cost R‖u‖², R = {plan['mpc'].get('control_cost', 'default')} "
            "(the leg's reward has no action term), and no env steps; starts: training "
            "±0.05 rad, wide ±0.2 rad about the path's IK start"
            if leg
            else "iLQR rows use the task's smoothed LCS model (linearised about upright) and "
            "no env steps"
        )
        + "; the guide law is the nearest guide's g(x_t) from each GPS seed's iLQR "
        "guides.",
        tuning_note(plan, leg),
    ]
    edge = [f"{dict(GROUPS_OF)[m]} {_point(t['points'][t['pick']]['overrides'])}"
            for m, t in tuning.items() if t["pick"] in (0, len(t["points"]) - 1)]  # fmt: skip
    if edge:
        notes.append("Picks at the edge of their grid (the optimum may lie beyond it): "
                     + ", ".join(edge) + ".")  # fmt: skip
    failed = [(r["failed_solves"], r["solves"]) for r in done
              if r["method"] == "ilqr_mpc" and "failed_solves" in r]  # fmt: skip
    if failed:
        notes.append("iLQR-MPC re-plans that kept the previous plan (Q_uu not PD at any μ or a "
                     f"non-finite plan): {failed[0][0]} of {failed[0][1]}.")  # fmt: skip
    if carried:
        dates = sorted(set(summary["carried"].values()))
        notes.append(f"Rows carried from the run of {', '.join(dates)} (their per-run files were "
                     f"not under --runs; not rerun): {'; '.join(carried)}. The other rows are "
                     "from this run.")  # fmt: skip
    if missing:
        notes.append(f"INCOMPLETE: not run (budget): {', '.join(missing)}.")
    title = f"GPS vs PPO vs iLQR, {'2R leg' if leg else 'soft-wall cart-pole'}"
    title += " (QUICK: not results)" * args.quick
    print(write_markdown(name, title, header, rows, notes, run=run, out_dir=out).read_text())
    return summary


if __name__ == "__main__":
    main()
