"""The DMD-MPC planner on hand-made models: eq. 9 by hand, masking of invalid predictions."""

import math

import pytest
import torch

from rl_control.mpc.dmd_mpc import DMDMPCPlanner

SAMPLES = torch.tensor([[-1.0], [-0.5], [0.5], [1.0]])  # one action per particle (M=4)


def _policy(obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean 0.2 everywhere; particle j of each start draws SAMPLES[j]."""
    n = len(obs)
    return torch.full((n, 1), 0.2), SAMPLES.repeat(n // 4, 1)


def _integrator(obs: torch.Tensor, u: torch.Tensor):
    """x' = x + u, r = −(x' − 0.5)²; NaN once x' exceeds 1.5."""
    nxt = obs + u
    bad = nxt[:, 0] > 1.5
    nxt = torch.where(bad[:, None], torch.full_like(nxt, math.nan), nxt)
    return nxt, -((nxt[:, 0] - 0.5) ** 2), ~torch.isfinite(nxt).all(-1)


def _planner(**kw) -> DMDMPCPlanner:
    base = dict(num_samples=4, elite_fraction=0.5, alpha=0.5, gamma=1.0, weighting="uniform")
    return DMDMPCPlanner(_integrator, _policy, **{**base, **kw})


def test_one_step_plan_is_eq_9_by_hand():
    # from x0 = 0 the four particles earn −2.25, −1, 0, −0.25: elites u = 0.5 and u = 1
    plan = _planner().plan(torch.zeros(1, 1), horizon=1)
    torch.testing.assert_close(plan.costs, torch.tensor([[2.25, 1.0, 0.0, 0.25]]))
    torch.testing.assert_close(plan.shift, torch.full((1, 1, 1), 0.2))
    g = (0.5 + 1.0) / 2
    torch.testing.assert_close(plan.mu, torch.full((1, 1, 1), 0.5 * 0.2 + 0.5 * g))
    # eq. 14's return weights: worst cost 2.25 minus each elite's: 2.25 and 2.0
    ret = _planner(weighting="return").plan(torch.zeros(1, 1), horizon=1)
    g = (2.25 * 0.5 + 2.0 * 1.0) / 4.25
    torch.testing.assert_close(ret.mu, torch.full((1, 1, 1), 0.1 + 0.5 * g))


def test_terminal_value_enters_the_cost_discounted():
    planner = _planner(gamma=0.5, terminal_value=lambda obs: 10.0 * obs[:, 0])
    plan = planner.plan(torch.zeros(1, 1), horizon=1)
    x1 = SAMPLES[:, 0]
    expected = (x1 - 0.5) ** 2 - 0.5 * 10.0 * x1
    torch.testing.assert_close(plan.costs[0], expected)


def test_invalid_particles_weigh_nothing_and_all_invalid_keeps_the_shift():
    # from x0 = 0.75 the particle with u = 1 goes NaN (x' = 1.75); with elite_fraction 1
    # every particle is chosen, and the NaN one must not count
    plan = _planner(elite_fraction=1.0, alpha=1.0).plan(torch.full((1, 1), 0.75), horizon=1)
    assert math.isinf(plan.costs[0, 3].item()) and torch.isfinite(plan.costs[0, :3]).all()
    assert not plan.failed.any()
    torch.testing.assert_close(plan.mu[0, 0, 0], SAMPLES[:3, 0].mean())
    # from x0 = 3 every particle goes NaN: the start failed, μ_t = μ̃_t
    plan = _planner().plan(torch.tensor([[0.0], [3.0]]), horizon=1)
    assert plan.failed.tolist() == [False, True]
    torch.testing.assert_close(plan.mu[1], torch.full((1, 1), 0.2))


def test_rollout_flags_invalid_predictions_and_stops_after_termination():
    planner = _planner(terminated=lambda obs: obs[:, 0] < -0.5)
    mu = torch.tensor([[[1.0], [1.0]], [[-1.0], [1.0]], [[0.2], [0.2]]])  # B=3, H=2
    roll = planner.rollout(torch.zeros(3, 1), mu)
    assert roll.invalid.tolist() == [True, False, False]  # 0 -> 1 -> 2: NaN at step 2
    assert roll.alive.tolist() == [[True, True], [True, False], [True, True]]
    assert roll.terminated.tolist() == [[0.0, 0.0], [1.0, 0.0], [0.0, 0.0]]
    assert torch.isfinite(roll.next_obs).all()  # the NaN row kept its state, unpropagated
    torch.testing.assert_close(roll.rewards[2], -((torch.tensor([0.2, 0.4]) - 0.5) ** 2))


def test_a_batched_reward_gives_the_plan_of_the_per_step_one():
    # the reward evaluated once over all H steps (the planner's ``reward``) and inside the
    # model step must give the same costs, plan and rollout, terminations and NaNs included
    def states_only(obs, u):
        nxt, _, invalid = _integrator(obs, u)
        return nxt, torch.zeros(len(obs)), invalid

    def reward(obs, u, nxt):
        rew = -((nxt[:, 0] - 0.5) ** 2)
        return rew, ~torch.isfinite(rew)

    calls = []
    ended = lambda obs: calls.append(len(obs)) or obs[:, 0] < -0.5  # noqa: E731
    inline = _planner(terminated=ended, gamma=0.9, terminal_value=lambda o: o[:, 0])
    batched = _planner(terminated=ended, gamma=0.9, terminal_value=lambda o: o[:, 0],
                       reward=reward)  # fmt: skip
    batched.model_step = states_only
    x0 = torch.tensor([[0.0], [0.75], [-0.2]])
    a, b = inline.plan(x0, 3), batched.plan(x0, 3)
    assert calls == [36, 36]  # termination: one call over H·B·M rows per plan
    for name in ("mu", "shift", "costs", "failed"):
        torch.testing.assert_close(getattr(b, name), getattr(a, name))
    mu = torch.tensor([[[1.0], [1.0]], [[-1.0], [1.0]], [[0.2], [0.2]]])
    ra, rb = inline.rollout(torch.zeros(3, 1), mu), batched.rollout(torch.zeros(3, 1), mu)
    for name in ("obs", "rewards", "next_obs", "terminated", "alive", "invalid"):
        torch.testing.assert_close(getattr(rb, name), getattr(ra, name))


def test_bad_settings_raise():
    with pytest.raises(ValueError, match="alpha"):
        _planner(alpha=-0.1)
    with pytest.raises(ValueError, match="horizon"):
        _planner().plan(torch.zeros(1, 1), horizon=0)
