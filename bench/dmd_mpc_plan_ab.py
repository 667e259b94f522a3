"""One DMD-MPC plan (M = 100, H = 15), this tree against another checkout, side by side.

Run: OMP_NUM_THREADS=1 python bench/dmd_mpc_plan_ab.py --base DIR [--rounds 20 --plans 20]
``DIR`` holds another version of the project (e.g. ``git archive main | tar -x -C DIR``).
Two worker processes, one importing each tree, build the plan case of
bench/dmd_mpc_plan.py from their own tree (same seeds, same fitted ensemble); each round
times ``--plans`` plans (plan + rollout, then plan only) in one worker and then the other,
alternating which goes first, so both see the same machine. Reported: the medians over all
plans and the median of the per-round ratios (base / this tree).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
from results_table import start_run, write_markdown

HERE = Path(__file__).resolve().parent.parent
#: the worker: build the case, then answer each line "n" with n timings of both cases (ms)
WORKER = """
import json, sys, time
import torch
sys.path.insert(0, "bench")
from dmd_mpc_plan import H, _algorithm
torch.set_num_threads(1)
algo, obs = _algorithm()
planner, x0 = algo.planner, obs[:1]
cases = (lambda: planner.rollout(x0, planner.plan(x0, H).mu), lambda: planner.plan(x0, H))
for fn in cases * 5:
    fn()
print("ready", flush=True)
for line in sys.stdin:
    out = []
    for fn in cases:
        times = []
        for _ in range(int(line)):
            start = time.perf_counter()
            fn()
            times.append(1e3 * (time.perf_counter() - start))
        out.append(times)
    print(json.dumps(out), flush=True)
"""


def _worker(tree: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(tree), "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen([sys.executable, "-c", WORKER], cwd=tree, env=env, text=True,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE)  # fmt: skip
    if proc.stdout is None or proc.stdout.readline().strip() != "ready":
        raise RuntimeError(f"the worker for {tree} did not start")
    return proc


def _round(proc: subprocess.Popen, plans: int) -> list[list[float]]:
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(f"{plans}\n")
    proc.stdin.flush()
    return json.loads(proc.stdout.readline())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--base", required=True, type=Path, help="the other checkout")
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--plans", type=int, default=20)
    args = parser.parse_args()
    run = start_run(env_vars=("OMP_NUM_THREADS",))
    sides = {"base": _worker(args.base.resolve()), "this tree": _worker(HERE)}
    times: dict[str, list[list[float]]] = {name: [[], []] for name in sides}
    ratios: list[list[float]] = [[], []]
    for r in range(args.rounds):
        order = list(sides) if r % 2 == 0 else list(sides)[::-1]
        got = {name: _round(sides[name], args.plans) for name in order}
        for case in range(2):
            for name in sides:
                times[name][case] += got[name][case]
            ratios[case].append(np.median(got["base"][case]) / np.median(got["this tree"][case]))
    for proc in sides.values():
        proc.communicate("")
    labels = ("plan + rollout, 1 start", "plan only, 1 start")
    rows = [
        [label, f"{np.median(times['base'][c]):.2f}", f"{np.median(times['this tree'][c]):.2f}",
         f"{np.median(ratios[c]):.2f}×"]
        for c, label in enumerate(labels)
    ]  # fmt: skip
    note = (
        f"base: {args.base}; {args.rounds} alternating rounds of {args.plans} plans per side, "
        "one torch thread each; the plan case of bench/dmd_mpc_plan.py."
    )
    path = write_markdown(
        "dmd_mpc_plan_ab",
        "One DMD-MPC plan (M = 100, H = 15): base against this tree, side by side",
        ["case", "base p50 (ms)", "this tree p50 (ms)", "speed-up (median of rounds)"],
        rows,
        [note],
        run=run,
    )
    print(path.read_text())


if __name__ == "__main__":
    main()
