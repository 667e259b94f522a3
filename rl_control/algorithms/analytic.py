"""Analytic gradients through a task's differentiable step, shared by RP, LR+RP and GI-PPO.

:class:`AnalyticPPO` is PPO whose update context also holds what a differentiable replay of
the rollout needs: the raw states, the reparameterisation noise ε = (u − μ_θ̄)/σ_θ̄ of every
stored unit-space action (so g_θ̄(s, ε) = u exactly), and the episode ends.
:func:`windowed_advantage` replays the task's ``differentiable_step`` from given start
samples for at most ``window`` steps (Xu et al.'s truncated window), later actions drawn as
g_θ(s, ε) with the stored noise, and returns the truncated GAE
Σ_l (γλ)^l δ_{t+l}, δ = r + γ(1 − term)·V(s') − V(s), differentiable in the first action
and in the actor. With λ = 1 it telescopes to Σ_l γ^l r_{t+l} + γ^H V(s_{t+H}) − V(s_t),
the RP objective; its action gradient at λ = gae_lambda is GI-PPO's ∂A/∂a. For one-step
tasks (every step terminates) both reduce to ∂r/∂a. The critic enters with detached
parameters, so an analytic term never trains V. Replay needs observation = state (true of
every task with a differentiable step here).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch.func import functional_call

from rl_control.algorithms.config import require
from rl_control.algorithms.ppo import PPO, PPOConfig, UpdateContext
from rl_control.algorithms.spec import AlgorithmSpec
from rl_control.models.distributions import DiagGaussian


@dataclass
class AnalyticConfig(PPOConfig):
    """PPO settings plus the length of the differentiable replay window."""

    window: int = 1  # steps back-propagated through the task (truncated window)

    def __post_init__(self) -> None:
        super().__post_init__()
        require(self.window >= 1, f"window must be >= 1, got {self.window}")


@dataclass
class AnalyticContext(UpdateContext):
    """PPO's update context plus the rollout as the replay needs it ([T, N, ...])."""

    states: torch.Tensor  # raw observations (= states)
    eps: torch.Tensor  # reparameterisation noise of the stored actions
    dones: torch.Tensor  # episode ended at step t (termination or truncation)


def reparam_noise(old: DiagGaussian, actions_u: torch.Tensor) -> torch.Tensor:
    """ε with μ + σ·ε = the stored unit-space action, under the behaviour policy."""
    return (actions_u - old.mean) * torch.exp(-old.log_std)


def frozen_value(policy: Any, nobs: torch.Tensor) -> torch.Tensor:
    """V(nobs) with the critic's parameters detached (gradients reach only the input)."""
    params = {k: v.detach() for k, v in policy.value_net.named_parameters()}
    return functional_call(policy.value_net, params, (nobs,)).squeeze(-1)


def windowed_advantage(
    step: Any,
    policy: Any,
    ctx: AnalyticContext,
    start: torch.Tensor,
    u0: torch.Tensor,
    window: int,
    gamma: float,
    lam: float,
) -> torch.Tensor:
    """Truncated GAE of the flat samples ``start`` (time-major t·N + n) taking unit action
    ``u0`` there; see the module docstring. Differentiable in ``u0`` and the actor."""
    T, N = ctx.dones.shape
    t, n = torch.div(start, N, rounding_mode="floor"), start % N
    s = ctx.states[t, n]
    u, total = u0, torch.zeros(len(start))
    alive, coef = torch.ones(len(start)), 1.0
    for lag in range(window):
        s2, r, term = step(s, policy.from_unit(u))
        v = frozen_value(policy, policy.normalize_obs(s))
        v2 = frozen_value(policy, policy.normalize_obs(s2))
        delta = r.float() + gamma * (1.0 - term.float()) * v2 - v
        total = total + coef * alive * delta
        # samples past the rollout's end are already dead: clamp only keeps the index valid
        tl = (t + lag).clamp(max=T - 1)
        alive = alive * (1.0 - ctx.dones[tl, n]) * (t + lag + 1 < T).float()
        coef *= gamma * lam
        if lag + 1 == window or not bool(alive.any()):
            break
        dist = policy.distribution(policy.normalize_obs(s2))
        u = dist.mean + torch.exp(dist.log_std) * ctx.eps[(tl + 1).clamp(max=T - 1), n]
        s = s2
    return total


class AnalyticPPO(PPO):
    """PPO with the task's differentiable step and a replayable rollout in its context."""

    config: AnalyticConfig

    def __init__(self, spec: AlgorithmSpec, *args: Any, **kwargs: Any) -> None:
        task = spec.task
        if task is None or "differentiable" not in task.definition.facts():
            name = getattr(task, "name", "a plain gymnasium env")
            raise ValueError(f"{self.name} needs a task with a differentiable step, got {name}")
        if spec.obs_dim != task.layout.size:  # the replay steps the observations it stored
            raise ValueError(f"{self.name} needs a task that observes its full state; "
                             f"{task.name!r} does not")  # fmt: skip
        super().__init__(spec, *args, **kwargs)
        self.step_fn = task.differentiable_step()

    def begin_update(self, data: dict[str, torch.Tensor]) -> AnalyticContext:
        base = super().begin_update(data)
        assert base.old is not None
        T, N = self.storage.num_steps, self.num_envs
        eps = reparam_noise(base.old, data["actions"])
        data["index"] = torch.arange(T * N)
        states = torch.stack(self._pending_obs).reshape(T, N, -1)
        dones = self.storage.dones.reshape(T, N).clone()
        return AnalyticContext(data, base.old, states, eps.reshape(T, N, -1), dones)

    def analytic_advantage(
        self, ctx: AnalyticContext, start: torch.Tensor, u0: torch.Tensor, lam: float
    ) -> torch.Tensor:
        """:func:`windowed_advantage` with this algorithm's step, policy and window."""
        cfg = self.config
        return windowed_advantage(
            self.step_fn, self.policy, ctx, start, u0, cfg.window, cfg.gamma, lam
        )

    def reparam_actions(self, mb: dict[str, torch.Tensor], ctx: AnalyticContext) -> tuple:
        """(g_θ(s, ε) for the minibatch's stored noise, the minibatch distribution)."""
        T, N = ctx.dones.shape
        eps = ctx.eps.reshape(T * N, -1)[mb["index"]]
        dist = self.policy.distribution(mb["obs"])
        return dist.mean + torch.exp(dist.log_std) * eps, dist
