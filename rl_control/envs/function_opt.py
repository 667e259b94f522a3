"""The function-optimisation tasks of :mod:`rl_control.tasks.function_opt` as gymnasium envs.

One step per episode: the action is the point, the reward f(clip(a)), the observation a
constant 0. No physics engine: the env is the task's reward function and nothing else.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from rl_control.tasks import function_opt as task
from rl_control.tasks.params import override_params


class FunctionOptEnv(gym.Env):
    """Maximise f over the box ±bound^dim in one-step episodes."""

    metadata = {"render_modes": []}
    params_cls: type[task.FunctionOptParams] = task.FunctionOptParams

    def __init__(self, params: task.FunctionOptParams | None = None, **overrides: Any) -> None:
        self.params = override_params(params or self.params_cls(), overrides)
        b = task.bound(self.params)
        self.action_space = gym.spaces.Box(-b, b, (self.params.dim,), np.float32)
        self.observation_space = gym.spaces.Box(-1.0, 1.0, (1,), np.float32)

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        return np.zeros(1, dtype=np.float32), {}

    def step(self, action: np.ndarray) -> tuple[np.ndarray, float, bool, bool, dict]:
        a = np.asarray(action, dtype=np.float64).reshape(self.params.dim)
        if not np.isfinite(a).all():
            raise ValueError("non-finite action passed to the function-optimisation env")
        r = float(task.reward(a, self.params))
        return np.zeros(1, dtype=np.float32), r, True, False, {}


class Dejong1Env(FunctionOptEnv):
    params_cls = task.Dejong1Params


class Dejong64Env(FunctionOptEnv):
    params_cls = task.Dejong64Params


class Ackley1Env(FunctionOptEnv):
    params_cls = task.Ackley1Params


class Ackley64Env(FunctionOptEnv):
    params_cls = task.Ackley64Params
