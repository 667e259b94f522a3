"""The graph computes the same observation, reward and termination as the in-process env:
bridge readings -> estimator -> task functions, against the env's own step() outputs."""

import numpy as np
import pytest

from rl_control.envs.registration import make_env
from rl_control.robot.pybullet import PyBulletRobot
from rl_control.roles.bridge import LockStepBridge
from rl_control.roles.estimator import StateEstimator
from rl_control.tasks.registry import GRAPH_FACTS, TASKS, make_task, task_names

#: tasks the graph runs (minitaur_tg has no sensor estimate of its generator's phase)
GRAPH_TASKS = [n for n in task_names() if set(GRAPH_FACTS) <= set(TASKS[n].facts())]


@pytest.mark.parametrize("name", GRAPH_TASKS)
def test_graph_matches_the_env_step_by_step(name: str) -> None:
    task = make_task(name)
    reference, simulated = make_env(name), make_env(name)
    try:
        robot = PyBulletRobot(simulated, task.joint_names, task.dt)
        bridge = LockStepBridge(robot, task, timeout=10.0)
        estimator = StateEstimator(task)
        obs_ref, _ = reference.reset(seed=5)
        est = estimator.estimate(bridge.reset(seed=5))
        np.testing.assert_allclose(task.observation(est.state), obs_ref, rtol=1e-5, atol=1e-5)
        rng = np.random.default_rng(0)
        for _ in range(25):
            action = rng.uniform(task.action_low, task.action_high)
            obs_ref, r_ref, term_ref, _, _ = reference.step(action.astype(np.float32))
            nxt = estimator.estimate(bridge.on_action(bridge.step, action))
            applied = task.clip_action(action.astype(np.float32))
            assert task.reward(est.state, applied, nxt.state) == pytest.approx(r_ref, abs=1e-4)
            assert task.terminated(nxt.state) == term_ref
            np.testing.assert_allclose(task.observation(nxt.state), obs_ref, rtol=1e-4, atol=1e-4)
            assert nxt.step == est.step + 1 and nxt.episode == 0
            est = nxt
            if term_ref:
                break
    finally:
        reference.close()
        simulated.close()


def test_unknown_task_and_parameters_are_refused() -> None:
    with pytest.raises(ValueError, match=r"unknown task 'pendulum'; known: \['minitaur'"):
        make_task("pendulum")
    with pytest.raises(ValueError, match=r"unknown SoftWallCartPoleParams params \['mass'\]"):
        make_task("soft_wall_cartpole", {"mass": 1.0})
