"""A task's exact reward and termination evaluated on observations (for model rollouts).

Task functions take the task state; learned models predict observations. Where the
observation determines the state, :func:`observed_task` builds the map back: the identity
when the task observes its full state, else an inverse from :data:`STATE_FROM_OBSERVATION`.
Every map is checked by round trip (observation(state(obs)) == obs on random states), so a
wrong one is refused rather than silently scoring rollouts with the wrong reward.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from rl_control.tasks.base import Task


def _two_link_leg_state(obs: torch.Tensor, task: Task) -> torch.Tensor:
    """(q, q̇, t) from (q, q̇, e_p, cos φ, sin φ): t is the phase's time within one period
    (the reward depends on φ only through cos and sin)."""
    t = torch.atan2(obs[..., 7], obs[..., 6]) % (2 * math.pi) * task.params.period / (2 * math.pi)
    return torch.cat([obs[..., :4], t[..., None]], -1)


#: observation -> task state, per task whose observation is not its state (ideally a field of
#: the TaskDefinition; kept here so the tasks need no change)
STATE_FROM_OBSERVATION: dict[str, Callable[[torch.Tensor, Task], torch.Tensor]] = {
    "two_link_leg": _two_link_leg_state,
}


class ObservedTask:
    """Torch reward(obs, env action, next_obs) and terminated(obs) of a :class:`Task`."""

    def __init__(self, task: Task, state_from_obs: Callable[[torch.Tensor], torch.Tensor]):
        self.task, self.state_from_obs = task, state_from_obs

    def reward(self, obs: torch.Tensor, action: torch.Tensor, next_obs: torch.Tensor) -> Any:
        s, s2 = self.state_from_obs(obs), self.state_from_obs(next_obs)
        return torch.as_tensor(self.task.reward(s, action, s2), dtype=obs.dtype)

    def terminated(self, obs: torch.Tensor) -> torch.Tensor:
        return torch.as_tensor(self.task.terminated(self.state_from_obs(obs))).to(torch.bool)


def observed_task(task: Task | None, samples: int = 64, seed: int = 0) -> ObservedTask | None:
    """The task's functions on observations, or None (no task, or no checked inverse)."""
    if task is None:
        return None
    size = task.layout.size
    inverse = STATE_FROM_OBSERVATION.get(task.name)
    if inverse is not None:
        fn: Callable[[torch.Tensor], torch.Tensor] = lambda obs: inverse(obs, task)  # noqa: E731
    elif task.obs_dim == size:
        fn = lambda obs: obs  # noqa: E731
    else:
        return None
    states = torch.as_tensor(np.random.default_rng(seed).normal(size=(samples, size)))
    obs = torch.as_tensor(task.observation(states))
    try:
        back = torch.as_tensor(task.observation(fn(obs)))
    except Exception:  # an inverse that does not fit this task's observation
        return None
    if back.shape != obs.shape or not torch.allclose(back, obs, atol=1e-6):
        return None
    return ObservedTask(task, fn)


#: state fields an observation gives only modulo a period (the 2R leg's time, from its phase)
PERIODIC_FIELDS: dict[str, Callable[[Task], dict[str, float]]] = {
    "two_link_leg": lambda task: {"t": float(task.params.period)},
}


class StateMap:
    """Observations [N, obs] -> task states [N, state] (numpy float64) for controllers that
    act on the state (iLQR laws): the identity when the task observes its full state, else
    the checked inverse of :func:`observed_task`; a periodic field is moved by whole periods
    to lie nearest the ``reference`` states' (a plan's nominal x̄_t) when one is given."""

    def __init__(self, task: Task) -> None:
        self.task = task
        self.identity = task.obs_dim == task.layout.size
        inverse = None if self.identity else observed_task(task)
        if inverse is None and not self.identity:
            raise ValueError(f"task {task.name!r}: its observation does not determine its "
                             "state (no checked inverse in STATE_FROM_OBSERVATION)")  # fmt: skip
        self._inverse = inverse
        periods = PERIODIC_FIELDS.get(task.name, lambda t: {})(task)
        self.periodic = [(task.layout.slice(name), p) for name, p in periods.items()]

    def __call__(self, obs: np.ndarray, reference: np.ndarray | None = None) -> np.ndarray:
        obs = np.asarray(obs, dtype=np.float64)
        if self.identity:
            return obs
        assert self._inverse is not None
        state = self._inverse.state_from_obs(torch.as_tensor(obs)).numpy()
        if reference is not None:
            for where, period in self.periodic:
                gap = state[..., where] - reference[..., where]
                state[..., where] -= period * np.round(gap / period)
        return state
