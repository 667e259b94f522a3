"""Env overhead: raw PyBullet steps/s of each task versus the gymnasium env's steps/s.

The raw loop drives the very same PyBullet world the env built and does the env's physics
and sensing, call for call in the env's order: the same forces from the same functions (soft
walls from the state at the start of the step and the cart force; leg torques; the Minitaur's
PD torques at every physics sub-step from the motor state read after the previous one), the
same state reads (joint states after each step, the Minitaur's base pose after the last
sub-step) and the step itself. What ``env.step`` adds on top, and what the overhead measures:
action validation and clipping, the state and observation arrays, reward terms, termination
and truncation, the info dict (and the Minitaur's sensor history and noise). The raw loop is
thus a subset of the env's work: a negative overhead is timing noise, not a faster env.
Overhead = raw steps/s ÷ env steps/s − 1 (target ≤ 20 %).
Raw and env loops alternate (after an untimed warm-up, the order flipping every round),
``--repeats`` rounds, best of each kept (shared machine).
Writes bench/results/env_overhead.md (``python bench/update_readme.py`` copies it).

    python bench/env_overhead.py [--steps 5000] [--repeats 7]
"""

from __future__ import annotations

import argparse
import math
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pybullet
from results_table import RESULTS_DIR, start_run, verdict, write_markdown

from rl_control.envs.minitaur import MOTOR_DIRECTIONS, MinitaurEnv
from rl_control.envs.soft_wall_cartpole import CART, POLE, SoftWallCartPoleEnv
from rl_control.envs.two_link_leg import TwoLinkLegEnv
from rl_control.tasks import minitaur as mt

TARGET = 0.20  # env overhead over the raw physics loop


def best_rates(
    loops: tuple[Callable[[int], None], ...],
    steps: int,
    repeats: int,
    clock: Callable[[], float] = time.perf_counter,
) -> list[float]:
    """Steps/s of each loop, best of ``repeats`` rounds. Every loop first runs a tenth of the
    steps untimed (first-call costs), and the order flips every round, so neither the
    warm-up nor load from other processes favours the loop that happens to go second."""
    for loop in loops:
        loop(max(steps // 10, 1))
    best = [math.inf] * len(loops)
    for round_ in range(repeats):
        order = range(len(loops)) if round_ % 2 == 0 else reversed(range(len(loops)))
        for i in order:
            start = clock()
            loops[i](steps)
            best[i] = min(best[i], clock() - start)
    return [steps / b for b in best]


def cartpole_loops() -> tuple[Callable[[int], None], Callable[[int], None]]:
    env = SoftWallCartPoleEnv(max_steps=10**9)
    p, calls, body = env.params, env._calls, env._body
    action = np.array([0.0], dtype=np.float32)

    def raw(n: int) -> None:
        (x, _, _, _), (th, _, _, _) = calls.get_joint_states(body, (CART, POLE))
        for _ in range(n):
            # as env.step: walls from the state at the start of the step, read after it
            tip = x + p.pole_length * math.sin(th)
            wall = p.wall_stiffness * (
                max(-p.wall_distance - tip, 0.0) - max(tip - p.wall_distance, 0.0)
            )
            calls.apply_external_force(
                body,
                POLE,
                (wall, 0.0, 0.0),
                (tip, 0.0, p.pole_length * math.cos(th)),
                pybullet.WORLD_FRAME,
            )
            calls.set_motor(body, CART, pybullet.TORQUE_CONTROL, force=0.0)
            calls.step_simulation()
            (x, _, _, _), (th, _, _, _) = calls.get_joint_states(body, (CART, POLE))

    def gym_loop(n: int) -> None:
        for _ in range(n):
            env.step(action)

    env.reset(options={"state": np.zeros(4)})  # upright at rest: never terminates
    return raw, gym_loop


def leg_loops() -> tuple[Callable[[int], None], Callable[[int], None]]:
    env = TwoLinkLegEnv(max_steps=10**9)
    calls, body = env._calls, env._body
    torque = np.array([0.05, -0.02])

    def raw(n: int) -> None:
        for _ in range(n):
            calls.set_motor_array(body, (0, 1), pybullet.TORQUE_CONTROL, forces=torque)
            calls.step_simulation()
            calls.get_joint_states(body, (0, 1))  # the env reads the state after the step

    def gym_loop(n: int) -> None:
        for _ in range(n):
            env.step(torque)

    env.reset(seed=0)
    return raw, gym_loop


def minitaur_loops() -> tuple[Callable[[int], None], Callable[[int], None]]:
    env = MinitaurEnv(max_steps=10**9)
    p, calls, body, motors = env.params, env._calls, env._body, env._motors
    stand = np.full(8, mt.STANDING_ANGLE, dtype=np.float32)
    desired = stand.astype(np.float64)  # the env computes its PD torques in float64
    record = p.latency > 0.0  # the env then reads the base pose at every sub-step

    def read() -> tuple[np.ndarray, np.ndarray]:
        states = calls.get_joint_states(body, motors)
        q = np.array([s[0] for s in states]) * MOTOR_DIRECTIONS
        return q, np.array([s[1] for s in states]) * MOTOR_DIRECTIONS

    def raw(n: int) -> None:
        q, qd = read()
        for _ in range(n):
            for sub in range(p.physics_substeps):
                tau = mt.pd_torque(desired, q, qd, p)
                calls.set_motor_array(
                    body, motors, pybullet.TORQUE_CONTROL, forces=tau * MOTOR_DIRECTIONS
                )
                calls.step_simulation()
                q, qd = read()
                if record or sub == p.physics_substeps - 1:
                    calls.get_base_pose(body)

    def gym_loop(n: int) -> None:
        for _ in range(n):
            env.step(stand)

    env.reset(seed=0)
    return raw, gym_loop


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=5000, help="control steps per timing")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--out", type=Path, default=RESULTS_DIR, help="folder for the .md")
    args = parser.parse_args()
    run = start_run()
    tasks = {
        "soft_wall_cartpole": (cartpole_loops, args.steps),
        "two_link_leg": (leg_loops, args.steps),
        "minitaur": (minitaur_loops, max(args.steps // 10, 50)),
    }
    print(f"{'task':20s} {'raw steps/s':>12s} {'env steps/s':>12s} {'overhead':>9s}")
    rows = []
    for name, (make, steps) in tasks.items():
        raw_rate, env_rate = best_rates(make(), steps, args.repeats)
        overhead = raw_rate / env_rate - 1.0
        print(f"{name:20s} {raw_rate:12.0f} {env_rate:12.0f} {overhead:9.1%}")
        ok = verdict(overhead <= TARGET)
        rows.append([name, steps, f"{raw_rate:.0f}", f"{env_rate:.0f}", f"{overhead:.1%}", ok])
    path = write_markdown(
        "env_overhead",
        "Env overhead: raw PyBullet loop versus the gymnasium env, same world",
        ["task", "control steps / timing", "raw steps/s", "env steps/s", "overhead",
         f"overhead ≤ {TARGET * 100:.0f} %"],
        rows,
        [f"Overhead = raw steps/s ÷ env steps/s − 1; raw and env loops alternate, best of "
         f"{args.repeats} rounds each (see bench/env_overhead.py). Minitaur timings use a tenth "
         "of the control steps (each runs several physics sub-steps).",
         "The raw loop does the env's physics and sensing (same forces, same state reads, same "
         "order); the overhead is what env.step adds: action checks and clipping, observation "
         "and state arrays, reward terms, termination, the info dict (Minitaur: sensor history "
         "and noise). A negative figure is timing noise: the raw loop is a subset of the env."],
        run=run,
        out_dir=args.out,
    )  # fmt: skip
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
