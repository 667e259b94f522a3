"""PPO-MPC: registration, checkpoint round trip and real learning on the soft-wall cart-pole."""

import numpy as np
import pytest
import torch

from rl_control.algorithms.registry import algorithm_names, make_algorithm
from rl_control.algorithms.spec import AlgorithmSpec
from rl_control.envs.registration import make_env
from rl_control.envs.vector import SyncVectorEnv
from rl_control.training.evaluation import evaluate

LOW, HIGH = np.array([-100.0]), np.array([100.0])
# a badly wrong initial model (60 % noise, model seed 1): its MPC drops the pole within ~30
# steps (return ~130 on the eval episodes below, where the zero-force policy scores ~1070 and
# the exact model's MPC ~5970 of at most 6000)
CONFIG = dict(n_steps=200, batch_size=100, n_epochs=2, model_perturbation=0.6, model_seed=1)


def test_registered_and_rejects_bad_config() -> None:
    assert "ppo_mpc" in algorithm_names()
    with pytest.raises(ValueError, match="pred_coef"):
        make_algorithm("ppo_mpc", AlgorithmSpec(4, LOW, HIGH, 1), {"pred_coef": -1.0}, 0)
    with pytest.raises(ValueError, match="unknown config"):
        make_algorithm("ppo_mpc", AlgorithmSpec(4, LOW, HIGH, 1), {"horizn": 5}, 0)
    with pytest.raises(ValueError, match="terminal must be one of"):
        make_algorithm("ppo_mpc", AlgorithmSpec(4, LOW, HIGH, 1), {"terminal": "critic"}, 0)


def test_short_run_improves_the_return_and_checkpoints() -> None:
    torch.manual_seed(0)
    algo = make_algorithm("ppo_mpc", AlgorithmSpec(4, LOW, HIGH, 1), CONFIG, 0)
    env = make_env("soft_wall_cartpole")
    envs = SyncVectorEnv([lambda: make_env("soft_wall_cartpole")])
    before = evaluate(algo.policy, env, 3, 500).mean
    pred_losses, pred_after = [], []
    obs = envs.reset(seed=0)
    for _ in range(2):
        while not algo.ready():
            out = algo.act(obs)
            step = envs.step(out.action)
            algo.record(obs, out, step.reward, step.terminated, step.truncated, step.next_obs)
            obs = step.obs
        stats = algo.update()
        pred_losses.append(stats["pred_loss"])
        pred_after.append(stats["pred_loss_after"])
        assert stats["n_updates"] > 0 and np.isfinite(stats["policy_loss"])
    after = evaluate(algo.policy, env, 3, 500).mean
    assert pred_after[-1] < 0.5 * pred_losses[0]
    # real learning: from far below the zero-force policy to balancing (~5900 measured)
    assert before < 1000
    assert after > before + 3000 and after > 4500
    assert stats["terminal_refresh_failures"] == 0
    # checkpoint round trip: a fresh algorithm restored from the state acts identically
    other = make_algorithm("ppo_mpc", AlgorithmSpec(4, LOW, HIGH, 1), CONFIG, 1)
    other.load_state_dict(algo.state_dict())
    s = np.array([[0.05, -0.1, 0.2, 0.3]])
    np.testing.assert_allclose(
        other.policy.act(s, deterministic=True).mean, algo.policy.act(s, True).mean, atol=1e-8
    )


def test_loss_is_ppo_terms_plus_the_prediction_term() -> None:
    small = dict(n_steps=10, batch_size=10, horizon=5, model_perturbation=0.3, pred_coef=0.7)
    algo = make_algorithm("ppo_mpc", AlgorithmSpec(4, LOW, HIGH, 1), small, 0)
    envs = SyncVectorEnv([lambda: make_env("soft_wall_cartpole")])
    obs = envs.reset(seed=0)
    while not algo.ready():
        out = algo.act(obs)
        step = envs.step(out.action)
        algo.record(obs, out, step.reward, step.terminated, step.truncated, step.next_obs)
        obs = step.obs
    algo.storage.compute_returns(torch.zeros(1), 0.99, 0.95)
    ctx = algo.begin_update(algo.storage.flat())
    terms, diagnostics = algo.loss_terms(ctx.data, ctx)
    assert list(terms) == ["policy", "pred", "value", "entropy"]
    assert set(diagnostics) == {"clip_fraction"}
    # L_PRED by hand: squared one-step errors of the model, scaled per state component
    err = (ctx.nxt - algo.policy.model.predict(ctx.obs, ctx.act)) / ctx.scale
    torch.testing.assert_close(terms["pred"], (err**2).sum(-1).mean())
    assert terms["pred"].dtype == torch.float64 and float(terms["pred"].detach()) > 0
    # the MPC log-probs equal the recorded ones before any step: the surrogate is -mean(A)
    torch.testing.assert_close(terms["policy"], -ctx.data["advantages"].mean(), atol=1e-5, rtol=0)
    loss = algo.total_loss(terms)  # ent_coef 0: no entropy term
    expected = terms["policy"] + 0.7 * terms["pred"].float() + 0.5 * terms["value"]
    torch.testing.assert_close(loss, expected)
    loss.backward()  # the model gets gradients from L_PRED (and L_CLIP through the MPC)
    assert algo.policy.model.delta.grad.abs().sum() > 0
    envs.close()
