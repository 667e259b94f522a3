"""GAE against hand-computed values and truncation/termination handling at record time."""

import numpy as np
import torch

from rl_control.algorithms.ppo import PPO, PPOConfig
from rl_control.algorithms.spec import AlgorithmSpec
from rl_control.algorithms.storage import RolloutStorage, compute_gae, minibatches
from rl_control.policies.base import PolicyOutput


def test_gae_matches_hand_computation() -> None:
    gamma, lam = 0.9, 0.8
    rewards = torch.tensor([[1.0], [2.0], [3.0]])
    values = torch.tensor([[0.5], [1.0], [1.5]])
    dones = torch.tensor([[0.0], [1.0], [0.0]])  # the episode ends at step 1
    last = torch.tensor([2.0])
    adv, ret = compute_gae(rewards, values, dones, last, gamma, lam)
    d2 = 3.0 + 0.9 * 2.0 - 1.5  # = 3.3, bootstraps from last_values
    d1 = 2.0 - 1.0  # = 1.0, done: no bootstrap, no carry-over from step 2
    d0 = 1.0 + 0.9 * 1.0 - 0.5  # = 1.4
    expected = torch.tensor([[d0 + 0.72 * d1], [d1], [d2]])
    torch.testing.assert_close(adv, expected)
    torch.testing.assert_close(ret, expected + values)


def test_gae_with_lambda_one_gives_discounted_returns() -> None:
    rewards = torch.ones(4, 2)
    values = torch.rand(4, 2)
    dones = torch.zeros(4, 2)
    _, ret = compute_gae(rewards, values, dones, torch.tensor([10.0, 0.0]), 0.5, 1.0)
    # Monte-Carlo: 1 + .5 + .25 + .125 + .0625 * last
    torch.testing.assert_close(ret[0], torch.tensor([1.875 + 0.625, 1.875]))


def _ppo(num_envs: int = 3, **cfg) -> PPO:
    return PPO.build(
        AlgorithmSpec(2, np.array([-2.0]), np.array([2.0]), num_envs),
        PPOConfig(n_steps=2, **cfg),
        0,
    )


def test_record_bootstraps_truncation_but_not_termination() -> None:
    algo = _ppo(normalize_obs=False, gamma=0.9)
    obs = np.array([[0.1, 0.2], [0.3, 0.4], [0.5, 0.6]])
    next_obs = np.array([[1.0, -1.0], [2.0, 0.5], [-0.5, 3.0]])
    out = algo.act(obs)
    algo.record(
        obs, out, np.array([1.0, 1.0, 1.0]), np.array([False, True, False]),
        np.array([False, False, True]), next_obs,
    )  # fmt: skip
    with torch.no_grad():
        v_next = algo.policy.value(torch.as_tensor(next_obs, dtype=torch.float32))
    s = algo.storage
    torch.testing.assert_close(
        s.rewards[0], torch.tensor([1.0, 1.0, 1.0 + 0.9 * float(v_next[2])])
    )
    torch.testing.assert_close(s.dones[0], torch.tensor([0.0, 1.0, 1.0]))
    torch.testing.assert_close(
        s.values[0], torch.as_tensor(out.info["value"], dtype=torch.float32)
    )
    torch.testing.assert_close(
        s.actions[0], torch.as_tensor(out.action / 2.0, dtype=torch.float32)
    )


def test_the_update_computes_values_the_actor_did_not_send() -> None:
    algo = _ppo(num_envs=1)
    obs = np.array([[0.3, -0.2]])
    remote = algo.act(obs)
    stripped = PolicyOutput(remote.action, remote.mean, remote.log_prob)
    algo.record(obs, stripped, np.ones(1), np.zeros(1), np.zeros(1), obs)
    assert torch.isnan(algo.storage.values[0, 0])  # left for one batched forward
    algo.fill_deferred_values()
    assert abs(float(algo.storage.values[0, 0]) - float(remote.info["value"][0])) < 1e-6


def test_minibatches_cover_every_sample_once() -> None:
    data = {"x": torch.arange(10), "y": torch.arange(10) * 2}
    seen = []
    for mb in minibatches(data, 4, torch.Generator().manual_seed(0)):
        assert torch.equal(mb["y"], mb["x"] * 2)
        seen.extend(mb["x"].tolist())
    assert sorted(seen) == list(range(10))


def test_storage_refuses_to_overflow() -> None:
    s = RolloutStorage(1, 1, 1, 1)
    z = torch.zeros(1)
    s.add(torch.zeros(1, 1), torch.zeros(1, 1), z, z, z, z, torch.zeros(1, 1))
    try:
        s.add(torch.zeros(1, 1), torch.zeros(1, 1), z, z, z, z, torch.zeros(1, 1))
    except RuntimeError as err:
        assert "full" in str(err)
    else:
        raise AssertionError("second add should fail")
