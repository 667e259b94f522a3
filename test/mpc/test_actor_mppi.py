"""ActorMixedMPPI (rl_control/mpc/actor_mppi.py): the public code's behaviour planner."""

import pytest
import torch

from rl_control.mpc.actor_mppi import ActorMixedMPPI
from rl_control.mpc.dmd_mpc import DMDMPCPlanner


def _integrator(target: float):
    """x' = x + u, reward −(x' − target)²: the best first action moves x to the target."""

    def step(obs, u):
        nxt = obs + u
        return nxt, -((nxt[:, 0] - target) ** 2), torch.zeros(len(obs), dtype=torch.bool)

    return step


def _planner(target: float, actor_u: float = 0.0) -> DMDMPCPlanner:
    def policy(obs):
        u = torch.full((len(obs), 1), actor_u)
        return u, u

    return DMDMPCPlanner(_integrator(target), policy)


def _mppi(planner, **kw) -> ActorMixedMPPI:
    q = lambda obs, u: -((obs[:, 0] + u[:, 0] - 0.6) ** 2)  # noqa: E731
    return ActorMixedMPPI(planner, q, 1, generator=torch.Generator().manual_seed(0), **kw)


def test_finds_the_action_that_reaches_the_target_and_warm_starts():
    mppi = _mppi(_planner(0.6), kappa=20.0)
    u = mppi.act(torch.zeros(2, 1), deterministic=True)
    torch.testing.assert_close(u, torch.full((2, 1), 0.6), atol=0.1, rtol=0)
    assert mppi.warm is not None and mppi.warm.shape == (2, 3, 1)
    mppi.reset([1])
    assert mppi.warm[1].abs().max() == 0 and mppi.warm[0].abs().max() > 0


def test_actor_proposals_enter_the_population():
    # the actor proposes exactly the optimum; with sharp weights the mean follows it
    planner = _planner(0.6, actor_u=0.6)
    with_actor = _mppi(planner, kappa=200.0, actor_fraction=0.05, iterations=1)
    seqs = with_actor.actor_sequences(torch.zeros(1, 1))
    assert seqs.shape == (1, 5, 3, 1) and torch.all(seqs == 0.6)
    assert _mppi(planner, actor_fraction=0.0).num_actor == 0


def test_invalid_predictions_weigh_nothing():
    def step(obs, u):
        nxt, rew, _ = _integrator(0.6)(obs, u)
        return nxt, rew, u[:, 0] > 0  # every positive action "explodes"

    planner = DMDMPCPlanner(step, lambda o: (torch.zeros(len(o), 1),) * 2)
    u = _mppi(planner, kappa=20.0).act(torch.zeros(1, 1), deterministic=True)
    assert u.item() <= 0.0


def test_bad_arguments_raise():
    with pytest.raises(ValueError, match="horizon"):
        _mppi(_planner(0.0), horizon=0)
    with pytest.raises(ValueError, match="kappa"):
        _mppi(_planner(0.0), kappa=0.0)
