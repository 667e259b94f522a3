"""One-step function-optimisation tasks (GI-PPO, Son et al., Table 1): De Jong and Ackley.

The action is the point x (clipped to ±bound per dimension, as the env applies it), the
reward is f(x), every episode lasts one step, and the observation is a constant 0. The
functions are pure and batched over leading axes, numpy or torch, so the env and the
differentiable step (∂r/∂a by torch autograd, :func:`differentiable_step`) share one
definition. Ids: ``dejong_1``, ``dejong_64``, ``ackley_1``, ``ackley_64``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from rl_control.tasks.base import StateLayout, TaskDefinition

if TYPE_CHECKING:  # torch is imported only where a tensor is handed in (nodes stay light)
    import torch

LAYOUT = StateLayout((("phase", 1),))
DEJONG_BOUND = 5.12
ACKLEY_BOUND = 32.768
ACKLEY_A, ACKLEY_B, ACKLEY_C = 20.0, 0.2, 2.0 * math.pi


def _lib(x: Any) -> Any:
    if isinstance(x, np.ndarray | np.generic | float | int):
        return np
    import torch

    return torch


def dejong(x: Any) -> Any:
    """f(x) = −Σ x² (maximum 0 at the origin)."""
    return -(x * x).sum(-1)


def ackley(x: Any) -> Any:
    """f(x) = −(−a·exp(−b·sqrt(mean x²)) − exp(mean cos(c x)) + a + e), maximum 0 at 0.

    sqrt is taken of mean x² + 1e-24 so the gradient stays finite at the origin (a shift
    of 1e-12 in the norm: far below every figure reported).
    """
    lib = _lib(x)
    norm = lib.sqrt((x * x).mean(-1) + 1e-24)
    waves = lib.cos(ACKLEY_C * x).mean(-1)
    return ACKLEY_A * lib.exp(-ACKLEY_B * norm) + lib.exp(waves) - ACKLEY_A - math.e


FUNCTIONS: dict[str, tuple[Callable[[Any], Any], float]] = {
    "dejong": (dejong, DEJONG_BOUND),
    "ackley": (ackley, ACKLEY_BOUND),
}


@dataclass(frozen=True)
class FunctionOptParams:
    """Which function, in how many dimensions (each task id fixes its own defaults)."""

    function: str = "dejong"
    dim: int = 1

    def __post_init__(self) -> None:
        if self.function not in FUNCTIONS:
            raise ValueError(f"function must be one of {sorted(FUNCTIONS)}, got {self.function!r}")
        if int(self.dim) < 1:
            raise ValueError(f"dim must be >= 1, got {self.dim}")


def bound(p: FunctionOptParams) -> float:
    return FUNCTIONS[p.function][1]


def clip_action(action: Any, p: FunctionOptParams) -> Any:
    """The point the env evaluates: the action clipped to ±bound (gradient 0 outside)."""
    b = bound(p)
    if isinstance(action, np.ndarray | np.generic | float | int):
        return np.clip(action, -b, b)
    return action.clamp(-b, b)


def reward(action: Any, p: FunctionOptParams) -> Any:
    """r = f(clip(a)), batched over leading axes."""
    return FUNCTIONS[p.function][0](clip_action(action, p))


def differentiable_step(
    state: torch.Tensor, action: torch.Tensor, p: FunctionOptParams
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(next state, reward, terminated) in torch, differentiable in the action."""
    import torch

    r = reward(action, p)
    return torch.zeros_like(state), r, torch.ones_like(r, dtype=torch.bool)


@dataclass(frozen=True)
class Dejong1Params(FunctionOptParams):
    function: str = "dejong"
    dim: int = 1


@dataclass(frozen=True)
class Dejong64Params(FunctionOptParams):
    function: str = "dejong"
    dim: int = 64


@dataclass(frozen=True)
class Ackley1Params(FunctionOptParams):
    function: str = "ackley"
    dim: int = 1


@dataclass(frozen=True)
class Ackley64Params(FunctionOptParams):
    function: str = "ackley"
    dim: int = 64


PARAMS = {"dejong_1": Dejong1Params, "dejong_64": Dejong64Params,
          "ackley_1": Ackley1Params, "ackley_64": Ackley64Params}  # fmt: skip


def terminated(state: Any, p: FunctionOptParams) -> Any:
    """Every episode ends after its one step."""
    if isinstance(state, np.ndarray) and state.ndim == 1:
        return True
    return _lib(state).ones_like(state[..., 0], dtype=bool)


def _definition(name: str, params_cls: type) -> TaskDefinition:
    return TaskDefinition(
        name=name,
        params_cls=params_cls,
        layout=LAYOUT,
        joint_names=(),
        env_id=f"rl_control/FunctionOpt-{params_cls.__name__[:-6]}-v0",
        entry_point=f"rl_control.envs.function_opt:{params_cls.__name__[:-6]}Env",
        action_bounds=lambda p: (np.full(p.dim, -bound(p)), np.full(p.dim, bound(p))),
        dt=lambda p: 1.0,
        max_steps=lambda p: 1,
        observation=lambda s, p: s,
        reward=lambda s, a, s2, p: reward(a, p),
        terminated=terminated,
        sample_initial_state=lambda rng, p: np.zeros(1),
        differentiable=lambda p: lambda s, a: differentiable_step(s, a, p),
    )


DEFINITIONS = tuple(_definition(name, cls) for name, cls in PARAMS.items())
