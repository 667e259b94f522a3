"""LR, RP and LR+RP (rl_control.algorithms.lr_rp) and the differentiable replay they share
(rl_control.algorithms.analytic): gradients by hand, truncated windows, learning."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from function_opt_toys import build, collect, train

from rl_control.algorithms.analytic import AnalyticContext, AnalyticPPO, windowed_advantage
from rl_control.models.actor_critic import GaussianActorCritic

ONE_STEP = {"n_epochs": 1, "batch_size": 1_000_000}


def test_rp_term_is_the_reparameterised_reward_gradient():
    algo = build("rp", "dejong_64", **ONE_STEP)
    collect(algo)
    algo.storage.compute_returns(torch.zeros(64), 0.99, 0.95)
    data = algo.storage.flat()
    ctx = AnalyticPPO.begin_update(algo, data)
    loss, dist, _ = algo.policy_term(data, ctx)
    (g_log_std,) = torch.autograd.grad(loss, [algo.policy.log_std])
    # by hand: r = −Σ (h·clip(u))², u = μ + σε; ∂(−mean r)/∂log σ_j = mean(2h²u·σε·[|u|≤1])
    u, h = data["actions"], 5.12
    eps = ctx.eps.reshape(64, -1)
    sigma = torch.exp(algo.policy.log_std.detach())
    expected = (2 * h * h * u * sigma * eps * (u.abs() <= 1)).mean(0)
    torch.testing.assert_close(g_log_std, expected, rtol=1e-4, atol=1e-4)


def test_windowed_advantage_follows_the_model_for_two_steps():
    # s' = s + a, r = −s'², never terminating; window 2, λ = 1: A = r0 + γ r1 + γ² V(s2) − V(s0)
    torch.manual_seed(0)
    policy = GaussianActorCritic(1, 1, [-1.0], [1.0], hidden=[8], normalize_obs=False)

    def step(s, a):
        s2 = s + a
        return s2, -(s2 * s2).sum(-1), torch.zeros(len(s), dtype=torch.bool)

    states = torch.tensor([[[0.5]], [[0.0]], [[0.0]]])  # [T=3, N=1, 1]; only s_0 is read
    eps = torch.tensor([[[0.3]], [[-0.7]], [[0.2]]])
    ctx = AnalyticContext({}, None, states, eps, torch.zeros(3, 1))
    u0 = torch.tensor([[0.4]], requires_grad=True)
    gamma = 0.9
    adv = windowed_advantage(step, policy, ctx, torch.tensor([0]), u0, 2, gamma, 1.0)
    with torch.no_grad():
        s1 = states[0] + u0
        d1 = policy.distribution(s1)
        s2 = s1 + d1.mean + torch.exp(d1.log_std) * eps[1]
        v = policy.value
        expected = -(s1**2).sum() - gamma * (s2**2).sum() + gamma**2 * v(s2) - v(states[0])
    torch.testing.assert_close(adv, expected.reshape(1))
    (grad,) = torch.autograd.grad(adv.sum(), u0)
    h = 1e-3
    up = windowed_advantage(step, policy, ctx, torch.tensor([0]), u0.detach() + h, 2, gamma, 1.0)
    dn = windowed_advantage(step, policy, ctx, torch.tensor([0]), u0.detach() - h, 2, gamma, 1.0)
    assert grad.item() == pytest.approx(((up - dn) / (2 * h)).item(), rel=1e-2)
    # window 1 stops after the first step: r0 + γ V(s1) − V(s0)
    one = windowed_advantage(step, policy, ctx, torch.tensor([0]), u0, 1, gamma, 1.0)
    with torch.no_grad():
        s1 = states[0] + u0
        want = -(s1**2).sum() + gamma * policy.value(s1) - policy.value(states[0])
    torch.testing.assert_close(one, want.reshape(1))


def test_lr_rp_weights_towards_the_lower_variance_gradient():
    # LR uses normalised advantages, RP raw rewards (as the GI-PPO code): at De Jong-64's
    # scale (~800) the RP gradient varies far more, so LR gets the weight; shrink the
    # rewards a millionfold and RP's variance drops below LR's, which then gets little
    k = {}
    for scale in (1.0, 1e-6):
        algo = build("lr_rp", "dejong_64", **ONE_STEP)
        step = algo.step_fn
        algo.step_fn = lambda s, a, c=scale, f=step: (lambda s2, r, d: (s2, c * r, d))(*f(s, a))
        collect(algo)
        k[scale] = algo.update()["k_lr"]
    assert 0.5 < k[1.0] <= 1.0 and 0.0 <= k[1e-6] < 0.5, k


@pytest.mark.parametrize("algo", ["lr", "rp", "lr_rp"])
def test_baselines_improve_de_jong_1(algo):
    # measured (lr 1e-2, 25 updates, seeds 0-2): the mean reward of the last 5 updates beat
    # the first 5 by 2.2-2.3 (LR), 2.3-2.7 (RP), 2.0-3.2 (LR+RP); margin 1.0
    means = train(build(algo, "dejong_1", seed=0, learning_rate=1e-2, **ONE_STEP), 25)
    assert np.mean(means[-5:]) > np.mean(means[:5]) + 1.0, means
