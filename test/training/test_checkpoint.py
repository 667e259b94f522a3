"""Checkpoints round-trip the learner and rebuild a deployable policy on their own."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from rl_control.algorithms.registry import make_algorithm
from rl_control.algorithms.spec import AlgorithmSpec
from rl_control.training.checkpoint import (
    MAGIC,
    encode_checkpoint,
    load_checkpoint,
    load_policy,
    save_checkpoint,
)

LOW, HIGH = np.array([-2.0]), np.array([2.0])


def _trained_ppo(seed: int = 0):
    algo = make_algorithm(
        "ppo", AlgorithmSpec(3, LOW, HIGH, 2), {"n_steps": 8, "batch_size": 8}, seed
    )
    rng = np.random.default_rng(seed)
    obs = rng.normal(size=(2, 3))
    while not algo.ready():
        out = algo.act(obs)
        nxt = rng.normal(size=(2, 3))
        algo.record(obs, out, rng.normal(size=2), np.zeros(2, bool), np.zeros(2, bool), nxt)
        obs = nxt
    algo.update()
    return algo


def test_round_trip_restores_policy_and_learner(tmp_path):
    algo = _trained_ppo()
    path = tmp_path / "checkpoint.pt"
    save_checkpoint(path, algo, {"task": "point_mass", "env": {"a": 1}, "env_steps": 16})
    data = load_checkpoint(path)
    assert (data["algo"], data["task"], data["env_steps"]) == ("ppo", "point_mass", 16)
    assert data["policy"]["kind"] == "gaussian_mlp"

    obs = np.random.default_rng(1).normal(size=(5, 3))
    policy = load_policy(tmp_path)  # a run folder works as well as the file
    expected = algo.policy.act(obs, deterministic=True).mean
    np.testing.assert_allclose(policy.act(obs, deterministic=True).mean, expected)

    fresh = make_algorithm(
        "ppo", AlgorithmSpec(3, LOW, HIGH, 2), {"n_steps": 8, "batch_size": 8}, 5
    )
    assert not np.allclose(fresh.policy.act(obs, deterministic=True).mean, expected)
    fresh.load_state_dict(data["algorithm_state"])
    np.testing.assert_allclose(fresh.policy.act(obs, deterministic=True).mean, expected)
    assert fresh.policy_version == algo.policy_version == 1


def test_missing_corrupt_and_foreign_files(tmp_path):
    with pytest.raises(ValueError, match="checkpoint or run folder not found"):
        load_checkpoint(tmp_path / "nope.pt")
    with pytest.raises(ValueError, match="no checkpoint in run folder"):
        load_checkpoint(tmp_path)
    (tmp_path / "junk.pt").write_bytes(b"\x00not a checkpoint")
    with pytest.raises(ValueError, match="corrupt checkpoint .*junk.pt"):
        load_checkpoint(tmp_path / "junk.pt")
    good = tmp_path / "good.pt"
    save_checkpoint(good, _trained_ppo(), {})
    (tmp_path / "cut.pt").write_bytes(good.read_bytes()[:1000])  # truncated download
    with pytest.raises(ValueError, match="corrupt checkpoint .*cut.pt"):
        load_checkpoint(tmp_path / "cut.pt")
    torch.save({"weights": 1}, tmp_path / "other.pt")
    with pytest.raises(ValueError, match="not an rl_control checkpoint"):
        load_checkpoint(tmp_path / "other.pt")
    data = load_checkpoint(good)
    data["format_version"] = 99
    (tmp_path / "future.pt").write_bytes(encode_checkpoint(data))
    with pytest.raises(ValueError, match="format version 99"):
        load_checkpoint(tmp_path / "future.pt")


def test_meta_cannot_override_reserved_keys(tmp_path):
    with pytest.raises(ValueError, match="reserved key"):
        save_checkpoint(tmp_path / "c.pt", _trained_ppo(), {"policy": None})
    assert not (tmp_path / "c.pt").exists()


def test_every_damaged_file_gives_the_one_line_error(tmp_path):
    good = tmp_path / "good.pt"
    save_checkpoint(good, _trained_ppo(), {"task": "t"})
    raw = good.read_bytes()
    assert raw.startswith(MAGIC)
    damaged = {}
    # cuts anywhere (the old loader raised a bare OSError at some sizes)
    for size in (0, 10, len(MAGIC) + 30, 20_000, 50_000, len(raw) // 2, len(raw) - 1):
        damaged[f"cut{size}"] = raw[:size]
    # 400 flipped bytes inside the tensor data: torch.load alone accepted them
    flipped = bytearray(raw)
    middle = len(raw) // 2
    flipped[middle : middle + 400] = bytes(b ^ 0xFF for b in flipped[middle : middle + 400])
    damaged["flipped"] = bytes(flipped)
    damaged["digest"] = raw.replace(raw[len(MAGIC) : len(MAGIC) + 2], b"zz", 1)
    for name, content in damaged.items():
        path = tmp_path / f"{name}.pt"
        path.write_bytes(content)
        with pytest.raises(ValueError, match=f"corrupt checkpoint .*{name}.pt") as err:
            load_checkpoint(path)
        assert "\n" not in str(err.value)


def test_a_checkpoint_without_checksum_is_refused(tmp_path):
    algo = _trained_ppo()
    save_checkpoint(tmp_path / "c.pt", algo, {})
    legacy = load_checkpoint(tmp_path / "c.pt")
    legacy["format_version"] = 1
    torch.save(legacy, tmp_path / "v1.pt")  # the old layout: a bare torch.save
    with pytest.raises(ValueError, match="no checksum header"):
        load_checkpoint(tmp_path / "v1.pt")
