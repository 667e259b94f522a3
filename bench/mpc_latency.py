"""LCS-MPC latency at H = 10 on one core: p50/p99 of warm-started closed-loop solves, cold
solves, and one dμ/dθ; plus batch throughput with 1 and 2 worker processes. Writes
bench/results/mpc_latency.md (targets: solve p50 <= 2 ms, p99 <= 10 ms).

    OMP_NUM_THREADS=1 python bench/mpc_latency.py [--steps 2000]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from results_table import start_run, verdict, write_markdown

from rl_control.models.lcs import lcs_to_flat, perturb_lcs
from rl_control.mpc.batch import BatchMPCSolver
from rl_control.mpc.lcs_mpc import LCSMPC, MPCSettings, lqr_terminal
from rl_control.tasks import soft_wall_cartpole as task

TARGET_P50_MS, TARGET_P99_MS = 2.0, 10.0  # a 100 Hz control loop


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=2000)
    args = parser.parse_args()
    run = start_run(env_vars=("OMP_NUM_THREADS",))
    rows, notes = [], []
    settings = MPCSettings(horizon=10)
    mpc, rng = LCSMPC(4, 1, 2, settings), np.random.default_rng(0)
    for name, lcs in (
        ("exact", task.exact_lcs()),
        ("perturbed30", perturb_lcs(task.exact_lcs(), 0.3, 0)),
    ):
        theta = np.concatenate([lcs_to_flat(lcs), lqr_terminal(lcs.A, lcs.B)])
        true, times, iters, fails, y = task.exact_lcs(), [], [], 0, None
        s = task.sample_initial_state(rng)
        for k in range(args.steps):
            if k % 200 == 0:  # new episode: cold start
                s, y = task.sample_initial_state(rng), None
            sol = mpc.solve(s, theta, None if y is None else mpc.shift(y))
            times.append(sol.solve_time)
            iters.append(sol.iterations)
            fails += not sol.success
            y = sol.y
            a = mpc.first_action(y) + rng.normal(0, 5.0, 1)  # exploration noise, like PPO
            s = true.step(s, np.clip(a, -100, 100))[0]
        t = np.array(times) * 1e3
        grad_t = []
        for _ in range(200):
            tic = time.perf_counter()
            mpc.action_gradient(y, s, theta)
            grad_t.append(time.perf_counter() - tic)
        print(
            f"[{name}] solve p50 {np.percentile(t, 50):.3f} ms  p99 {np.percentile(t, 99):.3f} ms"
            f"  max {t.max():.1f} ms  mean iters {np.mean(iters):.2f}  failures {fails}"
            f"  dmu/dtheta p50 {np.median(grad_t) * 1e3:.3f} ms"
        )
        p50, p99 = np.percentile(t, 50), np.percentile(t, 99)
        rows.append([
            name, f"{p50:.3f}", verdict(p50 <= TARGET_P50_MS), f"{p99:.3f}",
            verdict(p99 <= TARGET_P99_MS), f"{t.max():.1f}", f"{np.mean(iters):.2f}", fails,
            f"{np.median(grad_t) * 1e3:.3f}",
        ])  # fmt: skip
    states = np.stack([task.sample_initial_state(rng) for _ in range(400)])
    theta = np.concatenate(
        [lcs_to_flat(task.exact_lcs()), lqr_terminal(task.exact_lcs().A, task.exact_lcs().B)]
    )
    for workers in (1, 2):
        solver = BatchMPCSolver(4, 1, 2, settings, workers)
        solver.solve(theta, states[:8], grad=True)  # start the pool
        warm = solver.solve(theta, states, grad=True).y
        tic = time.perf_counter()
        solver.solve(theta * (1 + 1e-3), states, warm, grad=True)
        dt = time.perf_counter() - tic
        print(
            f"batch of 400 warm solves + dmu/dtheta, {workers} worker(s): {dt * 1e3:.0f} ms "
            f"({400 / dt:.0f} solves/s)"
        )
        notes.append(
            f"Batch of 400 warm solves + dμ/dθ, {workers} worker process(es): {dt * 1e3:.0f} ms "
            f"({400 / dt:.0f} solves/s)."
        )
        solver.close()
    notes.insert(0, (
        f"H = {settings.horizon}, soft-wall cart-pole LCS, {args.steps} closed-loop solves per "
        "model (warm-started from the shifted previous solution, a cold start every 200 steps, "
        "exploration noise std 5 N); dμ/dθ: p50 of 200 calls at the last solution. "
        "perturbed30: every model entry perturbed with 30 % relative Gaussian noise (perturb_lcs)."
    ))  # fmt: skip
    path = write_markdown(
        "mpc_latency",
        f"LCS-MPC latency at H = {settings.horizon}, one core",
        ["model", "solve p50 (ms)", f"p50 ≤ {TARGET_P50_MS:g} ms", "solve p99 (ms)",
         f"p99 ≤ {TARGET_P99_MS:g} ms", "max (ms)", "mean iters", "failures",
         "one dμ/dθ p50 (ms)"],
        rows,
        notes,
        run=run,
    )  # fmt: skip
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
