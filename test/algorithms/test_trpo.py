"""Conjugate gradient and TRPO's trust-region step."""

import numpy as np
import pytest
import torch
from algo_toys import evaluate, train

from rl_control.algorithms.conjugate_gradient import conjugate_gradient
from rl_control.algorithms.registry import make_algorithm
from rl_control.algorithms.spec import AlgorithmSpec
from rl_control.algorithms.trpo import TRPO, TRPOConfig
from rl_control.models.distributions import gaussian_kl

LOW, HIGH = np.array([-2.0]), np.array([2.0])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_conjugate_gradient_solves_spd_systems(seed: int) -> None:
    g = torch.Generator().manual_seed(seed)
    m = torch.randn(20, 20, generator=g, dtype=torch.float64)
    a = m @ m.T + 0.5 * torch.eye(20, dtype=torch.float64)
    b = torch.randn(20, generator=g, dtype=torch.float64)
    x = conjugate_gradient(lambda v: a @ v, b, iters=60, tol=1e-20)
    torch.testing.assert_close(x, torch.linalg.solve(a, b), atol=1e-8, rtol=1e-8)
    # few iterations only approximate the solution, yet CG shrinks the error in the A-norm
    exact = torch.linalg.solve(a, b)
    errors = []
    for iters in (1, 3, 6):
        e = conjugate_gradient(lambda v: a @ v, b, iters=iters) - exact
        errors.append(float(e @ a @ e))
    assert float(exact @ a @ exact) > errors[0] > errors[1] > errors[2]
    with pytest.raises(ValueError, match="iters > 0"):
        conjugate_gradient(lambda v: a @ v, b, iters=0)


def _filled(delta: float, seed: int = 0) -> tuple[TRPO, dict]:
    cfg = TRPOConfig(n_steps=64, batch_size=64, target_kl=delta, n_critic_updates=1)
    algo = TRPO.build(AlgorithmSpec(2, LOW, HIGH, 4), cfg, seed)
    rng = np.random.default_rng(seed)
    for _ in range(64):
        obs = rng.normal(size=(4, 2))
        out = algo.act(obs)
        reward = -np.abs(out.action[:, 0] + 1.5 * obs[:, 0])
        algo.record(obs, out, reward, np.zeros(4), np.zeros(4), rng.normal(size=(4, 2)))
    algo.storage.compute_returns(torch.zeros(4), 0.99, 0.95)
    data = algo.storage.flat()
    adv = data["advantages"]
    data["advantages"] = (adv - adv.mean()) / adv.std()
    return algo, data


@pytest.mark.parametrize("delta", [0.001, 0.01, 0.05])
def test_trpo_step_improves_surrogate_within_trust_region(delta: float) -> None:
    algo, data = _filled(delta)
    with torch.no_grad():
        old_mean = algo.policy.mean_net(data["obs"])
    old_log_std = algo.policy.log_std.detach().clone()
    stats = algo.trpo_step(data)
    assert stats["accepted"] == 1.0
    with torch.no_grad():
        mean = algo.policy.mean_net(data["obs"])
        kl = gaussian_kl(
            old_mean, old_log_std.expand_as(mean), mean, algo.policy.log_std.expand_as(mean)
        ).mean()
    assert 0.0 < float(kl) <= delta
    assert float(kl) > delta / 20  # the step uses a real part of the region
    assert stats["policy_loss"] < 0.0  # surrogate improved over its old value of mean(A) = 0


def test_trpo_rejects_step_and_keeps_parameters_when_nothing_improves() -> None:
    algo, data = _filled(0.01)
    data["advantages"] = torch.zeros_like(data["advantages"])  # no direction can improve
    data["advantages"][0] = 1e-12
    before = {k: v.clone() for k, v in algo.policy.get_state().items()}
    algo.config.line_search_max_iter = 3
    algo.config.target_kl = 1e-30  # every candidate violates the KL bound
    stats = algo.trpo_step(data)
    assert stats["accepted"] == 0.0
    for key, value in algo.policy.get_state().items():
        torch.testing.assert_close(value, before[key], msg=key)


def test_trpo_learns_point_mass() -> None:
    cfg = {"n_steps": 128, "batch_size": 128, "target_kl": 0.02}
    algo = make_algorithm("trpo", AlgorithmSpec(2, LOW, HIGH, 4), cfg, seed=0)
    before = evaluate(algo.policy)
    train(algo, num_envs=4, total_steps=16_000, seed=0)
    after = evaluate(algo.policy)
    assert after > before + 12.0, (before, after)


def test_trpo_entropy_bonus_widens_the_policy_within_the_trust_region() -> None:
    algo, data = _filled(0.01)
    data["advantages"] = torch.zeros_like(data["advantages"])  # only the entropy term pulls
    with torch.no_grad():
        old_mean = algo.policy.mean_net(data["obs"])
    old_log_std = algo.policy.log_std.detach().clone()
    algo.config.ent_coef = 0.01
    stats = algo.trpo_step(data)
    assert stats["accepted"] == 1.0
    assert bool((algo.policy.log_std > old_log_std).all())
    with torch.no_grad():
        kl = gaussian_kl(old_mean, old_log_std, algo.policy.mean_net(data["obs"]),
                         algo.policy.log_std).mean()  # fmt: skip
    assert 0.0 < float(kl) <= 0.01
    algo, data = _filled(0.01)  # without the bonus there is nothing to gain: no step
    data["advantages"] = torch.zeros_like(data["advantages"])
    assert algo.trpo_step(data)["accepted"] == 0.0
    with pytest.raises(ValueError, match="ent_coef must be >= 0"):
        TRPOConfig(ent_coef=-1.0)
