"""What produced a GPS sample: iLQR guiding controllers and frozen policy snapshots, each with
``sample`` and ``log_prob`` in the policy's unit action space, and the trajectory store.

Guiding distributions act in env units (N(g(x_t), −Q_uu⁻¹)); their unit-space density is the
env-space one times the action scaling's Jacobian, so π_θ / π_G ratios compare like with like.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from rl_control.models.actor_critic import GaussianActorCritic
from rl_control.mpc.ilqr import LinearGaussianController

#: (observations [N, obs], nominal states [N, state]) -> states [N, state]
StateOf = Callable[[np.ndarray, np.ndarray], np.ndarray]


class GuideSampler:
    """π_G of one iLQR solution, in unit action space u = (a − center) / half_range."""

    kind = "guide"

    def __init__(self, controller: LinearGaussianController, center: np.ndarray,
                 half_range: np.ndarray, to_state: StateOf | None = None) -> None:  # fmt: skip
        """``to_state(obs, nominal)``: observations -> the states the law acts on (None: the
        observation is the state)."""
        self.controller, self.to_state = controller, to_state
        self.center, self.half = np.asarray(center), np.asarray(half_range)
        self._log_jac = float(np.log(self.half).sum())

    def _state(self, t: np.ndarray, x: np.ndarray) -> np.ndarray:
        if self.to_state is None:
            return x
        c = self.controller
        return self.to_state(x, c.x[np.minimum(np.asarray(t, dtype=np.int64), c.horizon - 1)])

    def sample(self, t: np.ndarray, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        return (self.controller.sample(t, self._state(t, x), rng) - self.center) / self.half

    def mean(self, t: np.ndarray, x: np.ndarray) -> np.ndarray:
        return (self.controller.mean(t, self._state(t, x)) - self.center) / self.half

    def log_prob(self, t: np.ndarray, x: np.ndarray, u: np.ndarray) -> np.ndarray:
        a = self.center + self.half * np.asarray(u)
        return self.controller.log_prob(t, self._state(t, x), a) + self._log_jac

    def state(self) -> dict[str, Any]:
        c = self.controller
        return {"kind": self.kind, "x": c.x, "u": c.u, "k": c.k, "K": c.K, "quu": c.quu}


class PolicySampler:
    """A frozen copy of a Gaussian policy (time-invariant)."""

    kind = "policy"

    def __init__(self, policy: GaussianActorCritic) -> None:
        self.policy = copy.deepcopy(policy).requires_grad_(False)

    @torch.no_grad()
    def _dist(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        p = self.policy
        d = p.distribution(p.normalize_obs(torch.as_tensor(x, dtype=torch.float32)))
        return d.mean.double().numpy(), d.log_std.double().expand_as(d.mean).numpy()

    def sample(self, t: np.ndarray, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        mean, log_std = self._dist(x)
        return mean + np.exp(log_std) * rng.standard_normal(mean.shape)

    def mean(self, t: np.ndarray, x: np.ndarray) -> np.ndarray:
        return self._dist(x)[0]

    def log_prob(self, t: np.ndarray, x: np.ndarray, u: np.ndarray) -> np.ndarray:
        mean, log_std = self._dist(x)
        z = (np.asarray(u) - mean) / np.exp(log_std)
        return (-0.5 * z**2 - log_std - 0.5 * np.log(2 * np.pi)).sum(-1)

    def state(self) -> dict[str, Any]:
        return {"kind": self.kind, "policy": self.policy.get_state()}


Sampler = GuideSampler | PolicySampler


def sampler_from_state(state: dict[str, Any], template: GaussianActorCritic, center: np.ndarray,
                       half: np.ndarray, to_state: StateOf | None = None) -> Sampler:  # fmt: skip
    """Rebuild a sampler from :meth:`state` (``template`` gives the policy architecture)."""
    if state["kind"] == "guide":
        c = LinearGaussianController(state["x"], state["u"], state["k"], state["K"], state["quu"])
        return GuideSampler(c, center, half, to_state)
    sampler = PolicySampler(template)
    sampler.policy.set_state(state["policy"])
    return sampler


@dataclass
class TrajectoryStore:
    """Finished trajectories padded to horizon H (mask: steps that happened)."""

    horizon: int
    obs_dim: int
    act_dim: int
    obs: list[np.ndarray] = field(default_factory=list)
    actions: list[np.ndarray] = field(default_factory=list)  # unit space, as sampled
    rewards: list[np.ndarray] = field(default_factory=list)
    lengths: list[int] = field(default_factory=list)
    sources: list[int] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.sources)

    def add(self, obs: list, actions: list, rewards: list, source: int) -> None:
        n, H = len(rewards), self.horizon
        if not 0 < n <= H:
            raise ValueError(f"GPS: a trajectory of {n} steps does not fit the horizon {H}")
        o, a, r = np.zeros((H, self.obs_dim)), np.zeros((H, self.act_dim)), np.zeros(H)
        o[:n], a[:n], r[:n] = obs, actions, rewards
        o[n:] = o[n - 1]  # padding: any finite state (its log-density increments are masked)
        self.obs.append(o)
        self.actions.append(a)
        self.rewards.append(r)
        self.lengths.append(n)
        self.sources.append(int(source))

    def returns(self) -> np.ndarray:
        return np.array([r.sum() for r in self.rewards])

    def batch(self, idx: np.ndarray) -> dict[str, np.ndarray]:
        """Stacked arrays of samples ``idx``: obs [m, H, n_x], actions, rewards, mask [m, H]."""
        lengths = np.asarray(self.lengths)[idx]
        return {
            "obs": np.stack([self.obs[i] for i in idx]),
            "actions": np.stack([self.actions[i] for i in idx]),
            "rewards": np.stack([self.rewards[i] for i in idx]),
            "mask": np.arange(self.horizon)[None] < lengths[:, None],
            "sources": np.asarray(self.sources)[idx],
        }

    def state(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in ("obs", "actions", "rewards", "lengths", "sources")}

    def load(self, state: dict[str, Any]) -> None:
        for key, value in state.items():
            setattr(self, key, list(value))
