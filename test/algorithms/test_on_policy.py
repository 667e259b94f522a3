"""PPO and TRPO reach their policy only through its API (distribution, value, parameters)."""

import copy

import numpy as np
import pytest
import torch

from rl_control.algorithms.on_policy import OnPolicyAlgorithm
from rl_control.algorithms.ppo import PPO
from rl_control.algorithms.spec import AlgorithmSpec
from rl_control.algorithms.storage import RolloutStorage
from rl_control.algorithms.trpo import TRPO
from rl_control.models.actor_critic import GaussianActorCritic
from rl_control.models.bounded_policy import BoundedPolicy
from rl_control.models.distributions import DiagGaussian
from rl_control.policies.base import PolicyOutput

LOW, HIGH = np.array([-2.0]), np.array([2.0])
SPEC = AlgorithmSpec(2, LOW, HIGH, 2)


class ApiOnlyPolicy(BoundedPolicy):
    """A Gaussian policy with none of the actor-critic's attribute names (no mean_net,
    no log_std): it wraps one, exposing only the on-policy API."""

    kind = "api_only"

    def __init__(self, inner: GaussianActorCritic) -> None:
        super().__init__(inner.obs_dim, inner.act_dim, inner.action_low, inner.action_high,
                         normalize_obs=False)  # fmt: skip
        self.wrapped = inner

    def distribution(self, nobs: torch.Tensor) -> DiagGaussian:
        return self.wrapped.distribution(nobs)

    def value(self, nobs: torch.Tensor) -> torch.Tensor:
        return self.wrapped.value(nobs)

    def actor_parameters(self) -> list[torch.nn.Parameter]:
        return self.wrapped.actor_parameters()

    def critic_parameters(self) -> list[torch.nn.Parameter]:
        return self.wrapped.critic_parameters()

    def act(self, obs: np.ndarray, deterministic: bool = False) -> PolicyOutput:
        self.wrapped.generator = self.generator
        return self.wrapped.act(obs, deterministic)


def _fill(algo: OnPolicyAlgorithm) -> None:
    rng = np.random.default_rng(0)
    while not algo.ready():
        obs = rng.normal(size=(2, 2))
        out = algo.act(obs)
        reward = -np.abs(out.action[:, 0] - obs[:, 0])
        done = np.zeros(2, bool)
        algo.record(obs, out, reward, done, done, rng.normal(size=(2, 2)))


@pytest.mark.parametrize(
    ("cls", "config"),
    [
        (PPO, {"n_epochs": 2}),
        (PPO, {"mode": "kl_penalty", "ent_coef": 0.01, "clip_range_vf": 0.2}),
        (TRPO, {"ent_coef": 0.01}),
    ],
)
def test_update_through_the_api_equals_the_actor_critic_update(cls: type, config: dict) -> None:
    cfg = cls.make_config({"n_steps": 16, "batch_size": 8, "hidden": [8], **config,
                           "normalize_obs": False})  # fmt: skip
    reference = cls.build(SPEC, cfg, seed=0)
    inner = copy.deepcopy(reference.policy)
    wrapped = ApiOnlyPolicy(inner)
    assert not hasattr(wrapped, "mean_net") and not hasattr(wrapped, "log_std")
    storage = RolloutStorage(cfg.n_steps, SPEC.num_envs, SPEC.obs_dim, SPEC.act_dim)
    algo = cls(SPEC, cfg, wrapped, storage, seed=0)
    initial = [p.detach().clone() for p in inner.parameters()]
    _fill(reference)
    _fill(algo)
    stats, ref_stats = algo.update(), reference.update()
    assert stats == ref_stats
    for a, b in zip(inner.parameters(), reference.policy.parameters(), strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    moved = [not torch.equal(a, b) for a, b in zip(initial, inner.parameters(), strict=True)]
    assert all(moved)  # actor (incl. the std) and critic all learned


def test_ppo_loss_is_a_sum_of_named_terms() -> None:
    algo = PPO.build(SPEC, {"n_steps": 8, "batch_size": 16, "hidden": [8], "ent_coef": 0.1}, 0)
    _fill(algo)
    data = algo.storage.flat()
    ctx = algo.begin_update(data)
    terms, diagnostics = algo.loss_terms(ctx.data, ctx)
    assert list(terms) == ["policy", "value", "entropy"]
    assert set(diagnostics) == {"approx_kl", "clip_fraction"}
    # the ratio is 1 before any step: the clipped surrogate is -mean(A), no sample clipped
    torch.testing.assert_close(terms["policy"], -data["advantages"].mean())
    assert float(diagnostics["clip_fraction"]) == 0.0
    expected = terms["policy"] + 0.5 * terms["value"] - 0.1 * terms["entropy"]
    torch.testing.assert_close(algo.total_loss(terms), expected)
    assert algo.loss_coefs() == {"policy": 1.0, "value": 0.5, "entropy": -0.1}


@pytest.mark.parametrize("cls", [PPO, TRPO])
def test_steps_recorded_without_values_get_them_in_one_batch_at_the_update(cls: type) -> None:
    """A policy node sends no values: the update computes them, and the truncation
    bootstraps, over the rollout; the returns and the update equal those of a rollout
    recorded with the acting policy's values (up to float32 batching)."""
    algos = [cls.build(SPEC, {"n_steps": 6, "normalize_obs": True}, seed=3) for _ in range(2)]
    rng = np.random.default_rng(1)
    steps = [(rng.normal(size=(2, 2)), rng.normal(size=(2, 2))) for _ in range(6)]
    truncated = [np.array([k == 2, k in (2, 4)]) for k in range(6)]
    for with_values, algo in zip((True, False), algos, strict=True):
        algo.generator.manual_seed(0)
        for (obs, nxt), trunc in zip(steps, truncated, strict=True):
            out = algo.act(obs)
            if not with_values:
                del out.info["value"]
            algo.record(obs, out, obs[:, 0], np.zeros(2, bool), trunc, nxt)
    given, deferred = (a.storage for a in algos)
    assert torch.isnan(deferred.values).all() and len(deferred.deferred_bootstraps) == 2
    differ = ~torch.isclose(deferred.rewards, given.rewards)  # bootstraps not added yet
    assert differ.nonzero().tolist() == [[2, 0], [2, 1], [4, 1]]
    for algo in algos:
        algo.fill_deferred_values()
    assert deferred.deferred_bootstraps == []
    torch.testing.assert_close(deferred.values, given.values, rtol=1e-6, atol=1e-6)
    torch.testing.assert_close(deferred.rewards, given.rewards, rtol=1e-6, atol=1e-6)
    stats = [algo.update() for algo in algos]
    assert stats[0]["value_loss"] == pytest.approx(stats[1]["value_loss"], rel=1e-4)
