"""Our PPO / TRPO / SAC against stable-baselines3 (and sb3-contrib's TRPO), matched settings.

For each algorithm both sides train on the same task for the same env steps with the
hyperparameters of ``config/train/<algo>_<task>.yaml``, one torch thread each, on seeds
0 .. ``--seeds``-1; we report training env steps per second (evaluation excluded) and the
final deterministic return over the same evaluation seeds, both as mean ± std over the same
runs (one run per side and seed). Needs ``pip install stable-baselines3 sb3-contrib``.

Clock: the machine is shared, so wall-clock rates of two runs a minute apart can differ by 2x.
Steps/s are therefore per second of this process's CPU time (``time.process_time``; one torch
thread and in-process PyBullet make that the idle-machine wall rate), and the two sides run
alternately, seed by seed. Both sides are timed over their training loop only, model and env
construction excluded: ours by its own run session (evaluation and checkpoints excluded) with
``time.perf_counter`` pointed at the CPU clock; SB3 around ``model.learn`` (which evaluates
and saves nothing).

Fairness: our policies act in a unit action space (env action = centre + half-range * u, see
rl_control/models/bounded_policy.py), so SB3 gets its envs through ``RescaleAction(-1, 1)``;
without it SB3's PPO/TRPO start with a 1 N exploration std on a +-100 N cart force (std 1 in
raw units) where ours start with 100 N, and learn far less in the same steps. SB3's SAC rescales
to [-1, 1] internally already, so the wrapper changes nothing for it. With ``normalize_obs``
(our on-policy default) SB3 runs under ``VecNormalize(norm_obs=True, norm_reward=False)``.

    python bench/compare_sb3.py --task soft_wall_cartpole --steps 20000 --sac-steps 5000
"""

from __future__ import annotations

import argparse
import contextlib
import math
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from results_table import start_run, write_markdown

from rl_control.envs.registration import make_env
from rl_control.policies.base import Policy, PolicyOutput
from rl_control.training.config import load_config
from rl_control.training.evaluation import evaluate
from rl_control.training.runner import Runner

ROOT = Path(__file__).resolve().parents[1]
EVAL_SEED = 10_000


@contextlib.contextmanager
def cpu_clock() -> Iterator[None]:
    """Let ``time.perf_counter`` (the run session's clock) read this process's CPU time."""
    wall = time.perf_counter
    time.perf_counter = time.process_time
    try:
        yield
    finally:
        time.perf_counter = wall


class SB3Policy(Policy):
    """Our act interface over an SB3 model (and its observation normaliser, if any)."""

    kind = "sb3_adapter"

    def __init__(self, model: Any, vec_normalize: Any | None = None) -> None:
        self.model, self.vec_normalize = model, vec_normalize

    def act(self, obs: np.ndarray, deterministic: bool = False) -> PolicyOutput:
        if self.vec_normalize is not None:
            obs = self.vec_normalize.normalize_obs(obs)
        action, _ = self.model.predict(obs, deterministic=deterministic)
        action = np.asarray(action, dtype=np.float64)
        return PolicyOutput(action, action, np.zeros(len(action)))

    def get_config(self) -> dict[str, Any]:
        return {}

    def get_state(self) -> dict[str, Any]:
        return {}

    def set_state(self, state: dict[str, Any]) -> None:
        raise NotImplementedError("adapter only")


def _sb3_model(algo: str, cfg: dict[str, Any], env: Any, seed: int) -> Any:
    """The SB3 counterpart of our algorithm with the same hyperparameters."""
    from sb3_contrib import TRPO
    from stable_baselines3 import PPO, SAC

    hidden = list(cfg.pop("hidden", [64, 64] if algo != "sac" else [256, 256]))
    activation = cfg.pop("activation", "tanh" if algo != "sac" else "relu")
    act_fn = {"tanh": torch.nn.Tanh, "relu": torch.nn.ReLU}[activation]
    init_log_std = float(cfg.get("init_log_std", 0.0))
    ortho_init = bool(cfg.get("ortho_init", True))
    for key in ("normalize_obs", "init_log_std", "ortho_init"):
        cfg.pop(key, None)
    if algo == "trpo":
        cfg.pop("ent_coef", None)  # sb3-contrib's TRPO has no entropy term
    if algo == "sac":
        kwargs = dict(net_arch=hidden, activation_fn=act_fn)
        return SAC("MlpPolicy", env, policy_kwargs=kwargs, seed=seed, device="cpu", **cfg)
    kwargs = dict(
        net_arch=dict(pi=hidden, vf=hidden), activation_fn=act_fn,
        log_std_init=init_log_std, ortho_init=ortho_init,
    )  # fmt: skip
    cls = PPO if algo == "ppo" else TRPO
    return cls("MlpPolicy", env, policy_kwargs=kwargs, seed=seed, device="cpu", **cfg)


def _unit_action_env(task: str, params: dict[str, Any]) -> Any:
    """The task's env with actions in [-1, 1], the space our policies act in."""
    from gymnasium.wrappers import RescaleAction

    return RescaleAction(make_env(task, **params), -1.0, 1.0)


def run_sb3(
    algo: str,
    task: str,
    steps: int,
    episodes: int,
    seed: int,
    num_envs: int | None = None,
    subproc: bool = False,
    clock: Callable[[], float] = time.process_time,
) -> dict[str, float]:
    """SB3's run on ``config/train/<algo>_<task>.yaml`` (``num_envs`` overrides the file's);
    ``subproc``: its envs in SubprocVecEnv processes (then time it with a wall ``clock``)."""
    from stable_baselines3.common.vec_env import DummyVecEnv, SubprocVecEnv, VecNormalize

    config = load_config(
        ROOT / "config" / "train" / f"{algo}_{task}.yaml", {"seed": seed, "num_envs": num_envs}
    )
    cfg = dict(config.algo_config)
    normalize = cfg.get("normalize_obs", algo != "sac")  # our defaults: on-policy normalise
    fns = [lambda: _unit_action_env(task, config.env)] * config.num_envs
    env = SubprocVecEnv(fns) if subproc else DummyVecEnv(fns)
    env.seed(config.seed)
    if normalize:  # our on-policy algorithms normalise observations too
        env = VecNormalize(env, norm_obs=True, norm_reward=False)
    model = _sb3_model(algo, cfg, env, config.seed)
    start = clock()
    model.learn(total_timesteps=steps)
    elapsed = clock() - start
    eval_env = _unit_action_env(task, config.env)
    if normalize:
        env.training = False
    result = evaluate(SB3Policy(model, env if normalize else None), eval_env, episodes, EVAL_SEED)
    eval_env.close()
    env.close()
    return {"steps_per_s": model.num_timesteps / elapsed, "return": result.mean,
            "return_std": result.std}  # fmt: skip


def run_ours(
    algo: str,
    task: str,
    steps: int,
    episodes: int,
    seed: int,
    sets: Sequence[str] = (),
    wall: bool = False,
) -> dict[str, float]:
    """Our run on the same file, ``sets`` as ``--set`` overrides (``num_envs=2``,
    ``vector=async``); timed on this process's CPU clock unless ``wall``."""
    path = ROOT / "config" / "train" / f"{algo}_{task}.yaml"
    with tempfile.TemporaryDirectory() as tmp:
        config = load_config(
            path, {"total_steps": steps, "seed": seed, "run_dir": str(Path(tmp) / "run")},
            ["eval_every=0", "eval_episodes=1", "checkpoint_every=0", *sets],
        )  # fmt: skip
        with contextlib.nullcontext() if wall else cpu_clock():
            summary = Runner(config, tensorboard=False).train()
        from rl_control.training.checkpoint import load_policy

        policy = load_policy(config.run_dir)
    eval_env = make_env(task, **config.env)
    result = evaluate(policy, eval_env, episodes, EVAL_SEED)
    eval_env.close()
    return {"steps_per_s": summary["steps_per_s"], "return": result.mean,
            "return_std": result.std}  # fmt: skip


def raw_env_rate(task: str, steps: int = 2000) -> float:
    """Random-action env steps per second (the ceiling for any learner)."""
    env = make_env(task, seed=0)
    env.reset(seed=0)
    start = time.process_time()
    for _ in range(steps):
        _, _, term, trunc, _ = env.step(env.action_space.sample())
        if term or trunc:
            env.reset()
    rate = steps / (time.process_time() - start)
    env.close()
    return rate


def mean_std(runs: Sequence[dict[str, float]], key: str, digits: int) -> str:
    """'mean ± std' of ``key`` over runs (population std, as np.std)."""
    values = np.array([r[key] for r in runs], dtype=float)
    return f"{values.mean():.{digits}f} ± {values.std():.{digits}f}"


def table_row(
    algo: str, steps: int, ours: Sequence[dict[str, float]], sb3: Sequence[dict[str, float]]
) -> list[object]:
    """One table row: speed and return of the same runs, mean ± std over the seeds."""
    if len(ours) != len(sb3) or not ours:
        raise ValueError(f"need the same positive number of runs per side, got {len(ours)}, "
                         f"{len(sb3)}")  # fmt: skip
    sb3_rate = float(np.mean([r["steps_per_s"] for r in sb3]))
    ratio = float(np.mean([r["steps_per_s"] for r in ours])) / sb3_rate if sb3_rate else math.nan
    return [algo, steps, len(ours), mean_std(ours, "steps_per_s", 0),
            mean_std(sb3, "steps_per_s", 0), f"{ratio:.2f}x", mean_std(ours, "return", 1),
            mean_std(sb3, "return", 1)]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", default="soft_wall_cartpole")
    parser.add_argument("--algos", nargs="+", default=["ppo", "trpo", "sac"])
    parser.add_argument("--steps", type=int, default=20_000, help="env steps for PPO/TRPO")
    parser.add_argument("--sac-steps", type=int, default=5_000)
    parser.add_argument("--episodes", type=int, default=5)
    parser.add_argument("--seeds", type=int, default=3, help="runs per side (seeds 0..n-1)")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    args = parser.parse_args()
    if args.seeds < 2:
        parser.error(f"--seeds must be at least 2 (a spread needs two runs), got {args.seeds}")
    run = start_run()
    torch.set_num_threads(1)
    raw = raw_env_rate(args.task)
    notes = [
        f"Seeds 0-{args.seeds - 1}, one run per side and seed (alternating), 1 torch thread, "
        f"hyperparameters of config/train/<algo>_{args.task}.yaml on both sides, SB3 on "
        "[-1, 1]-rescaled actions (as ours) and VecNormalize where ours normalises. Steps/s per "
        "CPU-second of the training loop (construction and evaluation excluded on both sides), "
        "mean ± std over the seeds; speed-up = ratio of the means. Return: deterministic "
        f"policy, mean over {args.episodes} episodes (seeds {EVAL_SEED}+) of each run, then "
        f"mean ± std over the seeds. Random-action env rate: {raw:.0f} steps/s."
    ]
    header = ["algo", "env steps", "seeds", "ours steps/s", "SB3 steps/s", "speed-up",
              "ours return", "SB3 return"]  # fmt: skip
    rows = []
    for algo in args.algos:
        steps = args.sac_steps if algo == "sac" else args.steps
        ours_runs, sb3_runs = [], []
        for seed in range(args.seeds):  # alternate, so slow phases of the machine hit both
            ours_runs.append(run_ours(algo, args.task, steps, args.episodes, seed))
            sb3_runs.append(run_sb3(algo, args.task, steps, args.episodes, seed))
        rows.append(table_row(algo, steps, ours_runs, sb3_runs))
        print(" | ".join(str(c) for c in rows[-1]), flush=True)
    out = write_markdown(
        f"compare_sb3_{args.task}",
        f"rl_control vs stable-baselines3 on `{args.task}`",
        header,
        rows,
        notes,
        run=run,
        out_dir=args.out,
    )
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
