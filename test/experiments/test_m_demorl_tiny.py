"""experiments/m_demorl_tiny.py: SAC beside M-DeMoRL with the same budget, the spread table."""

import json

import pytest

from experiments import fair
from experiments import m_demorl_tiny as tiny


def test_sac_runs_the_candidates_sac_block_with_the_same_budget_and_protocol():
    ours, sac = (tiny.settings(tiny.CHOSEN, a, 3) for a in ("m_demorl", "sac"))
    assert sac["algo_config"] == ours["algo_config"]["sac"]
    same = ("task", "env", "total_steps", "eval_episodes", "seed")
    assert all(sac[k] == ours[k] for k in same)
    # one gradient step per recorded transition: the graph trainer's updates then do as many
    assert ours["algo_config"]["sac"]["gradient_steps"] == -1
    with pytest.raises(ValueError, match="unknown candidate 'z'"):
        tiny.settings("z", "sac", 0)
    with pytest.raises(ValueError, match="m_demorl or sac"):
        tiny.settings(tiny.CHOSEN, "ppo", 0)


def test_summary_gives_each_seeds_gain_over_the_untrained_actor(tmp_path):
    jobs = [tiny.settings(tiny.CHOSEN, "m_demorl", s) for s in (0, 1)]
    for s, ret in zip(jobs, ([20.0, 50.0], [25.0, 40.0]), strict=True):
        curve = {"env_steps": [0.0, 1.0], "rollouts": [0.0, 1.0], "wall_s": [0.0, 1.0],
                 "cpu_s": [0.0, 1.0], "returns": ret}  # fmt: skip
        path = tmp_path / f"{fair.settings_key(s)}.json"
        path.write_text(json.dumps({"settings": s, "curve": curve, "process_cpu_s": 2.0}))
    rows = tiny.summarise(jobs, tmp_path)[tiny.CHOSEN]["m_demorl"]
    assert [r["gain"] for r in rows] == [30.0, 15.0]
    assert "+30.0, +15.0 | +15.0 |" in tiny._markdown(tiny.summarise(jobs, tmp_path), [0, 1])


def test_the_cartpole_config_file_is_the_chosen_candidate():
    """The learning tests run config/train/m_demorl_soft_wall_cartpole.yaml; the numbers in
    their docstrings are this candidate's."""
    from rl_control.training.config import load_config

    path = tiny.ROOT / "config/train/m_demorl_soft_wall_cartpole.yaml"
    shipped, chosen = load_config(path), tiny.config(tiny.CARTPOLE_CHOSEN)
    assert (shipped.algo, shipped.task, shipped.env) == ("m_demorl", chosen["task"], chosen["env"])
    assert (shipped.total_steps, shipped.eval_episodes) == (
        chosen["total_steps"], chosen["eval_episodes"])  # fmt: skip
    assert shipped.algo_config == chosen["algo_config"] and shipped.num_envs == 1
    assert tiny.out_name("soft_wall_cartpole") == "m_demorl_tiny_soft_wall_cartpole"


def test_the_2r_leg_config_file_is_the_chosen_candidate():
    """The leg's learning test runs config/train/m_demorl_two_link_leg_tiny.yaml; the numbers
    in its docstrings are this candidate's (the env section cuts only the episode length)."""
    from rl_control.training.config import load_config

    path = tiny.ROOT / "config/train/m_demorl_two_link_leg_tiny.yaml"
    shipped, chosen = load_config(path), tiny.config(tiny.CHOSEN)
    assert (shipped.algo, shipped.task, shipped.env) == ("m_demorl", chosen["task"], chosen["env"])
    assert chosen["task"] == "two_link_leg" and set(chosen["env"]) == {"max_steps"}
    assert (shipped.total_steps, shipped.eval_episodes) == (
        chosen["total_steps"], chosen["eval_episodes"])  # fmt: skip
    assert shipped.algo_config == chosen["algo_config"] and shipped.num_envs == 1


def test_the_leg_references_are_zero_torque_and_a_tracking_pd():
    """The hand-made rows of the leg's table: doing nothing scores below the PD that tracks
    the foot path, which stays under the best return (1 per step)."""
    from m_demorl_leg import ZERO_TORQUE  # the learning test's bars refer to it

    ref = tiny.references(100)
    assert 30 < ref["zero torque"] < ref["IK-PD"] - 30 and ref["IK-PD"] < 100
    assert ref["zero torque"] == pytest.approx(ZERO_TORQUE, abs=0.05)
