"""A/B of the graph's speed options (issue 14): lock-step PPO training steps/s through the node
graph with each option on or off, beside the in-process runner, interleaved.

Options: ``numpy_forward`` (the policy node's numpy copy of a small tanh MLP instead of
torch) and ``compose`` (bridge, estimator and policy node in one process, one spin: the
``<node_container>`` of worker.launch.xml). Every round runs the in-process runner and each
variant once, in rotating order, all timed over the same interval
(:func:`graph_throughput.training_interval`). Each run's rate is kept in
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


def summary(runs: dict[str, dict], names: list[str], rounds: list[int]) -> list[list[str]]:
    """Table rows: each name's rate per round, then the medians over rounds of its ratio to
    the in-process runner and to the first variant of the same round (rounds missing either
    side are left out of that ratio), and the verdict on the in-process ratio."""
    rate = {(int(k.split("/")[0]), k.split("/", 1)[1]): v["rate"] for k, v in runs.items()}
    reference = next(iter(VARIANTS))
    rows = []
    for name in names:
        cells = [f"{rate[(r, name)]:.0f}" if (r, name) in rate else "" for r in rounds]
        ratios = []
        for base in (IN_PROCESS, reference):
            both = [rate[(r, name)] / rate[(r, base)] for r in rounds
                    if (r, name) in rate and (r, base) in rate]  # fmt: skip
            ratios.append(statistics.median(both) if both else float("nan"))
        rows.append([name, *cells, f"{100 * ratios[0]:.1f} %", f"{ratios[1]:.2f}x",
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
                    rate = gt.in_process(args.task, args.algo, args.steps, Path(tmp), args.n_steps)
                else:
                    rate, _ = gt.graph(
                        args.task, args.algo, args.steps, Path(tmp), args.domain, args.workers,
                        args.n_steps, VARIANTS[name],
                    )  # fmt: skip
            data["runs"][key] = {"rate": rate, "load": os.getloadavg()[0]}
            _save(store, data)
            print(f"round {r} {name:20s} {rate:7.1f} env steps/s (load {os.getloadavg()[0]:.1f})")
    rounds = sorted({int(k.split("/")[0]) for k in data["runs"]})
    rows = summary(data["runs"], names, rounds)
    reference = next(iter(VARIANTS))
    path = write_markdown(
        "graph_options",
        "Graph speed options (issue 14): lock-step training steps/s per option, interleaved",
        ["variant", *[f"round {r}: env steps/s" for r in rounds], "median / in-process",
         f"median / {reference}", f"≥ {100 * gt.TARGET:.0f} %"],
        rows,
        [f"{args.algo} on {args.task}, {args.steps} env steps, n_steps {args.n_steps}, "
         f"{args.workers} graph worker(s), embedded back-end; every variant and the in-process "
         "runner once per round in rotating order, all timed from the end of the first update "
         "to the last (graph_throughput.training_interval). Ratios are per round (same "
         "machine load), then the median over rounds. Runs kept in graph_options_runs.json."],
        run=run,
        out_dir=args.out,
    )  # fmt: skip
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
