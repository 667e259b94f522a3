"""Latency of one DMD-MPC plan of M-DeMoRL on CPU: M = 100 particles, H = 15.

Run: OMP_NUM_THREADS=1 python bench/dmd_mpc_plan.py [--plans 200]
One plan = 15 steps of {actor forward (256x256) on the 100 particles, a 5-member 4x200 SiLU
ensemble step, the 2R leg's exact reward}, the terminal value from the twin critic, the elite
mean and the DMD step (eq. 9), then μ_t played through the model (Algorithm 1, line 14).
Also the per-start cost when 256 starts are planned in one batch (M-DeMoRL's inner loop),
and one act of the deployed ``dmd_mpc`` policy kind with the same pieces.
Target: a single plan ≤ 5 ms (p50).

Lower bound from the arithmetic (:func:`plan_mflop`). A plan is M·H = 1500 particle-steps of
the ensemble (0.251 MFLOP per row: 10 -> 200 -> 200 -> 200 -> 200 -> 18 through one member)
and the actor (0.137 MFLOP: 8 -> 256 -> 256 -> 4), then V(x_H) on the M final states (twin
critic 0.273 + actor 0.137 MFLOP per row): 624 MFLOP, 60 % of it the ensemble, 33 % the
actor; the rollout of μ_t adds H single rows (4 MFLOP). This core (Xeon, AVX-512 with two FMA
ports, 2.0 GHz nominal) peaks at 64 fp32 FLOP/cycle, 128 GFLOP/s: 4.9 ms for the plan with
every FMA unit busy every cycle and no per-op cost at all. The matrices here are skinny (20
rows per member, 100 per actor step), where measured rates are 29 (ensemble) and 47 (actor)
GFLOP/s on a quiet machine (the table's part rows), i.e. 13-21 ms of matrix work alone. So
5 ms is out of reach in fp32 at these sizes on one core, whatever the overhead; what would
reach it is less arithmetic (the actor's 256x256 is a third of it; a 64x64 actor cuts that
to 1/14; fewer particles or steps), not fewer ops. bench/dmd_mpc_plan_variants.py measures the
cheap variants (random member per step, bf16 matmuls on the CPU's AMX) and the core's
large-GEMM rate in one run.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from results_table import start_run, verdict, write_markdown

from rl_control.algorithms.registry import make_algorithm
from rl_control.algorithms.spec import AlgorithmSpec
from rl_control.tasks.registry import make_task
from rl_control.training.planner_export import planner_policy

M, H, TARGET_MS = 100, 15, 5.0
#: multiply-adds x 2 per row: ensemble 10 -> 4x200 -> 18 (obs 8 + act 2 in, mean and
#: log-variance of 8 + 1 out); actor 8 -> 256 -> 256 -> 4
MODEL_MFLOP = 2 * (10 * 200 + 3 * 200 * 200 + 200 * 18) / 1e6
ACTOR_MFLOP = 2 * (8 * 256 + 256 * 256 + 256 * 4) / 1e6
#: V(x_H) per row: twin Q over (obs 8 + act 2) -> 256 -> 256 -> 1, plus the actor's mean
CRITIC_MFLOP = 2 * 2 * (10 * 256 + 256 * 256 + 256) / 1e6 + ACTOR_MFLOP


def plan_mflop(m: int = M, h: int = H) -> float:
    """MFLOP of one plan (plan only): M·H particle-steps of ensemble and actor, V on M rows."""
    return m * h * (MODEL_MFLOP + ACTOR_MFLOP) + m * CRITIC_MFLOP


def _algorithm():
    task = make_task("two_link_leg")
    spec = AlgorithmSpec(task.obs_dim, task.action_low, task.action_high, 1, task)
    config = dict(num_members=5, num_elites=5, num_samples=M, horizon_schedule=[0, 1, H, H])
    algo = make_algorithm("m_demorl", spec, config, 0)
    # fit on random transitions once so the normalisers and elites are set as in a run
    g = torch.Generator().manual_seed(0)
    obs, act = torch.randn(512, spec.obs_dim, generator=g), torch.rand(512, spec.act_dim) * 2 - 1
    nxt = obs + 0.01 * torch.randn(512, spec.obs_dim, generator=g)
    algo.model.fit(obs, act, torch.randn(512, generator=g), nxt, algo.model_optimizer, g, 1)
    return algo, obs


def _time(fn, repeat: int) -> np.ndarray:
    out = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return 1e3 * np.array(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--plans", type=int, default=200)
    args = parser.parse_args()
    torch.set_num_threads(1)
    run = start_run(env_vars=("OMP_NUM_THREADS",))
    algo, obs = _algorithm()
    planner = algo.planner
    x0 = obs[:1]

    def one() -> None:
        planner.rollout(x0, planner.plan(x0, H).mu)

    _time(one, 10)  # warm-up
    single = _time(one, args.plans)
    plan_only = _time(lambda: planner.plan(x0, H), args.plans)
    o, u = obs[:M], torch.zeros(M, algo.spec.act_dim)
    parts = {
        "ensemble predict": lambda: algo.model.predict(o, u, algo.generator, "per_particle"),
        "actor sample": lambda: algo.actor_actions(o),
        "exact reward": lambda: algo.observed.reward(o, u, o),
        "critic V(x_H)": lambda: algo.terminal_value(o),
    }
    with torch.no_grad():
        part_ms = {name: np.median(_time(fn, args.plans)) for name, fn in parts.items()}
    policy = planner_policy(algo, "two_link_leg", horizon=H)
    raw = x0.numpy().astype(np.float64)
    act = _time(lambda: policy.act(raw, deterministic=True), args.plans)
    xb = obs[:256]
    batch = _time(lambda: planner.rollout(xb, planner.plan(xb, H).mu), 5)
    p50, p99 = np.percentile(single, 50), np.percentile(single, 99)
    rows = [
        ["plan + rollout, 1 start", f"{p50:.2f}", verdict(p50 <= TARGET_MS), f"{p99:.2f}"],
        ["plan only, 1 start", f"{np.percentile(plan_only, 50):.2f}", "",
         f"{np.percentile(plan_only, 99):.2f}"],
        ["dmd_mpc policy act, 1 observation", f"{np.percentile(act, 50):.2f}", "",
         f"{np.percentile(act, 99):.2f}"],
        ["plan + rollout, 256 starts (per start)", f"{np.median(batch) / 256:.3f}", "",
         f"{batch.max() / 256:.3f}"],
    ]  # fmt: skip
    rows += [[f"{name}, {M} rows (one step)", f"{ms:.3f}", "", ""] for name, ms in part_ms.items()]
    total = plan_mflop()  # MFLOP per plan
    rate = M * MODEL_MFLOP / part_ms["ensemble predict"]  # MFLOP per ms = GFLOP/s
    path = write_markdown(
        "dmd_mpc_plan",
        f"One DMD-MPC plan (M = {M}, H = {H}) on one core",
        ["case", "p50 (ms)", f"≤ {TARGET_MS:g} ms", "p99 (ms)"],
        rows,
        [
            f"{args.plans} plans from one 2R-leg observation; 5-member ensemble (4x200 SiLU), "
            "actor and twin critic 256x256, exact task reward, particles keep their member.",
            f"256 starts in one batch: {np.median(batch):.0f} ms per batch (5 batches).",
            f"Arithmetic: a plan is {M * H} particle-steps of the ensemble ({MODEL_MFLOP:.2f} "
            f"MFLOP each) and the actor ({ACTOR_MFLOP:.2f}), with V(x_H) {total:.0f} MFLOP; the "
            "ensemble "
            f"step above runs at {rate:.0f} GFLOP/s, at which the matrix work alone takes "
            f"{total / rate:.1f} ms"
            + (f", more than the {TARGET_MS:g} ms target." if total / rate > TARGET_MS else "."),
            "dmd_mpc policy act: what policy_node runs per observation (plan, the rollout of "
            "μ_t for the plan markers, V(x0)), deterministic.",
        ],
        run=run,
    )
    print(path.read_text())


if __name__ == "__main__":
    main()
