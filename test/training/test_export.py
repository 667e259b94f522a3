"""rl-control export: ONNX and TorchScript match the torch policy; sidecar; MPC refused."""

import numpy as np
import pytest
import torch
import yaml

from rl_control.cli.main import main
from rl_control.models.actor_critic import GaussianActorCritic, SquashedGaussianActor
from rl_control.tasks.registry import make_task
from rl_control.training.checkpoint import (
    FORMAT,
    FORMAT_VERSION,
    encode_checkpoint,
    policy_record,
)
from rl_control.training.export import export_policy, run_onnx


def _policy(kind: str, task: str = "two_link_leg"):
    t = make_task(task)
    torch.manual_seed(0)
    cls = GaussianActorCritic if kind == "gaussian_mlp" else SquashedGaussianActor
    policy = cls(t.obs_dim, t.act_dim, t.action_low, t.action_high, normalize_obs=True)
    rng = np.random.default_rng(0)
    policy.obs_rms.update(torch.as_tensor(rng.normal(2.0, 3.0, size=(500, t.obs_dim))))
    with torch.no_grad():  # a trained-looking mean: the init's output gain is tiny
        for p in policy.parameters():
            p.add_(0.3 * torch.randn_like(p))
    return policy.eval()


def _run_dir(tmp_path, policy, task: str = "two_link_leg", kind: str | None = None):
    record = policy_record(policy)
    if kind is not None:
        record["kind"] = kind
    data = {"format": FORMAT, "format_version": FORMAT_VERSION, "algo": "ppo", "task": task,
            "env": {}, "policy": record}  # fmt: skip
    (tmp_path / "checkpoint.pt").write_bytes(encode_checkpoint(data))
    return tmp_path


@pytest.mark.parametrize("kind", ["gaussian_mlp", "squashed_gaussian_mlp"])
def test_onnx_and_torchscript_match_the_policy(tmp_path, kind: str) -> None:
    policy = _policy(kind)
    run = _run_dir(tmp_path, policy)
    obs = np.random.default_rng(1).normal(2.0, 40.0, size=(64, policy.obs_dim))  # some clip
    expected = policy.act(obs, deterministic=True).mean
    model, side = export_policy(run, "onnx")
    assert model == run / "policy.onnx" and side == run / "policy.yaml"
    got = run_onnx(model, obs)
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, atol=1e-5, rtol=0)
    assert np.abs(expected).max() > 0.1  # the comparison is not of near-zero outputs
    script, _ = export_policy(run, "torchscript", out=tmp_path / "ts" / "p.pt")
    loaded = torch.jit.load(str(script))
    ts = loaded(torch.as_tensor(obs, dtype=torch.float32)).numpy()
    np.testing.assert_allclose(ts, expected, atol=1e-5, rtol=0)


def test_sidecar_from_task_and_robot(tmp_path) -> None:
    run = _run_dir(tmp_path, _policy("gaussian_mlp"))
    _, side = export_policy(run, "onnx")
    facts = yaml.safe_load(side.read_text())
    assert facts["joint_names"] == ["hip", "knee"] and facts["control_period"] == 0.002
    assert facts["format"] == "onnx" and facts["model"] == "policy.onnx"
    _, side = export_policy(run, "onnx", robot="two_link_leg")
    facts = yaml.safe_load(side.read_text())
    assert facts["robot"] == "two_link_leg_rig" and facts["default_pose"] == [0.3, -0.6]
    assert facts["kp"] == [4.0, 4.0] and facts["action_scale"] == [0.3, 0.3]  # first runs
    assert facts["pd_period"] == facts["control_period"] == 0.002  # the rate kp/kd run at
    with pytest.raises(ValueError, match="robot 'minitaur' is for task 'minitaur'"):
        export_policy(run, "onnx", robot="minitaur")


def test_cli_export_and_refusals(tmp_path, capsys) -> None:
    run = _run_dir(tmp_path, _policy("gaussian_mlp"))
    assert main(["export", str(run), "--format", "onnx"]) == 0
    assert "policy.onnx" in capsys.readouterr().out
    assert main(["export", str(run), "--format", "tflite"]) == 2
    assert "invalid choice: 'tflite'" in capsys.readouterr().err
    mpc = tmp_path / "mpc"
    mpc.mkdir()
    _run_dir(mpc, _policy("gaussian_mlp"), kind="mpc_lcs")
    assert main(["export", str(mpc), "--format", "onnx"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "cannot export policy kind 'mpc_lcs'" in err
