"""PPO-MPC vs PPO (neural policy) on the soft-wall cart-pole, 5 seeds each (paper's Fig. 3).

Deterministic evaluation return (5 episodes, fixed eval seeds) vs the number of rollout
trajectories (completed training episodes) used, and the rollouts each seed needed to reach
90 % of plain PPO's final mean return. PPO-MPC seed i starts from the i-th *clearly bad*
initial model: the exact LCS with 60 % noise, model seeds 1, 2, ... screened in order and kept
when their MPC scores below the zero-force policy on the eval episodes (the rule is fixed here,
so the choice is not tuned on the learning curves). Runs go on 2 processes.
Writes experiments/results/ppo_mpc_vs_ppo.{csv,md,png}.

    python experiments/ppo_mpc_vs_ppo.py                  # full budgets (~30 min, 2 cores)
    python experiments/ppo_mpc_vs_ppo.py --tiny           # smoke test (a few minutes)
    python experiments/ppo_mpc_vs_ppo.py --report-only    # rebuild csv/md/png from the runs
"""

from __future__ import annotations

import argparse
import csv
import json
import multiprocessing as mp
import os
import platform
import time
from pathlib import Path
from typing import Any

import numpy as np

CONFIGS = {
    "ppo": "config/train/ppo_soft_wall_cartpole.yaml",
    "ppo_mpc": "config/train/ppo_mpc_soft_wall_cartpole.yaml",
}
#: env steps per run: PPO 100 updates of 2048 steps; PPO-MPC 40 updates of 200 steps
BUDGETS = {"ppo": 204_800, "ppo_mpc": 8_000}
#: evaluate after every PPO update, after every second PPO-MPC update
EVAL_EVERY = {"ppo": 2_048, "ppo_mpc": 400}
PERTURBATION = 0.6
EVAL_EPISODES = 5
#: the runner evaluates on seeds train_seed + 10_000 + i; the screening uses seed 0's
SCREEN_SEED = 10_000


#: interpretation that does not depend on the run's numbers (ablations: see the notes' source)
NOTES = [
    "Notes.",
    "- Rollouts count completed training episodes, so a failed 20-step episode counts as much "
    "as a 400-step one; the env-step column is the unit-neutral comparison. PPO-MPC is "
    "evaluated every 2 updates (400 steps), which bounds its resolution from below.",
    "- Plain PPO here (SB3 defaults, 4 envs) needs far fewer rollouts than the paper's ~600: "
    "the deterministic policy balances after a few updates, while most of the paper's count "
    "is presumably spent refining; with a 90 % threshold that refinement is not needed.",
    "- Where PPO-MPC's speed comes from (short runs during development, model seed 1, "
    "5 updates of 200 steps): the terminal value as the LQR cost-to-go of the *current* model "
    "is decisive (with the terminal tied to the initial model and learned through L_CLIP, the "
    "return stalled near 5000 instead of ~5940); so is fitting L_PRED on all collected "
    "transitions (with 50 fit steps on the current batch only, the model regressed after the "
    "first update and the return fell from ~5800 back to ~-80); with 50 fit steps, "
    "α = 0.1, 1 and 10 gave the same curves within noise. The improvement is therefore mostly "
    "model learning inside a structured controller that also knows the reward exactly; the "
    "PPO clip gradient into Θ is a small correction, not the driver.",
]


def reference_returns(model_seeds: range, needed: int) -> dict[str, Any]:
    """Zero-force and exact-model MPC returns, and the first ``needed`` bad model seeds."""
    from rl_control.envs.registration import make_env
    from rl_control.policies.base import PolicyOutput
    from rl_control.policies.registry import build_policy
    from rl_control.training.evaluation import evaluate

    class Zero:
        """The zero-force policy (leans on a wall until the pole falls)."""

        def reset(self, env_ids: np.ndarray | None = None) -> None:
            del env_ids

        def act(self, obs: np.ndarray, deterministic: bool = True) -> PolicyOutput:
            z = np.zeros((len(obs), 1))
            return PolicyOutput(action=z, mean=z, log_prob=np.zeros(len(obs)), info={})

    env = make_env("soft_wall_cartpole")
    zero = evaluate(Zero(), env, EVAL_EPISODES, SCREEN_SEED).mean
    exact = build_policy("mpc_lcs", {"model_perturbation": 0.0})
    exact_return = evaluate(exact, env, EVAL_EPISODES, SCREEN_SEED).mean
    out: dict[str, Any] = {"zero": zero, "exact_mpc": exact_return}
    screened: dict[int, float] = {}
    for ms in model_seeds:
        policy = build_policy("mpc_lcs", {"model_perturbation": PERTURBATION, "model_seed": ms})
        screened[ms] = evaluate(policy, env, EVAL_EPISODES, SCREEN_SEED).mean
        if sum(r < zero for r in screened.values()) == needed:
            break
    out["screened"] = screened
    out["bad_seeds"] = [ms for ms, r in screened.items() if r < zero]
    return out


def run_one(job: tuple[str, int, int, int, int, str]) -> str:
    """Train one (algorithm, seed) with the project runner; returns the run folder."""
    os.environ["OMP_NUM_THREADS"] = "1"
    import torch

    from rl_control.training.config import TrainConfig
    from rl_control.training.io import read_yaml
    from rl_control.training.runner import Runner

    torch.set_num_threads(1)
    algo, seed, model_seed, steps, every, out = job
    data = read_yaml(CONFIGS[algo])
    run_dir = Path(out) / f"{algo}_seed{seed}"
    data.update(
        seed=seed,
        total_steps=steps,
        eval_every=every,
        eval_episodes=EVAL_EPISODES,
        checkpoint_every=0,
        run_dir=str(run_dir),
        label=algo,
    )
    if algo == "ppo_mpc":
        cfg = data.setdefault("algo_config", {})
        cfg.update(workers=1, model_perturbation=PERTURBATION, model_seed=model_seed)
    Runner(TrainConfig.from_dict(data), tensorboard=False).train()
    return str(run_dir)


#: (episodes used, env steps used, eval return) at every evaluation of a run
Curve = tuple[np.ndarray, np.ndarray, np.ndarray]


def curve(run_dir: str) -> tuple[Curve, float]:
    """The evaluations of a run and its wall time (s), from its metrics.csv."""
    eps, steps, rets, wall = [], [], [], float("nan")
    with open(Path(run_dir) / "metrics.csv") as f:
        for row in csv.DictReader(f):
            wall = float(row["wall_time"])
            if row.get("eval_return_mean"):
                eps.append(float(row["episodes"]))
                steps.append(float(row["env_steps"]))
                rets.append(float(row["eval_return_mean"]))
    return (np.array(eps), np.array(steps), np.array(rets)), wall


def first_hit(used: np.ndarray, rets: np.ndarray, threshold: float) -> float:
    """``used`` at the first evaluation at or above ``threshold`` (NaN if never)."""
    hit = np.nonzero(rets >= threshold)[0]
    return float(used[hit[0]]) if len(hit) else float("nan")


def nan_median(values: list[float]) -> float:
    """Median over the seeds that reached the threshold (NaN if none did)."""
    arr = np.asarray(values)
    return float(np.median(arr[~np.isnan(arr)])) if np.any(~np.isnan(arr)) else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--tiny", action="store_true", help="tiny budgets, to check the script")
    parser.add_argument("--out", default="experiments/results")
    parser.add_argument("--report-only", action="store_true", help="rebuild from the runs")
    args = parser.parse_args()
    t0 = time.perf_counter()
    scale = 0.05 if args.tiny else 1.0
    out = Path(args.out)
    runs = out / ("runs_tiny" if args.tiny else "runs")
    ref_file = runs / "references.json"
    if args.report_only and ref_file.exists():
        ref = json.loads(ref_file.read_text())
        ref["screened"] = {int(k): v for k, v in ref["screened"].items()}
    else:
        ref = reference_returns(range(1, 40), args.seeds)
        runs.mkdir(parents=True, exist_ok=True)
        ref_file.write_text(json.dumps(ref))
    bad = list(ref["bad_seeds"])
    if len(bad) < args.seeds:
        raise RuntimeError(f"only {len(bad)} clearly bad model seeds found: {ref['screened']}")
    print(f"references: {ref}", flush=True)
    jobs = [
        (algo, seed, bad[seed], max(int(BUDGETS[algo] * scale), 400), EVAL_EVERY[algo], str(runs))
        for seed in range(args.seeds)
        for algo in ("ppo_mpc", "ppo")
    ]
    if not args.report_only:
        with mp.get_context("spawn").Pool(2) as pool:
            pool.map(run_one, jobs, chunksize=1)
        ref["total_wall_min"] = (time.perf_counter() - t0) / 60
        ref_file.write_text(json.dumps(ref))
    curves: dict[str, list[Curve]] = {"ppo_mpc": [], "ppo": []}
    walls: dict[str, list[float]] = {"ppo_mpc": [], "ppo": []}
    for algo, seed, *_ in jobs:
        one, wall = curve(str(runs / f"{algo}_seed{seed}"))
        curves[algo].append(one)
        walls[algo].append(wall)
    write_results(out, args, ref, bad, curves, walls, ref.get("total_wall_min"))


def write_results(
    out: Path,
    args: argparse.Namespace,
    ref: dict[str, Any],
    bad: list[int],
    curves: dict[str, list[Curve]],
    walls: dict[str, list[float]],
    total_wall: float | None,
) -> None:  # total_wall in minutes
    """CSV of all curves, the markdown table and the Fig. 3 style plot."""
    ppo_final = float(np.mean([c[2][-1] for c in curves["ppo"]]))
    threshold = 0.9 * ppo_final
    hits = {a: [first_hit(e, r, threshold) for e, _, r in cs] for a, cs in curves.items()}
    step_hits = {a: [first_hit(s, r, threshold) for _, s, r in cs] for a, cs in curves.items()}
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "ppo_mpc_vs_ppo.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["algo", "seed", "episodes", "env_steps", "eval_return"])
        for algo, cs in curves.items():
            for seed, (eps, steps, rets) in enumerate(cs):
                writer.writerows(
                    (algo, seed, e, s, r) for e, s, r in zip(eps, steps, rets, strict=True)
                )
    med = {a: nan_median(h) for a, h in hits.items()}
    step_med = {a: nan_median(h) for a, h in step_hits.items()}
    ratio, step_ratio = med["ppo"] / med["ppo_mpc"], step_med["ppo"] / step_med["ppo_mpc"]
    lines = [
        "# PPO-MPC vs PPO on the soft-wall cart-pole" + (" (TINY budgets)" if args.tiny else ""),
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores shared with other jobs, "
        f"2 worker processes, Python {platform.python_version()}."
        + ("" if total_wall is None else f" Total wall {total_wall:.1f} min."),
        f"Budgets per run: PPO {BUDGETS['ppo']} env steps (4 envs, 2048 steps/update), eval "
        f"every {EVAL_EVERY['ppo']}; PPO-MPC {BUDGETS['ppo_mpc']} env steps (1 env, 200 "
        f"steps/update), eval every {EVAL_EVERY['ppo_mpc']}"
        + (" (times 0.05 in --tiny)" if args.tiny else "")
        + f". Eval: {EVAL_EPISODES} deterministic episodes (max 400 steps, return <= 6000).",
        f"Rollouts = completed training episodes. Seeds: {args.seeds} per algorithm.",
        "",
        "Reference returns (same 5 eval episodes): zero-force policy "
        f"{ref['zero']:.0f}; MPC with the exact LCS {ref['exact_mpc']:.0f}; MPC with the "
        f"initial models (60 % noise, model seeds screened): "
        + ", ".join(f"seed {k}: {v:.0f}" for k, v in ref["screened"].items())
        + f". Used (below zero-force): {bad[: args.seeds]}.",
        "",
        f"Threshold: 90 % of plain PPO's final mean eval return ({ppo_final:.0f}) = "
        f"{threshold:.0f}; rollouts to threshold = rollouts used at the first evaluation at or "
        "above it.",
        "",
        "| algorithm | seed | initial return | rollouts to threshold | env steps to threshold "
        "| later evals >= threshold | final return | wall s |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for algo, cs in curves.items():
        for seed, (_, _, rets) in enumerate(cs):
            above = np.nonzero(rets >= threshold)[0]
            stay = f"{np.mean(rets[above[0] :] >= threshold):.0%}" if len(above) else "-"
            lines.append(
                f"| {algo} | {seed} | {rets[0]:.0f} | {hits[algo][seed]:.0f} "
                f"| {step_hits[algo][seed]:.0f} | {stay} | {rets[-1]:.0f} "
                f"| {walls[algo][seed]:.0f} |"
            )
        lines.append(f"| {algo} | median | | {med[algo]:.0f} | {step_med[algo]:.0f} | | | |")
    lines += [
        "",
        f"Measured ratio of medians, PPO / PPO-MPC: {ratio:.1f}x in rollouts, {step_ratio:.1f}x "
        "in env steps (paper: ~600 / ~40 rollouts = 15x).",
        "",
        *NOTES,
    ]
    (out / "ppo_mpc_vs_ppo.md").write_text("\n".join(lines) + "\n")
    plot(out, curves, threshold)
    print((out / "ppo_mpc_vs_ppo.md").read_text())


def plot(out: Path, curves: dict[str, list[Curve]], threshold: float) -> None:
    """Eval return vs rollouts, one line per seed (cyan PPO-MPC, purple PPO, as Fig. 3)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.5, 4))
    for algo, color, name in (("ppo_mpc", "c", "PPO-MPC"), ("ppo", "purple", "PPO (MLP)")):
        for i, (eps, _, rets) in enumerate(curves[algo]):
            ax.plot(eps, rets, color=color, alpha=0.7, lw=1.2, label=name if i == 0 else None)
    ax.axhline(threshold, ls="--", color="gray", label="90 % of PPO final")
    ax.set_xscale("symlog", linthresh=1.0)  # log axis that still shows the start at 0
    ax.set(xlim=(0, None), xlabel="rollout trajectories used", ylabel="eval return")
    ax.set_title("Soft-wall cart-pole, 5 seeds each")
    ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(out / "ppo_mpc_vs_ppo.png", dpi=120)


if __name__ == "__main__":
    main()
