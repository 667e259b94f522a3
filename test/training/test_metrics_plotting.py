"""Metrics CSV / TensorBoard rows and learning-curve figures."""

from __future__ import annotations

import math

import numpy as np
import pytest

from rl_control.training.io import atomic_write_yaml
from rl_control.training.metrics import BASE_COLUMNS, MetricsLogger, read_metrics
from rl_control.training.plotting import RunCurve, aggregate, plot_learning_curve, plot_runs

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def test_csv_columns_grow_and_resume_drops_later_rows(tmp_path):
    csv_path = tmp_path / "metrics.csv"
    log = MetricsLogger(csv_path, tmp_path / "tb")
    log.log({"env_steps": 0, "eval_return_mean": 1.5})
    log.log({"env_steps": 100, "train_return": 2.0, "loss": 0.5})
    log.log({"env_steps": 200, "train_return": math.nan, "loss": 0.25})
    log.close()
    cols = read_metrics(csv_path)
    assert list(cols)[: len(BASE_COLUMNS)] == list(BASE_COLUMNS) and "loss" in cols
    assert cols["env_steps"] == [0, 100, 200]
    assert np.isnan(cols["loss"][0]) and cols["loss"][1:] == [0.5, 0.25]
    assert np.isnan(cols["train_return"][2])
    assert any((tmp_path / "tb").iterdir())  # TensorBoard events written

    resumed = MetricsLogger(csv_path, None, resume_step=100)
    resumed.log({"env_steps": 150, "loss": 0.125})
    assert read_metrics(csv_path)["env_steps"] == [0, 100, 150]
    assert read_metrics(csv_path)["loss"][2] == 0.125


def test_torn_last_line_is_skipped(tmp_path):
    csv_path = tmp_path / "metrics.csv"
    log = MetricsLogger(csv_path)
    log.log({"env_steps": 10, "train_return": 1.0})
    with csv_path.open("a") as f:
        f.write("20,3")  # crash in the middle of an append
    assert read_metrics(csv_path)["env_steps"] == [10]
    with pytest.raises(ValueError, match="needs 'env_steps'"):
        log.log({"loss": 1.0})


def test_aggregate_interpolates_onto_the_common_range():
    a = RunCurve("ppo", np.array([0.0, 100.0, 200.0]), np.array([0.0, 10.0, 20.0]), "m")
    b = RunCurve("ppo", np.array([0.0, 50.0, 150.0]), np.array([0.0, 10.0, 10.0]), "m")
    grid, mean, low, high = aggregate([a, b])
    assert grid[0] == 0.0 and grid[-1] == 150.0  # b ends at 150
    i = int(np.argmin(np.abs(grid - 100.0)))
    at = grid[i]
    assert mean[i] == pytest.approx((at / 10 + 10.0) / 2)
    assert (low[i], high[i]) == pytest.approx((10.0, at / 10))
    _, mean_s, low_s, high_s = aggregate([a, b], band="std")
    assert high_s[i] - mean_s[i] == pytest.approx(abs(at / 10 - 10.0) / 2)
    with pytest.raises(ValueError, match="band must be"):
        aggregate([a], band="iqr")


def _fake_run(root, algo, seed, slope):
    root.mkdir()
    atomic_write_yaml(root / "config.yaml", {"algo": algo, "task": "t", "seed": seed})
    log = MetricsLogger(root / "metrics.csv")
    for step in range(0, 1001, 250):
        log.log({"env_steps": step, "eval_return_mean": slope * step, "eval_return_std": 1.0})
    return root


def test_plot_runs_groups_seeds_by_algorithm(tmp_path):
    runs = [
        _fake_run(tmp_path / f"{algo}_{seed}", algo, seed, slope)
        for algo, seed, slope in [("ppo", 0, 1.0), ("ppo", 1, 2.0), ("trpo", 0, 3.0)]
    ]
    out = plot_runs(runs, tmp_path / "curves.png")
    assert out.read_bytes()[:8] == PNG_MAGIC
    single = plot_learning_curve(runs[0] / "metrics.csv", tmp_path / "one.png")
    assert single.read_bytes()[:8] == PNG_MAGIC
    with pytest.raises(ValueError, match="run folder not found"):
        plot_runs([tmp_path / "missing"], tmp_path / "x.png")
    with pytest.raises(ValueError, match="at least one run"):
        plot_runs([], tmp_path / "x.png")
