"""Vector envs stepped in worker processes, with the results of :class:`SyncVectorEnv`.

The envs are cut into contiguous shares; the calling process steps the first share itself
(``inline``, the default: it would only wait otherwise, and each step then needs one wake-up
fewer) and each worker process one other share. Every share is a
:class:`~rl_control.envs.vector.SyncVectorEnv`, so stepping, clipping, same-step auto-reset and
episode bookkeeping are that class's own code, and env ``i`` is reset with ``seed + i`` exactly
as in one process: a run gives the same numbers with ``vector: sync`` and ``vector: async``
(only the wall time differs). Workers start through ``forkserver`` (safe beside torch's
threads; ``spawn`` where there is none), so the env factories must be picklable
(module-level functions, partials).
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import pickle
import traceback
from collections.abc import Callable, Sequence
from multiprocessing.connection import Connection
from typing import Any

import gymnasium as gym
import numpy as np

from rl_control.envs.vector import SyncVectorEnv, VectorStep, check_actions

#: modules the fork server imports once, so each worker starts without re-importing them
_PRELOAD = ["rl_control.envs.registration", "rl_control.envs.vector"]


def _context() -> mp.context.BaseContext:
    if "forkserver" in mp.get_all_start_methods():
        ctx = mp.get_context("forkserver")
        ctx.set_forkserver_preload(_PRELOAD)
        return ctx
    return mp.get_context("spawn")


def _worker(conn: Connection, env_fns: Sequence[Callable[[], gym.Env]]) -> None:
    """Serve ``(command, argument)`` requests on ``conn`` until ``close``; an error goes back
    as ``("error", (type, message, traceback))`` for the parent to raise, naming the worker."""
    envs = None
    try:
        envs = SyncVectorEnv(env_fns)
        conn.send(("ok", (envs.observation_space, envs.action_space)))
        while True:
            command, arg = conn.recv()
            if command == "reset":
                conn.send(("ok", envs.reset(seed=arg)))
            elif command == "step":
                conn.send(("ok", envs.step(arg)))
            elif command == "close":
                break
            else:
                raise ValueError(f"unknown command {command!r}")
    except KeyboardInterrupt:
        pass  # the parent handles Ctrl-C and closes the workers
    except BaseException as exc:
        conn.send(("error", (type(exc), str(exc), traceback.format_exc())))
    finally:
        if envs is not None:
            envs.close()
        conn.close()


def split(n: int, workers: int) -> list[range]:
    """Contiguous, near-equal shares of ``range(n)`` over ``workers`` (the first get more)."""
    if not 1 <= workers <= n:
        raise ValueError(f"vector workers must be between 1 and the number of envs ({n}), "
                         f"got {workers}")  # fmt: skip
    size, extra = divmod(n, workers)
    starts = [k * size + min(k, extra) for k in range(workers + 1)]
    return [range(starts[k], starts[k + 1]) for k in range(workers)]


class AsyncVectorEnv:
    """``len(env_fns)`` envs over ``workers`` worker processes; SyncVectorEnv's interface.

    ``inline``: this process steps one more share itself (``workers + 1`` shares), else every
    share is a worker's. A step sends every worker its actions before stepping the inline
    share and reading the replies, so all shares simulate at the same time.
    """

    def __init__(
        self, env_fns: Sequence[Callable[[], gym.Env]], workers: int, inline: bool = True
    ) -> None:
        if not env_fns:
            raise ValueError("AsyncVectorEnv needs at least one env")
        self.num_envs = len(env_fns)
        self.shares = split(self.num_envs, workers + int(inline))
        ctx = _context()
        self._local: SyncVectorEnv | None = None
        self._conns: list[Connection] = []
        self._procs: list[Any] = []
        remote = self.shares[1:] if inline else self.shares
        try:
            for k, share in enumerate(remote):
                fns = [env_fns[i] for i in share]
                _check_picklable(fns)
                parent, child = ctx.Pipe()
                proc = ctx.Process(
                    target=_worker, args=(child, fns), name=f"vector-env-{k}", daemon=True
                )
                proc.start()
                child.close()
                self._conns.append(parent)
                self._procs.append(proc)
            if inline:
                self._local = SyncVectorEnv([env_fns[i] for i in self.shares[0]])
            spaces = self._gather()
        except BaseException:
            self.close()
            raise
        if self._local is not None:
            spaces = [(self._local.observation_space, self._local.action_space)]
        self.observation_space, self.action_space = spaces[0]

    def _remote_shares(self) -> list[range]:
        return self.shares[1:] if self._local is not None else self.shares

    def _gather(self) -> list[Any]:
        """Each worker's reply, in worker order. Every reply is read before the first
        worker's error is raised, so no stale reply is left in a pipe."""
        replies, errors = [], []
        for k, conn in enumerate(self._conns):
            try:
                status, value = conn.recv()
            except EOFError:
                self._procs[k].join(timeout=5)
                errors.append(RuntimeError(
                    f"vector env worker {k} died (exit code {self._procs[k].exitcode}; its "
                    "traceback is on stderr; a script that starts async vector envs needs "
                    "the `if __name__ == '__main__':` guard)"
                ))  # fmt: skip
                continue
            if status == "error":
                errors.append(_remote_error(k, *value))
            replies.append(value)
        if errors:
            raise errors[0]
        return replies

    def _local_then_gather(self, call: Callable[[SyncVectorEnv], Any]) -> list[Any]:
        """``call`` on the inline share (if any) while the workers run, then their replies."""
        try:
            local = [] if self._local is None else [call(self._local)]
        except BaseException:
            with contextlib.suppress(Exception):  # the inline share's error is the one to see
                self._gather()  # read the workers' replies to this request first
            raise
        return local + self._gather()

    def reset(self, seed: int | None = None) -> np.ndarray:
        """Reset all envs; env i is seeded with ``seed + i`` when a seed is given."""
        for share, conn in zip(self._remote_shares(), self._conns, strict=True):
            conn.send(("reset", None if seed is None else seed + share.start))
        return np.concatenate(self._local_then_gather(lambda envs: envs.reset(seed)))

    def step(self, actions: np.ndarray) -> VectorStep:
        actions = check_actions(actions, self.num_envs)
        for share, conn in zip(self._remote_shares(), self._conns, strict=True):
            conn.send(("step", actions[share.start : share.stop]))
        inline = actions[: self.shares[0].stop]
        parts = self._local_then_gather(lambda envs: envs.step(inline))
        joined = {
            name: np.concatenate([getattr(p, name) for p in parts])
            for name in ("obs", "reward", "terminated", "truncated", "next_obs",
                         "episode_return", "episode_length")
        }  # fmt: skip
        return VectorStep(infos=[info for p in parts for info in p.infos], **joined)

    def close(self) -> None:
        if self._local is not None:
            self._local.close()
            self._local = None
        for conn in self._conns:
            try:
                conn.send(("close", None))
            except (BrokenPipeError, OSError):
                pass  # that worker is gone already
        for proc in self._procs:
            proc.join(timeout=5)
            if proc.is_alive():
                proc.terminate()
                proc.join()
        for conn in self._conns:
            conn.close()
        self._conns, self._procs = [], []


def _remote_error(worker: int, kind: type, message: str, trace: str) -> BaseException:
    """The worker's exception, same type where it takes one message (ValueError for bad
    params stays one clear line), with the worker's traceback as its cause."""
    text = f"vector env worker {worker}: {message}"
    try:
        error = kind(text) if issubclass(kind, Exception) else RuntimeError(text)
    except Exception:
        error = RuntimeError(f"{text} ({kind.__name__})")
    error.__cause__ = RuntimeError(f"traceback in the worker:\n{trace}")
    return error


def _check_picklable(env_fns: Sequence[Callable[[], gym.Env]]) -> None:
    try:
        pickle.dumps(env_fns)
    except (pickle.PicklingError, AttributeError, TypeError) as exc:
        raise ValueError(
            f"vector: async needs picklable env factories (module-level functions or "
            f"functools.partial of them): {exc}"
        ) from None


def make_vector_env(
    env_fns: Sequence[Callable[[], gym.Env]], mode: str = "sync", workers: int = 0
) -> SyncVectorEnv | AsyncVectorEnv:
    """``mode`` ``sync`` (this process) or ``async`` (``workers`` worker processes beside
    this one, which steps a share too; 0 = enough for one share per env, at most one share
    per core)."""
    if mode == "sync":
        return SyncVectorEnv(env_fns)
    if mode == "async":
        workers = workers or min(len(env_fns), mp.cpu_count()) - 1
        return AsyncVectorEnv(env_fns, workers)
    raise ValueError(f"config key 'vector' must be 'sync' or 'async', got {mode!r}")
