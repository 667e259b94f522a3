"""Threshold, grid-alignment, screening and timing helpers of experiments/fair.py."""

import json
import math
import sys
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

from experiments import fair

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))


def curve(returns: list[float]) -> fair.Curve:
    n = len(returns)
    steps = np.arange(n) * 400.0
    return fair.Curve(steps, steps / 100, steps / 1000, steps / 2000, np.array(returns))


def test_first_hit_is_the_first_evaluation_at_or_above_the_threshold() -> None:
    assert fair.first_hit([0, 400, 800, 1200], [10, 90, 100, 50], 90) == 400
    assert fair.first_hit([0, 400], [10, 89.9], 90) != fair.first_hit([0, 400], [10, 90], 90)
    assert math.isnan(fair.first_hit([0, 400], [1, 2], 90))
    with pytest.raises(ValueError, match="shape"):
        fair.first_hit([0, 1], [1], 0)


def test_at_threshold_reports_every_spent_quantity_at_the_same_evaluation() -> None:
    out = fair.at_threshold(curve([0, 50, 95, 99]), 90)
    assert out == {"rollouts": 8.0, "env_steps": 800.0, "wall_s": 0.8, "cpu_s": 0.4}
    assert all(math.isnan(v) for v in fair.at_threshold(curve([0, 1]), 90).values())


def test_curve_upto_truncates_every_column() -> None:
    short = curve([0, 1, 2, 3]).upto(800)
    assert short.env_steps.tolist() == [0, 400, 800] and short.returns.tolist() == [0, 1, 2]
    with pytest.raises(ValueError, match="rollouts"):
        fair.Curve(np.zeros(2), np.zeros(1), np.zeros(2), np.zeros(2), np.zeros(2))


def test_check_grid_needs_the_policy_in_force_at_every_grid_point() -> None:
    grid = fair.eval_grid(2000, 400)
    assert grid.tolist() == [0, 400, 800, 1200, 1600, 2000]
    fair.check_grid([0, 400, 800, 1200, 1600, 2000], 200, grid)  # every second update
    fair.check_grid([0, 1024, 2048], 1024, grid)  # every update: all in-force policies seen
    with pytest.raises(ValueError, match="grid point 800"):
        fair.check_grid([0, 400, 1200, 1600, 2000], 400, grid)
    with pytest.raises(ValueError, match="0 < every"):
        fair.eval_grid(100, 400)


def test_on_grid_reads_the_last_evaluation_at_or_before_each_point() -> None:
    values = fair.on_grid([0, 1024, 2048], [1, 2, 3], [0, 400, 800, 1200, 2000, 2400])
    assert values.tolist() == [1, 1, 1, 2, 2, 3]
    with pytest.raises(ValueError, match="start"):
        fair.on_grid([400], [1], [0])


def test_screen_keeps_seeds_below_the_bar_in_order_and_skips_development_seeds() -> None:
    returns = {3: -5.0, 1: 10.0, 2: 299.0, 4: 2353.0, 5: 828.0}
    assert fair.screen(returns, 1072.0, 3, exclude=[1]) == [2, 3, 5]
    assert fair.screen(returns, 1072.0, 2) == [1, 2]
    with pytest.raises(ValueError, match="only 3 of 4"):
        fair.screen(returns, 1072.0, 4, exclude=[1])


def test_spread_counts_seeds_that_never_got_there_as_late() -> None:
    assert fair.spread([400, 800, 1200]) == "800 [400, 1200]"
    assert fair.spread([400, math.nan, math.nan]) == "never [400, never] (1/3 reached)"
    assert fair.spread([math.nan]) == "not reached (0/1)"
    assert fair.censored_median([1, 2, math.nan]) == 2


def test_clock_excludes_evaluations_and_stamps_each_one() -> None:
    clock = fair.Clock(eval_seed=10_000)
    clock.evaluation_started((100.0, 50.0))  # the step-0 evaluation: the origin
    clock.training_step((103.0, 51.0))  # evaluation took 3 s wall, 1 s CPU
    clock.training_step((110.0, 55.0))
    clock.evaluation_started((113.0, 57.0))
    clock.evaluation_started((113.5, 57.5))  # a second evaluation right after the first
    clock.training_step((120.0, 60.0))
    clock.evaluation_started((121.0, 61.0))
    assert clock.at_eval == [(0.0, 0.0), (10.0, 6.0), (10.0, 6.0), (11.0, 7.0)]


class _Env(gym.Env):
    """A minimal env; the wrapper's bookkeeping is under test."""

    observation_space = action_space = gym.spaces.Box(-1.0, 1.0, (1,))

    def reset(self, *, seed=None, options=None):
        return np.zeros(1), {}

    def step(self, action):
        return np.zeros(1), 0.0, False, False, {}


def test_clocked_env_tells_evaluation_episodes_from_training_steps() -> None:
    clock = fair.Clock(eval_seed=10_000)
    train, evaluation = fair.ClockedEnv(_Env(), clock), fair.ClockedEnv(_Env(), clock)
    train.reset(seed=3)
    evaluation.reset(seed=10_000)
    evaluation.step(0)
    evaluation.reset(seed=10_001)  # a later episode of the same evaluation: no new stamp
    assert len(clock.at_eval) == 1 and not train.is_eval and evaluation.is_eval
    train.step(0)
    evaluation.reset(seed=10_000)
    assert len(clock.at_eval) == 2 and clock.at_eval[1][0] >= 0.0


def test_median_ratio_handles_seeds_that_never_got_there() -> None:
    assert fair.median_ratio([800, 1200, 1600], [400, 400, 800]) == 3.0
    assert fair.median_ratio([math.nan] * 3, [400] * 3) == math.inf
    assert fair.median_ratio([400] * 3, [math.nan] * 3) == 0.0
    assert math.isnan(fair.median_ratio([math.nan], [math.nan]))


def test_run_once_reuses_only_a_finished_run_of_the_same_settings(tmp_path: Path) -> None:
    calls: list[Path] = []

    def train(run_dir: Path) -> dict:
        calls.append(run_dir)
        run_dir.mkdir(parents=True)
        (run_dir / "metrics.csv").write_text("x\n")
        return {"value": len(calls)}

    result, run_dir = tmp_path / "r.json", tmp_path / "run"
    settings = {"seed": 0, "grid": (1, 2)}  # a tuple: equal to its JSON list
    assert fair.run_once(result, settings, train, run_dir, keep_run=False) > 0
    assert not run_dir.exists() and fair.load_result(result, settings)["value"] == 1
    assert fair.run_once(result, settings, train, run_dir) == 0.0 and len(calls) == 1
    other = {"seed": 1, "grid": (1, 2)}
    assert fair.load_result(result, other) is None  # same file, other run: not reused
    fair.run_once(result, other, train, run_dir)
    assert fair.load_result(result, other)["value"] == 2 and run_dir.is_dir()


def test_run_once_starts_an_unfinished_run_over_and_writes_nothing_on_failure(
    tmp_path: Path,
) -> None:
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "stale").write_text("left by a killed run")

    def crash(folder: Path) -> dict:
        assert not (folder / "stale").exists()  # started over
        raise RuntimeError("diverged")

    with pytest.raises(RuntimeError, match="diverged"):
        fair.run_once(tmp_path / "r.json", {"seed": 0}, crash, run_dir)
    assert not (tmp_path / "r.json").exists()


def test_run_pool_in_process_keeps_order() -> None:
    assert list(fair.run_pool(abs, [-1, 2, -3], workers=1)) == [1, 2, 3]


def test_write_report_writes_figure_summary_and_table(tmp_path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from results_table import start_run

    fig, ax = plt.subplots()
    ax.plot([0, 1], [0, 1])
    run = start_run(argv=["experiments/fair.py"])
    md = fair.write_report(fig, tmp_path / "out", "demo", {"a": 1}, "Demo", ["x"], [["1"]],
                           ["a note"], run)  # fmt: skip
    assert md == tmp_path / "out" / "demo.md" and "| 1 |" in md.read_text()
    assert "- a note" in md.read_text()
    assert json.loads((tmp_path / "out" / "demo.json").read_text()) == {"a": 1}
    assert (tmp_path / "out" / "demo.png").read_bytes()[:4] == b"\x89PNG"
    assert not plt.fignum_exists(fig.number)  # closed
    assert [p.name for p in (tmp_path / "out").iterdir() if p.name.startswith(".")] == []


def test_train_run_returns_the_eval_curve_and_the_final_policy(tmp_path: Path) -> None:
    tiny = {"n_steps": 64, "batch_size": 32, "n_epochs": 1, "hidden": [8]}
    s = {"algo": "ppo", "env": {}, "seed": 3, "total_steps": 128, "eval_every": 64,
         "algo_config": tiny}  # fmt: skip
    curve, policy, seconds = fair.train_run(s, "soft_wall_cartpole", tmp_path / "run", "probe")
    assert [step for step, _ in curve] == [0, 64, 128] and seconds > 0
    assert all(math.isfinite(ret) for _, ret in curve)
    assert policy.predict(np.zeros(4)).shape == (1,)
    assert (tmp_path / "run" / "checkpoint.pt").is_file()
    # eval_every given: only the end is evaluated
    curve, _, _ = fair.train_run(s, "soft_wall_cartpole", tmp_path / "run2", "probe",
                                 eval_every=128)  # fmt: skip
    assert [step for step, _ in curve] == [0, 128]


def test_grid_points_are_every_combination_in_grid_order() -> None:
    assert fair.grid_points({"lr": [1, 2]}) == [{"lr": 1}, {"lr": 2}]
    assert fair.grid_points({"a": [1, 2], "b": ["x", "y"]}) == [
        {"a": 1, "b": "x"}, {"a": 1, "b": "y"}, {"a": 2, "b": "x"}, {"a": 2, "b": "y"},
    ]  # fmt: skip
    with pytest.raises(ValueError, match="at least one value"):
        fair.grid_points({"lr": []})


def test_check_disjoint_refuses_a_tuning_seed_that_is_reported() -> None:
    fair.check_disjoint([100, 101], [0, 1, 2, 3, 4])
    with pytest.raises(ValueError, match=r"\[2\] are also reported"):
        fair.check_disjoint([2, 100], [0, 1, 2])
    with pytest.raises(ValueError, match="no tuning seeds"):
        fair.check_disjoint([], [0])


def test_pick_best_takes_the_highest_mean_over_seeds_and_the_first_on_a_tie() -> None:
    # point 1 has the single best seed, point 2 the best mean
    assert fair.pick_best([[1.0, 1.0], [9.0, -5.0], [3.0, 2.0]]) == 2
    assert fair.pick_best([[2.0], [1.0], [2.0]]) == 0
    for bad in ([], [[1.0], []], [[1.0], [math.nan]]):
        with pytest.raises(ValueError, match="pick_best"):
            fair.pick_best(bad)
