"""AlgorithmSpec: validation, construction from spaces, and parts injected into algorithms."""

import gymnasium as gym
import numpy as np
import pytest

from rl_control.algorithms.ppo import PPO, PPOConfig
from rl_control.algorithms.spec import AlgorithmSpec
from rl_control.algorithms.storage import RolloutStorage
from rl_control.models.actor_critic import GaussianActorCritic

LOW, HIGH = np.array([-2.0, 0.0]), np.array([2.0, 1.0])


def test_from_spaces_flattens_observations_and_keeps_bounds() -> None:
    obs_space = gym.spaces.Box(-np.inf, np.inf, (2, 3), np.float32)
    act_space = gym.spaces.Box(LOW.astype(np.float32), HIGH.astype(np.float32))
    spec = AlgorithmSpec.from_spaces(obs_space, act_space, num_envs=4, task="cartpole")
    assert (spec.obs_dim, spec.act_dim, spec.num_envs) == (6, 2, 4)
    assert spec.action_low == (-2.0, 0.0) and spec.action_high == (2.0, 1.0)
    assert spec.task == "cartpole"
    with pytest.raises(ValueError, match="need a Box action space, got Discrete"):
        AlgorithmSpec.from_spaces(obs_space, gym.spaces.Discrete(3), 1)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((3, LOW, HIGH, 0), "num_envs must be positive, got 0"),
        ((0, LOW, HIGH, 1), "obs_dim must be positive, got 0"),
        ((3, LOW, HIGH[:1], 1), "action_low has 2 entries, action_high 1"),
        ((3, [], [], 1), "action_low must have at least one entry"),
    ],
)
def test_bad_specs_raise_one_clear_error(args: tuple, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        AlgorithmSpec(*args)


def _parts(spec: AlgorithmSpec, cfg: PPOConfig) -> tuple[GaussianActorCritic, RolloutStorage]:
    policy = GaussianActorCritic(spec.obs_dim, spec.act_dim, LOW, HIGH, hidden=[8])
    return policy, RolloutStorage(cfg.n_steps, spec.num_envs, spec.obs_dim, spec.act_dim)


def test_injected_policy_and_storage_are_the_ones_used() -> None:
    spec, cfg = AlgorithmSpec(3, LOW, HIGH, 2), PPOConfig(n_steps=4, batch_size=8, hidden=[8])
    policy, storage = _parts(spec, cfg)
    algo = PPO(spec, cfg, policy, storage, seed=0)
    assert algo.policy is policy and algo.storage is storage and algo.spec is spec
    assert policy.generator is algo.generator  # acting draws from the algorithm's stream
    obs = np.zeros((2, 3))
    for _ in range(4):
        algo.record(obs, algo.act(obs), np.ones(2), np.zeros(2), np.zeros(2), obs)
    assert storage.full and algo.ready()


def test_mismatched_parts_are_rejected() -> None:
    spec, cfg = AlgorithmSpec(3, LOW, HIGH, 2), PPOConfig(n_steps=4, hidden=[8])
    policy, _ = _parts(spec, cfg)
    with pytest.raises(ValueError, match=r"rollout storage is .*\(4, 3, 3, 2\).*\(4, 2, 3, 2\)"):
        PPO(spec, cfg, policy, RolloutStorage(4, 3, 3, 2))
    other = GaussianActorCritic(5, 2, LOW, HIGH, hidden=[8])
    with pytest.raises(ValueError, match=r"policy has \(obs_dim, act_dim\)=\(5, 2\)"):
        PPO(spec, cfg, other, RolloutStorage(4, 2, 3, 2))


def test_build_accepts_a_dict_or_a_config_and_seeds_the_policy() -> None:
    spec = AlgorithmSpec(3, LOW, HIGH, 2)
    a = PPO.build(spec, {"n_steps": 4, "hidden": [8]}, seed=3)
    b = PPO.build(spec, PPOConfig(n_steps=4, hidden=[8]), seed=3)
    c = PPO.build(spec, PPOConfig(n_steps=4, hidden=[8]), seed=4)
    state_a, state_b, state_c = (x.policy.get_state() for x in (a, b, c))
    assert all(np.array_equal(state_a[k], state_b[k]) for k in state_a)
    assert not all(np.array_equal(state_a[k], state_c[k]) for k in state_a)
    with pytest.raises(TypeError, match="must be a mapping"):
        PPO.build(spec, [("n_steps", 4)], seed=0)
