"""Batches of LCS-MPC solves (with optional dμ/dθ), serially or on a pool of worker processes.

Each worker process builds its own :class:`LCSMPC` once (CasADi functions are not shared
between processes); batches are split into contiguous chunks, one per worker.
"""

from __future__ import annotations

import multiprocessing as mp
import os
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from rl_control.mpc.lcs_mpc import LCSMPC, MPCSettings

#: per-worker-process solver, set by the pool initializer (lives only in worker processes)
_WORKER_SOLVER: dict[str, LCSMPC] = {}


@dataclass
class BatchResult:
    """Per-sample results of a batch of solves."""

    mean: np.ndarray  # [B, n_a] a₀* (fallback value where ``ok`` is False)
    jac: np.ndarray | None  # [B, n_a, n_theta] dμ/dθ (zero where not ok), if requested
    y: np.ndarray  # [B, n_y] primal-dual solutions, for warm starts
    ok: np.ndarray  # [B] solve succeeded
    iterations: np.ndarray  # [B]
    solve_time: np.ndarray  # [B] seconds


def solve_chunk(
    mpc: LCSMPC, theta: np.ndarray, obs: np.ndarray, warm: np.ndarray | None, grad: bool
) -> tuple[np.ndarray, ...]:
    """Solve every row of ``obs``; failed rows keep a zero action and zero gradient."""
    n = len(obs)
    mean, y = np.zeros((n, mpc.n_a)), np.zeros((n, mpc.n_y))
    jac = np.zeros((n, mpc.n_a, mpc.n_theta)) if grad else np.zeros((0,))
    ok, iters, times = np.zeros(n, bool), np.zeros(n, np.int64), np.zeros(n)
    for i in range(n):
        start = None if warm is None or not np.all(np.isfinite(warm[i])) else warm[i]
        sol = mpc.solve(obs[i], theta, start)
        y[i], ok[i], iters[i], times[i] = sol.y, sol.success, sol.iterations, sol.solve_time
        if sol.success:
            mean[i] = mpc.first_action(sol.y)
            if grad:
                jac[i] = mpc.action_gradient(sol.y, obs[i], theta)
    return mean, jac, y, ok, iters, times


def _init_worker(dims: tuple[int, int, int], settings: dict[str, Any]) -> None:
    os.environ["OMP_NUM_THREADS"] = "1"
    _WORKER_SOLVER["mpc"] = LCSMPC(*dims, MPCSettings(**settings))


def _worker_solve(args: tuple[Any, ...]) -> tuple[np.ndarray, ...]:
    return solve_chunk(_WORKER_SOLVER["mpc"], *args)


class BatchMPCSolver:
    """Solve LCS-MPC problems for many states; ``workers > 1`` uses a process pool."""

    def __init__(self, n_x: int, n_a: int, n_l: int, settings: MPCSettings, workers: int = 1):
        if workers < 1:
            raise ValueError(f"workers must be >= 1, got {workers}")
        self.mpc = LCSMPC(n_x, n_a, n_l, settings)
        self.workers = int(workers)
        self._dims, self._settings = (n_x, n_a, n_l), asdict(settings)
        self._pool: Any = None

    def solve(
        self,
        theta: np.ndarray,
        obs: np.ndarray,
        warm: np.ndarray | None = None,
        grad: bool = False,
    ) -> BatchResult:
        """Solve for every row of ``obs`` [B, n_x] at parameters ``theta``."""
        theta = np.asarray(theta, dtype=np.float64)
        obs = np.asarray(obs, dtype=np.float64)
        if obs.ndim != 2 or obs.shape[1] != self.mpc.n_x:
            raise ValueError(f"MPC observations must be [B, {self.mpc.n_x}], got {obs.shape}")
        if self.workers == 1 or len(obs) < 2 * self.workers:
            parts = [solve_chunk(self.mpc, theta, obs, warm, grad)]
        else:
            if self._pool is None:
                ctx = mp.get_context("spawn")  # fork after torch/CasADi init is not safe
                self._pool = ctx.Pool(self.workers, _init_worker, (self._dims, self._settings))
            bounds = np.linspace(0, len(obs), self.workers + 1).astype(int)
            jobs = [
                (theta, obs[a:b], None if warm is None else warm[a:b], grad)
                for a, b in zip(bounds[:-1], bounds[1:], strict=True)
            ]
            parts = self._pool.map(_worker_solve, jobs)
        mean, jac, y, ok, iters, times = (np.concatenate(p) for p in zip(*parts, strict=True))
        return BatchResult(mean, jac if grad else None, y, ok, iters, times)

    def close(self) -> None:
        """Stop the worker pool (if any)."""
        if self._pool is not None:
            self._pool.terminate()
            self._pool = None

    def __del__(self) -> None:
        self.close()
