"""The behaviour planner of the public M-DeMoRL code (UtkarshMishra04/DMD-MPC-RL,
``controllers/demorl.py``), composed from the DMD-MPC planner's model rollout and MPPI weights.

At every env step, for each env: a warm-started mean sequence (the previous solution shifted
by one step, its last action repeated) and a per-step variance starting at (range)²/16 = 0.25
in unit space; ``iterations`` times, ``num_samples`` open-loop sequences ~ N(mean, var)
(variance capped by the squared half-distance to the bounds, then clipped to [-1, 1]; the
public code draws from a normal truncated at ±2σ) plus ``round(actor_fraction · M)`` sequences
of the deterministic actor played closed loop through the model; each sequence is rolled out by
``particles`` particles and scored by the mean over particles of Σ_{h<H−1} r_h + Q(x_{H−1},
u_{H−1}) (undiscounted, as the public code); weights w = softmax(κ · return) (MPPI with
temperature 1/κ), mean = Σ w U, var ← blend · var + (1 − blend) · Σ w (U − mean)². Deterministic:
the final mean's first action; else (training) a sequence drawn by w, as the public code does.
Sequences with an invalid (non-finite/exploding) prediction weigh nothing; if every sequence of
an env is invalid its mean stays the warm start.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from rl_control.mpc.dmd_mpc import DMDMPCPlanner
from rl_control.mpc.sampling import gaussian_sequences, mppi_weights

#: (obs [N, D], unit action [N, A]) -> Q [N]
QFunction = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


class ActorMixedMPPI:
    """MPPI over open-loop sequences mixed with actor proposals; chooses env actions."""

    def __init__(
        self,
        planner: DMDMPCPlanner,
        q_function: QFunction,
        act_dim: int,
        horizon: int = 3,
        num_samples: int = 100,
        actor_fraction: float = 0.05,
        iterations: int = 5,
        kappa: float = 1.0,
        var_blend: float = 0.1,
        particles: int = 4,
        generator: torch.Generator | None = None,
    ) -> None:
        if horizon < 1 or num_samples < 1 or iterations < 1 or particles < 1:
            raise ValueError("horizon, num_samples, iterations and particles must be >= 1")
        if not 0 <= actor_fraction < 1 or not kappa > 0 or not 0 <= var_blend <= 1:
            raise ValueError("need 0 <= actor_fraction < 1, kappa > 0, 0 <= var_blend <= 1")
        self.planner, self.q_function, self.act_dim = planner, q_function, act_dim
        self.horizon, self.num_samples, self.iterations = horizon, num_samples, iterations
        self.num_actor = int(round(actor_fraction * num_samples))
        self.kappa, self.var_blend, self.particles = kappa, var_blend, particles
        self.generator = generator
        self.warm: torch.Tensor | None = None  # [B, H, A] previous solutions
        self.failed: torch.Tensor | None = None  # [B] bool: last act had no valid sequence

    def reset(self, env_ids: np.ndarray | None = None) -> None:
        """Forget the warm start (of ``env_ids``, or of all envs)."""
        if self.warm is None or env_ids is None:
            self.warm = None
        else:
            self.warm[torch.as_tensor(env_ids, dtype=torch.long)] = 0.0

    def actor_sequences(self, x0: torch.Tensor) -> torch.Tensor:
        """[B, k, H, A]: the deterministic actor played closed loop through the model."""
        b, k = len(x0), self.num_actor
        obs, acts = x0.repeat_interleave(k, 0), []
        for _ in range(self.horizon):
            u, _ = self.planner.policy(obs)
            acts.append(u)
            nxt, _, invalid = self.planner.model_step(obs, u)
            obs = torch.where(invalid[:, None], obs, nxt)
        return torch.stack(acts, 1).reshape(b, k, self.horizon, self.act_dim)

    def returns(self, x0: torch.Tensor, seqs: torch.Tensor) -> torch.Tensor:
        """[B, N] mean particle return Σ_{h<H−1} r_h + Q(x_{H−1}, u_{H−1}); −inf if invalid."""
        b, n, h, a = seqs.shape
        p = self.particles
        flat = seqs.repeat_interleave(p, 1).reshape(b * n * p, h, a)
        x = x0.repeat_interleave(n * p, 0)
        ret = torch.zeros(len(flat), dtype=x0.dtype)
        alive = torch.ones(len(flat), dtype=torch.bool)
        invalid = torch.zeros(len(flat), dtype=torch.bool)
        if h > 1:
            roll = self.planner.rollout(x, flat[:, :-1])
            ret, x = roll.rewards.sum(1), roll.next_obs[:, -1]
            alive, invalid = roll.alive[:, -1] & (roll.terminated[:, -1] == 0), roll.invalid
        q = self.q_function(x, flat[:, -1])
        ret = ret + torch.where(alive, q, torch.zeros_like(q))
        ret = torch.where(invalid, torch.full_like(ret, -torch.inf), ret)
        return ret.reshape(b, n, p).mean(-1)

    @torch.no_grad()
    def act(self, x0: torch.Tensor, deterministic: bool = False) -> torch.Tensor:
        """Unit actions [B, A] for observations ``x0`` [B, D]."""
        b, h, a = len(x0), self.horizon, self.act_dim
        if self.warm is None or len(self.warm) != b:
            self.warm = torch.zeros(b, h, a, dtype=x0.dtype)
        mean = torch.cat([self.warm[:, 1:], self.warm[:, -1:]], 1)
        var = torch.full_like(mean, 0.25)
        actor = self.actor_sequences(x0) if self.num_actor else mean.new_zeros(b, 0, h, a)
        for _ in range(self.iterations):
            cap = torch.minimum((mean + 1).square(), (1 - mean).square()) / 4
            std = torch.minimum(cap, var).sqrt()
            seqs = gaussian_sequences(mean, std, self.num_samples, -1.0, 1.0, self.generator)
            seqs = torch.cat([seqs, actor], 1)
            costs = -self.returns(x0, seqs)
            ok = torch.isfinite(costs).any(-1)
            w = mppi_weights(torch.where(ok[:, None], costs, 0.0), 1.0 / self.kappa)
            new = (w[..., None, None] * seqs).sum(1)
            new_var = (w[..., None, None] * (seqs - new[:, None]).square()).sum(1)
            mean = torch.where(ok[:, None, None], new, mean)
            var = torch.where(ok[:, None, None], self.var_blend * var + (1 - self.var_blend)
                              * new_var, var)  # fmt: skip
        if not deterministic:
            pick = torch.multinomial(w, 1, generator=self.generator)[:, 0]
            drawn = seqs[torch.arange(b), pick]
            mean = torch.where(ok[:, None, None], drawn, mean)
        self.warm, self.failed = mean, ~ok
        return mean[:, 0]
