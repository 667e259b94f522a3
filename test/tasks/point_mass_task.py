"""A task added the documented way, for the tests: one module, one registry line.

A 1-D point mass on a frictionless rail (a PyBullet prismatic joint), pushed by a force
towards the origin. Imported by the tests and, through ``RL_CONTROL_TASK_MODULES``, by the
node subprocesses of a graph run.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np

from rl_control.envs.bullet import BulletEnv, disable_default_motors, pybullet, zero_damping
from rl_control.tasks.base import StateLayout, TaskDefinition, joint_indices
from rl_control.tasks.params import override_params
from rl_control.tasks.registry import register_task

LAYOUT = StateLayout((("x", 1), ("x_dot", 1)))
JOINT_NAMES = ("rail",)


@dataclass(frozen=True)
class PointMassParams:
    mass: float = 1.0
    max_force: float = 5.0
    dt: float = 0.05
    max_steps: int = 64
    x_limit: float = 4.0
    init_range: float = 1.5


def reward(next_state: Any, action: Any, p: PointMassParams) -> Any:
    x, v = LAYOUT.get(next_state, "x"), LAYOUT.get(next_state, "x_dot")
    return 1.0 - x**2 - 0.1 * v**2 - 1e-3 * action[..., 0] ** 2


def terminated(state: Any, p: PointMassParams) -> Any:
    return abs(LAYOUT.get(state, "x")) > p.x_limit


def sample_initial_state(rng: np.random.Generator, p: PointMassParams) -> np.ndarray:
    return np.array([rng.uniform(-p.init_range, p.init_range), 0.0])


def estimate(readings: Any, p: PointMassParams) -> np.ndarray:
    idx = joint_indices(readings, JOINT_NAMES)
    return np.concatenate([readings.position[idx], readings.velocity[idx]])


class PointMassEnv(BulletEnv):
    """Force in, state (x, ẋ) out; reward and termination from the functions above."""

    def __init__(self, render_mode: str | None = None, **overrides: Any) -> None:
        super().__init__(override_params(PointMassParams(), overrides), render_mode)
        p = self.params
        self.action_space = gym.spaces.Box(-p.max_force, p.max_force, (1,), np.float32)
        self.observation_space = gym.spaces.Box(-np.inf, np.inf, (2,), np.float32)
        c = self._client
        c.setGravity(0.0, 0.0, 0.0)
        c.setTimeStep(p.dt)
        self._body = c.createMultiBody(
            baseMass=0.0, linkMasses=[p.mass], linkCollisionShapeIndices=[-1],
            linkVisualShapeIndices=[-1], linkPositions=[[0.0, 0.0, 0.0]],
            linkOrientations=[[0.0, 0.0, 0.0, 1.0]], linkInertialFramePositions=[[0.0] * 3],
            linkInertialFrameOrientations=[[0.0, 0.0, 0.0, 1.0]], linkParentIndices=[0],
            linkJointTypes=[pybullet.JOINT_PRISMATIC], linkJointAxis=[[1.0, 0.0, 0.0]],
        )  # fmt: skip
        zero_damping(c, self._body, [0])
        disable_default_motors(c, self._body, [0])
        self._steps = 0

    def _state(self) -> np.ndarray:
        ((x, v, _, _),) = self._calls.get_joint_states(self._body, (0,))
        return np.array([x, v])

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple:
        super().reset(seed=seed)
        x, v = sample_initial_state(self.np_random, self.params)
        self._client.resetJointState(self._body, 0, x, v)
        self._steps = 0
        return self._state().astype(np.float32), {}

    def step(self, action: Any) -> tuple:
        p = self.params
        force = np.clip(np.asarray(action, dtype=np.float64).reshape(1), -p.max_force, p.max_force)
        self._calls.set_motor(self._body, 0, pybullet.TORQUE_CONTROL, force=float(force[0]))
        self._calls.step_simulation()
        state = self._state()
        self._steps += 1
        term = bool(terminated(state, p))
        trunc = self._steps >= p.max_steps and not term
        return state.astype(np.float32), float(reward(state, force, p)), term, trunc, {}


DEFINITION = TaskDefinition(
    name="point_mass",
    params_cls=PointMassParams,
    layout=LAYOUT,
    joint_names=JOINT_NAMES,
    env_id="rl_control_test/PointMass-v0",
    entry_point=f"{__name__}:PointMassEnv",
    action_bounds=lambda p: (np.array([-p.max_force]), np.array([p.max_force])),
    dt=lambda p: p.dt,
    max_steps=lambda p: p.max_steps,
    observation=lambda s, p: s,
    reward=lambda s, a, s2, p: reward(s2, a, p),
    terminated=terminated,
    estimate=estimate,
    sample_initial_state=sample_initial_state,
)

register_task(DEFINITION)
