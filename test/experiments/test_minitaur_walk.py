"""experiments/minitaur_walk.py: equal budgets per row, the warm start, curves joined."""

import numpy as np

from experiments import minitaur_walk as mw
from experiments.minitaur_walk_report import curve_of


def test_every_row_gets_the_same_env_steps_and_trpo_then_ppo_warm_starts():
    rows = mw.rows(mw.FULL)
    assert list(rows) == list(mw.ROWS)
    for row, runs in rows.items():
        assert [s["seed"] for s in runs] == list(mw.FULL.seeds)
        for s in runs:
            first = s["init_from"]
            total = s["total_steps"] + (first["total_steps"] if first else 0)
            assert total == mw.FULL.budget, row
    ppo, trpo, both = (rows[r][0] for r in mw.ROWS)
    assert (ppo["algo"], trpo["algo"], both["algo"], both["init_from"]["algo"]) == (
        "ppo", "trpo", "ppo", "trpo",
    )  # fmt: skip
    # each with its own tuned settings from the slides' config files
    assert ppo["algo_config"]["n_steps"] == 1276 and trpo["algo_config"]["n_steps"] == 293
    assert both["algo_config"]["learning_rate"] == 1.83e-5
    assert len({mw.key(s) for runs in rows.values() for s in runs}) == 9


def test_trpo_then_ppo_curve_continues_the_trpo_half():
    first = {"curve": [[0, 1.0], [50, 2.0]]}
    second = {"curve": [[0, 2.0], [25, 3.0], [50, 4.0]]}
    steps, returns = curve_of(second, first)
    assert steps.tolist() == [0, 50, 75, 100] and returns.tolist() == [1.0, 2.0, 3.0, 4.0]
    alone, _ = curve_of(first, None)
    assert np.array_equal(alone, [0, 50])
