"""Atomic writes: a crash mid-write leaves the previous file intact and no debris."""

from __future__ import annotations

import os
import pickle

import pytest
import torch

from rl_control.training.io import (
    atomic_save_torch,
    atomic_write_json,
    atomic_write_text,
    atomic_write_yaml,
    read_yaml,
)


def test_atomic_write_replaces_content_and_keeps_mode(tmp_path):
    target = tmp_path / "sub" / "file.txt"
    atomic_write_text(target, "one")
    assert target.read_text() == "one"
    assert target.stat().st_mode & 0o777 == 0o644  # not mkstemp's 0600
    os.chmod(target, 0o640)
    atomic_write_text(target, "two")
    assert target.read_text() == "two"
    assert target.stat().st_mode & 0o777 == 0o640
    assert sorted(p.name for p in target.parent.iterdir()) == ["file.txt"]


def test_crash_during_replace_keeps_old_checkpoint(tmp_path, monkeypatch):
    target = tmp_path / "checkpoint.pt"
    atomic_save_torch(target, {"step": 1})

    def crash(src, dst):
        raise OSError("simulated power cut")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="power cut"):
        atomic_save_torch(target, {"step": 2})
    monkeypatch.undo()
    assert torch.load(target, weights_only=False) == {"step": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["checkpoint.pt"]  # temp file removed


def test_unpicklable_object_writes_nothing(tmp_path):
    target = tmp_path / "checkpoint.pt"
    atomic_save_torch(target, {"step": 1})
    with pytest.raises((AttributeError, TypeError, pickle.PicklingError)):
        atomic_save_torch(target, {"bad": lambda: None})
    assert torch.load(target, weights_only=False) == {"step": 1}
    assert len(list(tmp_path.iterdir())) == 1


def test_yaml_and_json_round_trip(tmp_path):
    atomic_write_yaml(tmp_path / "a.yaml", {"b": 1, "a": [1.5, "x"]})
    assert read_yaml(tmp_path / "a.yaml") == {"b": 1, "a": [1.5, "x"]}
    assert list(read_yaml(tmp_path / "a.yaml")) == ["b", "a"]  # insertion order kept
    atomic_write_json(tmp_path / "a.json", {"k": 2})
    assert (tmp_path / "a.json").read_text() == '{\n  "k": 2\n}\n'


def test_yaml_reads_exponent_floats(tmp_path):
    (tmp_path / "c.yaml").write_text("lr: 3e-4\nn: 1e6\nname: 1e\nver: 1.0\n")
    data = read_yaml(tmp_path / "c.yaml")
    assert data == {"lr": 3e-4, "n": 1e6, "name": "1e", "ver": 1.0}
    assert isinstance(data["lr"], float)


def test_read_yaml_errors_are_one_line(tmp_path):
    with pytest.raises(ValueError, match="file not found"):
        read_yaml(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("algo: ppo\n  task: [unclosed\n")
    with pytest.raises(ValueError, match=r"malformed YAML in .*bad.yaml \(line \d+") as info:
        read_yaml(bad)
    assert "\n" not in str(info.value)
