"""What `rl-control monitor` costs a training graph: lock-step graph training without the
monitor, with it, and with `monitor --light`, in rotating runs on the same machine.

Each run is `rl-control launch launch/train.launch.xml` over the embedded back-end on its own
DDS domain; in the "full" runs `rl-control monitor` (the browser view when viser is
installed, else --tui) subscribes every topic of the graph from start to end, in the "light"
runs it counts only the low-rate topics and samples the per-step ones it draws. Timed as
bench/graph_throughput.py times the graph: env steps/s from the end of the first update to
the last (metrics.csv), so start-up is left out. Target: the monitor costs < 5 %.
Resumable: finished runs are kept in bench/results/monitor_overhead_runs.json.
Writes bench/results/monitor_overhead.md.

    python bench/monitor_overhead.py [--steps 2048] [--repeat 2] [--task soft_wall_cartpole]
        [--fresh]  # discard the kept runs of these settings (after a change to the monitor)
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

from graph_throughput import graph
from proc_cpu import cpu_s
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


ARMS = ("without", "full", "light")


def _start_monitor(cmd: list[str], env: dict[str, str]) -> subprocess.Popen:
    """Start the monitor and return once it has drawn its first output (start-up done)."""
    monitor = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL, text=True)  # fmt: skip
    assert monitor.stdout is not None
    if not monitor.stdout.readline():
        raise RuntimeError(f"the monitor exited at start-up: {' '.join(cmd)}")
    # keep reading its output so that a --tui monitor never blocks on a full pipe
    threading.Thread(target=monitor.stdout.read, daemon=True).start()
    return monitor


def one_run(task: str, algo: str, steps: int, domain: int, arm: str) -> dict:
    """env steps/s of one graph run (graph_throughput's launch) with the ``arm``'s monitor
    (none, full or light) on its domain, and the monitor's CPU seconds while the graph ran
    (start-up excluded)."""
    env = dict(os.environ, ROS_DOMAIN_ID=str(domain), RL_CONTROL_MIDDLEWARE="embedded",
               OMP_NUM_THREADS="1")  # fmt: skip
    cli = [sys.executable, "-m", "rl_control.cli.main"]
    with tempfile.TemporaryDirectory() as tmp:
        monitor, cpu = None, 0.0
        if arm != "without":
            cmd = [*_monitor_cmd(8700 + domain % 200), *(["--light"] if arm == "light" else [])]
            monitor = _start_monitor([*cli, *cmd], env)
            cpu = -cpu_s(monitor.pid)
        try:
            rate, wall, _ = graph(task, algo, steps, Path(tmp), domain)
        finally:
            if monitor is not None:
                alive = monitor.poll() is None
                cpu += cpu_s(monitor.pid) if alive else float("nan")
                monitor.terminate()
                monitor.wait(30)
        if monitor is not None and not alive:
            raise RuntimeError("the monitor exited before the graph finished")
        return {"rate": rate, "wall": wall, "arm": arm, "monitor_cpu_s": cpu}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", default="soft_wall_cartpole")
    parser.add_argument("--algo", default="ppo")
    parser.add_argument("--steps", type=int, default=2048)
    parser.add_argument("--domain", type=int, default=91)
    parser.add_argument("--repeat", type=int, default=2, help="rounds of runs (each arm once)")
    parser.add_argument("--out", type=Path, default=RESULTS_DIR, help="folder for the .md")
    parser.add_argument(
        "--fresh",
        action="store_true",
        help="discard earlier runs of these settings (after a code change)",
    )
    args = parser.parse_args()
    run = start_run()
    done_file = args.out / "monitor_overhead_runs.json"
    key = f"{args.task}/{args.algo}/{args.steps}/{'+'.join(ARMS)}"
    done = json.loads(done_file.read_text()) if done_file.exists() else {}
    if args.fresh:
        done.pop(key, None)
    runs = done.setdefault(key, [])
    from rl_control.training.io import atomic_write_text

    if len(runs) < len(ARMS) * args.repeat:
        # an untimed run first: the first graph after a while pays for cold file caches
        # (imports, URDFs), which would count against whichever arm happens to go first
        one_run(args.task, args.algo, args.steps, args.domain, "without")
    for i in range(len(ARMS) * args.repeat):  # rotating arms: all see the same load
        if i < len(runs):
            continue
        arm = ARMS[i % len(ARMS)]
        result = one_run(args.task, args.algo, args.steps, args.domain, arm)
        result["load"] = os.getloadavg()[0]
        runs.append(result)
        atomic_write_text(done_file, json.dumps(done, indent=1) + "\n")
        print(f"run {i}: {arm} {result['rate']:.1f} env steps/s, {result['wall']:.0f} s end "
              f"to end, load {result['load']:.1f}", flush=True)  # fmt: skip
    rows, slow = [], {"full": [], "light": []}
    for r in range(args.repeat):
        by = {run["arm"]: run for run in runs[len(ARMS) * r : len(ARMS) * (r + 1)]}
        cells = [f"round {r}", *(f"{by[a]['rate']:.1f}" for a in ARMS)]
        for arm in slow:
            slow[arm].append(1 - by[arm]["rate"] / by["without"]["rate"])
            cells.append(f"{100 * slow[arm][-1]:+.1f} %")
        cells += [f"{by[a]['monitor_cpu_s'] / by[a]['wall']:.1%}" for a in slow]
        rows.append([*cells, f"{by['without']['load']:.1f}", ""])
    median = {arm: statistics.median(values) for arm, values in slow.items()}
    # rounds that disagree by more than twice the target cannot decide it either way
    noisy = {arm: max(v) - min(v) > 2 * TARGET for arm, v in slow.items()}
    verdicts = [f"{arm}: " + ("undecided (rounds spread more than 2x the target)" if noisy[arm]
                              else verdict(median[arm] < TARGET)) for arm in slow]  # fmt: skip
    rows.append(["median", "", "", "", f"{100 * median['full']:+.1f} %",
                 f"{100 * median['light']:+.1f} %", "", "", "", "; ".join(verdicts)])  # fmt: skip
    print(f"median slowdown: full {100 * median['full']:+.1f} %, light "
          f"{100 * median['light']:+.1f} % (target < 5 %)")  # fmt: skip
    path = write_markdown(
        "monitor_overhead",
        "Graph training without `rl-control monitor`, with it, and with `monitor --light`",
        ["round", "without: env steps/s", "full: env steps/s", "light: env steps/s",
         "slowdown full", "slowdown light", "monitor CPU full", "monitor CPU light", "load",
         f"median < {100 * TARGET:.0f} %"],
        rows,
        [f"{args.algo} on {args.task}, {args.steps} env steps, lock-step graph over the "
         "embedded back-end; the full monitor counts every topic of the graph in 50 ms "
         "batches (per-step topics undecoded), the per-step ones no view draws one at a "
         "time, 1 s each (sampled rates); the light one counts the low-rate topics and "
         "samples the per-step ones it draws "
         f"({' '.join(_monitor_cmd(0)[:2])}). env steps/s from the end of the first update "
         "to the last (metrics.csv), after one untimed warm-up run. Monitor CPU: the "
         "monitor process's user + system seconds from its first output (start-up done) "
         "to the graph's end, over the graph "
         "run's wall time (a share of one core). Rotating runs; the machine is shared, so "
         "run-to-run noise can exceed the effect."],
        run=run,
        out_dir=args.out,
    )  # fmt: skip
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
