"""Registered ids, make_env and its errors."""

import dataclasses
import subprocess
import sys

import gymnasium as gym
import numpy as np
import pytest

import rl_control.envs as envs
from rl_control.envs.registration import TASKS, make_env, register_envs


def test_ids_are_registered_idempotently_and_make_works():
    register_envs()
    register_envs()
    ids = {spec.env_id for spec in TASKS.values()}
    assert ids == {
        "rl_control/SoftWallCartPole-v0",
        "rl_control/TwoLinkLeg-v0",
        "rl_control/Minitaur-v0",
        *(f"rl_control/FunctionOpt-{f}{d}-v0" for f in ("Dejong", "Ackley") for d in (1, 64)),
        "rl_control/MinitaurTG-v0",
        "rl_control/Quadruped12-v0",
    }
    env = gym.make("rl_control/TwoLinkLeg-v0", max_steps=7)
    assert env.unwrapped.params.max_steps == 7
    assert envs.make_env is make_env


@pytest.mark.parametrize("task", sorted(TASKS))
def test_make_env_is_seeded_and_takes_params(task):
    a, b = make_env(task, seed=5), make_env(task, seed=5)
    assert np.array_equal(a.action_space.sample(), b.action_space.sample())
    obs_a, obs_b = a.reset(seed=5)[0], b.reset(seed=5)[0]
    assert np.array_equal(obs_a, obs_b)
    if "max_steps" in {f.name for f in dataclasses.fields(a.unwrapped.params)}:
        assert make_env(task, max_steps=11).unwrapped.params.max_steps == 11


def test_make_env_errors_name_the_problem():
    with pytest.raises(ValueError, match=r"unknown task 'cartpole'; known: \['ackley_1', "):
        make_env("cartpole")
    with pytest.raises(ValueError, match=r"\['gravty', 'wall'\]"):
        make_env("soft_wall_cartpole", gravty=1.0, wall=2)
    with pytest.raises(TypeError, match="seed"):
        make_env("two_link_leg", seed="0")


def test_importing_envs_does_not_load_pybullet():
    code = "import sys, rl_control.envs; assert 'pybullet' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)
