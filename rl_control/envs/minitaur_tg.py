"""The Minitaur driven through its trajectory generator: :mod:`rl_control.tasks.minitaur_tg`.

Same robot, physics and reward as :class:`~rl_control.envs.minitaur.MinitaurEnv`; the action
is a leg-space residual (plus, with PMTG, frequency and amplitude) on the 2 Hz trotting
reference, and the observation appends (sin φ, cos φ) of the generator's phase.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from rl_control.envs.minitaur import MinitaurEnv
from rl_control.tasks import minitaur_tg as tg
from rl_control.tasks.minitaur_tg import MinitaurTGParams


class MinitaurTGEnv(MinitaurEnv):
    """Leg-space residuals in, 30-D observation out; ``info["motor_targets"]`` per step."""

    params_cls = MinitaurTGParams
    params: MinitaurTGParams

    def __init__(
        self,
        params: MinitaurTGParams | None = None,
        render_mode: str | None = None,
        **overrides: Any,
    ) -> None:
        super().__init__(params, render_mode, **overrides)
        low, high = tg.action_bounds(self.params)
        self.action_space = gym.spaces.Box(
            low.astype(np.float32), high.astype(np.float32), dtype=np.float32
        )
        self.observation_space = gym.spaces.Box(-np.inf, np.inf, (tg.OBS_DIM,), np.float32)
        self.phase = 0.0

    def _with_phase(self, obs: np.ndarray) -> np.ndarray:
        phase = np.array([np.sin(self.phase), np.cos(self.phase)], dtype=np.float32)
        return np.concatenate([obs, phase])

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        obs, info = super().reset(seed=seed, options=options)
        self.phase = 0.0
        return self._with_phase(obs), info

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        a = np.asarray(action, dtype=np.float64).reshape(-1)
        if a.shape != self.action_space.shape:
            raise ValueError(
                f"Minitaur TG action must have {self.action_space.shape[0]} entries "
                f"(leg-space residuals{' and modulation' * self.params.modulate}), got {a.shape}"
            )
        if not np.isfinite(a).all():
            raise ValueError(f"non-finite action: {a.tolist()}")
        a = a.clip(self.action_space.low, self.action_space.high)
        targets = tg.motor_targets(a, self.phase, self.params)
        obs, reward, terminated, truncated, info = self.step_motors(targets)
        p = self.params  # PMTG integrates its frequency; else the phase is the episode clock's
        if p.modulate:
            self.phase = float(tg.next_phase(self.phase, a, p))
        else:  # the rule the graph's estimate applies to its episode time
            self.phase = float(tg.clock_phase(self._steps * p.control_dt, p))
        info["motor_targets"] = targets.clip(self.motor_low, self.motor_high)
        return self._with_phase(obs), reward, terminated, truncated, info
