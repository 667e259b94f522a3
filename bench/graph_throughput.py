"""Lock-step training throughput through the node graph versus the in-process runner.

Both train PPO on the same task with the same config (one env: the graph has one bridge);
the graph runs `rl-control launch launch/train.launch.xml` as separate processes over the
embedded back-end. Both sides are timed over the same interval, from their metrics.csv (one
row per update, written by the same RunSession code): env steps and seconds from the end of
the first update to the last update (:func:`training_interval`), so process start-up, the
first rollout (which on the graph includes waiting for the bridge), evaluations and the final
checkpoint are excluded on both sides. Also reported: the ratio (target >= 50 %) and the
launch's end-to-end seconds.
Writes bench/results/graph_throughput.md (``python bench/update_readme.py`` copies it).

    python bench/graph_throughput.py [--steps 10240] [--task soft_wall_cartpole] [--repeat 3]
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from results_table import RESULTS_DIR, start_run, verdict, write_markdown

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


def training_interval(
    env_steps: Sequence[float], steps_per_s: Sequence[float]
) -> tuple[float, float]:
    """(env steps, seconds) from the end of the first update's row to the last row.

    Each metrics row holds its env-step count and the rate over the steps since the previous
    row, with evaluation and checkpoint time already taken out by RunSession; a row's
    seconds are its new steps over its rate. Rows without a rate (the step-0 evaluation) and
    the first row with one are left out, so both sides start counting at the same point.
    """
    if len(env_steps) != len(steps_per_s):
        raise ValueError(f"{len(env_steps)} env_steps but {len(steps_per_s)} steps_per_s")
    rows, previous = [], 0.0
    for steps, rate in zip(env_steps, steps_per_s, strict=True):
        new, previous = steps - previous, steps
        if new > 0 and math.isfinite(rate) and rate > 0:
            rows.append((new, new / rate))
    if len(rows) < 2:
        raise ValueError(f"need at least 2 timed update rows, got {len(rows)}: raise --steps")
    return sum(n for n, _ in rows[1:]), sum(t for _, t in rows[1:])


def rate_of(run_dir: Path) -> float:
    """Env steps/s of a run over :func:`training_interval`."""
    from rl_control.training.metrics import read_metrics

    metrics = read_metrics(run_dir / "metrics.csv")
    steps, seconds = training_interval(metrics["env_steps"], metrics["steps_per_s"])
    return steps / seconds


def in_process(task: str, algo: str, steps: int, work: Path) -> float:
    """Env steps/s of the in-process runner over :func:`training_interval`."""
    import torch

    from rl_control.training.config import TrainConfig
    from rl_control.training.runner import Runner

    torch.set_num_threads(1)
    config = TrainConfig.from_dict(_config(task, algo, steps, work / "inproc"))
    Runner(config, tensorboard=False).train()
    return rate_of(work / "inproc")


def graph(task: str, algo: str, steps: int, work: Path, domain: int) -> tuple[float, float]:
    """(env steps/s over :func:`training_interval`, end-to-end wall seconds of the launch)."""
    import time

    from rl_control.training.io import atomic_write_yaml

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
    return rate_of(work / "graph"), time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", default="soft_wall_cartpole")
    parser.add_argument("--algo", default="ppo")
    parser.add_argument("--steps", type=int, default=10240)
    parser.add_argument("--domain", type=int, default=77)
    parser.add_argument("--repeat", type=int, default=3, help="alternating pairs of runs")
    parser.add_argument("--out", type=Path, default=RESULTS_DIR, help="folder for the .md")
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
         "back-end. Both sides: env steps/s from the end of the first update to the last "
         "(metrics.csv rows; start-up, first rollout, evaluations and final checkpoint "
         f"excluded on both). {args.repeat} alternating pairs."],
        run=run,
        out_dir=args.out,
    )  # fmt: skip
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
