"""Lock-step training throughput through the node graph versus the in-process runner.

Both train PPO on the same task with the same config (in-process: one env); the graph runs
`rl-control launch launch/train.launch.xml workers:=N` as separate processes over the
embedded back-end, for each N of ``--workers`` (N bridge/estimator/policy groups feeding one
trainer as N parallel envs, so a rollout holds N x n_steps). All sides are timed over the
same interval, from their metrics.csv (one row per update, written by the same RunSession
code): env steps and seconds from the end of the first update to the last update
(:func:`training_interval`), so process start-up, the first rollout (which on the graph
includes waiting for the bridge), evaluations and the final checkpoint are excluded on all
sides. Also reported: the ratio (target >= 50 %) and the
launch's end-to-end seconds.
Writes bench/results/graph_throughput.md (``python bench/update_readme.py`` copies it).

    python bench/graph_throughput.py [--steps 10240] [--task soft_wall_cartpole] [--repeat 3]
        [--workers 1,2,4] [--n-steps 512] [--launch-args compose:=true,...] [--name NAME]
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
SCALING_TARGET = 1.6  # 2 workers' graph steps/s over 1 worker's, on 2 cores (issue 14)


def _config(task: str, algo: str, steps: int, run_dir: Path, n_steps: int = 0) -> dict:
    from rl_control.training.io import read_yaml

    data = read_yaml(ROOT / "config" / "train" / f"{algo}_{task}.yaml")
    if n_steps > 0:  # shorter rollouts: enough timed updates for many workers at a budget
        data["algo_config"]["n_steps"] = n_steps
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


def in_process(task: str, algo: str, steps: int, work: Path, n_steps: int = 0) -> float:
    """Env steps/s of the in-process runner over :func:`training_interval`."""
    import torch

    from rl_control.training.config import TrainConfig
    from rl_control.training.runner import Runner

    torch.set_num_threads(1)
    config = TrainConfig.from_dict(_config(task, algo, steps, work / "inproc", n_steps))
    Runner(config, tensorboard=False).train()
    return rate_of(work / "inproc")


def graph_launch(
    task: str,
    algo: str,
    steps: int,
    work: Path,
    domain: int,
    workers: int = 1,
    n_steps: int = 0,
    launch_args: Sequence[str] = (),
) -> tuple[list[str], dict[str, str], Path]:
    """(command, environment, run folder) of one graph run; ``launch_args``
    (``name:=value``) go to the launch after the bench's own."""
    from rl_control.training.io import atomic_write_yaml

    work = work / f"graph{workers}"
    work.mkdir(parents=True, exist_ok=True)
    cfg = _config(task, algo, steps, work / "graph", n_steps)
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
        f"workers:={workers}",
        *launch_args,
    ]
    return cmd, env, work / "graph"


def graph(
    task: str,
    algo: str,
    steps: int,
    work: Path,
    domain: int,
    workers: int = 1,
    n_steps: int = 0,
    launch_args: Sequence[str] = (),
) -> tuple[float, float, dict[str, float]]:
    """(env steps/s over :func:`training_interval`, end-to-end wall seconds of the launch,
    CPU ms per env step over the same interval by process role: see :func:`run_graph`)."""
    cmd, env, run_dir = graph_launch(
        task, algo, steps, work, domain, workers, n_steps, launch_args
    )
    return run_graph(cmd, env, run_dir, steps)


def run_graph(
    cmd: list[str], env: dict[str, str], run_dir: Path, steps: int
) -> tuple[float, float, dict[str, float]]:
    """Run one graph launch to its end: (env steps/s over :func:`training_interval`, wall
    seconds, CPU ms per env step of the trainer, the workers and the rest, from /proc
    between the first timed metrics row and the last; NaN if the run ended first)."""
    import time

    from proc_cpu import tree_cpu_by_role

    from rl_control.training.metrics import read_metrics

    start = time.perf_counter()
    proc = subprocess.Popen(
        cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    marks: list[dict[str, float]] = []  # CPU at the end of the first update, then the last
    while proc.poll() is None:
        time.sleep(0.2)
        try:
            metrics = read_metrics(run_dir / "metrics.csv")
        except (OSError, ValueError):
            continue  # not written yet
        rates = [r for r in metrics["steps_per_s"] if r == r and r > 0]
        if not marks and rates:
            marks.append(tree_cpu_by_role(proc.pid))
        if len(marks) == 1 and metrics["env_steps"] and metrics["env_steps"][-1] >= steps:
            marks.append(tree_cpu_by_role(proc.pid))
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"graph run failed ({proc.returncode}): {' '.join(cmd)}")
    metrics = read_metrics(run_dir / "metrics.csv")
    timed, seconds = training_interval(metrics["env_steps"], metrics["steps_per_s"])
    roles = ("trainer", "workers", "other")
    cpu = {r: math.nan for r in roles}
    if len(marks) == 2:
        cpu = {r: (marks[1][r] - marks[0][r]) / timed * 1000 for r in roles}
    return timed / seconds, wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", default="soft_wall_cartpole")
    parser.add_argument("--algo", default="ppo")
    parser.add_argument("--steps", type=int, default=10240)
    parser.add_argument("--domain", type=int, default=77)
    parser.add_argument("--repeat", type=int, default=3, help="alternating rounds of runs")
    parser.add_argument("--workers", default="1,2,4", help="graph worker counts, e.g. 1,2")
    parser.add_argument("--n-steps", type=int, default=0, help="PPO n_steps; 0 = the config's")
    parser.add_argument("--out", type=Path, default=RESULTS_DIR, help="folder for the .md")
    parser.add_argument("--launch-args", default="", help="extra graph launch args, comma-"
                        "separated (e.g. compose:=true: bench/graph_options.py)")  # fmt: skip
    parser.add_argument("--name", default="graph_throughput", help="results file (README block)")
    args = parser.parse_args()
    extra = [a for a in args.launch_args.split(",") if a]
    counts = [int(n) for n in args.workers.split(",")]
    if not counts or min(counts) < 1 or counts[0] != 1:
        raise SystemExit(f"--workers must start with 1 (the ratio's graph), got {args.workers!r}")
    run = start_run()
    print(
        f"task {args.task}, {args.algo}, {args.steps} env steps, workers {counts}; "
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}"
    )
    ratios, rows, rates, locals_ = [], [], {n: [] for n in counts}, []
    more = [n for n in counts if n > 1]
    cpus: dict[int, list[dict[str, float]]] = {n: [] for n in counts}
    for i in range(args.repeat):  # alternate, so all sides see the same machine load
        with tempfile.TemporaryDirectory() as tmp:
            local = in_process(args.task, args.algo, args.steps, Path(tmp), args.n_steps)
            work = (args.task, args.algo, args.steps, Path(tmp), args.domain)
            graphs = {n: graph(*work, n, args.n_steps, extra) for n in counts}
        ratios.append(graphs[1][0] / local)
        locals_.append(local)
        for n in counts:
            rates[n].append(graphs[n][0])
            cpus[n].append(graphs[n][2])
        cells = [f"{graphs[n][0]:.0f} ({graphs[n][1]:.0f} s)" for n in counts]
        scales = [f"{graphs[n][0] / graphs[1][0]:.2f}x" for n in more]
        print(
            f"run {i}: in-process {local:6.0f} env steps/s | graph "
            + " | ".join(f"{n} worker(s) {c}" for n, c in zip(counts, cells, strict=True))
            + f" | 1-worker ratio {100 * ratios[-1]:5.1f} % | scaling {' '.join(scales)}"
        )
        rows.append([f"run {i}", f"{local:.0f}", *cells, f"{100 * ratios[-1]:.1f} %", "",
                     *scales, *([""] if 2 in more else [])])  # fmt: skip
    median = statistics.median(ratios)
    print(f"median 1-worker graph / in-process: {100 * median:5.1f} % (target >= 50 %)")
    medians = [statistics.median(rates[n]) for n in counts]
    # per round (the same machine load on both sides), then the median over rounds
    scaling = {n: statistics.median(a / b for a, b in zip(rates[n], rates[1], strict=True))
               for n in more}  # fmt: skip
    rows.append(["median", "", *[f"{m:.0f}" for m in medians], f"{100 * median:.1f} %",
                 verdict(median >= TARGET), *[f"{scaling[n]:.2f}x" for n in more],
                 *([verdict(scaling[2] >= SCALING_TARGET)] if 2 in more else [])])  # fmt: skip
    pairs = zip(counts, medians, strict=True)
    between = ", ".join(f"{n} workers {m / medians[0]:.2f}x" for n, m in pairs if n > 1)
    path = write_markdown(
        args.name,
        "Lock-step training throughput: node graph (1..N workers) versus in-process runner",
        ["run", "in-process env steps/s", *[f"graph, {n} worker(s): env steps/s (launch s)"
         for n in counts], "1 worker / in-process", f"median ≥ {100 * TARGET:.0f} %",
         *[f"{n} workers / 1 worker" for n in more],
         *([f"2 workers ≥ {SCALING_TARGET}x"] if 2 in more else [])],
        rows,
        [f"{args.algo} on {args.task}, {args.steps} env steps"
         f"{f', n_steps {args.n_steps}' if args.n_steps else ''}; in-process: one env; the "
         "graph is `rl-control launch launch/train.launch.xml workers:=N"
         f"{''.join(' ' + a for a in extra)}` over the embedded "
         "back-end (N parallel envs: rollouts of N x n_steps). All sides: env steps/s from "
         "the end of the first update to the last (metrics.csv rows; start-up, first rollout, "
         "evaluations and final checkpoint excluded on all). In brackets: the launch end to "
         f"end. {args.repeat} alternating rounds. Workers / 1 worker: per round (same "
         "machine load), then the median over rounds; between the medians of the runs: "
         f"{between or 'n/a'}.", cpu_note(cpus, rates)],
        run=run,
        out_dir=args.out,
    )  # fmt: skip
    print(f"wrote {path}")
    if len(counts) > 1:
        print(f"wrote {plot_workers(rates, locals_, path.with_suffix('.png'), args)}")


def cpu_note(cpus: dict[int, list[dict[str, float]]], rates: dict[int, list[float]]) -> str:
    """The graph's CPU per env step by process role, medians over rounds, and the cores it
    kept busy (rate x CPU per step) for each worker count."""
    parts = []
    for n, runs in cpus.items():
        med = {r: statistics.median(c[r] for c in runs) for r in runs[0]}
        cores = statistics.median(
            rate * sum(c.values()) / 1000 for rate, c in zip(rates[n], runs, strict=True)
        )
        parts.append(f"{n} worker(s) {med['trainer']:.2f} / {med['workers']:.2f} / "
                     f"{med['other']:.2f} ms, {cores:.2f} cores busy")  # fmt: skip
    return ("CPU per env step over the same interval (user + system from /proc, medians "
            "over rounds), trainer / workers (bridges, estimators, policy nodes) / the rest "
            "(launch, robot publishers): " + "; ".join(parts) + ".")  # fmt: skip


def plot_workers(rates: dict[int, list[float]], local: Sequence[float], path: Path,
                 args: argparse.Namespace) -> Path:  # fmt: skip
    """steps/s against workers: every run as a point, the medians joined, the in-process
    runner's median as a dashed line."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    counts = sorted(rates)
    fig, ax = plt.subplots(figsize=(5.0, 3.4), dpi=110)
    for n in counts:
        ax.plot([n] * len(rates[n]), rates[n], "o", color="tab:blue", alpha=0.5)
    ax.plot(counts, [statistics.median(rates[n]) for n in counts], "-", color="tab:blue",
            label="graph (median of runs)")  # fmt: skip
    ax.axhline(statistics.median(local), ls="--", color="tab:gray", label="in-process, 1 env")
    ax.set(xlabel="workers", ylabel="env steps/s", xticks=counts)
    ax.set_title(f"{args.algo} on {args.task}, lock-step graph", fontsize=9)
    ax.set_ylim(bottom=0)
    ax.legend(fontsize=8)
    fig.tight_layout()
    from rl_control.training.plotting import save_png

    save_png(fig, path, dpi=110)
    plt.close(fig)
    return path


if __name__ == "__main__":
    main()
