"""Metrics CSV / TensorBoard rows and learning-curve figures."""

from __future__ import annotations

import math

import numpy as np
import pytest

from rl_control.training.io import atomic_write_yaml
from rl_control.training.metrics import BASE_COLUMNS, MetricsLogger, read_metrics
from rl_control.training.plotting import (
    METRIC_NAMES,
    RunCurve,
    aggregate,
    draw_runs,
    load_curve,
    plot_learning_curve,
    plot_runs,
)

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


def _fake_run(root, algo, seed, slope, metric="eval_return_mean", every=250):
    root.mkdir()
    atomic_write_yaml(root / "config.yaml", {"algo": algo, "task": "t", "seed": seed})
    log = MetricsLogger(root / "metrics.csv")
    for step in range(0, 1001, every):
        log.log({"env_steps": step, metric: slope * step})
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


def test_aggregate_stays_on_logged_steps():
    a = RunCurve("ppo", np.array([0.0, 500.0, 1000.0]), np.array([0.0, 5.0, 10.0]), "m")
    b = RunCurve("ppo", np.array([0.0, 500.0, 1000.0]), np.array([2.0, 7.0, 12.0]), "m")
    grid, mean, low, high = aggregate([a, b])
    np.testing.assert_array_equal(grid, [0.0, 500.0, 1000.0])  # not a dense made-up grid
    np.testing.assert_array_equal(mean, [1.0, 6.0, 11.0])


def _legend(fig):
    return [t.get_text() for t in fig.axes[0].get_legend().get_texts()]


def test_plot_says_which_return_and_marks_points(tmp_path):
    evals = [_fake_run(tmp_path / f"ppo_{s}", "ppo", s, 1.0 + s, every=500) for s in (0, 1)]
    graph = _fake_run(tmp_path / "mpc", "ppo_mpc", 0, 2.0, metric="train_return", every=10)
    assert load_curve(graph).metric == "train_return"
    fig = draw_runs([load_curve(r) for r in evals])
    ax = fig.axes[0]
    assert ax.get_ylabel() == METRIC_NAMES["eval_return_mean"]
    (line,) = ax.get_lines()
    assert line.get_marker() == "o" and len(line.get_xdata()) == 3  # the 3 evaluations
    assert _legend(fig) == ["ppo (mean of 2 seeds)"]
    mixed = draw_runs([load_curve(r) for r in (*evals, graph)])
    assert mixed.axes[0].get_ylabel() == "episode return"
    assert _legend(mixed) == [
        f"ppo: {METRIC_NAMES['eval_return_mean']} (mean of 2 seeds)",
        f"ppo_mpc: {METRIC_NAMES['train_return']}",
    ]
    dense = mixed.axes[0].get_lines()[1]
    assert len(dense.get_xdata()) == 101 and dense.get_marker() in (None, "None", "")


def test_same_seed_runs_are_not_a_spread(tmp_path):
    a = _fake_run(tmp_path / "ppo_seed0", "ppo", 0, 1.0)
    b = _fake_run(tmp_path / "ppo_seed0_2", "ppo", 0, 2.0)
    with pytest.raises(ValueError, match="both 'ppo' with seed 0: a spread needs different"):
        plot_runs([a, b], tmp_path / "x.png")
    with pytest.raises(ValueError, match="both 'ppo' with seed 0"):
        plot_runs([a, a], tmp_path / "x.png")
    assert not (tmp_path / "x.png").exists()


def test_plot_out_must_be_a_png_in_an_existing_folder(tmp_path):
    run = _fake_run(tmp_path / "ppo_seed0", "ppo", 0, 1.0)
    with pytest.raises(ValueError, match="folder for --out does not exist: .*nowhere"):
        plot_runs([run], tmp_path / "nowhere" / "x.png")
    assert not (tmp_path / "nowhere").exists()
    with pytest.raises(ValueError, match="must end in .png"):
        plot_runs([run], tmp_path / "x.pdf")
