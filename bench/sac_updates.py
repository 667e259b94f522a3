"""SAC gradient updates per second: ours against stable-baselines3's SAC, side by side.

Both learners get the same replay data (random transitions of the given sizes), the same
networks (actor and twin critic 256x256 ReLU), batch 256, Adam 3e-4, automatic entropy
tuning, Polyak τ = 0.005 every step, one torch thread. Each round times a chunk of
``--chunk`` updates of one side and then of the other (alternating which goes first), on
their real training paths: ours ``SAC.update()`` with ``gradient_steps = chunk`` (after the
one recorded transition that makes it due), SB3's ``SAC.train(chunk, 256)``. Chunks are
short (a fraction of a second), so both sides see the same machine; the speed-up is the
median of the per-round ratios, rates the medians over rounds, on CPU time (process time;
one thread, so the idle-machine wall rate) and on wall time. Needs stable-baselines3.

    OMP_NUM_THREADS=1 python bench/sac_updates.py [--rounds 30 --chunk 50]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import gymnasium as gym
import numpy as np
import torch
from results_table import start_run, verdict, write_markdown

from rl_control.algorithms.registry import make_algorithm
from rl_control.algorithms.spec import AlgorithmSpec
from rl_control.policies.base import PolicyOutput

BATCH, HIDDEN, TARGET = 256, [256, 256], 1.5
#: (label, obs_dim, act_dim): the 2R leg and HalfCheetah's sizes
SIZES = (("two_link_leg (8, 2)", 8, 2), ("HalfCheetah sizes (17, 6)", 17, 6))


def _data(obs_dim: int, act_dim: int, n: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    return {
        "obs": rng.normal(size=(n, obs_dim)).astype(np.float32),
        "next_obs": rng.normal(size=(n, obs_dim)).astype(np.float32),
        "actions": rng.uniform(-1, 1, (n, act_dim)).astype(np.float32),
        "rewards": rng.normal(size=n).astype(np.float32),
        "terminated": (rng.uniform(size=n) < 0.01).astype(np.float32),
    }


def ours(obs_dim: int, act_dim: int, data: dict[str, np.ndarray], chunk: int) -> Callable:
    """A callable running ``chunk`` updates of our SAC through ``update()``."""
    spec = AlgorithmSpec(obs_dim, [-1.0] * act_dim, [1.0] * act_dim, 1)
    config = dict(hidden=HIDDEN, batch_size=BATCH, learning_starts=0, gradient_steps=chunk)
    sac = make_algorithm("sac", spec, config, 0)
    d = data
    sac.buffer.add(d["obs"], d["actions"], d["rewards"], d["next_obs"], d["terminated"])
    one = PolicyOutput(d["actions"][:1].astype(np.float64), d["actions"][:1], np.zeros(1))

    def run() -> None:
        sac.record(d["obs"][:1], one, d["rewards"][:1], np.zeros(1), np.zeros(1),
                   d["next_obs"][:1])  # fmt: skip
        sac.update()

    return run


def sb3(obs_dim: int, act_dim: int, data: dict[str, np.ndarray], chunk: int) -> Callable:
    """A callable running ``chunk`` updates of SB3's SAC through ``train()``."""
    from stable_baselines3 import SAC
    from stable_baselines3.common.env_util import make_vec_env
    from stable_baselines3.common.logger import configure

    class Spaces(gym.Env):
        observation_space = gym.spaces.Box(-np.inf, np.inf, (obs_dim,), np.float32)
        action_space = gym.spaces.Box(-1.0, 1.0, (act_dim,), np.float32)

    n = len(data["obs"])
    model = SAC(
        "MlpPolicy", make_vec_env(Spaces, 1), buffer_size=n, batch_size=BATCH, learning_starts=0,
        policy_kwargs=dict(net_arch=HIDDEN), seed=0, device="cpu",
    )  # fmt: skip
    model.set_logger(configure(None, []))
    d = data
    for i in range(n):
        model.replay_buffer.add(d["obs"][i : i + 1], d["next_obs"][i : i + 1],
                                d["actions"][i : i + 1], d["rewards"][i : i + 1],
                                d["terminated"][i : i + 1], [{}])  # fmt: skip
    return lambda: model.train(chunk, BATCH)


def _timed(fn: Callable) -> tuple[float, float]:
    cpu, wall = time.process_time(), time.perf_counter()
    fn()
    return time.process_time() - cpu, time.perf_counter() - wall


def measure(obs_dim: int, act_dim: int, rounds: int, chunk: int, n: int) -> dict[str, float]:
    """Median updates/s of each side (CPU and wall) and the median per-round CPU ratio."""
    data = _data(obs_dim, act_dim, n)
    sides = {"ours": ours(obs_dim, act_dim, data, chunk), "sb3": sb3(obs_dim, act_dim, data,
                                                                      chunk)}  # fmt: skip
    for fn in sides.values():  # warm-up: allocator, Adam state
        fn()
    cpu: dict[str, list[float]] = {k: [] for k in sides}
    wall: dict[str, list[float]] = {k: [] for k in sides}
    for r in range(rounds):
        order = list(sides) if r % 2 == 0 else list(sides)[::-1]
        for name in order:
            c, w = _timed(sides[name])
            cpu[name].append(chunk / c)
            wall[name].append(chunk / w)
    ratio = np.array(cpu["ours"]) / np.array(cpu["sb3"])
    wall_ratio = np.array(wall["ours"]) / np.array(wall["sb3"])
    return {
        **{f"{k}_cpu": float(np.median(v)) for k, v in cpu.items()},
        **{f"{k}_wall": float(np.median(v)) for k, v in wall.items()},
        "ratio": float(np.median(ratio)), "ratio_lo": float(np.percentile(ratio, 10)),
        "ratio_hi": float(np.percentile(ratio, 90)), "wall_ratio": float(np.median(wall_ratio)),
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--chunk", type=int, default=50, help="updates per timed chunk")
    parser.add_argument("--buffer", type=int, default=20_000, help="transitions in each buffer")
    args = parser.parse_args()
    run = start_run(env_vars=("OMP_NUM_THREADS",))
    torch.set_num_threads(1)
    rows = []
    for label, obs_dim, act_dim in SIZES:
        m = measure(obs_dim, act_dim, args.rounds, args.chunk, args.buffer)
        rows.append([
            label, f"{m['ours_cpu']:.0f}", f"{m['sb3_cpu']:.0f}",
            f"{m['ratio']:.2f}x ({m['ratio_lo']:.2f}-{m['ratio_hi']:.2f})",
            verdict(m["ratio"] >= TARGET), f"{m['ours_wall']:.0f} / {m['sb3_wall']:.0f}",
            f"{m['wall_ratio']:.2f}x",
        ])  # fmt: skip
        print(" | ".join(rows[-1]), flush=True)
    path = write_markdown(
        "sac_updates",
        "SAC gradient updates per second: rl_control vs stable-baselines3",
        [
            "obs, act sizes",
            "ours upd/s (CPU)",
            "SB3 upd/s (CPU)",
            "speed-up (p10-p90)",
            f"≥ {TARGET:g}x",
            "wall upd/s ours / SB3",
            "wall speed-up",
        ],
        rows,
        [
            f"{args.rounds} rounds per row, each timing {args.chunk} updates of one side then "
            "of the other (order alternating); rates are medians over rounds, speed-up the "
            "median (10th-90th percentile) of the per-round ratios.",
            f"Both: actor and twin critic {HIDDEN} ReLU, batch {BATCH}, Adam 3e-4, auto "
            f"entropy, τ 0.005 every update, {args.buffer} random transitions in the buffer, "
            "one torch thread; ours through SAC.update(), SB3 through SAC.train().",
        ],
        run=run,
    )
    print(path.read_text())


if __name__ == "__main__":
    main()
