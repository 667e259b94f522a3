"""In-process training: vectorised gymnasium envs feeding an :class:`Algorithm`.

The loop is the one collection loop of the project::

    out = algorithm.act(obs) -> envs.step(out.action) -> algorithm.record(...)
    if algorithm.ready(): algorithm.update()

with periodic deterministic evaluation, metrics rows and atomic checkpoints handled by a
:class:`~rl_control.training.session.RunSession`.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from tqdm import tqdm

from rl_control.algorithms.base import Algorithm
from rl_control.envs.vector import SyncVectorEnv
from rl_control.training.checkpoint import load_checkpoint
from rl_control.training.config import TrainConfig
from rl_control.training.evaluation import EVAL_SEED_OFFSET, EvalResult, evaluate
from rl_control.training.io import RunPaths, atomic_write_yaml
from rl_control.training.rng import seed_everything
from rl_control.training.session import RunSession, restore_run

EnvFactory = Callable[..., gym.Env]  # make_env(task, seed=None, **params)
AlgorithmFactory = Callable[
    ..., Algorithm
]  # make_algorithm(name, obs_dim, low, high, n, cfg, seed)
#: seeds of the training envs after a resume are derived from this offset and the step count
_RESUME_SEED_STRIDE = 1_000_003


def check_finite(name: str, values: np.ndarray, env_steps: int) -> None:
    """Raise a one-line ValueError if ``values`` holds NaN or inf."""
    if not np.all(np.isfinite(values)):
        bad = np.argwhere(~np.isfinite(np.asarray(values, dtype=np.float64)))[0].tolist()
        raise ValueError(f"non-finite {name} at env step {env_steps} (first at index {bad})")


def default_run_dir(config: TrainConfig) -> Path:
    """``runs/<label or algo>_<task>_seed<seed>``, suffixed ``_2``, ``_3``, ... if taken."""
    base = Path("runs") / f"{config.label or config.algo}_{config.task}_seed{config.seed}"
    candidate, n = base, 1
    while candidate.exists() and any(candidate.iterdir()):
        n += 1
        candidate = base.with_name(f"{base.name}_{n}")
    return candidate


class Runner:
    """Trains ``config.algo`` on ``config.task`` and writes the run folder.

    ``resume=True`` continues the run in ``config.run_dir`` from its checkpoint (step count,
    counters, RNG state, algorithm state). A new run fills in ``config.run_dir`` when unset.
    The factories default to the project registries; tests and benchmarks may pass their own.
    """

    def __init__(
        self,
        config: TrainConfig,
        resume: bool = False,
        progress: bool = False,
        tensorboard: bool = True,
        env_factory: EnvFactory | None = None,
        algorithm_factory: AlgorithmFactory | None = None,
    ) -> None:
        # with the project registries, names are checked before any env (PyBullet) starts
        if env_factory is None:
            from rl_control.envs.registration import TASKS
            from rl_control.envs.registration import make_env as env_factory

            if config.task not in TASKS:
                raise ValueError(f"unknown task {config.task!r}; known: {sorted(TASKS)}")
        if algorithm_factory is None:
            from rl_control.algorithms.registry import algorithm_names
            from rl_control.algorithms.registry import make_algorithm as algorithm_factory

            if config.algo not in algorithm_names():
                raise ValueError(f"unknown algorithm {config.algo!r}; known: {algorithm_names()}")
        if resume and not config.run_dir:
            raise ValueError("resume needs the run folder (config.run_dir)")
        self.config, self.resume, self.progress = config, resume, progress
        self.tensorboard = tensorboard
        self.env_factory, self.algorithm_factory = env_factory, algorithm_factory

    # --- set-up --------------------------------------------------------------------------
    def _make_env(self, seed: int | None = None) -> gym.Env:
        return self.env_factory(self.config.task, seed=seed, **self.config.env)

    def _build(self) -> tuple[SyncVectorEnv, Algorithm]:
        cfg = self.config
        envs = SyncVectorEnv([partial(self._make_env) for _ in range(cfg.num_envs)])
        try:
            space = envs.action_space
            if not isinstance(space, gym.spaces.Box):
                raise ValueError(f"task {cfg.task!r} needs a Box action space, got {space}")
            obs_dim = int(np.prod(envs.observation_space.shape))
            algorithm = self.algorithm_factory(
                cfg.algo, obs_dim, space.low, space.high, cfg.num_envs, dict(cfg.algo_config),
                cfg.seed,
            )  # fmt: skip
        except BaseException:
            envs.close()
            raise
        return envs, algorithm

    def _warm_start(self, algorithm: Algorithm) -> None:
        source = load_checkpoint(self.config.init_from)
        if not hasattr(algorithm, "warm_start_from"):
            raise ValueError(f"algorithm {algorithm.name!r} cannot warm-start (init_from)")
        if source.get("task") != self.config.task:
            raise ValueError(
                f"init_from {self.config.init_from} was trained on task {source.get('task')!r}, "
                f"not {self.config.task!r}"
            )
        algorithm.warm_start_from(source["algorithm_state"])

    def _open_run_dir(self, algorithm: Algorithm) -> RunSession:
        cfg = self.config
        if self.resume:
            _, counters = restore_run(cfg.run_dir, cfg, algorithm)
            if counters.env_steps >= cfg.total_steps:
                raise ValueError(
                    f"run {cfg.run_dir} already has {counters.env_steps} env steps; "
                    f"raise --steps above that to continue"
                )
            paths = RunPaths(Path(cfg.run_dir))
        else:
            if cfg.init_from:
                self._warm_start(algorithm)
            root = Path(cfg.run_dir) if cfg.run_dir else default_run_dir(cfg)
            if root.exists() and any(root.iterdir()):
                raise ValueError(
                    f"run folder {root} already exists and is not empty; "
                    f"use --resume {root} or another --run-dir"
                )
            root.mkdir(parents=True, exist_ok=True)
            cfg.run_dir = os.fspath(root)
            counters = None
            paths = RunPaths(root)
        atomic_write_yaml(paths.config, cfg.to_dict())
        return RunSession(cfg, paths, counters, tensorboard=self.tensorboard)

    # --- training ------------------------------------------------------------------------
    def _evaluate(self, algorithm: Algorithm, env: gym.Env, session: RunSession) -> EvalResult:
        start = time.perf_counter()
        seed = self.config.seed + EVAL_SEED_OFFSET
        result = evaluate(algorithm.policy, env, self.config.eval_episodes, seed)
        session.exclude_time(time.perf_counter() - start)
        return result

    def train(self) -> dict[str, Any]:
        """Run until ``total_steps`` env steps; returns a summary (run_dir, steps, eval)."""
        cfg = self.config
        threads_before = torch.get_num_threads()
        # set before anything runs torch; process-wide, so put back when the run ends
        torch.set_num_threads(cfg.num_threads)
        try:
            return self._train()
        finally:
            torch.set_num_threads(threads_before)

    def _train(self) -> dict[str, Any]:
        cfg = self.config
        seed_everything(cfg.seed)
        envs, algorithm = self._build()
        eval_env: gym.Env | None = None
        session: RunSession | None = None
        try:
            session = self._open_run_dir(algorithm)
            eval_env = self._make_env()
            self._loop(envs, eval_env, algorithm, session)
        except KeyboardInterrupt:
            if session is not None:  # keep the work done so far; the loop state is consistent
                session.save(algorithm)
            raise
        finally:
            envs.close()
            if eval_env is not None:
                eval_env.close()
            if session is not None:
                session.close()
        last = session.last_eval
        return {
            "run_dir": cfg.run_dir,
            "env_steps": session.counters.env_steps,
            "episodes": session.counters.episodes,
            "steps_per_s": session.steps_per_s,
            "eval_return_mean": last.mean if last else float("nan"),
            "eval_return_std": last.std if last else float("nan"),
        }

    def _loop(
        self, envs: SyncVectorEnv, eval_env: gym.Env, algorithm: Algorithm, session: RunSession
    ) -> None:
        cfg, counters = self.config, session.counters
        start = counters.env_steps
        # a resumed run cannot continue the envs' episodes: reset them from a fresh seed
        obs = envs.reset(seed=cfg.seed + _RESUME_SEED_STRIDE * (start > 0) + start)
        check_finite("observation", obs, start)
        if start == 0:
            session.write_row(self._evaluate(algorithm, eval_env, session))
        next_eval = _next_multiple(start, cfg.eval_every)
        next_checkpoint = _next_multiple(start, cfg.checkpoint_every)
        bar = tqdm(
            total=cfg.total_steps, initial=start, unit="step", disable=not self.progress,
            dynamic_ncols=True, desc=f"{cfg.algo} {cfg.task}",
        )  # fmt: skip
        with bar:
            while counters.env_steps < cfg.total_steps:
                out = algorithm.act(obs)
                check_finite("action", out.action, counters.env_steps)
                step = envs.step(out.action)
                check_finite("observation", step.next_obs, counters.env_steps)
                check_finite("reward", step.reward, counters.env_steps)
                algorithm.record(
                    obs, out, step.reward, step.terminated, step.truncated, step.next_obs
                )
                obs = step.obs
                session.add_steps(envs.num_envs, step.episode_return)
                bar.update(envs.num_envs)
                if not algorithm.ready():
                    continue
                session.add_update(algorithm.update())
                done = counters.env_steps >= cfg.total_steps
                evaluation = None
                if done or counters.env_steps >= next_eval:
                    evaluation = self._evaluate(algorithm, eval_env, session)
                    next_eval = _next_multiple(counters.env_steps, cfg.eval_every)
                    bar.set_postfix(eval_return=f"{evaluation.mean:.2f}")
                if evaluation or done or session.steps_since_row() >= cfg.log_every:
                    session.write_row(evaluation)
                if not done and counters.env_steps >= next_checkpoint:
                    session.save(algorithm)
                    next_checkpoint = _next_multiple(counters.env_steps, cfg.checkpoint_every)
        if session.steps_since_row() > 0 or session.last_eval is None:
            # the budget ended between updates: still record the final policy's performance
            session.write_row(self._evaluate(algorithm, eval_env, session))
        session.save(algorithm)


def _next_multiple(step: int, every: int) -> int:
    """The first multiple of ``every`` above ``step`` (never, when ``every`` is 0)."""
    if every <= 0:
        return np.iinfo(np.int64).max
    return (step // every + 1) * every
