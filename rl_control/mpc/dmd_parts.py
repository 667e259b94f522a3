"""The DMD-MPC planner's callbacks over M-DeMoRL's pieces, defined once for the algorithm's
inner loop (:mod:`rl_control.algorithms.model_based`) and the ``dmd_mpc`` policy kind.

- :func:`ensemble_step`: one ensemble step from unit actions, the reward from the model or
  from the task's exact function (:class:`ExactReward`), and the invalid-row mask;
- :func:`exact_reward_step`: the exact reward and its invalid mask on a whole batch of
  transitions, as the planner evaluates it once per plan (its ``reward``);
- :func:`actor_shift`: the squashed actor as shift model (eqs. 10-11);
- :func:`critic_value`: V(x) = min(Q1, Q2)(x, tanh(mean π(x))), the terminal value.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch

from rl_control.models.actor_critic import SquashedGaussianActor
from rl_control.models.ensemble import GaussianEnsemble, MemberMode
from rl_control.models.q_networks import TwinQ
from rl_control.mpc.observed_task import ObservedTask

#: (obs [N, D], unit action [N, A], next_obs [N, D]) -> reward [N]
RewardFunction = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]


class ExactReward:
    """The task's reward of a model step, from the unit action mapped to the env's bounds."""

    def __init__(
        self, observed: ObservedTask, action_low: Sequence[float], action_high: Sequence[float]
    ) -> None:
        low, high = (torch.tensor(list(b), dtype=torch.float32) for b in (action_low,
                                                                        action_high))  # fmt: skip
        self.observed, self.scale, self.mid = observed, (high - low) / 2, (high + low) / 2

    def __call__(self, obs: torch.Tensor, u: torch.Tensor, next_obs: torch.Tensor) -> torch.Tensor:
        action = self.mid + self.scale * u.clamp(-1.0, 1.0)
        return self.observed.reward(obs, action, next_obs).to(obs.dtype)


def ensemble_step(
    model: GaussianEnsemble,
    obs: torch.Tensor,
    u: torch.Tensor,
    generator: torch.Generator | None,
    member_mode: MemberMode,
    explode_factor: float,
    exact_reward: RewardFunction | None = None,
    check_reward: bool = True,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(next_obs, reward, invalid) of one sampled ensemble step; ``exact_reward`` replaces the
    model's reward when given (the invalid check sees the reward actually used). Without
    ``check_reward`` the mask covers the states only (the reward is checked elsewhere)."""
    nxt, rew = model.predict(obs, u, generator, member_mode)
    if exact_reward is not None:
        rew = exact_reward(obs, u, nxt)
    return nxt, rew, model.exploding(nxt, rew if check_reward else None, explode_factor)


def exact_reward_step(
    model: GaussianEnsemble, exact_reward: RewardFunction, explode_factor: float
) -> Callable[[torch.Tensor, torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]:
    """(obs, u, next_obs) -> (the exact reward, invalid where it is non-finite or exploding)."""

    def step(
        obs: torch.Tensor, u: torch.Tensor, next_obs: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        rew = exact_reward(obs, u, next_obs)
        return rew, model.reward_exploding(rew, explode_factor)

    return step


def actor_shift(
    actor: SquashedGaussianActor,
    obs: torch.Tensor,
    generator: torch.Generator | None,
    sigma: float | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """(tanh of the actor's mean, a sample) in unit space, noise from ``generator``: from the
    actor itself, or with ``sigma`` N(tanh(mean), sigma²) clipped to [-1, 1]."""
    mean, log_std = actor.mean_log_std(actor.normalize_obs(obs))
    noise = torch.randn(mean.shape, generator=generator)
    centre = torch.tanh(mean)
    if sigma is None:
        return centre, torch.tanh(mean + torch.exp(log_std) * noise)
    return centre, (centre + sigma * noise).clamp(-1.0, 1.0)


def critic_value(actor: SquashedGaussianActor, critic: TwinQ, obs: torch.Tensor) -> torch.Tensor:
    """min(Q1, Q2) at the actor's deterministic action (SAC's pessimistic estimate, without
    the entropy bonus, which scores exploration, not the task)."""
    nobs = actor.normalize_obs(obs)
    mean, _ = actor.mean_log_std(nobs)  # the deterministic action, without its log-prob
    return critic.min_q(nobs, torch.tanh(mean))
