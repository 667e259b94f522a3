"""GI-PPO (rl_control.algorithms.gi_ppo): α-policy, regression, α rule, mixed ratio, learning."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from function_opt_toys import build, collect, train

from rl_control.algorithms.analytic import AnalyticPPO
from rl_control.algorithms.gi_ppo import (
    FALLBACKS,
    GIPPOConfig,
    adapt_alpha,
    alpha_actions,
    alpha_candidates,
    mixed_log_prob,
    slides_admissible,
)
from rl_control.training.checkpoint import load_checkpoint, save_checkpoint


def _context(algo):
    """The analytic update context of one fresh rollout (before GI-PPO's own steps)."""
    collect(algo)
    with torch.no_grad():
        last = algo.policy.value(algo.policy.normalize_obs(algo.storage.last_obs))
    algo.storage.compute_returns(last, algo.config.gamma, algo.config.gae_lambda)
    return AnalyticPPO.begin_update(algo, algo.storage.flat())


def test_alpha_policy_on_a_quadratic_advantage_is_a_plus_alpha_grad():
    # De Jong, one step: A = r − V with r = −Σ (h u)² in unit actions u (h = 5.12 inside the box)
    algo = build("gi_ppo", "dejong_64")
    ctx = _context(algo)
    u, grad = algo.action_gradient(ctx)
    h = 5.12
    inside = u.abs() <= 1.0
    torch.testing.assert_close(grad[inside], (-2 * h * h * u)[inside])
    assert (grad[~inside] == 0).all() and (~inside).any()
    alpha = 0.01
    target = alpha_actions(u, grad, alpha)
    torch.testing.assert_close(target, u + alpha * grad, rtol=0, atol=0)
    torch.testing.assert_close(target[inside], (u * (1 - 2 * alpha * h * h))[inside])


def test_regression_fits_the_alpha_policy_on_reparameterised_actions():
    algo = build("gi_ppo", "dejong_1", gi_iters=300, gi_learning_rate=1e-2)
    ctx = _context(algo)
    u = ctx.data["actions"]
    target = 0.5 * u + 0.2  # an affine map of ε: a Gaussian policy represents it exactly
    start = (u - target).square().sum(-1).mean().item()
    converged, loss, failed = algo.regress(ctx, target)
    assert converged and loss < 0.02 * start and failed == 0
    dist = algo.policy.distribution(ctx.data["obs"][:1])
    assert dist.mean.item() == pytest.approx(0.5 * ctx.old.mean[0].item() + 0.2, abs=0.03)
    assert math.exp(dist.log_std.item()) == pytest.approx(0.5, abs=0.05)


def test_failed_regression_restores_the_actor():
    algo = build("gi_ppo", "dejong_1", gi_iters=4, gi_learning_rate=50.0, gi_tries=2)
    ctx = _context(algo)
    before = [p.detach().clone() for p in algo.policy.actor_parameters()]
    converged, _, failed = algo.regress(ctx, ctx.data["actions"] + 1e-3)
    assert not converged and failed == 2
    for p, b in zip(algo.policy.actor_parameters(), before, strict=True):
        assert torch.equal(p, b)


def test_a_diverged_try_does_not_poison_later_regressions():
    # lr 50 drives the loss to NaN; the restored actor must still fit a reachable target
    # afterwards at a sane rate (Adam's moments of the NaN try are forgotten)
    algo = build("gi_ppo", "dejong_1", gi_iters=4, gi_learning_rate=50.0, gi_tries=2)
    ctx = _context(algo)
    converged, _, _ = algo.regress(ctx, ctx.data["actions"] + 1e-3)
    assert not converged
    opt = algo.optimizers["gi"]
    assert all(torch.isfinite(v).all() for st in opt.state.values() for v in st.values()
               if torch.is_tensor(v))  # fmt: skip
    algo.gi_lr = 1e-3
    converged, loss, _ = algo.regress(ctx, ctx.data["actions"] + 1e-3)
    assert converged and math.isfinite(loss)


def test_alpha_rule_cases():
    cfg = GIPPOConfig()
    smooth = dict(converged=True, det_ratio=(0.9, 1.1), oorr=0.1, worse=False, cfg=cfg)
    assert adapt_alpha(1e-3, **smooth) == pytest.approx(1.1e-3)
    assert adapt_alpha(0.95, **smooth) == 1.0  # capped at max_alpha
    assert adapt_alpha(1e-3, **{**smooth, "det_ratio": (0.5, 1.0)}) == pytest.approx(1e-3 / 1.1)
    assert adapt_alpha(1e-3, **{**smooth, "det_ratio": (1.0, 1.5)}) == pytest.approx(1e-3 / 1.1)
    assert adapt_alpha(1e-3, **{**smooth, "oorr": 0.6}) == pytest.approx(1e-3 / 1.1)
    assert adapt_alpha(1e-3, **{**smooth, "worse": True}) == pytest.approx(1e-3 / 1.1)
    assert adapt_alpha(1e-3, **{**smooth, "converged": False}) == 1e-3


def test_alpha_rises_on_a_smooth_objective_and_falls_when_gradients_explode():
    smooth = build("gi_ppo", "dejong_1", seed=1)
    train(smooth, 8)
    assert smooth.alpha > 1.5 * smooth.config.alpha_init  # 1.1^8 = 2.14 if never lowered
    # ∂r/∂a scaled by 1e4: g_α's targets spread ~5000x wider; a regression free to follow
    # them (larger steps) changes σ by far more than 1 ± 0.4 (the determinant test)
    exploding = build(
        "gi_ppo", "dejong_1", seed=1, alpha_init=1e-2, gi_learning_rate=0.05, gi_iters=32
    )
    step = exploding.step_fn
    exploding.step_fn = lambda s, a: (lambda s2, r, d: (s2, 1e4 * r, d))(*step(s, a))
    collect(exploding)
    stats = exploding.update()
    assert stats["regression_converged"] == 1.0
    assert stats["det_ratio_min"] < 0.6 or stats["det_ratio_max"] > 1.4
    assert stats["next_alpha"] == pytest.approx(1e-2 / 1.1)


def test_slides_rule_cases():
    cfg = GIPPOConfig(alpha_rule="slides")
    assert alpha_candidates(1e-3, cfg) == pytest.approx([4e-3, 2e-3, 1e-3, 5e-4, 2.5e-4, 1.25e-4])
    assert alpha_candidates(0.5, cfg)[:3] == [1.0, 1.0, 0.5]  # capped at max_alpha
    ok = dict(converged=True, det_ratio=(0.9, 1.1), oorr=0.1, perf=0.2, cfg=cfg)
    assert slides_admissible(**ok)
    for bad in ({"converged": False}, {"det_ratio": (0.5, 1.0)}, {"det_ratio": (1.0, 1.5)},
                {"oorr": 0.6}, {"perf": 0.0}, {"perf": -1e-9}):  # fmt: skip
        assert not slides_admissible(**{**ok, **bad}), bad
    with pytest.raises(ValueError, match="alpha_rule must be one of"):
        GIPPOConfig(alpha_rule="paper")


def test_slides_rule_raises_alpha_by_the_search_on_a_smooth_objective():
    # measured (De Jong-1, seed 1): after 6 updates the code's rule is at 1.1^6 x 1e-5 = 1.8e-5,
    # the slides' search at 4^6 x 1e-5 = 4.1e-2 (every first candidate passed its tests)
    code = build("gi_ppo", "dejong_1", seed=1)
    slides = build("gi_ppo", "dejong_1", seed=1, alpha_rule="slides")
    train(code, 6)
    stats = []
    for _ in range(6):
        collect(slides)
        stats.append(slides.update())
    assert [s["alpha_tries"] for s in stats] == [1] * 6
    assert slides.alpha == pytest.approx(1e-5 * 4**6) and code.alpha < 2e-5
    assert all(s["out_of_range_ratio"] <= 0.5 and s["est_improvement"] > 0 for s in stats)


def test_slides_rule_falls_back_to_plain_ppo_when_no_alpha_passes():
    # ∂r/∂a scaled by 1e4 (as the exploding case above): every candidate's fitted policy
    # fails a test, so the actor is θ̄ again (determinant ratio 1, no sample out of range)
    algo = build("gi_ppo", "dejong_1", seed=1, alpha_rule="slides", alpha_init=1e-2,
                 gi_learning_rate=0.05, gi_iters=32, search_steps=3)  # fmt: skip
    step = algo.step_fn
    algo.step_fn = lambda s, a: (lambda s2, r, d: (s2, 1e4 * r, d))(*step(s, a))
    collect(algo)
    stats = algo.update()
    assert stats["alpha"] == 0.0 and stats["alpha_tries"] == 3
    assert stats["det_ratio_min"] == stats["det_ratio_max"] == 1.0
    assert stats["out_of_range_ratio"] == 0.0
    assert stats["next_alpha"] == pytest.approx(1e-2)  # the smallest of 4e-2, 2e-2, 1e-2


def test_mixed_importance_ratio_on_hand_made_numbers():
    old = torch.log(torch.tensor([0.2, 0.5, 0.1]))
    new = torch.log(torch.tensor([0.6, 0.5, 0.3]))
    mixed = mixed_log_prob(old, new)
    # ½(π_θ̄ + π_α)/π_θ̄ = (0.4/0.2, 0.5/0.5, 0.2/0.1)
    torch.testing.assert_close(torch.exp(mixed - old), torch.tensor([2.0, 1.0, 2.0]))
    # PPO's ratio at the start of its step is π_α/π_h
    torch.testing.assert_close(torch.exp(new - mixed), torch.tensor([1.5, 1.0, 1.5]))
    far = torch.log(torch.tensor([1e-3]))  # |log gap| > 4: the code's fallback π_h = π_α
    assert mixed_log_prob(far, torch.log(torch.tensor([0.5]))).item() == pytest.approx(
        math.log(0.5)
    )


def test_gi_ppo_update_uses_the_mixed_density_and_checkpoints_alpha():
    algo = build("gi_ppo", "dejong_64", seed=2)
    train(algo, 2)
    state = algo.state_dict()
    other = build("gi_ppo", "dejong_64", seed=3)
    other.load_state_dict(state)
    assert other.alpha == algo.alpha and other.gi_lr == algo.gi_lr
    with pytest.raises(ValueError, match="gi_ppo needs a task that observes its full state"):
        build("gi_ppo", "two_link_leg")  # a differentiable step, time only through the phase


def test_gi_ppo_beats_ppo_on_dejong_64_at_a_small_budget():
    # measured (40 updates of 64 one-step episodes, config/train's settings, seeds 0-3): the
    # mean reward of the last 5 updates, GI-PPO minus PPO, was +33.1 to +34.2 (e.g. seed 0:
    # -742.2 vs -775.3); margin 15
    gi = np.mean(train(build("gi_ppo", "dejong_64", seed=0), 40)[-5:])
    ppo = np.mean(train(build("ppo", "dejong_64", seed=0), 40)[-5:])
    assert gi > ppo + 15.0, (gi, ppo)


def test_analytic_algorithms_refuse_a_task_whose_observation_is_not_its_state():
    from rl_control.algorithms.registry import make_algorithm
    from rl_control.algorithms.spec import AlgorithmSpec
    from rl_control.tasks.registry import make_task

    task = make_task("two_link_leg")  # a differentiable step, but time only through the phase
    spec = AlgorithmSpec(task.obs_dim, tuple(task.action_low), tuple(task.action_high), 1, task)
    for algo in ("gi_ppo", "rp", "lr_rp"):
        with pytest.raises(ValueError, match="observes its full state; 'two_link_leg' does not"):
            make_algorithm(algo, spec, {}, 0)


def _fallbacks(stats: dict[str, float]) -> set[str]:
    """The fall-back kinds of one update's stats; their totals are consistent with them."""
    assert {f"fallback_{k}" for k in FALLBACKS} | {f"fallbacks_{k}" for k in FALLBACKS} <= set(
        stats
    )
    return {k for k in FALLBACKS if stats[f"fallback_{k}"] == 1.0}


def _fixed_step(algo, step) -> None:
    """Replace ∂A/∂a by a constructed one: g_α = a + ``step(ctx)`` at the algorithm's α."""
    algo.action_gradient = lambda ctx: (ctx.data["actions"], step(ctx) / algo.alpha)


def _one_update(algo) -> set[str]:
    collect(algo)
    stats = algo.update()
    kinds = _fallbacks(stats)
    assert algo.fallbacks == {k: int(k in kinds) for k in FALLBACKS}  # totals after one update
    assert all(stats[f"fallbacks_{k}"] == algo.fallbacks[k] for k in FALLBACKS)
    return kinds


def test_fallback_regression_failed_is_plain_ppo():
    # lr 50: every try's loss rises (to NaN), the actor is θ̄ again, so π_h = π_θ̄
    algo = build("gi_ppo", "dejong_1", gi_iters=4, gi_learning_rate=50.0, gi_tries=2)
    assert _one_update(algo) == {"regression_failed", "plain_ppo"}
    assert algo.gi_lr == pytest.approx(50.0 / 1.5)


def test_fallback_regression_retry():
    # g_α = a + 0.05: at lr 1 the first try overshoots (its loss rises), at lr 0.01 it fits
    algo = build("gi_ppo", "dejong_1", alpha_init=1e-2, gi_learning_rate=1.0, gi_tries=2,
                 lr_factor=100.0)  # fmt: skip
    _fixed_step(algo, lambda ctx: torch.full_like(ctx.data["actions"], 0.05))
    assert _one_update(algo) == {"regression_retry"}


def test_fallback_alpha_lowered_by_the_determinant_test():
    # g_α contracts ε by 1 %: det ratio 0.99^64 = 0.53 < 0.6 in 64-D while each sample's
    # density ratio stays near 1 (measured: 11 % of samples out of range, improvement > 0)
    algo = build("gi_ppo", "dejong_64", alpha_init=1e-2, gi_learning_rate=1e-2, gi_iters=64)
    _fixed_step(algo, lambda ctx: -0.01 * (ctx.data["actions"] - ctx.old.mean))
    assert _one_update(algo) == {"alpha_variance"}
    assert algo.alpha == pytest.approx(1e-2 / 1.1)


def test_fallback_alpha_lowered_by_the_out_of_range_ratio():
    # g_α shifts the mean by 0.5 σ, σ kept: det ratio ~1, ~70 % of samples out of range
    algo = build("gi_ppo", "dejong_1", alpha_init=1e-2, gi_learning_rate=1e-2, gi_iters=64)
    _fixed_step(algo, lambda ctx: torch.full_like(ctx.data["actions"], 0.5))
    assert _one_update(algo) == {"alpha_oorr"}
    assert algo.alpha == pytest.approx(1e-2 / 1.1)


def test_fallback_alpha_lowered_by_the_improvement_estimate():
    # the first update follows ∂A/∂a (improvement > 0), the second goes against it: its
    # improvement is negative and far below the first in the running standardisation
    algo = build("gi_ppo", "dejong_1", alpha_init=1e-3)
    assert _one_update(algo) == set()
    true = algo.action_gradient
    algo.action_gradient = lambda ctx: (lambda u, g: (u, -g))(*true(ctx))
    collect(algo)
    stats = algo.update()
    assert _fallbacks(stats) == {"alpha_bias"} and stats["est_improvement"] < 0
    assert algo.fallbacks == {k: int(k == "alpha_bias") for k in FALLBACKS}
    assert algo.alpha == pytest.approx(1e-3 * 1.1 / 1.1)


def test_fallback_pi_h_is_the_alpha_policy_on_a_far_sample():
    # one stored action 45 σ out (ε = 45); a 0.1 σ mean shift moves its log-density by
    # 0.1·45 > 4 (the max_log_gap) while the others stay inside the clip range
    algo = build("gi_ppo", "dejong_1", alpha_init=1e-2, gi_learning_rate=1e-2, gi_iters=64)
    task, n, policy = algo.spec.task, algo.num_envs, algo.policy
    obs = np.zeros((n, 1), dtype=np.float32)
    out = algo.act(obs)
    far = policy.action_center.numpy() + 45.0 * policy.action_half_range.numpy()
    out.action[0] = far
    with torch.no_grad():
        dist = policy.distribution(policy.normalize_obs(torch.zeros(1, 1)))
        out.log_prob[0] = dist.log_prob(torch.full((1, 1), 45.0)).item()
    done = np.ones(n, dtype=bool)
    algo.record(obs, out, task.reward(None, task.clip_action(out.action), None), done, ~done,
                obs)  # fmt: skip
    _fixed_step(algo, lambda ctx: torch.full_like(ctx.data["actions"], 0.1))
    stats = algo.update()
    assert _fallbacks(stats) == {"pi_h_alpha"} and stats["out_of_range_ratio"] < 0.1


def test_fallback_slides_rule_plain_ppo_counts_the_failed_tests():
    # the exploding case of test_slides_rule_falls_back_to_plain_ppo_when_no_alpha_passes
    algo = build("gi_ppo", "dejong_1", seed=1, alpha_rule="slides", alpha_init=1e-2,
                 gi_learning_rate=0.05, gi_iters=32, search_steps=3)  # fmt: skip
    step = algo.step_fn
    algo.step_fn = lambda s, a: (lambda s2, r, d: (s2, 1e4 * r, d))(*step(s, a))
    kinds = _one_update(algo)
    assert "plain_ppo" in kinds and {"alpha_variance", "alpha_oorr"} <= kinds
    assert not kinds & {"regression_failed", "regression_retry", "pi_h_alpha"}


def test_fallback_totals_survive_a_checkpoint(tmp_path):
    algo = build("gi_ppo", "dejong_1", gi_iters=4, gi_learning_rate=50.0, gi_tries=2)
    train(algo, 2)
    assert algo.fallbacks["regression_failed"] == algo.fallbacks["plain_ppo"] == 2
    save_checkpoint(tmp_path / "checkpoint.pt", algo, {})
    other = build("gi_ppo", "dejong_1", gi_iters=4, gi_learning_rate=50.0, gi_tries=2, seed=5)
    assert set(other.fallbacks.values()) == {0}
    other.load_state_dict(load_checkpoint(tmp_path / "checkpoint.pt")["algorithm_state"])
    assert other.fallbacks == algo.fallbacks
    collect(other)
    stats = other.update()  # the totals go on from the saved ones
    assert stats["fallbacks_regression_failed"] == 3.0 and stats["fallbacks_alpha_oorr"] == 0.0
    legacy = other.state_dict()
    del legacy["extra"]["fallbacks"]
    other.load_state_dict(legacy)  # a checkpoint from before the counters
    assert set(other.fallbacks.values()) == {0}
