"""DMD-MPC with the outer policy as shift model (M-DeMoRL paper, eqs. 9-14, Algorithm 1).

For a batch of start states x_{t,0} [B, D], :meth:`DMDMPCPlanner.plan` simulates M particles
per start for H steps through a learned model, each step drawing u_{t,h} around the outer
policy's action at the particle's own state (eqs. 10-12; μ̃_{t,h} = π_θ(x_{t,h})). Costs are
C = −Σ_h γ^h r_h − γ^H V(x_H). The shift μ̃_t is the particles' mean of π_θ(x_{t,h}) (the
expectation parameter of the shifted distribution), g_t the elite mean (eqs. 13-14), and
μ_t = (1 − α) μ̃_t + α g_t (eq. 9). :meth:`rollout` plays μ_t open loop through the model
(Algorithm 1, line 14). Rows whose predictions go non-finite or explode are masked, never
propagated: their particles cannot be elites, and a rollout with one is reported invalid.
Planning runs under ``torch.inference_mode`` (its results are data, never differentiated):
less per-op bookkeeping than ``no_grad``, the same numbers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from rl_control.mpc.sampling import ELITE_WEIGHTINGS, dmd_step, elite_mean, num_elites

#: (obs [N, D], unit action [N, A]) -> (next_obs [N, D], reward [N], invalid [N] bool)
ModelStep = Callable[[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor, torch.Tensor]]
#: obs [N, D] -> (mean unit action [N, A], sampled unit action [N, A])
ShiftPolicy = Callable[[torch.Tensor], tuple[torch.Tensor, torch.Tensor]]
#: obs [N, D] -> value [N] or terminated [N] (bool)
StateFunction = Callable[[torch.Tensor], torch.Tensor]


@dataclass
class Plan:
    """One DMD-MPC step for B starts: μ_t, the shift μ̃_t, particle costs, failed starts."""

    mu: torch.Tensor  # [B, H, A]
    shift: torch.Tensor  # [B, H, A]
    costs: torch.Tensor  # [B, M], +inf for particles with invalid predictions
    failed: torch.Tensor  # [B] bool: no valid particle, μ_t = μ̃_t


@dataclass
class Rollout:
    """Transitions of μ_t played through the model: [B, H, ...] plus validity masks."""

    obs: torch.Tensor
    actions: torch.Tensor
    rewards: torch.Tensor
    next_obs: torch.Tensor
    terminated: torch.Tensor  # [B, H] float
    alive: torch.Tensor  # [B, H] bool: not after a termination
    invalid: torch.Tensor  # [B] bool: some prediction before termination was invalid


class DMDMPCPlanner:
    """Shifted sampling, elite selection and the DMD step over a learned model."""

    def __init__(
        self,
        model_step: ModelStep,
        policy: ShiftPolicy,
        terminal_value: StateFunction | None = None,
        terminated: StateFunction | None = None,
        num_samples: int = 100,
        elite_fraction: float = 0.1,
        alpha: float = 0.5,
        gamma: float = 0.99,
        weighting: str = "return",
    ) -> None:
        num_elites(num_samples, elite_fraction)  # validates
        if weighting not in ELITE_WEIGHTINGS:
            raise ValueError(f"weighting must be one of {ELITE_WEIGHTINGS}, got {weighting!r}")
        dmd_step(torch.zeros(()), torch.zeros(()), alpha)  # validates alpha
        self.model_step, self.policy = model_step, policy
        self.terminal_value, self.terminated = terminal_value, terminated
        self.num_samples, self.elite_fraction = int(num_samples), float(elite_fraction)
        self.alpha, self.gamma, self.weighting = float(alpha), float(gamma), weighting

    def _step(
        self, obs: torch.Tensor, act: torch.Tensor, alive: torch.Tensor, bad: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """Model step with masking: bad rows keep their state and earn nothing."""
        nxt, rew, invalid = self.model_step(obs, act)
        bad = bad | (invalid & alive)
        nxt = torch.where(bad[:, None], obs, nxt)
        rew = rew.masked_fill(bad | ~alive, 0.0)
        term = (
            self.terminated(nxt) & ~bad if self.terminated is not None
            else torch.zeros_like(alive)
        )  # fmt: skip
        return nxt, rew, alive & ~term, bad

    @torch.inference_mode()
    def plan(self, x0: torch.Tensor, horizon: int) -> Plan:
        """μ_t [B, H, A] for start states ``x0`` [B, D] (eqs. 10-14 and 9)."""
        if horizon < 1:
            raise ValueError(f"horizon must be >= 1, got {horizon}")
        b, m = len(x0), self.num_samples
        obs = x0.repeat_interleave(m, 0)  # particle j of start i at row i*M + j
        alive = torch.ones(b * m, dtype=torch.bool)
        bad = torch.zeros(b * m, dtype=torch.bool)
        ret = torch.zeros(b * m, dtype=x0.dtype)
        means, samples = [], []
        discount = 1.0
        for _ in range(horizon):
            mean, u = self.policy(obs)
            means.append(mean)
            samples.append(u)
            obs, rew, alive, bad = self._step(obs, u, alive, bad)
            ret = ret + discount * rew
            discount *= self.gamma
        if self.terminal_value is not None:
            value = self.terminal_value(obs)
            ret = ret + discount * torch.where(alive & ~bad, value, torch.zeros_like(value))
        costs = torch.where(bad, torch.full_like(ret, torch.inf), -ret).reshape(b, m)
        act_dim = samples[0].shape[-1]
        seq = torch.stack(samples, 1).reshape(b, m, horizon, act_dim)
        failed = bad.reshape(b, m).all(1)
        # μ̃ over the valid particles (all of them where none is valid)
        good = (~bad.reshape(b, m) | failed[:, None]).reshape(b, m, 1, 1).to(x0.dtype)
        shift_rows = torch.stack(means, 1).reshape(b, m, horizon, act_dim)
        shift = (shift_rows * good).sum(1) / good.sum(1)
        g = elite_mean(seq, costs, self.elite_fraction, self.weighting)  # inf costs weigh 0
        # a start without one valid particle has no gradient estimate: keep the shift
        mu = torch.where(failed[:, None, None], shift, dmd_step(shift, g, self.alpha))
        return Plan(mu, shift, costs, failed)

    @torch.inference_mode()
    def rollout(self, x0: torch.Tensor, mu: torch.Tensor) -> Rollout:
        """Play μ_t [B, H, A] open loop from ``x0`` through the model (Algorithm 1, line 14)."""
        b, horizon = mu.shape[:2]
        obs = x0
        alive = torch.ones(b, dtype=torch.bool)
        bad = torch.zeros(b, dtype=torch.bool)
        rows: dict[str, list[torch.Tensor]] = {k: [] for k in ("obs", "rew", "next", "term",
                                                               "alive")}  # fmt: skip
        for h in range(horizon):
            rows["obs"].append(obs)
            rows["alive"].append(alive)
            nxt, rew, still, bad = self._step(obs, mu[:, h], alive, bad)
            rows["next"].append(nxt)
            rows["rew"].append(rew)
            rows["term"].append((alive & ~still).to(x0.dtype))
            obs, alive = nxt, still
        st = {k: torch.stack(v, 1) for k, v in rows.items()}
        return Rollout(st["obs"], mu, st["rew"], st["next"], st["term"], st["alive"], bad)
