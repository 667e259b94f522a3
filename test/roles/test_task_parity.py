"""The graph computes the same observation, reward and termination as the in-process env:
bridge readings -> estimator -> task functions, against the env's own step() outputs."""

import pytest
from graph_parity import assert_graph_follows_env

from rl_control.envs.registration import make_env
from rl_control.tasks.registry import GRAPH_FACTS, get_task, make_task, task_names


@pytest.mark.parametrize(
    "name", [n for n in task_names() if set(GRAPH_FACTS) <= set(get_task(n).facts())]
)
def test_graph_matches_the_env_step_by_step(name: str) -> None:
    task = make_task(name)
    reference, simulated = make_env(name), make_env(name)
    try:
        assert_graph_follows_env(reference, simulated, task, seed=5, steps=25)
    finally:
        reference.close()
        simulated.close()


def test_unknown_task_and_parameters_are_refused() -> None:
    with pytest.raises(ValueError, match=r"unknown task 'pendulum'; known: \['ackley_1'"):
        make_task("pendulum")
    with pytest.raises(ValueError, match=r"unknown SoftWallCartPoleParams params \['mass'\]"):
        make_task("soft_wall_cartpole", {"mass": 1.0})
