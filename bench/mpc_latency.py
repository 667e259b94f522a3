"""LCS-MPC latency at H = 10 on one core: p50/p99 of warm-started closed-loop solves, cold
solves, and one dμ/dθ; plus batch throughput with 1 and 2 worker processes.

    OMP_NUM_THREADS=1 python bench/mpc_latency.py [--steps 2000]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from rl_control.models.lcs import lcs_to_flat, perturb_lcs
from rl_control.mpc.batch import BatchMPCSolver
from rl_control.mpc.lcs_mpc import LCSMPC, MPCSettings, lqr_terminal
from rl_control.tasks import soft_wall_cartpole as task


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=2000)
    args = parser.parse_args()
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
        solver.close()


if __name__ == "__main__":
    main()
