"""What `rl-control monitor` costs a training graph: lock-step graph training with and
without the monitor watching it, in alternating runs on the same machine.

Each run is `rl-control launch launch/train.launch.xml` over the embedded back-end on its own
DDS domain; in the "with" runs `rl-control monitor` (the browser view when viser is
installed, else --tui) subscribes every topic of the graph from start to end. Timed as
bench/graph_throughput.py times the graph: env steps/s from the end of the first update to
the last (metrics.csv), so start-up is left out. Target: the monitor costs < 5 %.
Resumable: finished runs are kept in bench/results/monitor_overhead_runs.json.
Writes bench/results/monitor_overhead.md.

    python bench/monitor_overhead.py [--steps 2048] [--repeat 2] [--task soft_wall_cartpole]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from graph_throughput import graph
from results_table import RESULTS_DIR, start_run, verdict, write_markdown

ROOT = Path(__file__).resolve().parents[1]
TARGET = 0.05  # slowdown of graph training with the monitor


def _monitor_cmd(port: int) -> list[str]:
    try:
        import viser  # noqa: F401
        import yourdfpy  # noqa: F401
    except ImportError:
        return ["monitor", "--tui"]
    return ["monitor", "--port", str(port)]


def one_run(task: str, algo: str, steps: int, domain: int, watched: bool) -> dict:
    """env steps/s of one graph run (graph_throughput's launch), with or without a monitor on
    its domain."""
    env = dict(os.environ, ROS_DOMAIN_ID=str(domain), RL_CONTROL_MIDDLEWARE="embedded",
               OMP_NUM_THREADS="1")  # fmt: skip
    cli = [sys.executable, "-m", "rl_control.cli.main"]
    with tempfile.TemporaryDirectory() as tmp:
        monitor = None
        if watched:
            monitor = subprocess.Popen([*cli, *_monitor_cmd(8700 + domain % 200)], cwd=ROOT,
                                       env=env, stdout=subprocess.DEVNULL,
                                       stderr=subprocess.DEVNULL)  # fmt: skip
        try:
            rate, wall = graph(task, algo, steps, Path(tmp), domain)
        finally:
            if monitor is not None:
                alive = monitor.poll() is None
                monitor.terminate()
                monitor.wait(30)
        if monitor is not None and not alive:
            raise RuntimeError("the monitor exited before the graph finished")
        return {"rate": rate, "wall": wall, "watched": watched}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", default="soft_wall_cartpole")
    parser.add_argument("--algo", default="ppo")
    parser.add_argument("--steps", type=int, default=2048)
    parser.add_argument("--domain", type=int, default=91)
    parser.add_argument("--repeat", type=int, default=2, help="alternating pairs of runs")
    parser.add_argument("--out", type=Path, default=RESULTS_DIR, help="folder for the .md")
    args = parser.parse_args()
    run = start_run()
    done_file = args.out / "monitor_overhead_runs.json"
    key = f"{args.task}/{args.algo}/{args.steps}"
    done = json.loads(done_file.read_text()) if done_file.exists() else {}
    runs = done.setdefault(key, [])
    from rl_control.training.io import atomic_write_text

    for i in range(2 * args.repeat):  # without, with, without, with: both see the same load
        if i < len(runs):
            continue
        result = one_run(args.task, args.algo, args.steps, args.domain, watched=i % 2 == 1)
        result["load"] = os.getloadavg()[0]
        runs.append(result)
        atomic_write_text(done_file, json.dumps(done, indent=1) + "\n")
        print(f"run {i}: {'with' if result['watched'] else 'without'} monitor "
              f"{result['rate']:.1f} env steps/s, {result['wall']:.0f} s end to end, "
              f"load {result['load']:.1f}", flush=True)  # fmt: skip
    rows, slowdowns = [], []
    for p in range(args.repeat):
        base, watched = runs[2 * p], runs[2 * p + 1]
        slow = 1 - watched["rate"] / base["rate"]
        slowdowns.append(slow)
        walls = f"{base['wall']:.0f} / {watched['wall']:.0f}"
        rows.append([f"pair {p}", f"{base['rate']:.1f}", f"{watched['rate']:.1f}", walls,
                     f"{100 * slow:+.1f} %", ""])  # fmt: skip
    median = statistics.median(slowdowns)
    # pairs that disagree by more than twice the target cannot decide it either way
    noisy = max(slowdowns) - min(slowdowns) > 2 * TARGET
    rows.append(["median", "", "", "", f"{100 * median:+.1f} %",
                 "undecided (pairs spread more than 2x the target)" if noisy
                 else verdict(median < TARGET)])  # fmt: skip
    print(f"median slowdown with the monitor: {100 * median:+.1f} % (target < 5 %)")
    path = write_markdown(
        "monitor_overhead",
        "Graph training with and without `rl-control monitor` watching",
        ["pair", "without: env steps/s", "with: env steps/s", "end to end s (without / with)",
         "slowdown", f"median < {100 * TARGET:.0f} %"],
        rows,
        [f"{args.algo} on {args.task}, {args.steps} env steps, lock-step graph over the "
         "embedded back-end; the monitor subscribes every topic of the graph "
         f"({' '.join(_monitor_cmd(0)[:2])}). env steps/s from the end of the first update "
         "to the last (metrics.csv). Alternating runs; the machine is shared, so run-to-run "
         "noise can exceed the effect."],
        run=run,
        out_dir=args.out,
    )  # fmt: skip
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
