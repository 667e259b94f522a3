"""Model-training throughput of M-DeMoRL's / MBPO's default ensemble (7 members, 4x200 SiLU).

``GaussianEnsemble.fit`` on ``--transitions`` random transitions of the 2R leg's sizes
(obs 8, act 2): ``--epochs`` passes over the 80 % training split in batches of 256 per
member (each member its own bootstrap batch), the held-out MSE and the elite choice at the
end, all inside the timing. Reported: training transitions per second (one transition
trains all 7 members) and member-samples per second (x 7). Reference, timed alternately in
the same run: the same loss and optimiser over 7 separate ``nn.Sequential`` members in a
Python loop (the unfused way; no normalisers, no validation). One torch thread, CPU time.

    OMP_NUM_THREADS=1 python bench/ensemble_train.py [--transitions 10000 --epochs 2 --rounds 3]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from results_table import start_run, write_markdown
from torch import nn

from rl_control.models.ensemble import GaussianEnsemble

OBS, ACT, MEMBERS, HIDDEN, BATCH = 8, 2, 7, [200, 200, 200, 200], 256


def _data(n: int) -> tuple[torch.Tensor, ...]:
    g = torch.Generator().manual_seed(0)
    obs, act = torch.randn(n, OBS, generator=g), torch.rand(n, ACT, generator=g) * 2 - 1
    nxt = obs + 0.05 * torch.randn(n, OBS, generator=g)
    return obs, act, torch.randn(n, generator=g), nxt


def fused(data: tuple[torch.Tensor, ...], epochs: int) -> float:
    """CPU seconds of one ``GaussianEnsemble.fit`` (fresh ensemble and optimiser)."""
    torch.manual_seed(0)
    model = GaussianEnsemble(OBS, ACT, MEMBERS, 5, HIDDEN)
    opt, g = model.make_optimizer(), torch.Generator().manual_seed(1)
    start = time.process_time()
    model.fit(*data, opt, g, epochs, BATCH, holdout_ratio=0.2)
    return time.process_time() - start


def looped(data: tuple[torch.Tensor, ...], epochs: int) -> float:
    """CPU seconds of the same number of steps over 7 separate MLPs in a Python loop."""
    torch.manual_seed(0)
    sizes = [OBS + ACT, *HIDDEN]
    members = [
        nn.Sequential(
            *[
                m
                for a, b in zip(sizes[:-1], sizes[1:], strict=True)
                for m in (nn.Linear(a, b), nn.SiLU())
            ],
            nn.Linear(sizes[-1], 2 * (OBS + 1)),
        )  # fmt: skip
        for _ in range(MEMBERS)
    ]
    opt = torch.optim.Adam([p for m in members for p in m.parameters()], 1e-3)
    obs, act, rew, nxt = data
    x, y = torch.cat([obs, act], -1), torch.cat([nxt - obs, rew[:, None]], -1)
    n_train = int(0.8 * len(x))
    g = torch.Generator().manual_seed(1)
    start = time.process_time()
    for _ in range(epochs * -(-n_train // BATCH)):
        loss = torch.zeros(())
        for net in members:
            idx = torch.randint(n_train, (BATCH,), generator=g)
            mean, logvar = net(x[idx]).chunk(2, -1)
            loss = loss + (((mean - y[idx]) ** 2) * torch.exp(-logvar) + logvar).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    return time.process_time() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--transitions", type=int, default=10_000)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    run = start_run(env_vars=("OMP_NUM_THREADS",))
    torch.set_num_threads(1)
    data = _data(args.transitions)
    n_train = args.transitions - int(round(0.2 * args.transitions))
    steps = args.epochs * -(-n_train // BATCH)
    seen = steps * BATCH  # transitions each member trained on
    times: dict[str, list[float]] = {"fused": [], "looped": []}
    for _ in range(args.rounds):
        times["fused"].append(fused(data, args.epochs))
        times["looped"].append(looped(data, args.epochs))
    rows = []
    for name, label in (("fused", "GaussianEnsemble.fit (batched baddbmm)"),
                        ("looped", "7 nn.Sequential in a Python loop (reference)")):  # fmt: skip
        t = float(np.median(times[name]))
        rows.append([label, f"{seen / t:.0f}", f"{MEMBERS * seen / t:.0f}",
                     f"{1e3 * t / steps:.2f}"])  # fmt: skip
    ratio = np.median(np.array(times["looped"]) / np.array(times["fused"]))
    path = write_markdown(
        "ensemble_train",
        "Ensemble model training throughput (7 x 4x200 SiLU, batch 256 per member)",
        ["training", "transitions/s", "member-samples/s", "ms per step"],
        rows,
        [
            f"{args.transitions} random transitions (obs {OBS}, act {ACT}), 80/20 split, "
            f"{args.epochs} epochs = {steps} steps of {BATCH} per member; median CPU time of "
            f"{args.rounds} rounds (sides alternating), one torch thread.",
            f"Batched over looped, same rounds: {ratio:.2f}x.",
        ],
        run=run,
    )
    print(path.read_text())


if __name__ == "__main__":
    main()
