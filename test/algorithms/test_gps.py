"""GPS (rl_control.algorithms.gps, gps_objective, gps_samplers): importance weights by hand,
Φ's gradient against finite differences, the w_r rule, degenerate weights, and a short run on
the soft-wall cart-pole that beats the ML-fitted initial policy."""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest
import torch

from rl_control.algorithms.gps import GPS
from rl_control.algorithms.gps_objective import adapt_w_r, log_mixture_prefix, phi
from rl_control.algorithms.registry import make_algorithm
from rl_control.algorithms.spec import AlgorithmSpec
from rl_control.envs.registration import make_env
from rl_control.envs.vector import SyncVectorEnv
from rl_control.tasks.registry import make_task
from rl_control.training.evaluation import evaluate

T64 = torch.float64


def test_importance_weights_equal_a_hand_computed_case() -> None:
    # 2 samples x 2 steps; sample 0 from component 0, sample 1 from component 1 (counts 1, 1)
    comp = torch.tensor([[[-1.0, -2.0], [-3.0, -1.0]], [[-2.0, -1.0], [-1.0, -1.5]]], dtype=T64)
    logp = torch.tensor([[-1.5, -1.0], [-2.0, -2.0]], dtype=T64)
    rewards = torch.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=T64)
    logq = log_mixture_prefix(comp, torch.tensor([1, 1]))
    # by hand: q(τ_{0,1:1}) = ½e^-1 + ½e^-2; q(τ_{0,1:2}) = ½e^-3 + ½e^-3; sample 1 likewise
    q = np.array([[0.5 * math.exp(-1) + 0.5 * math.exp(-2), 0.5 * math.exp(-3) * 2],
                  [0.5 * math.exp(-3) + 0.5 * math.exp(-1), 0.5 * math.exp(-4) +
                   0.5 * math.exp(-2.5)]])  # fmt: skip
    np.testing.assert_allclose(logq.numpy(), np.log(q))
    p = np.exp(np.array([[-1.5, -2.5], [-2.0, -4.0]]))  # prefix products of π_θ
    w = p / q
    z = w.sum(0)
    expected_value = ((w / z) * rewards.numpy()).sum()
    out, stats = phi(logp, logq, rewards, w_r=0.5)
    assert stats.value == pytest.approx(expected_value)
    assert float(out) == pytest.approx(expected_value + 0.5 * np.log(z).sum())
    assert stats.log_z == pytest.approx(np.log(z).sum())
    assert stats.min_ess == pytest.approx(min(1 / ((w / z) ** 2).sum(0)))


def _tiny_phi(theta: torch.Tensor, data: dict[str, torch.Tensor], w_r: float) -> torch.Tensor:
    """Φ of a linear-Gaussian policy u ~ N(θ0 + θ1 x, exp(θ2)²) on fixed samples."""
    mean = theta[0] + theta[1] * data["x"]
    logp = (
        -0.5 * ((data["u"] - mean) / theta[2].exp()) ** 2 - theta[2] - 0.5 * math.log(2 * math.pi)
    )
    return phi(logp, data["logq"], data["r"], w_r)[0]


def test_phi_gradient_matches_finite_differences() -> None:
    g = torch.Generator().manual_seed(0)
    m, H = 5, 4
    comp = -torch.rand((2, m, H), generator=g, dtype=T64) * 2
    data = {"x": torch.randn((m, H), generator=g, dtype=T64),
            "u": torch.randn((m, H), generator=g, dtype=T64),
            "r": torch.randn((m, H), generator=g, dtype=T64),
            "logq": log_mixture_prefix(comp, torch.tensor([3, 2]))}  # fmt: skip
    theta = torch.tensor([0.1, -0.4, 0.2], dtype=T64, requires_grad=True)
    (grad,) = torch.autograd.grad(_tiny_phi(theta, data, 0.3), theta)
    eps, fd = 1e-6, torch.zeros(3, dtype=T64)
    for i in range(3):
        step = torch.zeros(3, dtype=T64)
        step[i] = eps
        plus = _tiny_phi(theta.detach() + step, data, 0.3)
        minus = _tiny_phi(theta.detach() - step, data, 0.3)
        fd[i] = (plus - minus) / (2 * eps)
    torch.testing.assert_close(grad, fd, rtol=1e-6, atol=1e-8)


def test_w_r_decreases_after_an_improvement_and_increases_otherwise() -> None:
    assert adapt_w_r(1e-2, True, 10.0, 1e-6, 1.0) == pytest.approx(1e-3)
    assert adapt_w_r(1e-2, False, 10.0, 1e-6, 1.0) == pytest.approx(1e-1)
    assert adapt_w_r(1e-6, True, 10.0, 1e-6, 1.0) == 1e-6  # clamped at the bounds
    assert adapt_w_r(1.0, False, 10.0, 1e-6, 1.0) == 1.0


def test_degenerate_weights_are_detected_counted_and_handled() -> None:
    m, H = 4, 3
    logq = torch.zeros((m, H), dtype=T64)
    logp = torch.full((m, H), -1.0, dtype=T64)
    logp[0] = 40.0  # one sample carries all the weight
    logp[2, 1] = float("nan")  # a NaN log-density
    logp.requires_grad_(True)
    r = torch.ones((m, H), dtype=T64)
    out, stats = phi(logp, logq, r, w_r=0.1)
    assert stats.degenerate_steps == H and stats.dropped_samples == 1
    assert stats.min_ess == pytest.approx(1.0)
    (grad,) = torch.autograd.grad(out, logp)
    assert torch.isfinite(out) and torch.isfinite(grad).all()
    # truncation caps the dominant weight: mass is spread again
    _, clipped = phi(logp.detach(), logq, r, w_r=0.1, clip=2.0)
    assert clipped.clipped > 0 and clipped.degenerate_steps == 0 and clipped.min_ess > 1.4
    # nothing usable at all: a finite constant, no crash
    out, stats = phi(torch.full((m, H), float("nan"), dtype=T64), logq, r, w_r=0.1)
    assert float(out) == 0.0 and stats.dropped_samples == m


def test_guide_sampler_density_is_in_the_policys_unit_action_space() -> None:
    from rl_control.algorithms.gps_samplers import GuideSampler, PolicySampler
    from rl_control.models.actor_critic import GaussianActorCritic
    from rl_control.mpc.ilqr import LinearGaussianController

    c = LinearGaussianController(
        np.zeros((3, 2)),
        np.full((2, 1), 10.0),
        np.zeros((2, 1)),
        np.ones((2, 1, 2)),
        np.full((2, 1, 1), -0.01),
    )  # σ = 10 N
    guide = GuideSampler(c, center=np.zeros(1), half_range=np.full(1, 100.0))
    x, t = np.array([[0.5, -0.5]]), np.array([1])
    assert guide.mean(t, x)[0, 0] == pytest.approx(0.1)  # (10 + 0.5 - 0.5) N / 100 N
    # unit-space density = env-space density x 100 (the action scaling's Jacobian)
    u = np.array([[0.25]])
    env_space = c.log_prob(t, x, 100.0 * u)[0]
    assert guide.log_prob(t, x, u)[0] == pytest.approx(env_space + math.log(100.0))
    # a policy snapshot's density is the live policy's, and stays when the policy moves on
    policy = GaussianActorCritic(2, 1, [-100.0], [100.0], hidden=[8])
    snap = PolicySampler(policy)
    with torch.no_grad():
        dist = policy.distribution(torch.as_tensor(x, dtype=torch.float32))
        live = dist.log_prob(torch.tensor([[0.25]]))
    assert snap.log_prob(t, x, u)[0] == pytest.approx(float(live), abs=1e-5)
    with torch.no_grad():
        policy.log_std.add_(1.0)
    assert snap.log_prob(t, x, u)[0] == pytest.approx(float(live), abs=1e-5)


TINY = dict(num_guides=2, guiding_samples=6, policy_samples=2, ilqr_iters=20, hidden=[32, 32],
            ml_steps=150, phi_steps=30, max_samples=20, recent_policies=2)  # fmt: skip
ENV = {"max_steps": 100}


def tiny_gps(seed: int = 0, **overrides: object) -> GPS:
    task = make_task("soft_wall_cartpole", ENV)
    spec = AlgorithmSpec(4, tuple(task.action_low), tuple(task.action_high), 1, task)
    return make_algorithm("gps", spec, {**TINY, **overrides}, seed)


def run(algo: GPS, episodes: int, seed: int = 0) -> list[dict]:
    env = SyncVectorEnv([lambda: make_env("soft_wall_cartpole", **ENV)])
    obs, stats, done = env.reset(seed=seed), [], 0
    while done < episodes:
        out = algo.act(obs)
        step = env.step(out.action)
        algo.record(obs, out, step.reward, step.terminated, step.truncated, step.next_obs)
        done += int(step.terminated[0] or step.truncated[0])
        obs = step.obs
        if algo.ready():
            stats.append(algo.update())
    env.close()
    return stats


def score(policy, episodes: int = 6) -> float:
    env = make_env("soft_wall_cartpole", **ENV)
    try:
        return evaluate(policy, env, episodes, seed=777).mean
    finally:
        env.close()


def test_short_gps_run_beats_its_ml_fitted_initial_policy() -> None:
    algo = tiny_gps()
    stats = run(algo, 6)  # the guiding samples -> ML fit (line 3)
    assert len(stats) == 1 and algo.phase == "initial"
    ml_policy = copy.deepcopy(algo.policy)
    stats += run(algo, 16, seed=1)
    ml, final = score(ml_policy), score(algo.policy)
    # measured (6 eval episodes, best possible 1500): seed 0 (this test) ML fit 439 -> 1068;
    # unscreened other seeds: 1 1054 -> 1336, 2 1301 -> 1246 (an IS-estimated "improvement"
    # from 2 samples per policy that the real return did not confirm)
    assert final > ml + 300.0
    for row in stats:  # w_r moved in the stated direction at every comparison
        assert np.isfinite(row["w_r"])
    evals = [r for r in stats if "improved" in r]
    assert evals and all(np.isfinite(r["value_new"]) for r in evals)
    w = [stats[0]["w_r"]] + [r["w_r"] for r in stats[1:]]
    for before, row, after in zip(w[:-1], stats[1:], w[1:], strict=True):
        if "improved" in row:
            assert (after < before) if row["improved"] else (after > before)
    assert all(torch.isfinite(p).all() for p in algo.policy.parameters())


def test_gps_trains_from_the_cli_resumes_and_deploys(tmp_path) -> None:
    from rl_control.cli.main import main
    from rl_control.training.checkpoint import load_checkpoint, load_policy

    run = tmp_path / "gps"
    sets = ["env.max_steps=20", "algo.num_guides=1", "algo.guiding_samples=2", "algo.ml_steps=5",
            "algo.policy_samples=1", "algo.ilqr_iters=2", "algo.phi_steps=2", "algo.hidden=[8]",
            "eval_episodes=1", "eval_every=40"]  # fmt: skip
    args = ["train", "--algo", "gps", "--task", "soft_wall_cartpole", "--no-progress"]
    for s in sets:
        args += ["--set", s]
    assert main([*args, "--steps", "80", "--run-dir", str(run)]) == 0
    first = load_checkpoint(run)["algorithm_state"]
    assert first["vars"]["phase"] in ("initial", "evaluate") and len(first["samplers"]) >= 2
    assert main(["train", "--resume", str(run), "--steps", "140", "--no-progress"]) == 0
    state = load_checkpoint(run)["algorithm_state"]
    assert len(state["store"]["sources"]) > len(first["store"]["sources"])
    policy = load_policy(run)  # the deployable gaussian_mlp, as policy_node loads it
    policy.reset()
    action = policy.predict(np.zeros(4))
    assert policy.kind == "gaussian_mlp" and action.shape == (1,) and np.isfinite(action).all()


def test_adaptive_guiding_adds_guides_solved_on_the_policy_augmented_reward() -> None:
    small = dict(num_guides=1, guiding_samples=2, policy_samples=1, ilqr_iters=3, ml_steps=10)
    algo = tiny_gps(**small, phi_steps=3, adaptive_guiding=True, adaptive_samples=1)
    run(algo, 6)
    guides = [i for i, s in enumerate(algo.samplers) if s.kind == "guide"]
    assert len(guides) >= 2  # line 9: a new guiding distribution per iteration
    # ... whose samples joined the sample set
    assert set(guides[1:]) & set(algo.store.sources)
    new, old = algo.samplers[guides[1]].controller, algo.samplers[guides[0]].controller
    assert not np.allclose(new.u, old.u)  # re-solved on r + log π_θ: a different plan


def test_gps_on_the_2r_leg_guides_act_on_states_mapped_from_observations() -> None:
    task = make_task("two_link_leg", {"max_steps": 20})
    spec = AlgorithmSpec(task.obs_dim, tuple(task.action_low), tuple(task.action_high), 1, task)
    small = {"num_guides": 1, "guiding_samples": 2, "ilqr_iters": 3, "ml_steps": 5,
             "phi_steps": 2}  # fmt: skip
    algo = make_algorithm("gps", spec, {**TINY, **small}, 0)
    guide = algo.samplers[algo.guide_ids[0]]
    env = make_env("two_link_leg", max_steps=20)
    obs, _ = env.reset(options={"state": guide.controller.x[0, :4]})
    obs, *_ = env.step(guide.controller.u[0])  # t = dt: the law's step 1, from the observation
    env.close()
    state = np.concatenate([env.unwrapped.state, [env.unwrapped.time]])[None]
    t, x = np.array([1]), obs[None].astype(np.float64)
    np.testing.assert_allclose(guide.mean(t, x), (guide.controller.mean(t, state) - algo.center)
                               / algo.half, atol=1e-5)  # fmt: skip
    stats = []
    venv = SyncVectorEnv([lambda: make_env("two_link_leg", max_steps=20)])
    obs, done = venv.reset(seed=0), 0
    while done < 6:
        out = algo.act(obs)
        step = venv.step(out.action)
        algo.record(obs, out, step.reward, step.terminated, step.truncated, step.next_obs)
        done += int(step.truncated[0])
        obs = step.obs
        if algo.ready():
            stats.append(algo.update())
    venv.close()
    assert len(stats) >= 2 and all(np.isfinite(v) for row in stats for v in row.values())
