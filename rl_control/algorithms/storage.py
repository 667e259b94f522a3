"""Rollout storage for on-policy algorithms and the one GAE implementation.

Truncated episodes are bootstrapped when they are recorded (``reward += gamma * V(next_obs)``,
SB3 style) and then marked done like terminations, so GAE needs only one ``dones`` array.
Steps recorded without the acting policy's values (actions from a policy node) store NaN
values and their bootstraps in :attr:`RolloutStorage.deferred_bootstraps`; the algorithm
fills both in with one batched forward before computing returns.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch


def compute_gae(
    rewards: torch.Tensor,
    values: torch.Tensor,
    dones: torch.Tensor,
    last_values: torch.Tensor,
    gamma: float,
    lam: float,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Generalised advantage estimates and returns for [T, N] rollouts.

    ``dones[t]`` marks that step t ended its episode (no bootstrap from step t+1);
    ``last_values`` [N] is V(next observation) after the final step.
    Returns (advantages, returns = advantages + values).
    """
    rewards, values, dones = (
        torch.as_tensor(x, dtype=torch.float32) for x in (rewards, values, dones)
    )
    last_values = torch.as_tensor(last_values, dtype=torch.float32)
    if not rewards.shape == values.shape == dones.shape or rewards.ndim != 2:
        raise ValueError(
            f"GAE needs equal [T, N] rewards/values/dones, got {tuple(rewards.shape)}, "
            f"{tuple(values.shape)}, {tuple(dones.shape)}"
        )
    if last_values.shape != rewards.shape[1:]:
        raise ValueError(
            f"last_values must have shape [N]={rewards.shape[1]}, got {last_values.shape}"
        )
    # the backward recursion runs on numpy views: the same float32 arithmetic in the same
    # order (bit-identical), at a fraction of torch's per-op cost for [N]-sized rows
    r, v, d = (x.detach().contiguous().numpy() for x in (rewards, values, dones))
    advantages = np.zeros_like(r)
    gae = np.zeros_like(v[0])
    next_values = last_values.detach().numpy()
    g, gl = np.float32(gamma), np.float32(gamma * lam)
    for t in reversed(range(r.shape[0])):
        not_done = np.float32(1.0) - d[t]
        delta = r[t] + g * next_values * not_done - v[t]
        gae = delta + gl * not_done * gae
        advantages[t] = gae
        next_values = v[t]
    adv = torch.from_numpy(advantages)
    return adv, adv + values


def minibatches(
    data: dict[str, torch.Tensor], batch_size: int, generator: torch.Generator
) -> Iterator[dict[str, torch.Tensor]]:
    """Shuffled minibatches over the first axis of every tensor in ``data`` (last may be short).

    Tensors of one dtype are gathered together: they are packed side by side once and each
    minibatch is one row gather whose column slices are handed out, instead of one gather per
    key (a dozen small ops per minibatch add up over epochs).
    """
    n = len(next(iter(data.values())))
    perm = torch.randperm(n, generator=generator)
    groups: dict[torch.dtype, list[str]] = {}
    for key, value in data.items():
        groups.setdefault(value.dtype, []).append(key)
    packs = []
    for keys in groups.values():
        cols = [data[k].reshape(n, -1) for k in keys]
        widths = [c.shape[1] for c in cols]
        packed = torch.cat(cols, dim=1) if len(cols) > 1 else cols[0]
        packs.append((keys, widths, packed, [data[k].shape[1:] for k in keys]))
    for start in range(0, n, batch_size):
        idx = perm[start : start + batch_size]
        batch: dict[str, torch.Tensor] = {}
        for keys, widths, packed, shapes in packs:
            rows = packed[idx]
            for key, part, shape in zip(keys, rows.split(widths, dim=1), shapes, strict=True):
                batch[key] = part.reshape(len(idx), *shape)
        yield {k: batch[k] for k in data}


class RolloutStorage:
    """Fixed-size [num_steps, num_envs] buffers of what the acting policy saw and did."""

    def __init__(self, num_steps: int, num_envs: int, obs_dim: int, act_dim: int) -> None:
        if num_steps <= 0 or num_envs <= 0:
            raise ValueError(f"rollout size must be positive, got {num_steps} x {num_envs}")
        self.num_steps, self.num_envs = num_steps, num_envs
        shape = (num_steps, num_envs)
        self.obs = torch.zeros(*shape, obs_dim)
        self.actions = torch.zeros(*shape, act_dim)
        self.log_probs = torch.zeros(shape)
        self.values = torch.zeros(shape)
        self.rewards = torch.zeros(shape)
        self.dones = torch.zeros(shape)
        self.advantages = torch.zeros(shape)
        self.returns = torch.zeros(shape)
        self.last_obs = torch.zeros(num_envs, obs_dim)  # raw next obs after the final step
        self.step = 0
        # (step, env mask, raw next obs) of truncations whose V(next_obs) is still to add
        self.deferred_bootstraps: list[tuple[int, np.ndarray, np.ndarray]] = []
        names = ("obs", "actions", "log_probs", "values", "rewards", "dones", "last_obs")
        self._views = {name: getattr(self, name).numpy() for name in names}

    @property
    def full(self) -> bool:
        return self.step >= self.num_steps

    def add(
        self,
        obs: torch.Tensor | np.ndarray,
        actions: torch.Tensor | np.ndarray,
        log_probs: torch.Tensor | np.ndarray,
        values: torch.Tensor | np.ndarray,
        rewards: torch.Tensor | np.ndarray,
        dones: torch.Tensor | np.ndarray,
        next_obs: torch.Tensor | np.ndarray,
    ) -> None:
        """Store one vectorised step (rewards already include truncation bootstraps)."""
        if self.full:
            raise RuntimeError("rollout storage is full; call update() before recording more")
        # written through numpy views of the buffers: a row copy without torch dispatch
        t, views = self.step, self._views
        for name, value in (
            ("obs", obs), ("actions", actions), ("log_probs", log_probs), ("values", values),
            ("rewards", rewards), ("dones", dones),
        ):  # fmt: skip
            views[name][t] = np.asarray(value)
        views["last_obs"][...] = np.asarray(next_obs)
        self.step += 1

    def compute_returns(self, last_values: torch.Tensor, gamma: float, lam: float) -> None:
        self.advantages, self.returns = compute_gae(
            self.rewards, self.values, self.dones, last_values, gamma, lam
        )

    def flat(self) -> dict[str, torch.Tensor]:
        """All stored steps flattened to [T*N, ...]."""
        n = self.num_steps * self.num_envs
        return {
            "obs": self.obs.reshape(n, -1),
            "actions": self.actions.reshape(n, -1),
            "log_probs": self.log_probs.reshape(n),
            "values": self.values.reshape(n),
            "advantages": self.advantages.reshape(n),
            "returns": self.returns.reshape(n),
        }

    def defer_bootstrap(self, mask: np.ndarray, next_obs: np.ndarray) -> None:
        """The step being added bootstraps the envs of ``mask`` from ``next_obs`` (raw [N,
        obs_dim]) later: ``reward += gamma * V(next_obs)`` before the returns."""
        self.deferred_bootstraps.append((self.step, np.array(mask, bool), np.array(next_obs)))

    def reset(self) -> None:
        self.step = 0
        self.deferred_bootstraps = []
