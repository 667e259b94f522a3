"""numpy_actor: the numpy forward gives the torch policy's actions to 1e-6, seeded draws too.

Actions are compared in the network's unit action space, where both routes compute in
float32 (in env units a rounding step is scaled by the half range), to 1e-6 absolute plus
1e-6 relative: the two sum 64-term float32 dot products in other orders (torch's BLAS and
numpy's), which differ by a few rounding steps of the value (1.2e-6 seen at |u| = 2.5)."""

import numpy as np
import pytest
import torch

from rl_control.models.actor_critic import GaussianActorCritic, SquashedGaussianActor
from rl_control.policies.numpy_actor import NumpyGaussianActor, numpy_actor
from rl_control.roles.policy_server import PolicyServer, serialize_policy


def _trained_looking(hidden, activation: str, normalize: bool, seed: int = 0):
    """A policy whose weights, log-std and normaliser have moved from their initial values
    as training moves them (unit-scale activations, outputs of order one)."""
    torch.manual_seed(seed)
    policy = GaussianActorCritic(
        5, 2, [-10.0, -0.5], [10.0, 1.5], hidden=hidden, activation=activation,
        normalize_obs=normalize,
    )  # fmt: skip
    with torch.no_grad():
        for param in policy.mean_net.parameters():
            param.add_(0.2 * torch.randn_like(param))
        policy.log_std.copy_(torch.tensor([-0.7, 0.4]))
    policy.obs_rms.update(torch.randn(300, 5, dtype=torch.float64) * 4.0 + 2.0)
    return policy


def _unit(policy, action: np.ndarray) -> np.ndarray:
    center, half = policy.action_center.numpy(), policy.action_half_range.numpy()
    return (action - center) / half


@pytest.mark.parametrize("hidden", [[64, 64], [16], [32, 32, 32]])
@pytest.mark.parametrize("normalize", [True, False])
def test_actions_means_and_log_probs_match_torch_within_1e_6(hidden, normalize):
    policy = _trained_looking(hidden, "tanh", normalize)
    actor = numpy_actor(policy)
    assert isinstance(actor, NumpyGaussianActor)
    rng = np.random.default_rng(1)
    for _ in range(200):
        obs = rng.normal(0.0, 5.0, size=(1, 5))
        for deterministic in (True, False):
            policy.generator.manual_seed(123)
            want = policy.act(obs, deterministic=deterministic)
            policy.generator.manual_seed(123)  # the same draw: the actor uses this generator
            got = actor.act(obs, deterministic=deterministic)
            for name in ("action", "mean", "log_prob"):
                a, b = getattr(want, name), getattr(got, name)
                assert a.shape == b.shape and a.dtype == b.dtype == np.float64
                if name != "log_prob":
                    a, b = _unit(policy, a), _unit(policy, b)
                np.testing.assert_allclose(b, a, rtol=1e-6, atol=1e-6, err_msg=name)
            assert deterministic or not np.allclose(got.action, got.mean)


def test_unsupported_policies_and_bad_observations() -> None:
    assert numpy_actor(None) is None
    assert numpy_actor(SquashedGaussianActor(3, 1, [-1.0], [1.0], hidden=[8])) is None
    for activation in ("elu", "relu"):
        assert numpy_actor(GaussianActorCritic(3, 1, [-1.0], [1.0], activation=activation)) is None
    big = GaussianActorCritic(3, 1, [-1.0], [1.0], hidden=[512, 512])
    assert numpy_actor(big) is None  # over MAX_PARAMETERS: torch is the faster route there
    actor = numpy_actor(GaussianActorCritic(3, 1, [-1.0], [1.0], hidden=[8]))
    with pytest.raises(ValueError, match=r"shape \[N, 3\]"):
        actor.act(np.zeros((1, 4)))
    with pytest.raises(ValueError, match="non-finite"):
        actor.act(np.array([[0.0, np.nan, 0.0]]))


def test_server_with_numpy_forward_acts_as_the_torch_one_across_swaps() -> None:
    """Same seed, same (episode, step): the same sampled actions from both routes, also
    after a mid-episode swap (the snapshot follows the swapped-in policy)."""
    first = _trained_looking([64, 64], "tanh", True, 1)
    second = _trained_looking([8], "tanh", True, 2)
    servers = [
        PolicyServer(first, seed=7, swap_mid_episode=True, max_age=0.0, numpy_forward=fast)
        for fast in (False, True)
    ]
    rng = np.random.default_rng(0)
    for step in range(40):
        state = rng.normal(size=5)
        if step == 20:
            for server in servers:
                assert server.offer(serialize_policy(second, 1))
        torch_out, numpy_out = (s.act(step, 0, state, 0.0, 0.0) for s in servers)
        assert torch_out.policy_version == numpy_out.policy_version == (step >= 20)
        unit = [_unit(first, out.action) for out in (numpy_out, torch_out)]
        np.testing.assert_allclose(*unit, rtol=1e-6, atol=1e-6)
        np.testing.assert_allclose(numpy_out.log_prob, torch_out.log_prob, rtol=1e-6, atol=1e-6)
    assert isinstance(servers[1].actor(), NumpyGaussianActor)
    assert servers[0].actor() is servers[0].policy
