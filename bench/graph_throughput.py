"""Lock-step training throughput through the node graph versus the in-process runner.

Both train PPO on the same task with the same config (one env: the graph has one bridge);
the graph runs `rl-control launch launch/train.launch.xml` as separate processes over the
embedded back-end. Reported: env steps/s over the trainer's wall time (from metrics.csv, so
process start-up is excluded; it is printed separately), and the ratio (target >= 50 %).
Writes bench/results/graph_throughput.md (``python bench/update_readme.py`` copies it).

    python bench/graph_throughput.py [--steps 10240] [--task soft_wall_cartpole] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from results_table import start_run, verdict, write_markdown

ROOT = Path(__file__).resolve().parents[1]
TARGET = 0.5  # graph steps/s over in-process steps/s


def _config(task: str, algo: str, steps: int, run_dir: Path) -> dict:
    from rl_control.training.io import read_yaml

    data = read_yaml(ROOT / "config" / "train" / f"{algo}_{task}.yaml")
    data.update(
        num_envs=1,
        total_steps=steps,
        run_dir=str(run_dir),
        eval_episodes=1,
        eval_every=0,
        checkpoint_every=0,
        log_every=1,
    )
    return data


def in_process(task: str, algo: str, steps: int, work: Path) -> float:
    """Env steps/s of the in-process runner (whole train(), incl. two 1-episode evaluations)."""
    import torch

    from rl_control.training.config import TrainConfig
    from rl_control.training.runner import Runner

    torch.set_num_threads(1)
    config = TrainConfig.from_dict(_config(task, algo, steps, work / "inproc"))
    start = time.perf_counter()
    summary = Runner(config, tensorboard=False).train()
    return summary["env_steps"] / (time.perf_counter() - start)


def graph(task: str, algo: str, steps: int, work: Path, domain: int) -> tuple[float, float]:
    """(env steps/s over the trainer's wall time, end-to-end wall seconds of the launch)."""
    from rl_control.training.io import atomic_write_yaml
    from rl_control.training.metrics import read_metrics

    cfg = _config(task, algo, steps, work / "graph")
    cfg.pop("run_dir")
    atomic_write_yaml(work / "graph.yaml", cfg)
    env = dict(
        os.environ,
        ROS_DOMAIN_ID=str(domain),
        RL_CONTROL_MIDDLEWARE="embedded",
        OMP_NUM_THREADS="1",
    )
    cmd = [
        sys.executable,
        "-m",
        "rl_control.cli.main",
        "launch",
        "launch/train.launch.xml",
        f"task:={task}",
        f"algo:={algo}",
        f"steps:={steps}",
        f"config:={work / 'graph.yaml'}",
        f"run_dir:={work / 'graph'}",
    ]
    start = time.perf_counter()
    subprocess.run(
        cmd, cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    total = time.perf_counter() - start
    metrics = read_metrics(work / "graph" / "metrics.csv")
    return metrics["env_steps"][-1] / metrics["wall_time"][-1], total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", default="soft_wall_cartpole")
    parser.add_argument("--algo", default="ppo")
    parser.add_argument("--steps", type=int, default=10240)
    parser.add_argument("--domain", type=int, default=77)
    parser.add_argument("--repeat", type=int, default=3, help="alternating pairs of runs")
    args = parser.parse_args()
    run = start_run()
    print(
        f"task {args.task}, {args.algo}, {args.steps} env steps, one env/bridge; "
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}"
    )
    ratios, rows = [], []
    for i in range(args.repeat):  # alternate, so both sides see the same machine load
        with tempfile.TemporaryDirectory() as tmp:
            local = in_process(args.task, args.algo, args.steps, Path(tmp))
            remote, wall = graph(args.task, args.algo, args.steps, Path(tmp), args.domain)
        ratios.append(remote / local)
        print(
            f"run {i}: in-process {local:6.0f} env steps/s | graph {remote:6.0f} env steps/s "
            f"(launch {wall:.1f} s end to end) | ratio {100 * remote / local:5.1f} %"
        )
        rows.append([f"run {i}", f"{local:.0f}", f"{remote:.0f}", f"{wall:.1f}",
                     f"{100 * remote / local:.1f} %", ""])  # fmt: skip
    median = statistics.median(ratios)
    print(f"median graph / in-process: {100 * median:5.1f} % (target >= 50 %)")
    rows.append(["median", "", "", "", f"{100 * median:.1f} %", verdict(median >= TARGET)])
    path = write_markdown(
        "graph_throughput",
        "Lock-step training throughput: node graph versus in-process runner",
        ["run", "in-process env steps/s", "graph env steps/s", "launch end to end (s)",
         "graph / in-process", f"median ≥ {100 * TARGET:.0f} %"],
        rows,
        [f"{args.algo} on {args.task}, {args.steps} env steps, one env (the graph has one "
         "bridge); the graph is `rl-control launch launch/train.launch.xml` over the embedded "
         "back-end. Graph steps/s over the trainer's wall time (metrics.csv, start-up "
         "excluded); in-process over the whole train() incl. two 1-episode evaluations. "
         f"{args.repeat} alternating pairs."],
        run=run,
    )  # fmt: skip
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
