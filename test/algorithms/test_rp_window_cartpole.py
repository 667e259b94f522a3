"""RP's truncation window (config key ``window``, Xu et al.) on the physics task: the replay
follows the soft-wall cart-pole's differentiable step for exactly ``window`` steps, stops at
episode and rollout ends, and a shorter window gives a less variable action gradient."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from rl_control.algorithms.analytic import AnalyticPPO
from rl_control.algorithms.registry import make_algorithm
from rl_control.algorithms.spec import AlgorithmSpec
from rl_control.envs.soft_wall_cartpole import SoftWallCartPoleEnv
from rl_control.tasks.registry import make_task

GAMMA = 0.99


def build(window: int, steps: int = 64, envs: int = 2) -> AnalyticPPO:
    t = make_task("soft_wall_cartpole")
    spec = AlgorithmSpec(t.obs_dim, t.action_low, t.action_high, envs, task=t)
    config = {"n_steps": steps, "window": window, "hidden": [32, 32], "gamma": GAMMA}
    return make_algorithm("rp", spec, config, seed=0)


def rollout(algo: AnalyticPPO) -> tuple[dict, object]:
    """One rollout from the PyBullet env (auto-reset), then the update context."""
    envs = [SoftWallCartPoleEnv() for _ in range(algo.num_envs)]
    obs = np.stack([e.reset(seed=i)[0] for i, e in enumerate(envs)])
    for _ in range(algo.storage.num_steps):
        out = algo.act(obs)
        res = [e.step(a) for e, a in zip(envs, out.action, strict=True)]
        term, trunc = np.array([r[2] for r in res]), np.array([r[3] for r in res])
        nxt = np.stack([r[0] for r in res])
        algo.record(obs, out, np.array([r[1] for r in res]), term, trunc, nxt)
        obs = np.stack([e.reset()[0] if d else o for e, o, d in zip(envs, nxt, term | trunc,
                                                                    strict=True)])  # fmt: skip
    for e in envs:
        e.close()
    algo.storage.compute_returns(torch.zeros(algo.num_envs), GAMMA, 0.95)
    data = algo.storage.flat()
    return data, AnalyticPPO.begin_update(algo, data)


def by_hand(algo: AnalyticPPO, ctx, t: int, n: int, u0: torch.Tensor, steps: int) -> float:
    """Σ_l γ^l δ_l, δ = r + γ(1 − term)V(s') − V(s), over ``steps`` steps of the task's step
    from the stored state, later actions g_θ(s, ε) with the rollout's noise."""
    policy, step = algo.policy, algo.step_fn
    value = lambda s: policy.value(policy.normalize_obs(s)).item()  # noqa: E731
    s, u, total = ctx.states[t, n][None], u0[None], 0.0
    for lag in range(steps):
        s2, r, term = step(s, policy.from_unit(u))
        delta = r.item() + GAMMA * (1.0 - float(term.item())) * value(s2) - value(s)
        total += GAMMA**lag * delta
        if lag + 1 < steps:
            dist = policy.distribution(policy.normalize_obs(s2))
            u = dist.mean + torch.exp(dist.log_std) * ctx.eps[t + lag + 1, n][None]
        s = s2
    return total


def test_window_key_replays_the_cartpole_model_and_stops_at_ends():
    algo = build(window=5)
    assert algo.config.window == 5
    data, ctx = rollout(algo)
    T, N = ctx.dones.shape
    dones = ctx.dones.numpy()
    # env 0: a sample whose next 5 steps stay in one episode, one whose episode ends 3 steps
    # in (the replay stops there), and one 2 steps before the rollout's end (stops there too)
    free = next(t for t in range(T - 6) if not dones[t : t + 5, 0].any())
    ended = next(t for t in range(T - 6) if dones[t + 2, 0] and not dones[t : t + 2, 0].any())
    for t, steps in [(free, 5), (ended, 3), (T - 2, 2)]:
        u0 = data["actions"][t * N]
        with torch.no_grad():
            got = algo.analytic_advantage(ctx, torch.tensor([t * N]), u0[None], lam=1.0).item()
            want = by_hand(algo, ctx, t, 0, u0, steps)
            longer = by_hand(algo, ctx, t, 0, u0, steps + 1) if t + steps + 1 < T else None
        assert got == pytest.approx(want, rel=1e-4, abs=1e-3), (t, got, want)
        if longer is not None:  # the truncation is real: one more step would change it
            assert abs(longer - want) > 1e-2
    # the key sets the objective: window 1 is δ_0 = r_0 + γV(s_1) − V(s_0)
    algo.config.window = 1
    u0 = data["actions"][free * N]
    with torch.no_grad():
        one = algo.analytic_advantage(ctx, torch.tensor([free * N]), u0[None], lam=1.0).item()
        assert one == pytest.approx(by_hand(algo, ctx, free, 0, u0, 1), rel=1e-4, abs=1e-3)


def test_shorter_window_gives_a_less_variable_action_gradient():
    # the upright cart-pole is unstable, so ∂A/∂a grows with the horizon it is carried over;
    # measured std over the rollout's 128 samples (seed 0): window 1: 9.4, 4: 13.0, 16: 32.4
    stds = {}
    for window in (1, 16):
        algo = build(window)
        data, ctx = rollout(algo)
        u = data["actions"].clone().requires_grad_(True)
        adv = algo.analytic_advantage(ctx, data["index"], u, lam=1.0)
        (grad,) = torch.autograd.grad(adv.sum(), u)
        assert torch.isfinite(grad).all()
        stds[window] = grad.std().item()
    assert stds[16] > 2.0 * stds[1], stds
