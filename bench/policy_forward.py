"""Per-step cost of the policy node's action: torch forward against the numpy forward.

A :class:`PolicyServer` (seeded sampling, as in training) acts on one observation per call
with ``numpy_forward`` off and on, in alternating blocks so both see the same machine
load; the median over blocks of the microseconds per action is reported for each hidden
size, and the ratio. Writes bench/results/policy_forward.md.

    python bench/policy_forward.py [--blocks 20] [--calls 300]
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import numpy as np
import torch
from results_table import RESULTS_DIR, start_run, write_markdown

from rl_control.models.actor_critic import GaussianActorCritic
from rl_control.roles.policy_server import PolicyServer


def per_call_us(server: PolicyServer, states: np.ndarray, start_step: int) -> float:
    """Microseconds per act() over ``states`` (a new step each: no repeated-step shortcut)."""
    begin = time.perf_counter()
    for i, state in enumerate(states):
        server.act(start_step + i, 0, state, 0.0, 0.0)
    return (time.perf_counter() - begin) / len(states) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--blocks", type=int, default=20)
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--out", type=Path, default=RESULTS_DIR)
    args = parser.parse_args()
    torch.set_num_threads(1)
    run = start_run()
    rows = []
    for hidden in ([64, 64], [256, 256]):
        policy = GaussianActorCritic(4, 1, [-100.0], [100.0], hidden=hidden)
        servers = {
            fast: PolicyServer(policy, seed=0, max_age=0.0, numpy_forward=fast)
            for fast in (False, True)
        }
        states = np.random.default_rng(0).normal(size=(args.calls, 4))
        times: dict[bool, list[float]] = {False: [], True: []}
        for block in range(args.blocks):
            for fast in (False, True) if block % 2 == 0 else (True, False):
                times[fast].append(per_call_us(servers[fast], states, block * args.calls))
        torch_us, numpy_us = (statistics.median(times[f]) for f in (False, True))
        rows.append([f"{hidden[0]}x{hidden[1]} tanh", f"{torch_us:.0f}", f"{numpy_us:.0f}",
                     f"{torch_us / numpy_us:.1f}x"])  # fmt: skip
        print(rows[-1])
    write_markdown(
        "policy_forward",
        "Policy node action cost: torch forward vs numpy forward (numpy_forward)",
        ["policy", "torch: us per action", "numpy: us per action", "speed-up"],
        rows,
        [f"PolicyServer.act on one observation (seeded sampling, obs 4, act 1), median over "
         f"{args.blocks} alternating blocks of {args.calls} calls; torch acts with the mean "
         "and value networks (the value goes unused by the node), numpy with the mean network "
         "only; one torch thread."],
        run=run,
        out_dir=args.out,
    )  # fmt: skip


if __name__ == "__main__":
    main()
