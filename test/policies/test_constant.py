"""The constant policy: one fixed action per observation, rebuilt by kind from its config."""

import numpy as np
import pytest

from rl_control.policies.constant import ConstantPolicy
from rl_control.policies.registry import build_policy


def test_acts_its_action_for_every_observation_and_rebuilds_by_kind() -> None:
    policy = ConstantPolicy([-0.05, 0.02])
    out = policy.act(np.random.default_rng(0).normal(size=(3, 7)))
    assert out.action.shape == (3, 2) and (out.action == [-0.05, 0.02]).all()
    assert (out.mean == out.action).all() and (out.log_prob == 0).all()
    assert policy.predict(np.zeros(7)).tolist() == [-0.05, 0.02]
    again = build_policy("constant", policy.get_config())
    assert isinstance(again, ConstantPolicy) and again.action.tolist() == [-0.05, 0.02]
    assert ConstantPolicy.zeros(8).act(np.zeros((1, 28))).action.tolist() == [[0.0] * 8]


@pytest.mark.parametrize("action", [[], [0.1, float("nan")], [float("inf")]])
def test_bad_actions_are_refused_by_name(action) -> None:
    with pytest.raises(ValueError, match="constant policy action must be finite"):
        ConstantPolicy(action)
