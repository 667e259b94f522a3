"""MBPO (Janner et al. 2019) on the model-based SAC pieces: branched rollouts from D_ENV.

Every ``model_train_freq`` env steps the ensemble is refit on D_ENV and ``rollout_batch_size``
states drawn uniformly from D_ENV are rolled k steps through it with the actor (a random elite
per row and step), k from ``rollout_schedule``; the rollouts fill the model buffer (a FIFO of
``model_buffer_size``; MBPO keeps one epoch's worth). SAC then trains on batches of
``real_ratio`` real and the rest model data, ``gradient_steps`` (20) updates per env step.
A rollout stops at a termination or at a non-finite/exploding prediction; the latter's row
is dropped and the cut rollouts are counted.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import torch

from rl_control.algorithms.config import require
from rl_control.algorithms.model_based import (
    ModelBasedSAC,
    ModelConfig,
    check_schedule,
    linear_schedule,
)
from rl_control.algorithms.registry import register_algorithm
from rl_control.algorithms.spec import AlgorithmSpec


@dataclass
class MBPOConfig(ModelConfig):
    """``sac``: SACConfig keys (``gradient_steps`` defaults to MBPO's 20 here)."""

    sac: dict[str, Any] = field(default_factory=dict)
    real_ratio: float = 0.05
    rollout_schedule: list[int] = field(default_factory=lambda: [20000, 100000, 1, 15])
    rollout_batch_size: int = 100000  # starts per refit
    rollout_chunk: int = 10000  # starts rolled together (memory)
    model_buffer_size: int = 400000  # one epoch of k = 1 rollouts (MBPO resizes with k)
    member_mode: str = "random"
    exact_reward: bool = True

    def __post_init__(self) -> None:
        self.check_model()
        require(0 <= self.real_ratio <= 1, f"real_ratio must be in [0, 1], got {self.real_ratio}")
        check_schedule("rollout_schedule", self.rollout_schedule, 1)
        require(self.rollout_batch_size >= 1 and self.rollout_chunk >= 1,
                "rollout_batch_size and rollout_chunk must be >= 1")  # fmt: skip
        require(self.model_buffer_size >= 1, "model_buffer_size must be >= 1")
        require(isinstance(self.sac, Mapping), "sac must be a mapping of SAC config keys")
        self.sac = {"gradient_steps": 20, **self.sac}


class MBPO(ModelBasedSAC):
    """Model-based policy optimisation: SAC on real and short branched model rollouts."""

    name = "mbpo"
    config_cls = MBPOConfig
    config: MBPOConfig

    @classmethod
    def build(
        cls, spec: AlgorithmSpec, config: Mapping[str, Any] | MBPOConfig, seed: int = 0
    ) -> MBPO:
        cfg = cls.make_config(config)
        parts = cls.build_parts(spec, cfg, seed, cfg.real_ratio, cfg.model_buffer_size)
        return cls(spec, cfg, *parts, seed)

    @torch.no_grad()
    def imagine(self) -> dict[str, float]:
        """k-step rollouts of the actor through the model from D_ENV starts."""
        cfg = self.config
        k = linear_schedule(self.sac.num_timesteps, cfg.rollout_schedule)
        terminated = self.terminated_fn()
        added = cut = 0
        for first in range(0, cfg.rollout_batch_size, cfg.rollout_chunk):
            n = min(cfg.rollout_chunk, cfg.rollout_batch_size - first)
            obs = self.real.sample(n, self.generator)["obs"]
            alive = torch.ones(n, dtype=torch.bool)
            for _ in range(k):
                _, u = self.actor_actions(obs)
                nxt, rew, invalid = self.model_step(obs, u)
                keep = alive & ~invalid
                cut += int((alive & invalid).sum())
                term = terminated(nxt) & keep if terminated is not None else torch.zeros_like(keep)
                if keep.any():
                    self.imagined.add(
                        obs[keep].numpy(), u[keep].numpy(), rew[keep].numpy(),
                        nxt[keep].numpy(), term[keep].float().numpy(),
                    )  # fmt: skip
                    added += int(keep.sum())
                alive = keep & ~term
                if not alive.any():
                    break
                obs = torch.where(alive[:, None], nxt, obs)
        self.dropped_rollouts += cut
        return {
            "rollout_length": float(k),
            "model_transitions": float(added),
            "model_dropped_rollouts": float(cut),
            "model_exact_reward": float(self.uses_exact_reward()),
        }


register_algorithm("mbpo", MBPO.build)
