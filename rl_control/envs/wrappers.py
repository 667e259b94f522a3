"""Observation latency, sensor noise and the NaN/inf guard, usable by any env.

:class:`ObservationHistory` is the latency buffer an env fills at its physics rate (so a
latency shorter than a control step is still resolved); :class:`ObservationNoise` and
:class:`FiniteGuard` are gymnasium wrappers. All randomness comes from the wrapped env's
seeded ``np_random``, so a seed fixes the noise too.
"""

from __future__ import annotations

import math
from collections import deque
from typing import Any

import gymnasium as gym
import numpy as np


class ObservationHistory:
    """Timestamped observations; :meth:`delayed` returns the one ``latency`` s old, interpolated.

    Keeps only the samples needed to look ``latency`` back at the given sample period.
    """

    def __init__(self, latency: float, sample_dt: float) -> None:
        if latency < 0 or not math.isfinite(latency):
            raise ValueError(f"latency must be a finite number >= 0, got {latency}")
        if not sample_dt > 0:
            raise ValueError(f"sample_dt must be > 0, got {sample_dt}")
        self.latency = float(latency)
        size = int(math.ceil(latency / sample_dt - 1e-9)) + 2
        self._times: deque[float] = deque(maxlen=size)
        self._obs: deque[np.ndarray] = deque(maxlen=size)

    def clear(self) -> None:
        self._times.clear()
        self._obs.clear()

    def add(self, time: float, obs: np.ndarray) -> None:
        """Record ``obs`` (copied) taken at ``time``; times must increase."""
        if self._times and time <= self._times[-1]:
            raise ValueError(f"observation time {time} is not after {self._times[-1]}")
        self._obs.append(np.array(obs, dtype=np.float64))
        self._times.append(float(time))

    def delayed(self) -> np.ndarray:
        """Observation at (latest time − latency), linearly interpolated between samples.

        Before the first sample the oldest one is returned (the sensor has nothing older).
        """
        if not self._times:
            raise ValueError("ObservationHistory is empty: add an observation first")
        target = self._times[-1] - self.latency
        if self.latency == 0.0 or len(self._times) == 1:
            return self._obs[-1].copy()
        for i in range(len(self._times) - 1, 0, -1):
            t0, t1 = self._times[i - 1], self._times[i]
            if t0 <= target:
                w = min((target - t0) / (t1 - t0), 1.0)
                return (1.0 - w) * self._obs[i - 1] + w * self._obs[i]
        return self._obs[0].copy()


def gaussian_noise(rng: np.random.Generator, obs: np.ndarray, std: np.ndarray) -> np.ndarray:
    """``obs`` plus zero-mean Gaussian noise of per-entry ``std`` (no draw where all std are 0)."""
    if not np.any(std):
        return obs
    return obs + rng.normal(0.0, 1.0, size=obs.shape) * std


class ObservationNoise(gym.ObservationWrapper):
    """Adds Gaussian noise (std scalar or per entry) drawn from the env's seeded generator."""

    def __init__(self, env: gym.Env, std: float | np.ndarray) -> None:
        super().__init__(env)
        shape = env.observation_space.shape
        self.std = np.broadcast_to(np.asarray(std, dtype=np.float64), shape).copy()
        if np.any(self.std < 0) or not np.all(np.isfinite(self.std)):
            raise ValueError(f"noise std must be finite and >= 0, got {std}")

    def observation(self, observation: np.ndarray) -> np.ndarray:
        noisy = gaussian_noise(self.env.unwrapped.np_random, observation, self.std)
        return noisy.astype(self.observation_space.dtype)


class FiniteGuard(gym.Wrapper):
    """Raises ValueError naming the bad value when an action or observation holds NaN/inf."""

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        if not np.all(np.isfinite(np.asarray(action, dtype=np.float64))):
            raise ValueError(f"non-finite action: {np.asarray(action).tolist()}")
        obs, reward, terminated, truncated, info = self.env.step(action)
        if not np.all(np.isfinite(obs)) or not math.isfinite(reward):
            raise ValueError(f"non-finite observation/reward from the env: {obs}, {reward}")
        return obs, reward, terminated, truncated, info

    def reset(self, **kwargs: Any) -> tuple[Any, dict[str, Any]]:
        obs, info = self.env.reset(**kwargs)
        if not np.all(np.isfinite(obs)):
            raise ValueError(f"non-finite observation from reset: {obs}")
        return obs, info
