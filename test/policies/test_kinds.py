"""Policy kinds are registered by name and rebuilt from config + state."""

import numpy as np
import pytest

from rl_control.policies.registry import build_policy, policy_kinds


def test_builtin_kinds_are_registered() -> None:
    kinds = policy_kinds()
    assert {"gaussian_mlp", "squashed_gaussian_mlp", "mpc_lcs"} <= set(kinds)


def test_unknown_kind_names_the_known_ones() -> None:
    with pytest.raises(ValueError, match="unknown policy kind 'nope'.*gaussian_mlp"):
        build_policy("nope", {})


def test_rebuilt_policy_acts_identically() -> None:
    config = {"obs_dim": 3, "act_dim": 1, "action_low": [-2.0], "action_high": [2.0]}
    policy = build_policy("gaussian_mlp", config)
    twin = build_policy(policy.kind, policy.get_config())
    twin.set_state(policy.get_state())
    obs = np.random.default_rng(0).normal(size=(5, 3))
    np.testing.assert_allclose(policy.predict(obs), twin.predict(obs))
    assert policy.predict(obs[0]).shape == (1,)
    assert np.all(np.abs(policy.predict(obs)) <= 2.0 + 1e-9)
