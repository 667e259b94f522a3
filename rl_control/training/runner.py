"""In-process training: vectorised gymnasium envs feeding an :class:`Algorithm`.

The loop is the one collection loop of the project::

    out = algorithm.act(obs) -> envs.step(out.action) -> algorithm.record(...)
    if algorithm.ready(): algorithm.update()

with periodic deterministic evaluation, metrics rows and atomic checkpoints handled by a
:class:`~rl_control.training.session.RunSession`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from tqdm import tqdm

from rl_control.algorithms.base import Algorithm
from rl_control.algorithms.spec import AlgorithmSpec
from rl_control.envs.subproc import AsyncVectorEnv, make_vector_env
from rl_control.envs.vector import SyncVectorEnv
from rl_control.training.checkpoint import load_checkpoint
from rl_control.training.config import TrainConfig
from rl_control.training.evaluation import EVAL_SEED_OFFSET, EvalResult, evaluate
from rl_control.training.io import RunPaths
from rl_control.training.rng import get_rng_state, seed_everything
from rl_control.training.session import RunSession, open_run_folder

EnvFactory = Callable[..., gym.Env]  # make_env(task, seed=None, **params)
AlgorithmFactory = Callable[..., Algorithm]  # make_algorithm(name, spec, config, seed)
VectorEnv = SyncVectorEnv | AsyncVectorEnv
#: seeds of the training envs after resuming a checkpoint without an action history
_RESUME_SEED_STRIDE = 1_000_003


def check_finite(name: str, values: np.ndarray, env_steps: int) -> None:
    """Raise a one-line ValueError if ``values`` holds NaN or inf."""
    if not np.all(np.isfinite(values)):
        bad = np.argwhere(~np.isfinite(np.asarray(values, dtype=np.float64)))[0].tolist()
        raise ValueError(f"non-finite {name} at env step {env_steps} (first at index {bad})")


class Runner:
    """Trains ``config.algo`` on ``config.task`` and writes the run folder.

    ``resume=True`` continues the run in ``config.run_dir`` from its checkpoint (step count,
    counters, RNG state, algorithm state); ``force`` also when its settings differ. A new run
    fills in ``config.run_dir`` when unset (the rule: ``session.open_run_folder``).
    The factories default to the project registries; tests and benchmarks may pass their own.
    ``on_eval(env_steps, result)`` sees every evaluation (an exception it raises ends the run).
    """

    def __init__(
        self,
        config: TrainConfig,
        resume: bool = False,
        progress: bool = False,
        tensorboard: bool = True,
        env_factory: EnvFactory | None = None,
        algorithm_factory: AlgorithmFactory | None = None,
        force: bool = False,
        on_eval: Callable[[int, EvalResult], None] | None = None,
    ) -> None:
        # with the project registries, names are checked before any env (PyBullet) starts
        if env_factory is None:
            from rl_control.algorithms.registry import algorithm_task_facts
            from rl_control.envs.registration import make_env as env_factory
            from rl_control.tasks.registry import require_task_facts

            needs = algorithm_task_facts(config.algo)
            require_task_facts(config.task, needs, f"algorithm {config.algo!r}")
        if algorithm_factory is None:
            from rl_control.algorithms.registry import algorithm_names
            from rl_control.algorithms.registry import make_algorithm as algorithm_factory

            if config.algo not in algorithm_names():
                raise ValueError(f"unknown algorithm {config.algo!r}; known: {algorithm_names()}")
        if resume and not config.run_dir:
            raise ValueError("resume needs the run folder (config.run_dir)")
        self.config, self.resume, self.progress = config, resume, progress
        self.tensorboard, self.force = tensorboard, force
        self._history = ActionHistory()
        self._boundary: _Boundary | None = None
        self.env_factory, self.algorithm_factory = env_factory, algorithm_factory
        self.on_eval = on_eval

    # --- set-up --------------------------------------------------------------------------
    def _make_env(self, seed: int | None = None) -> gym.Env:
        return self.env_factory(self.config.task, seed=seed, **self.config.env)

    def _build(self) -> tuple[VectorEnv, Algorithm]:
        cfg = self.config
        # a partial of the factory itself (not of this Runner): async workers pickle it
        make = partial(self.env_factory, cfg.task, **cfg.env)
        envs = make_vector_env([make] * cfg.num_envs, cfg.vector, cfg.vector_workers)
        try:
            space = envs.action_space
            if not isinstance(space, gym.spaces.Box):
                raise ValueError(f"task {cfg.task!r} needs a Box action space, got {space}")
            spec = AlgorithmSpec.from_spaces(
                envs.observation_space, space, cfg.num_envs, task=_task_facts(cfg)
            )
            algorithm = self.algorithm_factory(cfg.algo, spec, dict(cfg.algo_config), cfg.seed)
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
        if not self.resume and cfg.init_from:
            self._warm_start(algorithm)
        _, checkpoint = open_run_folder(cfg, algorithm, self.resume, self.force)
        if self.resume and checkpoint is None:
            raise ValueError(f"no checkpoint in run folder {cfg.run_dir}: nothing to resume")
        counters, pending = None, None
        if checkpoint is not None:
            counters = RunSession.counters_from_checkpoint(checkpoint)
            pending = checkpoint.get("pending_row")
            self._history = ActionHistory(checkpoint.get("env_actions"))
        paths = RunPaths(Path(cfg.run_dir))
        return RunSession(cfg, paths, counters, tensorboard=self.tensorboard, pending=pending)

    def _reset_envs(self, envs: VectorEnv, start: int) -> np.ndarray:
        """Observations to act on: a new run resets the envs from the seed; a resumed one
        resets them the same way and replays the run's actions, so its episodes go on
        exactly where they were (envs are deterministic under a seed and the actions)."""
        cfg, actions = self.config, self._history.array()
        if start > 0 and (
            len(actions) * envs.num_envs != start or actions.shape[1] != envs.num_envs
        ):
            # no usable action history (e.g. num_envs changed): fresh episodes from a new seed
            self._history = ActionHistory()
            return envs.reset(seed=cfg.seed + _RESUME_SEED_STRIDE + start)
        obs = envs.reset(seed=cfg.seed)
        for action in actions:
            obs = envs.step(action).obs
        return obs

    def _mark_boundary(self, algorithm: Algorithm, session: RunSession) -> None:
        """Remember the state after the last completed update (on-policy only: its learner
        changes nothing between updates but the sampling generator and the rollout)."""
        if algorithm.on_policy:
            state, rng = algorithm.state_dict(), get_rng_state()
            self._boundary = _Boundary(state, rng, session.snapshot(), len(self._history))

    def _save_interrupted(self, algorithm: Algorithm, session: RunSession) -> None:
        """Checkpoint after an interrupt. On-policy: as of the last completed update, so the
        rollout in flight is neither lost nor counted: a resumed run collects it again, the
        same (same generators, envs replayed), and equals an uninterrupted run."""
        b = self._boundary
        if b is None:
            session.save(algorithm, {"env_actions": self._history.array()})
            return
        algorithm.load_state_dict(b.algorithm_state)
        session.rewind(b.session)
        session.save(algorithm, {"env_actions": self._history.array(b.actions)}, rng=b.rng)

    # --- training ------------------------------------------------------------------------
    def _evaluate(self, algorithm: Algorithm, env: gym.Env, session: RunSession) -> EvalResult:
        start = time.perf_counter()
        seed = self.config.seed + EVAL_SEED_OFFSET
        result = evaluate(algorithm.policy, env, self.config.eval_episodes, seed)
        session.exclude_time(time.perf_counter() - start)
        if self.on_eval is not None:  # e.g. a tune's pruner, which may stop the run here
            self.on_eval(session.counters.env_steps, result)
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
            if session is not None:  # keep the work done so far
                self._save_interrupted(algorithm, session)
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
        self, envs: VectorEnv, eval_env: gym.Env, algorithm: Algorithm, session: RunSession
    ) -> None:
        cfg, counters = self.config, session.counters
        start = counters.env_steps
        obs = self._reset_envs(envs, start)
        check_finite("observation", obs, start)
        self._mark_boundary(algorithm, session)
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
                self._history.append(out.action)
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
                    session.save(algorithm, {"env_actions": self._history.array()})
                    next_checkpoint = _next_multiple(counters.env_steps, cfg.checkpoint_every)
                self._mark_boundary(algorithm, session)
        if session.steps_since_row() > 0 or session.last_eval is None:
            # the budget ended between updates: still record the final policy's performance
            session.write_row(self._evaluate(algorithm, eval_env, session))
        self._boundary = None  # the run is complete: the final state is what to keep
        session.save(algorithm, {"env_actions": self._history.array()})


@dataclass
class _Boundary:
    """A run as of the end of its last completed update (see Runner._save_interrupted)."""

    algorithm_state: dict[str, Any]
    rng: dict[str, Any]
    session: dict[str, Any]
    actions: int  # vectorised steps of the action history


class ActionHistory:
    """Every action batch given to the envs since their seeded reset, in a growing array;
    checkpoints keep it so a resumed run can replay the envs to where they were."""

    def __init__(self, actions: np.ndarray | None = None) -> None:
        self._data = np.zeros((0, 0, 0)) if actions is None else np.array(actions)
        self._n = len(self._data)

    def __len__(self) -> int:
        return self._n

    def append(self, action: np.ndarray) -> None:
        action = np.asarray(action)
        if self._n == len(self._data):  # grow by doubling: amortised O(1) appends
            if self._n == 0:
                self._data = np.zeros((1024, *action.shape), action.dtype)
            else:
                self._data = np.concatenate([self._data, np.zeros_like(self._data)])
        self._data[self._n] = action
        self._n += 1

    def array(self, n: int | None = None) -> np.ndarray:
        """A copy of the first ``n`` (default all) action batches."""
        return self._data[: self._n if n is None else n].copy()


def _task_facts(config: TrainConfig) -> Any:
    """The rl_control task behind ``config.task`` (None for a plain gymnasium id)."""
    from rl_control.tasks.registry import TASKS, make_task

    return make_task(config.task, config.env) if config.task in TASKS else None


def _next_multiple(step: int, every: int) -> int:
    """The first multiple of ``every`` above ``step`` (never, when ``every`` is 0)."""
    if every <= 0:
        return np.iinfo(np.int64).max
    return (step // every + 1) * every
