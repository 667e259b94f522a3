"""Training time with 1 torch thread versus torch's default while other work shares the cores.

Runs the same short in-process training (``rl-control train --config CONFIG --steps N``,
default the PPO soft-wall cart-pole config, 4096 steps) in a fresh process with
``num_threads`` 1 and with torch's default (one thread per core, what a run got before
``num_threads`` existed), while ``--busy`` pure-Python spinning processes run beside it. The
two settings alternate, ``--repeats`` rounds, so load from other processes hits both alike.
Each run reports its wall time, the time spent in ``Runner.train`` and the time from its last
env step to the end (the final update, evaluation, checkpoint and plot).
Writes bench/results/threads_under_load.md.

    python bench/threads_under_load.py [--steps 4096] [--repeats 2] [--busy 1]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any

from results_table import ROOT, start_run, write_markdown

DEFAULT_CONFIG = "config/train/ppo_soft_wall_cartpole.yaml"


def child(config_path: str, steps: int, threads: int, run_dir: str) -> None:
    """Train once in this process and print the timings as one JSON line."""
    from rl_control.algorithms.registry import make_algorithm
    from rl_control.training.config import load_config
    from rl_control.training.runner import Runner

    last_step = [0.0]

    def timed_algorithm(*args: Any, **kwargs: Any) -> Any:
        algorithm = make_algorithm(*args, **kwargs)
        record = algorithm.record

        def recording(*a: Any, **k: Any) -> Any:  # record() follows every env step
            last_step[0] = time.perf_counter()
            return record(*a, **k)

        algorithm.record = recording
        return algorithm

    overrides = {"total_steps": steps, "num_threads": threads, "run_dir": run_dir}
    config = load_config(config_path, overrides)
    start = time.perf_counter()
    Runner(config, algorithm_factory=timed_algorithm).train()
    end = time.perf_counter()
    print(json.dumps({"train_s": end - start, "after_last_step_s": end - last_step[0]}))


def torch_default_threads() -> int:
    """torch's intra-op thread count in a fresh process without OMP_NUM_THREADS."""
    env = {k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"}
    code = "import torch; print(torch.get_num_threads())"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    return int(out.stdout.strip())


def run_once(config_path: str, steps: int, threads: int) -> dict[str, float]:
    # no OMP_NUM_THREADS: the run's own num_threads setting is what is measured
    env = {k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    with tempfile.TemporaryDirectory() as tmp:
        argv = [sys.executable, __file__, "--child", "--config", config_path, "--steps",
                str(steps), "--threads", str(threads), "--run-dir", f"{tmp}/run"]  # fmt: skip
        start = time.perf_counter()
        proc = subprocess.run(argv, env=env, cwd=ROOT, capture_output=True, text=True)
        wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"training run failed:\n{proc.stderr}")
    return {"wall_s": wall, **json.loads(proc.stdout.strip().splitlines()[-1])}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default=DEFAULT_CONFIG)
    parser.add_argument("--steps", type=int, default=4096)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--busy", type=int, default=1, help="spinning processes beside it")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--threads", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("--run-dir", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.config, args.steps, args.threads, args.run_dir)
        return 0
    run = start_run()
    default = torch_default_threads()
    settings = {"1": 1, f"torch default ({default})": default}
    results: dict[str, list[dict[str, float]]] = {name: [] for name in settings}
    busy = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(args.busy)]
    try:
        for _ in range(args.repeats):
            for name, threads in settings.items():
                results[name].append(run_once(args.config, args.steps, threads))
                print(name, {k: round(v, 2) for k, v in results[name][-1].items()}, flush=True)
    finally:
        for proc in busy:
            proc.kill()
            proc.wait()
    rows = []
    for name, runs in results.items():
        cells = [f"{statistics.median(r[key] for r in runs):.1f}"
                 for key in ("wall_s", "train_s", "after_last_step_s")]  # fmt: skip
        spread = ", ".join(f"{r['wall_s']:.1f}" for r in runs)
        rows.append([name, *cells, spread])
    notes = [
        f"`rl-control train --config {args.config} --steps {args.steps}` in a fresh process "
        f"per run with `num_threads` set as shown, beside {args.busy} busy process(es) "
        f"(`while True: pass`); the settings alternate, {args.repeats} rounds, median shown.",
        "After the last step: the final update, evaluation, checkpoint and learning curve.",
    ]
    header = ["torch threads", "wall s", "Runner.train s", "after last step s", "runs' wall s"]
    path = write_markdown(
        "threads_under_load", "Training beside a busy process: 1 torch thread vs torch's default",
        header, rows, notes, run=run,
    )  # fmt: skip
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
