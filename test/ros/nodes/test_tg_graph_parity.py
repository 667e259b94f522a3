"""minitaur_tg and quadruped12 through sim_bridge + state_estimator processes over the
embedded back-end: the estimator's generator phase comes from the episode clock, so the
observation the graph computes equals the in-process env's, step by step; both nodes build
the task from a training config's env section (here away from the defaults), as the
in-process runner does."""

from __future__ import annotations

import time

import numpy as np
import pytest
import yaml
from node_processes import start_nodes, stop_nodes

from rl_control.ros import middleware as mw
from rl_control.tasks.registry import make_task
from rl_control.training.config import load_config
from rl_control.training.runner import Runner

TASKS = ("minitaur_tg", "quadruped12")
#: each task's generator at 2.5 Hz (default 2), and a stroke away from its default
ENV = {
    "minitaur_tg": {"step_frequency": 2.5, "residual_bound": 0.2},
    "quadruped12": {"step_frequency": 2.5, "step_length": 0.1},
}


@pytest.fixture
def embedded(monkeypatch, ros_domain):
    monkeypatch.setenv("RL_CONTROL_MIDDLEWARE", "embedded")
    return ros_domain


def _next_observation(node, observations: dict, step: int, timeout: float = 60.0):
    end = time.monotonic() + timeout
    while step not in observations:
        assert time.monotonic() < end, f"no observation for step {step}: {sorted(observations)}"
        node.spin_once(0.05)
    return observations[step]


@pytest.mark.parametrize("name", TASKS)
def test_graph_observation_equals_the_envs_step_by_step(embedded, name: str, tmp_path) -> None:
    path = tmp_path / f"ppo_{name}.yaml"
    path.write_text(yaml.safe_dump({"algo": "ppo", "task": name, "env": ENV[name]}))
    config = load_config(path)
    task = make_task(name, config.env)
    assert task.params != make_task(name).params
    args = ["-p", f"task:={name}", "-p", f"config:={path}"]
    procs = start_nodes(
        (("sim_bridge", ["--ros-args", *args, "-p", "seed:=3", "-p", "step_timeout:=60.0"]),
         ("state_estimator", ["--ros-args", *args])),
        OMP_NUM_THREADS="1",
    )  # fmt: skip
    node = mw.create_node("test_driver")
    reference = Runner(config, tensorboard=False)._make_env()  # `rl-control train`'s env
    try:
        observations: dict[int, object] = {}  # the lock-step bridge re-publishes a step
        node.create_subscription(
            "rl_control_msgs/msg/Observation", "observation",
            lambda m: observations.setdefault(int(m.step), m), 10,
        )  # fmt: skip
        action_pub = node.create_publisher("rl_control_msgs/msg/Action", "action", 10)
        Action = mw.message_class("rl_control_msgs/msg/Action")
        first = _next_observation(node, observations, 0)
        assert tuple(first.names) == task.state_names and first.episode == 0
        expected, _ = reference.reset(seed=3)
        rng = np.random.default_rng(1)
        previous, action, reward, phases = None, np.zeros(task.act_dim), 0.0, []
        for step in range(60):  # more than a gait period (40 steps at 2.5 Hz)
            state = np.asarray(_next_observation(node, observations, step).state)
            np.testing.assert_allclose(task.observation(state), expected, rtol=1e-4, atol=1e-4)
            if previous is not None:  # the reward on the graph's states: the base pose too
                r = task.reward(previous, task.clip_action(action), state)
                assert r == pytest.approx(reward, abs=1e-5), f"step {step}"
            phases.append(task.layout.get(state, "phase_sin", "phase_cos"))
            action = rng.uniform(task.action_low / 2, task.action_high / 2).astype(np.float32)
            action_pub.publish(Action(step=step, action=[float(a) for a in action]))
            expected, reward, terminated, _, _ = reference.step(action)
            assert not terminated, f"{name} fell under random actions at step {step}"
            previous = state
        # the phase went once round: the generator's, read off the estimator's episode clock
        angle = np.unwrap(np.arctan2(*np.asarray(phases).T))
        assert angle[-1] - angle[0] == pytest.approx(2 * np.pi * 2.5 * 0.59, rel=1e-6)
    finally:
        reference.close()
        node.destroy()
        mw.shutdown()
        stop_nodes(procs)
