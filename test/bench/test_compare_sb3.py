"""The SB3 comparison reports speed and return of the same runs, mean ± std over seeds."""

import compare_sb3
import pytest


def test_row_summarises_the_same_runs_over_seeds() -> None:
    ours = [{"steps_per_s": 300.0, "return": 10.0}, {"steps_per_s": 100.0, "return": 20.0}]
    sb3 = [{"steps_per_s": 100.0, "return": 30.0}, {"steps_per_s": 100.0, "return": 30.0}]
    row = compare_sb3.table_row("ppo", 2048, ours, sb3)
    assert row == ["ppo", 2048, 2, "200 ± 100", "100 ± 0", "2.00x", "15.0 ± 5.0", "30.0 ± 0.0"]


def test_row_needs_matching_runs() -> None:
    with pytest.raises(ValueError, match="same positive number"):
        compare_sb3.table_row("ppo", 1, [{"steps_per_s": 1.0, "return": 0.0}], [])
