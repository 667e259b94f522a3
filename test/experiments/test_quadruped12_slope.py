"""experiments/quadruped12_slope.py: one mixed-slope config per row, evaluation on fixed
slopes, the goal rule and the table's cells."""

import math

import numpy as np

from experiments import quadruped12_slope as qs
from experiments.quadruped12_slope_report import cot_cell, header, speed_cell


def test_runs_train_on_the_slope_mix_and_are_evaluated_on_each_slope_alone():
    runs = [qs.settings(qs.FULL, c, seed) for seed in qs.FULL.seeds for c in qs.CONFIGS]
    assert len({qs.key(s) for s in runs}) == len(qs.FULL.seeds) * len(qs.CONFIGS)
    s = runs[0]
    assert s["env"]["slopes"] == [0.0, 0.1, 0.17] and s["total_steps"] == qs.FULL.budget
    assert s["algo_config"]["init_log_std"] == -1.0
    assert qs.eval_env(s["env"], 0.1) == {"slope": 0.1}
    fall = qs.settings(qs.FULL, "ppo_fall", 0)  # the same config plus the fall penalty
    assert fall["env"] == {**s["env"], "fall_penalty": qs.FALL_PENALTY}
    assert fall["algo_config"] == s["algo_config"]
    quick = qs.settings(qs.QUICK, "ppo", 0)
    assert quick["env"]["max_steps"] == 50 and quick["algo_config"]["n_steps"] == 100


def test_goal_rule_beats_the_zero_action_uphill_and_holds_on_flat_ground():
    zero = {"0": 0.25, "0.1": 0.16, "0.17": -0.29}
    good = {"0": [0.24, 0.30, 0.40], "0.1": [0.1] * 3, "0.17": [-0.3, 0.05, 0.1]}
    assert qs.beats(good, zero) == {"steep": True, "flat": True}
    slow_flat = {**good, "0": [0.2, 0.22, 0.5]}  # median 0.22 < 95 % of 0.25
    assert qs.beats(slow_flat, zero) == {"steep": True, "flat": False}
    assert not qs.beats({**good, "0.17": [-0.3, -0.3, 1.0]}, zero)["steep"]
    # slower back down than the trot is not up the slope
    assert not qs.beats({**good, "0.17": [-0.2, -0.01, 0.1]}, zero)["steep"]


def test_cells_and_the_constant_policy():
    assert speed_cell([0.1, 0.3, 0.2]) == "0.200 [0.100, 0.300]" and speed_cell([0.5]) == "0.500"
    assert cot_cell([1.0, math.nan, 2.0]) == "1.50 [1.00, 2.00] (1/3 moved back)"
    assert cot_cell([math.nan]) == "- (moved back)"
    assert header((0.0, 0.17))[2:6] == ("speed 0 rad (m/s)", "CoT 0 rad", "speed 0.17 rad (m/s)",
                                        "CoT 0.17 rad")  # fmt: skip
    out = qs.ConstantPolicy(qs.HAND_SET).act(np.zeros((2, 22)))
    assert out.mean.shape == (2, 16) and np.array_equal(out.mean[1], qs.HAND_SET.reshape(-1))


def test_another_budget_is_its_own_study():
    longer = qs.replace(qs.FULL, budget=150_000)
    assert qs.study_name(qs.FULL, False) == "quadruped12_slope"
    assert qs.study_name(longer, False) == "quadruped12_slope_150k"
    assert qs.study_name(qs.QUICK, True) == "quadruped12_slope"  # in its own folder
    a, b = qs.settings(qs.FULL, "ppo", 0), qs.settings(longer, "ppo", 0)
    assert b["total_steps"] == 150_000 and qs.key(a) != qs.key(b)
