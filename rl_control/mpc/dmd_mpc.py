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

Speed (bench/dmd_mpc_plan.py): per-op overhead, not arithmetic, was half a plan's time, and
most ops were the task's exact reward and termination, evaluated step by step. Neither feeds
back into the states, so the H steps only roll the states forward (actor, model, freezing
rows whose prediction is invalid); ``reward`` (when given, replacing the model's) and
``terminated`` then run once on all H·N transitions, and the masks follow in closed form: a
row's first event decides, an invalid prediction (bad from then on) or a termination (no
reward after it). Same numbers as the step-by-step loop, up to one difference that weighs
nothing: a row whose *reward* is invalid keeps being stepped instead of being frozen.
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
#: (obs [N, D], unit action [N, A], next_obs [N, D]) -> (reward [N], invalid [N] bool)
RewardStep = Callable[
    [torch.Tensor, torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]
]


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
    """Shifted sampling, elite selection and the DMD step over a learned model.

    ``model_step``'s invalid mask covers what it predicts; with ``reward`` given, its reward
    is ignored and its mask need only cover the states (:func:`~rl_control.mpc.dmd_parts.
    ensemble_step` with ``check_reward=False``).
    """

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
        reward: RewardStep | None = None,
    ) -> None:
        num_elites(num_samples, elite_fraction)  # validates
        if weighting not in ELITE_WEIGHTINGS:
            raise ValueError(f"weighting must be one of {ELITE_WEIGHTINGS}, got {weighting!r}")
        dmd_step(torch.zeros(()), torch.zeros(()), alpha)  # validates alpha
        self.model_step, self.policy, self.reward = model_step, policy, reward
        self.terminal_value, self.terminated = terminal_value, terminated
        self.num_samples, self.elite_fraction = int(num_samples), float(elite_fraction)
        self.alpha, self.gamma, self.weighting = float(alpha), float(gamma), weighting

    def _simulate(
        self, x0: torch.Tensor, actions: torch.Tensor | None, horizon: int
    ) -> tuple[torch.Tensor, ...]:
        """Roll [N] rows H steps: the given unit ``actions`` [N, H, A], or the shift policy's
        samples. Returns [H, N, ...] obs, actions, policy means (None with ``actions``),
        next_obs, rewards (masked: 0 once dead or invalid), terminated, alive before each
        step (bool), and [N] bad (an invalid prediction while alive) and alive at the end."""
        obs, frozen = x0, torch.zeros(len(x0), dtype=torch.bool)
        rows: dict[str, list[torch.Tensor]] = {k: [] for k in ("obs", "u", "mean", "next",
                                                               "rew", "inv")}  # fmt: skip
        for h in range(horizon):
            if actions is None:
                mean, u = self.policy(obs)
                rows["mean"].append(mean)
            else:
                u = actions[:, h]
            nxt, rew, invalid = self.model_step(obs, u)
            frozen = frozen | invalid  # an invalid row keeps its state: nothing propagates
            nxt = torch.where(frozen[:, None], obs, nxt)
            for key, value in (("obs", obs), ("u", u), ("next", nxt), ("rew", rew),
                               ("inv", invalid)):  # fmt: skip
                rows[key].append(value)
            obs = nxt
        obs_h, u_h, next_h = (torch.stack(rows[k]) for k in ("obs", "u", "next"))
        inv = torch.stack(rows["inv"])
        if self.reward is not None:  # one call over all H·N transitions
            flat = [t.flatten(0, 1) for t in (obs_h, u_h, next_h)]
            rew_flat, rew_inv = self.reward(*flat)
            rew, inv = rew_flat.reshape(inv.shape), inv | rew_inv.reshape(inv.shape)
        else:
            rew = torch.stack(rows["rew"])
        if self.terminated is not None:
            term = self.terminated(next_h.flatten(0, 1)).reshape(inv.shape).to(torch.bool)
        else:
            term = torch.zeros_like(inv)
        # a row's first event decides: invalid (bad from then on) or terminated (dead after)
        event = inv | term
        before = (event.cumsum(0) - event.to(torch.long)) == 0  # no event before step h
        term = term & ~inv & before
        alive = (term.cumsum(0) - term.to(torch.long)) == 0
        bad = (inv & before).any(0)
        rew = rew.masked_fill(~(before & ~inv), 0.0)
        means = torch.stack(rows["mean"]) if rows["mean"] else None
        end_alive = before[-1] & ~event[-1]
        return obs_h, u_h, means, next_h, rew, term, alive, bad, end_alive

    @torch.inference_mode()
    def plan(self, x0: torch.Tensor, horizon: int) -> Plan:
        """μ_t [B, H, A] for start states ``x0`` [B, D] (eqs. 10-14 and 9)."""
        if horizon < 1:
            raise ValueError(f"horizon must be >= 1, got {horizon}")
        b, m = len(x0), self.num_samples
        obs = x0.repeat_interleave(m, 0)  # particle j of start i at row i*M + j
        _, u, means, last, rew, _, _, bad, alive = self._simulate(obs, None, horizon)
        assert means is not None
        discounts = self.gamma ** torch.arange(horizon, dtype=x0.dtype)
        ret = discounts @ rew
        if self.terminal_value is not None:
            value = self.terminal_value(last[-1])
            ret = ret + self.gamma**horizon * torch.where(alive & ~bad, value, 0.0)
        costs = torch.where(bad, torch.inf, -ret).reshape(b, m)
        act_dim = u.shape[-1]
        seq = u.transpose(0, 1).reshape(b, m, horizon, act_dim)
        failed = bad.reshape(b, m).all(1)
        # μ̃ over the valid particles (all of them where none is valid)
        good = (~bad.reshape(b, m) | failed[:, None]).reshape(b, m, 1, 1).to(x0.dtype)
        shift_rows = means.transpose(0, 1).reshape(b, m, horizon, act_dim)
        shift = (shift_rows * good).sum(1) / good.sum(1)
        g = elite_mean(seq, costs, self.elite_fraction, self.weighting)  # inf costs weigh 0
        # a start without one valid particle has no gradient estimate: keep the shift
        mu = torch.where(failed[:, None, None], shift, dmd_step(shift, g, self.alpha))
        return Plan(mu, shift, costs, failed)

    @torch.inference_mode()
    def rollout(self, x0: torch.Tensor, mu: torch.Tensor) -> Rollout:
        """Play μ_t [B, H, A] open loop from ``x0`` through the model (Algorithm 1, line 14)."""
        obs, _, _, nxt, rew, term, alive, bad, _ = self._simulate(x0, mu, mu.shape[1])
        t = lambda v: v.transpose(0, 1)  # noqa: E731 ([H, B, ...] -> [B, H, ...])
        return Rollout(t(obs), mu, t(rew), t(nxt), t(term).to(x0.dtype), t(alive), bad)
