"""Cheap variants of one DMD-MPC plan (M = 100, H = 15), timed interleaved in one process.

Run: OMP_NUM_THREADS=1 python bench/dmd_mpc_plan_variants.py [--rounds 10 --plans 10]
The plan case of bench/dmd_mpc_plan.py (plan only, one start), as the code has it
("particle per member": row i always steps through elite i mod 5, fp32), against:
- random member per step: every row draws a fresh elite at every step (``member_mode:
  random``, MBPO's), the same FLOPs plus a shuffle and its inverse per step;
- bf16 matmuls: the plan under ``torch.autocast("cpu", torch.bfloat16)`` (this CPU has
  AMX-BF16), with the error it costs: the largest |difference| of the ensemble's mean state
  change and of the actor's mean action on 100 rows, relative to their largest |value|.
Each round times ``--plans`` plans of every variant in a rotated order, so all see the same
machine; reported: per-variant medians and the median over rounds of default / variant.
Also the rate of one large fp32 GEMM (2048³) in the same run: the most this core does, which
turns the plan's FLOP count (bench/dmd_mpc_plan.py) into a lower bound on its time.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import numpy as np
import torch
from dmd_mpc_plan import TARGET_MS, H, M, _algorithm, plan_mflop
from results_table import start_run, write_markdown


def _times(fn: Callable[[], object], n: int) -> list[float]:
    out = []
    for _ in range(n):
        start = time.perf_counter()
        fn()
        out.append(1e3 * (time.perf_counter() - start))
    return out


def gemm_gflops(size: int = 2048, repeat: int = 5) -> float:
    """fp32 GFLOP/s of the best of ``repeat`` [size, size] @ [size, size] products."""
    a, b = torch.randn(size, size), torch.randn(size, size)
    a @ b
    best = min(_times(lambda: a @ b, repeat))
    return 2 * size**3 / best / 1e6


def bf16_error(algo, obs: torch.Tensor) -> tuple[float, float]:
    """Largest |bf16 − fp32| / largest |fp32| of the ensemble's mean state change and of the
    actor's mean action."""
    u = torch.rand(len(obs), algo.spec.act_dim, generator=torch.Generator().manual_seed(1))
    u = 2 * u - 1
    out = []

    def delta() -> torch.Tensor:  # the predicted state change (next_obs − obs)
        return algo.model.predict(obs, u, None, "per_particle", deterministic=True)[0] - obs

    def actor() -> torch.Tensor:
        return algo.policy.mean_log_std(algo.policy.normalize_obs(obs))[0]

    for fn in (delta, actor):
        with torch.inference_mode():
            ref = fn()
            with torch.autocast("cpu", dtype=torch.bfloat16):
                low = fn().float()
        out.append(float((low - ref).abs().max() / ref.abs().max()))
    return out[0], out[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--plans", type=int, default=10)
    args = parser.parse_args()
    torch.set_num_threads(1)
    run = start_run(env_vars=("OMP_NUM_THREADS",))
    algo, obs = _algorithm()
    planner, x0 = algo.planner, obs[:1]

    def with_mode(mode: str) -> Callable[[], object]:
        def fn() -> object:
            algo.config.member_mode = mode
            try:
                return planner.plan(x0, H)
            finally:
                algo.config.member_mode = "per_particle"

        return fn

    def bf16() -> object:
        with torch.autocast("cpu", dtype=torch.bfloat16):
            return planner.plan(x0, H)

    variants = {
        "particle per member, fp32 (the code)": with_mode("per_particle"),
        "random member per step": with_mode("random"),
        "bf16 matmuls (autocast)": bf16,
    }
    for fn in variants.values():  # warm-up
        fn()
    times: dict[str, list[float]] = {name: [] for name in variants}
    ratios: dict[str, list[float]] = {name: [] for name in variants}
    names = list(variants)
    for r in range(args.rounds):
        got = {}
        for name in names[r % len(names) :] + names[: r % len(names)]:
            got[name] = _times(variants[name], args.plans)
            times[name] += got[name]
        for name in names:
            ratios[name].append(float(np.median(got[names[0]]) / np.median(got[name])))
    rate = gemm_gflops()
    mflop = plan_mflop()
    model_err, actor_err = bf16_error(algo, obs[:M])
    rows = [[name, f"{np.median(times[name]):.2f}", f"{np.median(ratios[name]):.2f}×"]
            for name in names]  # fmt: skip
    notes = [
        f"{args.rounds} rounds of {args.plans} plans per variant, rotated order, one torch "
        "thread; plan only, one start (the plan case of bench/dmd_mpc_plan.py).",
        f"bf16 error (relative to the largest |value|, 100 rows): ensemble mean state change "
        f"{model_err:.1e}, actor mean {actor_err:.1e}" + ".",
        f"Lower bound: a plan is {mflop:.0f} MFLOP (bench/dmd_mpc_plan.py); one fp32 GEMM of "
        f"2048³ ran at {rate:.0f} GFLOP/s in this run, so no fp32 plan on this core, at this "
        f"load, takes less than {mflop / rate:.1f} ms (target {TARGET_MS:g} ms).",
    ]
    path = write_markdown(
        "dmd_mpc_plan_variants",
        f"DMD-MPC plan variants (M = {M}, H = {H}), interleaved on one core",
        ["variant", "p50 (ms)", "speed-up over the code (median of rounds)"],
        rows,
        notes,
        run=run,
    )
    print(path.read_text())


if __name__ == "__main__":
    main()
