"""experiments/robustness.py: both training conditions share everything but the
randomisation, every policy meets the same grid, and a grid condition is the physics it
names (one quantity fixed, the others nominal)."""

import pytest

from experiments import robustness as rb
from experiments.reproduce import judge_robustness
from rl_control.envs.randomization import RandomizationParams
from rl_control.training.io import read_yaml


def test_training_conditions_differ_only_in_the_randomisation_and_share_the_grid():
    jobs = rb.jobs(rb.FULL)
    assert [j["config"] for j in jobs] == ["zero"] + ["nominal", "randomised"] * 3
    assert len({rb.key(j) for j in jobs}) == len(jobs)
    assert all(j["grid"] == jobs[0]["grid"] and j["eval_env"] == {"max_steps": 500}
               for j in jobs)  # fmt: skip
    nominal, randomised = jobs[1], jobs[2]
    assert nominal["env"] == {"step_frequency": 2.0, "residual_bound": 0.25, "modulate": False}
    assert set(randomised["env"]) == {"domain_randomization"}
    for k in ("algo", "algo_config", "total_steps", "seed"):
        assert nominal[k] == randomised[k], k
    assert nominal["algo_config"]["n_steps"] == 1276 and nominal["total_steps"] == 8000


def test_a_condition_fixes_one_quantity_and_keeps_the_rest_nominal():
    ranges = read_yaml(rb.CONFIGS["randomised"])["env"]["domain_randomization"]
    heavy = rb.condition_env({"base_mass_scale": 1.5}, ranges)
    assert heavy["base_mass_scale"] == [1.5, 1.5]
    assert all(lo == hi == rb.NOMINAL[k] for k, (lo, hi) in heavy.items()
               if k != "base_mass_scale")  # fmt: skip
    assert set(heavy) == set(RandomizationParams.__dataclass_fields__)  # every key pinned
    assert rb.condition_env({"randomised": 1.0}, ranges) == ranges
    with pytest.raises(ValueError, match="unknown quantities"):
        rb.condition_env({"leg_length": 1.1}, ranges)
    names = [c["name"] for c in rb.grid(rb.FULL)]
    assert names[0] == "nominal" and len(set(names)) == len(rb.GRID)


def test_a_condition_env_has_the_physics_it_names():
    from rl_control.envs.registration import make_env

    grid = {c["name"]: c for c in rb.grid(rb.QUICK)}
    masses = {}
    for name in ("nominal", "base mass x1.5 (outside)"):
        env = make_env(rb.TASK, settle_steps=100,
                       domain_randomization=grid[name]["domain_randomization"])  # fmt: skip
        try:
            env.reset(seed=rb.EVAL_SEED)
            masses[name] = env.unwrapped.total_mass()
            assert env.variation.motor_strength == 1.0 and env.variation.latency == 0.0
        finally:
            env.close()
    base = masses["nominal"]
    assert masses["base mass x1.5 (outside)"] > base * 1.1  # the base is most of the mass


def _summary(nominal: float, randomised: float) -> dict:
    conditions = {name: {"nominal": [nominal] * 3, "randomised": [randomised] * 3,
                         "zero": [1.0]} for name, _, _ in rb.GRID}  # fmt: skip
    return {"budget": 8000, "seeds": [0, 1, 2], "conditions": conditions}


def test_the_reproduction_verdict_compares_the_perturbed_conditions():
    assert judge_robustness(_summary(1.0, 1.2))[1] == "reproduced"
    assert judge_robustness(_summary(1.0, 1.05))[1] == "partly"
    text, verdict = judge_robustness(_summary(1.0, 0.9))
    assert verdict == "not reproduced" and f"0/{len(rb.GRID) - 1} perturbed" in text
    empty = _summary(1.0, 1.0)
    empty["conditions"]["nominal"]["randomised"] = []  # nominal is not judged
    assert judge_robustness(empty)[1] == "not reproduced"
    empty["conditions"]["latency 20 ms (outside)"]["randomised"] = []
    assert judge_robustness(empty)[1] == "not run"


def test_a_stopped_study_reports_only_the_seeds_both_conditions_finished():
    def run(config, seed):
        return {"settings": {"config": config, "seed": seed}}

    found = {"nominal": [run("nominal", 0), run("nominal", 1)],
             "randomised": [run("randomised", 0)], "zero": [run("zero", 0)]}  # fmt: skip
    kept = rb.paired(found)
    assert [r["settings"]["seed"] for r in kept["nominal"]] == [0]
    assert kept["randomised"] == found["randomised"] and kept["zero"] == found["zero"]
