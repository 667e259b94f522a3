"""PPO-MPC vs PPO (neural policy) on the soft-wall cart-pole, 5 seeds each (paper's Fig. 3).

Deterministic evaluation return vs number of rollout trajectories (episodes) used, and the
rollouts each seed needed to reach 90 % of plain PPO's final mean return. Seeds run in 2
processes. Writes experiments/results/ppo_mpc_vs_ppo.{csv,md,png}.

    python experiments/ppo_mpc_vs_ppo.py                  # full budgets (about an hour)
    python experiments/ppo_mpc_vs_ppo.py --tiny           # smoke test (about a minute)
"""

from __future__ import annotations

import argparse
import csv
import multiprocessing as mp
import os
from pathlib import Path

import numpy as np

CONFIGS = {
    "ppo": "config/train/ppo_soft_wall_cartpole.yaml",
    "ppo_mpc": "config/train/ppo_mpc_soft_wall_cartpole.yaml",
}
#: env steps per run: PPO needs ~600 rollouts, PPO-MPC is expected to need ~40
BUDGETS = {"ppo": 250_000, "ppo_mpc": 24_000}
EVAL_EVERY = {"ppo": 10_000, "ppo_mpc": 1_600}


def run_one(job: tuple[str, int, int, int, str]) -> str:
    """Train one (algorithm, seed) with the project runner; returns the run folder."""
    os.environ["OMP_NUM_THREADS"] = "1"
    import torch

    from rl_control.training.config import TrainConfig
    from rl_control.training.io import read_yaml
    from rl_control.training.runner import Runner

    torch.set_num_threads(1)
    algo, seed, steps, every, out = job
    data = (
        read_yaml(CONFIGS[algo])
        if Path(CONFIGS[algo]).exists()
        else {"algo": algo, "task": "soft_wall_cartpole"}
    )
    run_dir = Path(out) / f"{algo}_seed{seed}"
    data.update(
        seed=seed,
        total_steps=steps,
        eval_every=every,
        checkpoint_every=0,
        run_dir=str(run_dir),
        label=algo,
    )
    if algo == "ppo_mpc":
        data.setdefault("algo_config", {})["workers"] = 1  # the 2 cores run 2 seeds instead
        data["algo_config"]["model_seed"] = seed
    Runner(TrainConfig.from_dict(data), tensorboard=False).train()
    return str(run_dir)


def curve(run_dir: str) -> tuple[np.ndarray, np.ndarray]:
    """(episodes used, eval return) at every evaluation of a run."""
    eps, rets = [], []
    with open(Path(run_dir) / "metrics.csv") as f:
        for row in csv.DictReader(f):
            if row.get("eval_return_mean"):
                eps.append(float(row["episodes"]))
                rets.append(float(row["eval_return_mean"]))
    return np.array(eps), np.array(rets)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--tiny", action="store_true", help="tiny budgets, to check the script")
    parser.add_argument("--out", default="experiments/results")
    args = parser.parse_args()
    scale = 0.01 if args.tiny else 1.0
    out = Path(args.out)
    runs = out / ("runs_tiny" if args.tiny else "runs")
    jobs = [
        (
            algo,
            seed,
            max(int(BUDGETS[algo] * scale), 400),
            max(int(EVAL_EVERY[algo] * scale), 200),
            str(runs),
        )
        for seed in range(args.seeds)
        for algo in BUDGETS
    ]
    with mp.get_context("spawn").Pool(2) as pool:
        dirs = pool.map(run_one, jobs, chunksize=1)
    curves = {
        algo: [curve(d) for d, j in zip(dirs, jobs, strict=True) if j[0] == algo]
        for algo in BUDGETS
    }
    ppo_final = float(np.mean([c[1][-1] for c in curves["ppo"]]))
    threshold = 0.9 * ppo_final
    rows = []
    for algo, cs in curves.items():
        for seed, (eps, rets) in enumerate(cs):
            hit = np.nonzero(rets >= threshold)[0]
            rows.append((algo, seed, float(eps[hit[0]]) if len(hit) else float("nan"), rets[-1]))
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "ppo_mpc_vs_ppo.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["algo", "seed", "episodes", "eval_return"])
        for algo, cs in curves.items():
            for seed, (eps, rets) in enumerate(cs):
                writer.writerows((algo, seed, e, r) for e, r in zip(eps, rets, strict=True))
    lines = [
        f"Threshold: 90 % of plain PPO's final mean return = {threshold:.1f}",
        "",
        "| algorithm | seed | rollouts to threshold | final eval return |",
        "|---|---|---|---|",
    ]
    lines += [f"| {a} | {s} | {e:.0f} | {r:.1f} |" for a, s, e, r in rows]
    for algo in curves:
        hits = np.array([e for a, _, e, _ in rows if a == algo])
        median = np.median(hits[~np.isnan(hits)]) if np.any(~np.isnan(hits)) else float("nan")
        lines.append(f"| {algo} | median | {median:.0f} | |")
    (out / "ppo_mpc_vs_ppo.md").write_text("\n".join(lines) + "\n")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for algo, color in (("ppo_mpc", "c"), ("ppo", "purple")):
        for i, (eps, rets) in enumerate(curves[algo]):
            ax.plot(eps, rets, color=color, alpha=0.6, label=algo if i == 0 else None)
    ax.axhline(threshold, ls="--", color="gray", label="90 % of PPO final")
    ax.set(xscale="symlog", xlabel="rollout trajectories", ylabel="eval return")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "ppo_mpc_vs_ppo.png", dpi=120)
    print((out / "ppo_mpc_vs_ppo.md").read_text())


if __name__ == "__main__":
    main()
