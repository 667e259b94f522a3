"""The "onnx" policy kind: an exported run acts like its torch policy; bad use is refused."""

from __future__ import annotations

import numpy as np
import pytest

from rl_control.cli.main import main
from rl_control.policies.onnx_policy import OnnxPolicy
from rl_control.policies.registry import policy_kinds
from rl_control.training.checkpoint import load_deployment, load_policy
from rl_control.training.export import export_policy

# a tiny real training run: 2 envs x 64 steps per update, 4 updates
TINY = [
    "train", "--algo", "ppo", "--task", "soft_wall_cartpole", "--num-envs", "2",
    "--set", "algo.n_steps=64", "--set", "algo.n_epochs=2", "--set", "env.max_steps=60",
    "--set", "eval_episodes=1", "--set", "eval_every=512", "--steps", "512", "--no-progress",
]  # fmt: skip


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    run = tmp_path_factory.mktemp("onnx") / "run"
    assert main([*TINY, "--run-dir", str(run)]) == 0
    model, _ = export_policy(run, "onnx")
    return run, model


def test_the_onnx_policy_acts_as_the_torch_policy_to_1e_5(exported) -> None:
    run, model = exported
    torch_policy, onnx_policy = load_policy(run), load_policy(model)
    assert isinstance(onnx_policy, OnnxPolicy) and "onnx" in policy_kinds()
    # observations spread well past the normaliser's statistics, some clipped by it
    obs = np.random.default_rng(0).normal(0.0, 3.0, size=(256, torch_policy.obs_dim))
    expected = torch_policy.act(obs, deterministic=True).mean
    out = onnx_policy.act(obs)
    np.testing.assert_allclose(out.action, expected, atol=1e-5, rtol=0)
    np.testing.assert_array_equal(out.mean, out.action)
    assert np.ptp(expected) > 1.0  # a trained policy, not a near-constant output
    np.testing.assert_allclose(onnx_policy.predict(obs[3]), expected[3], atol=1e-5, rtol=0)
    assert onnx_policy.predict(obs[3]).shape == (torch_policy.act_dim,)
    _, task, params = load_deployment(model)
    assert (task, params) == ("soft_wall_cartpole", {"max_steps": 60})
    np.testing.assert_array_equal(onnx_policy.action_low, torch_policy.action_low)


def test_sampling_and_unfit_input_are_refused(exported) -> None:
    policy = OnnxPolicy(str(exported[1]))
    obs = np.zeros((1, policy.obs_dim))
    with pytest.raises(ValueError, match="act with deterministic=True"):
        policy.act(obs, deterministic=False)
    with pytest.raises(ValueError, match="act with deterministic=True"):
        policy.predict(obs[0], deterministic=False)
    with pytest.raises(ValueError, match=rf"expects observations \[N, {policy.obs_dim}\]"):
        policy.act(np.zeros((1, policy.obs_dim + 1)))
    with pytest.raises(ValueError, match="state lives in its model file"):
        policy.set_state({"w": 1})
    assert policy.get_config() == {"path": str(exported[1])} and policy.get_state() == {}


def test_missing_files_are_one_line_errors(exported, tmp_path) -> None:
    lone = tmp_path / "lone.onnx"
    lone.write_bytes(exported[1].read_bytes())
    with pytest.raises(ValueError, match="has no readable sidecar .*lone.yaml"):
        load_policy(lone)
    with pytest.raises(ValueError, match="ONNX policy file not found"):
        load_policy(tmp_path / "nope.onnx")
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(b"not a model")
    broken.with_suffix(".yaml").write_text(exported[1].with_suffix(".yaml").read_text())
    with pytest.raises(ValueError, match="cannot load ONNX model"):
        load_policy(broken)
