"""LCSMPCPolicy on the PyBullet soft-wall cart-pole: stabilisation, fallbacks, checkpoints,
terminal-value modes."""

import numpy as np
import pytest
import torch

from rl_control.envs.registration import make_env
from rl_control.models.lcs import lcs_to_flat
from rl_control.mpc.lcs_mpc import lqr_terminal
from rl_control.mpc.mpc_policy import LCSMPCPolicy
from rl_control.policies.registry import build_policy
from rl_control.tasks import soft_wall_cartpole as task


def test_true_model_mpc_stabilises_within_the_walls() -> None:
    policy = build_policy("mpc_lcs", {"model_perturbation": 0.0})
    assert isinstance(policy, LCSMPCPolicy)  # the registry builds the MPC policy kind
    env, params = make_env("soft_wall_cartpole"), task.SoftWallCartPoleParams()
    for seed in range(3):
        obs, _ = env.reset(seed=seed)
        policy.reset()
        for _ in range(300):
            out = policy.act(obs[None], deterministic=True)
            assert out.info["plan"].shape == (1, 11, 4) and out.info["solve_time"][0] > 0
            obs, _, terminated, truncated, _ = env.step(out.mean[0].astype(np.float32))
            assert not terminated
            assert abs(task.tip_x(obs, params)) < params.wall_distance + 0.02
        assert np.abs(obs).max() < 0.05
    assert policy.fallback_count == 0


def test_failed_solve_falls_back_and_is_counted() -> None:
    policy = build_policy("mpc_lcs", {"model_perturbation": 0.0})
    obs = np.array([[0.05, 0.1, 0.0, 0.0]])
    first = policy.act(obs, deterministic=True)
    with torch.no_grad():
        policy.model.delta[0] = float("nan")  # every later solve fails
    out = policy.act(obs, deterministic=True)
    assert policy.fallback_count == 1 and out.info["fallback"][0]
    assert np.all(np.isfinite(out.action))
    # the shifted previous plan supplies the action
    np.testing.assert_allclose(
        out.mean[0], policy.solver.mpc.actions(first.info["mpc_solution"][0])[1], rtol=1e-5
    )


def test_config_and_state_restore_the_policy() -> None:
    policy = build_policy("mpc_lcs", {"model_perturbation": 0.3, "model_seed": 4})
    with torch.no_grad():
        policy.model.delta.add_(0.01)
        policy.log_std.fill_(-2.0)
    clone = build_policy("mpc_lcs", policy.get_config())
    clone.set_state(policy.get_state())
    obs = np.array([[0.02, -0.05, 0.1, 0.2]])
    np.testing.assert_allclose(clone.act(obs, True).mean, policy.act(obs, True).mean, atol=1e-9)
    log_prob, res = clone.evaluate_log_prob(torch.tensor(obs), torch.zeros(1, 1))
    log_prob.sum().backward()
    assert (
        res.ok.all() and clone.model.delta.grad.abs().sum() > 0 and clone.log_std.grad is not None
    )


def test_model_lqr_terminal_follows_the_model_and_survives_bad_models() -> None:
    policy = build_policy("mpc_lcs", {"model_perturbation": 0.6, "model_seed": 1})
    assert policy.terminal.delta not in set(policy.actor_parameters())
    with torch.no_grad():
        policy.model.from_flat(lcs_to_flat(task.exact_lcs()))
    assert policy.refresh_terminal()
    exact = task.exact_lcs()
    np.testing.assert_allclose(
        policy.terminal().detach().numpy(), lqr_terminal(exact.A, exact.B), rtol=1e-9
    )
    before = policy.terminal().detach().clone()
    with torch.no_grad():  # B = 0: (A, B) not stabilisable, no Riccati solution
        flat = lcs_to_flat(exact)
        flat[16:20] = 0.0
        policy.model.from_flat(flat)
    assert not policy.refresh_terminal()
    torch.testing.assert_close(policy.terminal().detach(), before)


def test_learned_terminal_mode_trains_the_terminal_and_rejects_unknown_modes() -> None:
    policy = build_policy("mpc_lcs", {"terminal": "learned"})
    assert any(p is policy.terminal.delta for p in policy.actor_parameters())
    before = policy.terminal().detach().clone()
    assert policy.refresh_terminal()  # a no-op in this mode
    torch.testing.assert_close(policy.terminal().detach(), before)
    with pytest.raises(ValueError, match="terminal must be one of"):
        build_policy("mpc_lcs", {"terminal": "critic"})


def test_mpc_distribution_is_the_acting_gaussian() -> None:
    policy = build_policy("mpc_lcs", {"model_perturbation": 0.3, "horizon": 5})
    policy.generator.manual_seed(0)
    obs = np.array([[0.02, -0.05, 0.1, 0.2], [-0.1, 0.0, 0.0, -0.3]])
    out = policy.act(obs)
    dist, res = policy.mpc_distribution(torch.tensor(obs))
    u = policy.to_unit(torch.as_tensor(out.action, dtype=torch.float32))
    assert res.ok.all() and dist.log_std.shape == dist.mean.shape == (2, 1)
    np.testing.assert_allclose(policy.from_unit(dist.mean).detach().numpy(), out.mean, atol=1e-4)
    np.testing.assert_allclose(dist.log_prob(u).detach().numpy(), out.log_prob, atol=1e-4)
    entropy = float(dist.entropy().detach())  # float32, init log-std -1.5
    np.testing.assert_allclose(entropy, 0.5 * np.log(2 * np.pi * np.e) - 1.5, rtol=1e-6)
