"""experiments/minitaur_walk.py: equal budgets per row, the warm start, curves joined."""

from pathlib import Path

import numpy as np
import pytest

from experiments import minitaur_walk as mw
from experiments.minitaur_walk_report import curve_of

ROOT = Path(__file__).resolve().parents[2]


def test_every_row_gets_the_same_env_steps_and_trpo_then_ppo_warm_starts():
    rows = mw.rows(mw.FULL)
    assert list(rows) == [mw.row_name(r, v) for v in mw.VARIANTS for r in mw.ROWS]
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
    distinct = {mw.key(s) for runs in rows.values() for s in runs}
    assert len(distinct) == 3 * len(mw.VARIANTS) * len(mw.FULL.seeds)


def test_horizon_variant_changes_gamma_and_initial_std_alike_for_all_three():
    rows = mw.rows(mw.FULL)
    slides = [s for r in mw.ROWS for s in rows[r]]
    horizon = [s for r in mw.ROWS for s in rows[mw.row_name(r, "horizon")]]
    horizon += [s["init_from"] for s in horizon if s["init_from"]]  # TRPO → PPO's TRPO half
    assert len(horizon) == 4 * len(mw.FULL.seeds)
    for s in horizon:
        assert s["algo_config"]["gamma"] == 0.99 and s["algo_config"]["init_log_std"] == -1.0
    # the slides' rows keep each algorithm's own discount and the default initial std
    assert {s["algo_config"]["gamma"] for s in slides} == {0.909, 0.974, 0.913}
    assert not any("init_log_std" in s["algo_config"] for s in slides)
    # everything else is each algorithm's slides setting, in both variants
    for a, b in zip(slides, horizon, strict=False):
        rest = {k: v for k, v in b["algo_config"].items() if k not in ("gamma", "init_log_std")}
        assert rest == {k: v for k, v in a["algo_config"].items() if k != "gamma"}


@pytest.mark.parametrize(("variant", "changed"), [("gamma", "gamma"), ("std", "init_log_std")])
def test_one_change_variants_set_exactly_their_one_override_of_horizon(variant, changed):
    rows = mw.rows(mw.FULL)
    for r in mw.ROWS:
        runs = rows[mw.row_name(r, variant)]
        pairs = list(zip(rows[r], runs, strict=True))
        pairs += [(a["init_from"], b["init_from"]) for a, b in pairs if a["init_from"]]
        assert len(pairs) == len(mw.FULL.seeds) * (2 if r == "TRPO → PPO" else 1)
        for slides, one in pairs:
            a, b = slides["algo_config"], one["algo_config"]
            differ = {k for k in a.keys() | b.keys() if a.get(k) != b.get(k)}
            assert differ == {changed}, (r, differ)
            # the one value is horizon's
            assert b[changed] == mw.variant_overrides("horizon")[changed]
            assert {k: v for k, v in one.items() if k not in ("algo_config", "init_from")} == {
                k: v for k, v in slides.items() if k not in ("algo_config", "init_from")
            }  # fmt: skip
    assert mw.VARIANT_LABELS[variant] not in ("", mw.VARIANT_LABELS["horizon"])


def test_slides_variant_keeps_the_first_studys_result_files():
    """The 10k-step study's committed JSONs are the slides variant's runs (same hashes)."""
    first_study = mw.Plan(10_000, 5_000, (0, 1, 2), variants=("slides",))
    ppo0 = mw.rows(first_study)["PPO"][0]
    assert mw.key(ppo0) == "aeb610fd1fb9dd3b"
    assert mw.load(ROOT / "experiments/results/minitaur_walk_runs", ppo0) is not None
    # and adding variants left the 40k study's slides and horizon runs where they were
    results = ROOT / "experiments/results/minitaur_walk_runs"
    rows = mw.rows(mw.Plan(40_000, 10_000, (0, 1, 2, 3, 4), variants=("slides", "horizon")))
    assert all(mw.load(results, s) is not None for runs in rows.values() for s in runs)
    assert mw.key(rows[mw.row_name("PPO", "horizon")][0]) == "db0dd54855cf2afa"


def test_horizon_gamma():
    assert mw.horizon_gamma(1.0, 0.01) == 0.99
    assert abs(mw.horizon_gamma(0.5, 0.01) - 0.98) < 1e-12
    with pytest.raises(ValueError):
        mw.horizon_gamma(0.01, 0.01)
    with pytest.raises(ValueError):
        mw.variant_overrides("tuned_alike")


def test_trpo_then_ppo_curve_continues_the_trpo_half():
    first = {"curve": [[0, 1.0], [50, 2.0]]}
    second = {"curve": [[0, 2.0], [25, 3.0], [50, 4.0]]}
    steps, returns = curve_of(second, first)
    assert steps.tolist() == [0, 50, 75, 100] and returns.tolist() == [1.0, 2.0, 3.0, 4.0]
    alone, _ = curve_of(first, None)
    assert np.array_equal(alone, [0, 50])


def test_tuned_variant_runs_each_algorithms_own_tuned_config():
    """PPO the PPO study's best config, TRPO the TRPO study's, TRPO → PPO TRPO's for its TRPO
    half and PPO's for its PPO half; both files name their study and were tuned on a seed
    the table never reports."""
    from experiments import minitaur_tune as mt
    from rl_control.training.io import read_yaml

    tuned = {algo: read_yaml(mt.tuned_config(algo)) for algo in mt.ALGOS}
    for algo, data in tuned.items():
        head = mt.tuned_config(algo).read_text().splitlines()[0]
        assert head.startswith(f"# best of rl-control tune study 'rl_control_tune' in "
                               f"{mt.study_dir(algo)} (trial ")  # fmt: skip
        assert data["algo"] == algo and data["seed"] not in mw.FULL.seeds
    rows = mw.rows(mw.FULL)
    ppo, trpo, both = (rows[mw.row_name(r, "tuned")] for r in mw.ROWS)
    for s in ppo:
        assert (s["algo"], s["algo_config"]) == ("ppo", tuned["ppo"]["algo_config"])
    for s in trpo:
        assert (s["algo"], s["algo_config"]) == ("trpo", tuned["trpo"]["algo_config"])
    for s in both:
        assert (s["algo"], s["algo_config"]) == ("ppo", tuned["ppo"]["algo_config"])
        first = s["init_from"]
        assert (first["algo"], first["algo_config"]) == ("trpo", tuned["trpo"]["algo_config"])
    # not the slides' settings under another name
    assert ppo[0]["algo_config"] != rows["PPO"][0]["algo_config"]
    assert trpo[0]["algo_config"] != rows["TRPO"][0]["algo_config"]
