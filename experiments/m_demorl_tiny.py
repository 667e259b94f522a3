"""Tiny M-DeMoRL configs, in-process: gain over the untrained actor per seed (2R leg, cart-pole).

The search for a config that learns clearly enough to carry a graph learning test (the
embedded-back-end graph run asserting a gain with a margin taken from the spread measured
here). Per candidate config and seed: the deterministic eval return (the runner's protocol:
``eval_episodes`` episodes from seeds train seed + 10000 + i) of the untrained SAC actor
(step 0) and of the final one; SAC with the same ``sac`` block and budget beside it (reported,
never asserted). SAC takes one gradient step per recorded transition (``gradient_steps: -1``),
so the graph trainer, whose updates catch up on all transitions since the last one, does the
same number of steps as the runner whatever the machine's speed.

2R leg. Why the first candidates (a-e: 200-step episodes, SAC 64x64, batch 64, 200 warm-up
steps) did not learn (session of 2026-12-07, :func:`references` and probes): the leg is light
and its torque limit far above its loads (gravity torque at most 0.11 N·m at the knee and
0.52 N·m at the hip against ±3 N·m), so a torque bias a fraction of the limit turns the knee
over. The untrained actors' bias does (``f``'s, seeds 0-4: 0.01-0.75 N·m at the start, the
knee turned over on 3 of 5 within 100 steps): ``a``'s return (26-53 over 200 steps) is below
zero torque's 112.8 (PD on the inverse kinematics of the foot target: 193.2, best 200), and
the trained ``a`` actors end in such a bias too (SAC, seed 1: about (0.56, -1.5) N·m
throughout, the knee turning at 200-300 rad/s, return 19). The eval itself
is not noisy (its 3 episodes differ by the ±0.05 rad start: zero torque 112.5, 112.5, 113.5);
the spread is between runs and along a run (a SAC run read every 500 steps: 80, 119, 132,
27). Probes of SAC alone, 2000 steps of 200-step episodes, final return on seeds 0/1 (zero
torque 112.8): on ``a``'s SAC block, less entropy (init_ent_coef 0.05, ent_coef 0.01 or
0.001, target_entropy -8) 17-58, gamma 0.9 43/32, learning rate 1e-4 27/25, observation
normalisation 48/47, 4 gradient steps per env step at batch 256 64/18; wider nets with batch
256 and 1000 warm-up steps did best (128x128 57/58, 256x256 68/91, with gamma 0.95 71/82,
with tau 0.02 22/37), none near zero torque. SAC at its default sizes
(256x256, batch 256, 1000 warm-up steps) on 200-step episodes, seeds 0/1: 101/108 at 2000
steps, 54-83 in between, zero torque's level at 10-12k, 152/134 at 20k (~190 CPU-s a run).

:data:`CHOSEN` (``f``): 100-step episodes (training and eval: the config's env section cuts
the task's episode, reward and dynamics unchanged) with 1000 uniform warm-up steps and SAC
128x128, batch 256: on every seed 0-9 the trained actor beats zero torque (final 48.1-76.1
against 42.8; from 18.5-41.3 untrained, gain >= +12.9; IK-PD 97.1, best 100), ~10 CPU-s a
run; SAC at the same budget 41.4-76.4 (gain >= +8.6; reported, not asserted). Neither change
alone (seeds 0-4): f's SAC block on 200-step episodes (``g``) gains -6 to +27, ending at
20-59; 100-step episodes with a's SAC block (``h``) -29 to -5. It is
config/train/m_demorl_two_link_leg_tiny.yaml, which the in-process learning test runs. Over
the graph (``rl-control launch launch/train.launch.xml task:=two_link_leg algo:=m_demorl
config:=...``, seed 0, three runs) it went from 18.6 to 30.9, 35.2 and 34.8 only (in-process
56.0). Not the graph's catch-up updates (in-process with ``train_freq: 100``, 100 gradient
steps every 100 env steps as the graph did them after its first update: 53.0 and 47.0 on
seeds 0 and 1) but the warm-up: the graph's policy node acted with the actor's samples from
step 0, never SAC's uniform warm-up actions (``SAC.act`` was the runner's only), and
in-process with the warm-up acted by the untrained actor ``f`` ends at 32.1, 12.6, 42.9
(seeds 0-2). The graph now acts SAC's warm-up (the policy updates carry
``uniform_exploration``), and the leg's graph learning test passes (seed 0: 77.0). ``a``
(seed 0) had gone from 37.0 to 21.8 there.

Soft-wall cart-pole (200-step episodes, at most 3000): every candidate run is in
results/m_demorl_tiny_soft_wall_cartpole.md. :data:`CARTPOLE_CHOSEN` (``cp_b``, 2000 steps)
balances the pole on each of seeds 0-9 (final 2279-2880 from 127-850 untrained, gain >= +1868;
SAC at the same budget 2383-2816: no faster at this budget); it is
config/train/m_demorl_soft_wall_cartpole.yaml, which the learning tests run in-process and
over the graph. At 1200 steps (``cp_a``) seed 1 gains only +235; more imagined data
(``cp_d``, real_ratio 0.2) is worse, less (``cp_c``, 0.8) about as good.

    python experiments/m_demorl_tiny.py --candidates a --seeds 5   # a spread over seeds
    python experiments/m_demorl_tiny.py --candidates b c --seeds 1
    python experiments/m_demorl_tiny.py --candidates d e --seeds 1 --no-sac
    python experiments/m_demorl_tiny.py --candidates f --seeds 10
    python experiments/m_demorl_tiny.py --candidates g h --seeds 5
    python experiments/m_demorl_tiny.py --candidates f g h a b c d e --seeds 10 \
        --report-only   # the 2R-leg table: every finished run of the five above
    python experiments/m_demorl_tiny.py --candidates cp_a --seeds 2   # the first cart-pole try
    python experiments/m_demorl_tiny.py --candidates cp_a cp_c cp_d --seeds 5 --no-sac
    python experiments/m_demorl_tiny.py --candidates cp_b --seeds 10
    python experiments/m_demorl_tiny.py --candidates cp_b cp_a cp_c cp_d --seeds 10 \
        --report-only   # the cart-pole table: every finished run of the two above
Resumable (one JSON per run under --runs). Writes <out>/m_demorl_tiny[_TASK].{md,json}.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script: make `experiments` importable
    sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from experiments import fair  # noqa: E402

EVAL_SEED_OFFSET = 10_000  # rl_control.training.evaluation.EVAL_SEED_OFFSET


def _base(task: str, steps: int) -> dict[str, Any]:
    """The shared small config on ``task`` (200-step episodes) at a budget of ``steps``:
    horizon 5 and 64 starts over the whole run."""
    return {
        "task": task, "env": {"max_steps": 200}, "total_steps": steps, "eval_episodes": 3,
        "algo_config": {
            "sac": {"learning_starts": 200, "batch_size": 64, "hidden": [64, 64],
                    "buffer_size": 10000, "gradient_steps": -1},
            "num_members": 3, "num_elites": 2, "model_hidden": [64, 64], "model_epochs": 20,
            "model_patience": 5, "model_train_freq": 200, "num_samples": 32,
            "horizon_schedule": [0, steps, 5, 5], "starts_schedule": [0, steps, 64, 64],
            "plan_batch": 64, "mpc_buffer_size": 5000, "real_ratio": 0.5,
        },
    }  # fmt: skip


#: the 2R leg's: 200-step episodes (0.4 s, one gait cycle is 0.5 s)
BASE = _base("two_link_leg", 1600)
#: the soft-wall cart-pole's: 200-step episodes (at most 15 per step, 3000 per episode); the
#: untrained actor (a force near 0) drops the pole within ~70 steps
CARTPOLE = _base("soft_wall_cartpole", 1200)
#: task -> the base its candidates override; results go to m_demorl_tiny[_TASK].{md,json}
BASES: dict[str, dict[str, Any]] = {"two_link_leg": BASE, "soft_wall_cartpole": CARTPOLE}
#: candidate name -> (task, overrides of its base (algo_config merged key by key))
CANDIDATES: dict[str, tuple[str, dict[str, Any]]] = {
    "a": ("two_link_leg", {}),
    "b": ("two_link_leg", {"algo_config": {"real_ratio": 0.2,
                           "starts_schedule": [0, 1600, 128, 128], "plan_batch": 128}}),
    "c": ("two_link_leg", {"total_steps": 3000, "algo_config": {
        "horizon_schedule": [0, 3000, 5, 5], "starts_schedule": [0, 3000, 64, 64]}}),
    "d": ("two_link_leg", {"algo_config": {"real_ratio": 0.9}}),
    "e": ("two_link_leg", {"algo_config": {"real_ratio": 0.75}}),
    # 100-step episodes (training and eval), 5 warm-up episodes, a wider SAC with larger
    # batches: every seed 0-4 ends above the zero-torque return (module docstring)
    "f": ("two_link_leg", {"env": {"max_steps": 100}, "total_steps": 2000, "algo_config": {
        "sac": {"learning_starts": 1000, "hidden": [128, 128], "batch_size": 256},
        "horizon_schedule": [0, 2000, 5, 5], "starts_schedule": [0, 2000, 64, 64]}}),
    # f's two halves alone: its SAC block on 200-step episodes; 100-step episodes with a's
    "g": ("two_link_leg", {"total_steps": 2000, "algo_config": {
        "sac": {"learning_starts": 1000, "hidden": [128, 128], "batch_size": 256},
        "horizon_schedule": [0, 2000, 5, 5], "starts_schedule": [0, 2000, 64, 64]}}),
    "h": ("two_link_leg", {"env": {"max_steps": 100}, "total_steps": 2000, "algo_config": {
        "horizon_schedule": [0, 2000, 5, 5], "starts_schedule": [0, 2000, 64, 64]}}),
    "cp_a": ("soft_wall_cartpole", {}),
    "cp_b": ("soft_wall_cartpole", {"total_steps": 2000, "algo_config": {
        "horizon_schedule": [0, 2000, 5, 5], "starts_schedule": [0, 2000, 64, 64]}}),
    "cp_c": ("soft_wall_cartpole", {"algo_config": {"real_ratio": 0.8}}),
    "cp_d": ("soft_wall_cartpole", {"algo_config": {"real_ratio": 0.2,
             "starts_schedule": [0, 1200, 128, 128], "plan_batch": 128}}),
}  # fmt: skip
#: the 2R-leg candidate the learning test runs (config/train/m_demorl_two_link_leg_tiny.yaml)
CHOSEN = "f"
#: the cart-pole candidate the learning tests run (config/train/m_demorl_soft_wall_cartpole.yaml)
CARTPOLE_CHOSEN = "cp_b"


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in over.items():
        out[k] = _merge(out.get(k, {}), v) if isinstance(v, dict) else v
    return out


def config(candidate: str) -> dict[str, Any]:
    """The M-DeMoRL train config (without seed and run folder) of one candidate."""
    if candidate not in CANDIDATES:
        raise ValueError(f"unknown candidate {candidate!r}; known {sorted(CANDIDATES)}")
    task, over = CANDIDATES[candidate]
    return {"algo": "m_demorl", **_merge(BASES[task], over)}


def settings(candidate: str, algo: str, seed: int) -> dict[str, Any]:
    """One run: the candidate's M-DeMoRL config, or SAC with its ``sac`` block and budget."""
    cfg = config(candidate)
    if algo == "sac":
        cfg = {**cfg, "algo": "sac", "algo_config": cfg["algo_config"]["sac"]}
    elif algo != "m_demorl":
        raise ValueError(f"algo must be m_demorl or sac, got {algo!r}")
    return {"candidate": candidate, "seed": seed, **cfg}


def run_job(job: tuple[dict, str]) -> tuple[str, float]:
    s, runs = job
    name = fair.settings_key(s)

    def train(run_dir: Path) -> dict:
        data = {k: v for k, v in s.items() if k != "candidate"}
        data.update(num_envs=1, checkpoint_every=0, run_dir=str(run_dir), label=name,
                    eval_every=s["total_steps"], log_every=s["total_steps"])  # fmt: skip
        return fair.clocked_train(data, s["seed"] + EVAL_SEED_OFFSET)

    runs_dir = Path(runs)
    return name, fair.run_once(runs_dir / f"{name}.json", s, train, runs_dir / name,
                               keep_run=False)  # fmt: skip


def summarise(jobs: list[dict], runs: Path) -> dict[str, Any]:
    """candidate -> algo -> per-seed (untrained, final, gain) of the finished runs."""
    out: dict[str, Any] = {}
    for s in jobs:
        r = fair.load_result(runs / f"{fair.settings_key(s)}.json", s)
        if r is None:
            continue
        ret = r["curve"]["returns"]
        row = {"seed": s["seed"], "untrained": ret[0], "final": ret[-1],
               "gain": ret[-1] - ret[0], "cpu_s": r.get("process_cpu_s")}  # fmt: skip
        out.setdefault(s["candidate"], {}).setdefault(s["algo"], []).append(row)
    return out


TITLES = {"two_link_leg": "the 2R leg", "soft_wall_cartpole": "the soft-wall cart-pole"}


def out_name(task: str) -> str:
    """Results file stem of a task's candidates (the 2R leg's keeps its first name)."""
    return "m_demorl_tiny" if task == "two_link_leg" else f"m_demorl_tiny_{task}"


def _ik_pd(env: Any, kp: float = 50.0, kd: float = 0.5) -> np.ndarray:
    """PD on the joint targets of the foot path (inverse kinematics of p_d(t + dt), joint
    rates J⁻¹ ṗ_d): the hand-made reference the learned actors are compared with."""
    from rl_control.tasks import two_link_leg as leg

    p = env.params
    p_d, v_d = leg.desired_foot(np.float64(env.time + p.dt), p)
    q_d = leg.inverse_kinematics(p_d, p)
    # the foot Jacobian's columns: the task's foot velocity for a unit rate of each joint
    jac = np.stack([leg.foot_velocity(np.concatenate([q_d, e]), p) for e in np.eye(2)], axis=1)
    qd_d = np.linalg.solve(jac, v_d)
    return kp * (q_d - env.state[:2]) + kd * (qd_d - env.state[2:])


def references(max_steps: int, seed: int = 0, episodes: int = 3) -> dict[str, float]:
    """Mean return of zero torque and of :func:`_ik_pd` on the eval episodes of ``seed``
    (the runner's protocol: seeds seed + 10000 + i) of the 2R leg cut to ``max_steps``."""
    from rl_control.envs.two_link_leg import TwoLinkLegEnv

    controls = {"zero torque": lambda env: np.zeros(2), "IK-PD": _ik_pd}
    out = {}
    for name, control in controls.items():
        total = 0.0
        env = TwoLinkLegEnv(max_steps=max_steps)
        for i in range(episodes):
            env.reset(seed=seed + EVAL_SEED_OFFSET + i)
            done = False
            while not done:
                _, r, term, trunc, _ = env.step(control(env))
                total, done = total + r, term or trunc
        env.close()
        out[name] = total / episodes
    return out


def _markdown(summary: dict[str, Any], seeds: list[int], task: str = "two_link_leg") -> str:
    lines = [
        f"# Tiny M-DeMoRL on {TITLES[task]}: gain over the untrained actor, in-process", "",
        "`python experiments/m_demorl_tiny.py` (candidates in experiments/m_demorl_tiny.py). "
        "Eval: 3 deterministic episodes of the run's env (`episode` steps, as in training); "
        "gain = final − untrained (step 0) eval return. SAC: the same `sac` block and budget "
        "(reported, not asserted).", "",
        "| candidate | algo | steps | episode | seeds | untrained | final | min final "
        "| gain per seed | min gain |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]  # fmt: skip
    lengths = []
    for cand, algos in summary.items():
        length = config(cand)["env"]["max_steps"]
        lengths.append(length)
        for algo, rows in algos.items():
            g = [r["gain"] for r in rows]
            lines.append(
                f"| {cand} | {algo} | {config(cand)['total_steps']} | {length} | "
                f"{[r['seed'] for r in rows]} | "
                f"{np.mean([r['untrained'] for r in rows]):.1f} | "
                f"{np.mean([r['final'] for r in rows]):.1f} ± "
                f"{np.std([r['final'] for r in rows]):.1f} | "
                f"{min(r['final'] for r in rows):.1f} | "
                f"{', '.join(f'{x:+.1f}' for x in g)} | {min(g):+.1f} |"
            )
    if task == "two_link_leg" and lengths:
        lines.append("")
        for length in sorted(set(lengths)):
            ref = references(length)
            lines.append(
                f"- {length}-step episodes, the same eval episodes (seed 0's), hand-made "
                f"controls: zero torque {ref['zero torque']:.1f}, PD on the inverse kinematics "
                f"of the foot target (kp 50, kd 0.5) {ref['IK-PD']:.1f}; best {length}."
            )
    return "\n".join(lines) + "\n"


def main(argv: Iterable[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--candidates", nargs="+", default=[CHOSEN])
    parser.add_argument("--seeds", type=int, default=5, help="seeds 0..N-1")
    parser.add_argument("--no-sac", action="store_true", help="M-DeMoRL runs only")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--report-only", action="store_true", help="no runs: the finished ones")
    parser.add_argument("--runs", type=Path, default=ROOT / "runs/experiments/m_demorl_tiny")
    parser.add_argument("--out", type=Path, default=ROOT / "experiments/results")
    args = parser.parse_args(None if argv is None else list(argv))
    from rl_control.training.io import atomic_write_json, atomic_write_text

    algos = ("m_demorl",) if args.no_sac else ("m_demorl", "sac")
    jobs = [settings(c, a, s) for c in args.candidates for s in range(args.seeds)
            for a in algos]  # fmt: skip
    todo = [] if args.report_only else [
        j for j in jobs if fair.load_result(args.runs / f"{fair.settings_key(j)}.json", j) is None
    ]  # fmt: skip
    t0 = time.perf_counter()
    print(f"{len(todo)} of {len(jobs)} runs to do", flush=True)
    for name, sec in fair.run_pool(run_job, [(j, str(args.runs)) for j in todo], args.workers):
        print(f"  {name}: {sec:.0f} s ({time.perf_counter() - t0:.0f} s in all)", flush=True)
    summary = summarise(jobs, args.runs)
    args.out.mkdir(parents=True, exist_ok=True)
    for task in dict.fromkeys(CANDIDATES[c][0] for c in args.candidates):  # one table a task
        part = {c: v for c, v in summary.items() if CANDIDATES[c][0] == task}
        stem = args.out / out_name(task)
        atomic_write_json(stem.with_suffix(".json"), part)
        atomic_write_text(stem.with_suffix(".md"), _markdown(part, list(range(args.seeds)), task))
        print(stem.with_suffix(".md").read_text())
    return summary


if __name__ == "__main__":
    main()
