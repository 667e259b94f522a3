"""Gaussian actor-critic, squashed Gaussian actor and twin Q."""

import numpy as np
import pytest
import torch

from rl_control.models.actor_critic import GaussianActorCritic, SquashedGaussianActor
from rl_control.models.q_networks import TwinQ
from rl_control.policies.registry import build_policy


def _ac(**kw) -> GaussianActorCritic:
    torch.manual_seed(0)
    return GaussianActorCritic(3, 2, [-100.0, 0.0], [100.0, 1.0], hidden=[16, 16], **kw)


def test_actions_are_scaled_to_bounds_and_log_prob_is_in_unit_space() -> None:
    ac = _ac(init_log_std=np.log(0.5))
    obs = np.random.default_rng(0).normal(size=(4000, 3))
    out = ac.act(obs)
    nobs = ac.normalize_obs(ac.obs_tensor(obs))
    with torch.no_grad():
        mean_u = ac.mean_net(nobs)
    # the mean is centred (small init) and the spread is 0.5 * half-range per dimension
    np.testing.assert_allclose(out.mean, ac.from_unit(mean_u).numpy(), rtol=1e-5, atol=1e-4)
    assert abs(out.mean[:, 0]).max() < 5.0 and abs(out.mean[:, 1] - 0.5).max() < 0.05
    np.testing.assert_allclose((out.action - out.mean).std(0), [50.0, 0.25], rtol=0.05)
    u = ac.to_unit(torch.as_tensor(out.action, dtype=torch.float32))
    expected = torch.distributions.Normal(mean_u, 0.5).log_prob(u).sum(-1)
    np.testing.assert_allclose(out.log_prob, expected.numpy(), rtol=1e-4, atol=1e-4)
    lp, ent, value = ac.evaluate(nobs, u)
    np.testing.assert_allclose(lp.detach().numpy(), out.log_prob, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(value.detach().numpy(), out.info["value"], rtol=1e-5)
    np.testing.assert_allclose(ent.detach().numpy(), 2 * (0.5 * np.log(2 * np.pi * np.e * 0.25)))


def test_config_round_trip_through_registry_restores_behaviour() -> None:
    ac = _ac()
    with torch.no_grad():
        ac.log_std.fill_(-1.0)
    ac.obs_rms.update(torch.randn(50, 3) * 5 + 2)
    clone = build_policy("gaussian_mlp", ac.get_config())
    clone.set_state(ac.get_state())
    obs = np.random.default_rng(1).normal(size=(5, 3))
    np.testing.assert_allclose(clone.act(obs, True).mean, ac.act(obs, True).mean)
    torch.testing.assert_close(clone.obs_rms.mean, ac.obs_rms.mean)
    assert ac.get_config()["action_low"] == [-100.0, 0.0]


def test_bad_inputs_raise_clear_errors() -> None:
    ac = _ac()
    with pytest.raises(ValueError, match=r"shape \[N, 3\]"):
        ac.act(np.zeros((2, 4)))
    with pytest.raises(ValueError, match="non-finite observation"):
        ac.act(np.array([[0.0, np.nan, 0.0]]))
    with pytest.raises(ValueError, match="must exceed"):
        GaussianActorCritic(3, 1, [1.0], [1.0])
    with pytest.raises(ValueError, match="finite"):
        GaussianActorCritic(3, 1, [-np.inf], [1.0])
    with pytest.raises(ValueError, match="state mismatch"):
        ac.set_state({"log_std": torch.zeros(2)})


def test_squashed_log_prob_is_a_density_on_the_bounded_interval() -> None:
    torch.manual_seed(0)
    actor = SquashedGaussianActor(2, 1, [-3.0], [1.0], hidden=[8])
    nobs = torch.tensor([[0.3, -0.7]])
    u = torch.linspace(-1 + 1e-6, 1 - 1e-6, 200001)[:, None]
    density = actor.log_prob(nobs.expand(len(u), 2), u).detach().exp()
    integral = torch.trapezoid(density, u[:, 0])
    assert abs(float(integral) - 1.0) < 1e-3
    # sampled log-probs agree with log_prob of the sampled action (tanh Jacobian included)
    samples, lp = actor.sample(nobs.expand(1000, 2))
    torch.testing.assert_close(
        actor.log_prob(nobs.expand(1000, 2), samples), lp, atol=2e-3, rtol=0
    )
    out = actor.act(np.random.default_rng(0).normal(size=(500, 2)) * 10)
    assert out.action.min() >= -3.0 and out.action.max() <= 1.0
    clone = build_policy("squashed_gaussian_mlp", actor.get_config())
    clone.set_state(actor.get_state())
    np.testing.assert_allclose(
        clone.act(np.ones((2, 2)), True).mean, actor.act(np.ones((2, 2)), True).mean
    )


def test_twin_q_heads_are_independent() -> None:
    torch.manual_seed(0)
    q = TwinQ(3, 2, hidden=(16,))
    obs, act = torch.randn(7, 3), torch.randn(7, 2)
    q1, q2 = q(obs, act)
    assert q1.shape == q2.shape == (7,)
    assert not torch.allclose(q1, q2)
    torch.testing.assert_close(q.min_q(obs, act), torch.minimum(q1, q2))
