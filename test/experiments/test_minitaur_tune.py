"""experiments/minitaur_tune.py: PPO's and TRPO's studies get equal effort, their tuned
configs are their base configs with only the searched keys changed, inside the space."""

import pytest

from experiments import minitaur_tune as mt
from experiments import minitaur_walk as mw
from rl_control.training.config import load_config
from rl_control.training.tune import load_space


def test_the_two_search_spaces_have_the_same_shape_and_settings():
    ppo, trpo = (load_space(mt.space_file(a)) for a in mt.ALGOS)
    for field in ("eval_episodes", "sampler_seed", "eval_every", "pruner", "train_seeds"):
        assert getattr(ppo, field) == getattr(trpo, field), field
    assert ppo.pruner == "median" and len(ppo.params) == len(trpo.params)
    # several training seeds, none of them one minitaur_walk.py reports
    assert len(ppo.train_seeds) >= 2 and not set(ppo.train_seeds) & set(mw.FULL.seeds)
    shared = {p.key for p in ppo.params} & {p.key for p in trpo.params}
    assert shared == {"algo.gamma", "algo.gae_lambda", "algo.init_log_std", "algo.n_steps"}
    for a, b in zip(ppo.params, trpo.params, strict=True):
        if a.key in shared:
            assert a == b
        else:  # each algorithm's step size: log scale over the same number of decades
            assert (a.key, b.key) == ("algo.learning_rate", "algo.target_kl")
            assert a.log and b.log and a.high / a.low == pytest.approx(b.high / b.low)


@pytest.mark.parametrize("algo", mt.ALGOS)
def test_a_tuned_config_changes_only_the_searched_keys_within_the_space(algo):
    base, tuned = (load_config(f).to_dict() for f in (mt.base_config(algo), mt.tuned_config(algo)))
    space = load_space(mt.space_file(algo))
    searched = {p.key.removeprefix("algo.") for p in space.params}
    a, b = base["algo_config"], tuned["algo_config"]
    assert {k for k in a.keys() | b.keys() if a.get(k) != b.get(k)} <= searched
    for p in space.params:
        assert p.low <= b[p.key.removeprefix("algo.")] <= p.high, p.key
    rest = {"algo_config", "seed", "total_steps", "run_dir"}
    assert {k: v for k, v in tuned.items() if k not in rest} == {
        k: v for k, v in base.items() if k not in rest
    }  # fmt: skip
    assert (tuned["seed"], tuned["total_steps"]) == (space.train_seeds[0], mt.STEPS)
    head = mt.tuned_config(algo).read_text().splitlines()[0]
    assert f"in {mt.study_dir(algo)} (trial " in head
    assert f"over training seeds {list(space.train_seeds)}" in head


def test_unknown_algorithms_are_refused():
    with pytest.raises(ValueError, match="unknown algorithm"):
        mt.main(["--algos", "sac", "--copy-only"])


def test_every_study_is_run_to_the_same_number_of_trials(monkeypatch):
    ran, copied = [], []
    monkeypatch.chdir(mt.ROOT)  # main() works from the root; the test's folder comes back
    monkeypatch.setattr(mt, "run_study", lambda algo, trials, steps: ran.append(
        (algo, trials, steps)) or {"trials": trials, "best_value": 0.0})  # fmt: skip
    monkeypatch.setattr(mt, "copy_results", copied.append)
    mt.main(["--trials", "16"])
    assert ran == [(algo, 16, mt.STEPS) for algo in mt.ALGOS] and copied == list(mt.ALGOS)
    ran.clear()
    mt.main(["--algos", "trpo"])
    assert ran == [("trpo", mt.TRIALS, mt.STEPS)]
