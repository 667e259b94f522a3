"""BoundedPolicy: action-space scaling and input validation shared by the torch policies."""

import numpy as np
import pytest
import torch

from rl_control.models.actor_critic import GaussianActorCritic
from rl_control.models.bounded_policy import BoundedPolicy


def make(low=(-100.0, 0.0), high=(100.0, 2.0)) -> GaussianActorCritic:
    return GaussianActorCritic(obs_dim=3, act_dim=2, action_low=list(low), action_high=list(high))


def test_unit_space_maps_to_the_bounds_and_back() -> None:
    policy = make()
    assert isinstance(policy, BoundedPolicy)
    u = torch.tensor([[-1.0, -1.0], [0.0, 0.0], [1.0, 1.0]])
    env = policy.from_unit(u)
    np.testing.assert_allclose(env.numpy(), [[-100, 0], [0, 1], [100, 2]])
    np.testing.assert_allclose(policy.to_unit(env).numpy(), u.numpy())
    np.testing.assert_allclose(policy.from_unit_numpy(u), env.numpy())


@pytest.mark.parametrize(
    ("low", "high", "match"),
    [((-1.0,), (1.0,), "2 entries"), ((1.0, 0.0), (0.0, 1.0), "must exceed"),
     ((-np.inf, 0.0), (1.0, 1.0), "finite")],
)  # fmt: skip
def test_bad_bounds_are_named(low, high, match) -> None:
    with pytest.raises(ValueError, match=match):
        make(low, high)


def test_observation_shape_and_finiteness_are_checked() -> None:
    policy = make()
    with pytest.raises(ValueError, match=r"shape \[N, 3\]"):
        policy.obs_tensor(np.zeros((2, 4)))
    with pytest.raises(ValueError, match="non-finite"):
        policy.obs_tensor(np.array([[0.0, np.nan, 0.0]]))
