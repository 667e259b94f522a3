"""A/B of the graph's speed options (issue 14): lock-step PPO training steps/s through the node
graph with each option on or off, beside the in-process runner, interleaved.

Options: ``numpy_forward`` (the policy node's numpy copy of a small tanh MLP instead of
torch) and ``compose`` (bridge, estimator and policy node in one process, one spin: the
``<node_container>`` of worker.launch.xml). Every round runs the in-process runner and each
variant once, in rotating order, all timed over the same interval
(:func:`graph_throughput.training_interval`). Besides steps/s, each graph run reports the CPU
its processes (launch, nodes) spent per env step over that interval (utime + stime from
/proc, sampled when the first update's metrics row and the last row appear): on a loaded
machine the kernel gives every runnable process a share, so a variant with fewer processes
gets less CPU and its wall rate says less than its CPU per step. Each run's rate is kept in
``bench/results/graph_options_runs.json`` as it finishes (an interrupted bench resumes
where it stopped; ``--fresh`` starts over). Writes bench/results/graph_options.md.

    python bench/graph_options.py [--steps 2048] [--n-steps 256] [--rounds 3] [--workers 1]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

import graph_throughput as gt
from results_table import RESULTS_DIR, start_run, verdict, write_markdown

#: name -> launch arguments; the first is the reference the others are compared with
VARIANTS = {
    "torch, 4 processes": ["compose:=false", "numpy_forward:=false"],
    "numpy, 4 processes": ["compose:=false", "numpy_forward:=true"],
    "torch, composed": ["compose:=true", "numpy_forward:=false"],
    "numpy, composed": ["compose:=true", "numpy_forward:=true"],
}
IN_PROCESS = "in-process"


def _save(path: Path, data: dict) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
    os.replace(tmp, path)


def graph_run(args: argparse.Namespace, work: Path, launch_args: list[str]) -> dict:
    """One graph run: env steps/s and CPU ms per env step over the training interval."""
    cmd, env, run_dir = gt.graph_launch(
        args.task, args.algo, args.steps, work, args.domain, args.workers, args.n_steps,
        launch_args,
    )  # fmt: skip
    rate, _, cpu = gt.run_graph(cmd, env, run_dir, args.steps)
    return {"rate": rate, "cpu_ms_per_step": sum(cpu.values())}


def summary(runs: dict[str, dict], names: list[str], rounds: list[int]) -> list[list[str]]:
    """Table rows: each name's rate per round, then the medians over rounds of its ratio to
    the in-process runner and to the first variant of the same round (rounds missing either
    side are left out of that ratio), and the verdict on the in-process ratio."""
    rate = {(int(k.split("/")[0]), k.split("/", 1)[1]): v["rate"] for k, v in runs.items()}
    cpu = {k.split("/", 1)[1]: [] for k in runs}
    for k, v in runs.items():
        if v.get("cpu_ms_per_step", float("nan")) == v.get("cpu_ms_per_step"):  # not NaN
            cpu[k.split("/", 1)[1]].append(v["cpu_ms_per_step"])
    reference = next(iter(VARIANTS))
    rows = []
    for name in names:
        cells = [f"{rate[(r, name)]:.0f}" if (r, name) in rate else "" for r in rounds]
        ratios = []
        for base in (IN_PROCESS, reference):
            both = [rate[(r, name)] / rate[(r, base)] for r in rounds
                    if (r, name) in rate and (r, base) in rate]  # fmt: skip
            ratios.append(statistics.median(both) if both else float("nan"))
        used = cpu.get(name, [])
        rows.append([name, *cells, f"{100 * ratios[0]:.1f} %", f"{ratios[1]:.2f}x",
                     f"{statistics.median(used):.2f}" if used else "",
                     "" if name == IN_PROCESS else verdict(ratios[0] >= gt.TARGET)])  # fmt: skip
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", default="soft_wall_cartpole")
    parser.add_argument("--algo", default="ppo")
    parser.add_argument("--steps", type=int, default=2048)
    parser.add_argument("--n-steps", type=int, default=256, help="PPO n_steps; 0 = config's")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=1, help="graph workers of every run")
    parser.add_argument("--domain", type=int, default=83)
    parser.add_argument("--fresh", action="store_true", help="forget the runs kept so far")
    parser.add_argument("--out", type=Path, default=RESULTS_DIR)
    args = parser.parse_args()
    run = start_run()
    settings = {k: getattr(args, k) for k in ("task", "algo", "steps", "n_steps", "workers")}
    store = args.out / "graph_options_runs.json"
    data = json.loads(store.read_text()) if store.is_file() and not args.fresh else {}
    if data.get("settings") != settings:
        data = {"settings": settings, "runs": {}}
    names = [IN_PROCESS, *VARIANTS]
    print(f"{settings}; {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
    for r in range(args.rounds):
        order = names[r % len(names) :] + names[: r % len(names)]  # rotate: no fixed slot
        for name in order:
            key = f"{r}/{name}"
            if key in data["runs"]:
                continue
            with tempfile.TemporaryDirectory() as tmp:
                if name == IN_PROCESS:
                    start = time.process_time()
                    rate = gt.in_process(args.task, args.algo, args.steps, Path(tmp), args.n_steps)
                    # whole run (this process's CPU): an upper bound, start-up excluded
                    out = {"rate": rate, "cpu_ms_per_step": float("nan"),
                           "cpu_s_whole_run": time.process_time() - start}  # fmt: skip
                else:
                    out = graph_run(args, Path(tmp), VARIANTS[name])
            data["runs"][key] = {**out, "load": os.getloadavg()[0]}
            _save(store, data)
            print(
                f"round {r} {name:20s} {out['rate']:7.1f} env steps/s, "
                f"{out['cpu_ms_per_step']:.2f} CPU ms/step (load {os.getloadavg()[0]:.1f})"
            )
    rounds = sorted({int(k.split("/")[0]) for k in data["runs"]})
    rows = summary(data["runs"], names, rounds)
    reference = next(iter(VARIANTS))
    path = write_markdown(
        "graph_options",
        "Graph speed options (issue 14): lock-step training steps/s per option, interleaved",
        ["variant", *[f"round {r}: env steps/s" for r in rounds], "median / in-process",
         f"median / {reference}", "graph CPU ms per env step (median)",
         f"≥ {100 * gt.TARGET:.0f} %"],
        rows,
        [f"{args.algo} on {args.task}, {args.steps} env steps, n_steps {args.n_steps}, "
         f"{args.workers} graph worker(s), embedded back-end; every variant and the in-process "
         "runner once per round in rotating order, all timed from the end of the first update "
         "to the last (graph_throughput.training_interval). Ratios are per round (same "
         "machine load), then the median over rounds. CPU: user + system seconds of the "
         "launch and its node processes over the same interval, per env step. Runs kept in "
         "graph_options_runs.json."],
        run=run,
        out_dir=args.out,
    )  # fmt: skip
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
