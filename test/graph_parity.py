"""Stepping the graph's pieces beside the in-process env: bridge readings -> estimator ->
task functions, checked against the env's own step() outputs (used by the task-parity and
graph-env tests)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from rl_control.robot.pybullet import PyBulletRobot
from rl_control.roles.bridge import LockStepBridge
from rl_control.roles.estimator import StateEstimator


def assert_graph_follows_env(
    reference: Any, simulated: Any, task: Any, seed: int, steps: int, action_scale: float = 1.0
) -> dict:
    """Reset both at ``seed``, then ``steps`` random actions (a fraction ``action_scale`` of
    the action range): the graph's observation, reward and termination equal the env's, and
    the estimate advances one step at a time. Returns the reference's reset info."""
    robot = PyBulletRobot(simulated, task.joint_names, task.dt)
    bridge, estimator = LockStepBridge(robot, task, timeout=10.0), StateEstimator(task)
    obs_ref, info = reference.reset(seed=seed)
    est = estimator.estimate(bridge.reset(seed=seed))
    np.testing.assert_allclose(task.observation(est.state), obs_ref, rtol=1e-5, atol=1e-5)
    rng = np.random.default_rng(0)
    for _ in range(steps):
        action = rng.uniform(task.action_low * action_scale, task.action_high * action_scale)
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
    return info
