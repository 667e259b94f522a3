"""The soft-wall cart-pole of :mod:`rl_control.tasks.soft_wall_cartpole` as a PyBullet env.

A fixed rail carries the cart (prismatic joint along x) and the pole (revolute joint about y,
so a positive angle tilts the tip towards +x), built with ``createMultiBody`` from the params'
masses, centre of mass and inertia, with no damping. One physics step of ``params.dt`` per
control step; during it the action force acts on the cart and the soft-wall force
k·penetration, computed from the state at the start of the step, acts horizontally at the
pole tip. That is exactly what :func:`~rl_control.tasks.soft_wall_cartpole.exact_lcs` models
(semi-implicit Euler, forces constant over the step). One measured deviation: PyBullet takes
the tip force's lever arm from the pole's centre of mass cached at the previous step, so in
contact the generalised force on θ is off by l_c·(cos θ − cos θ_prev)·f (a few mrad/s per
step; see test/tasks/test_soft_wall_cartpole_differentiable.py).
"""

from __future__ import annotations

import math
from typing import Any

import gymnasium as gym
import numpy as np

from rl_control.envs.bullet import (
    BulletEnv,
    check_finite,
    disable_default_motors,
    pybullet,
    zero_damping,
)
from rl_control.tasks import soft_wall_cartpole as task
from rl_control.tasks.params import override_params
from rl_control.tasks.soft_wall_cartpole import SoftWallCartPoleParams

CART, POLE = 0, 1  # link (= joint) indices of the multibody
_TINY_INERTIA = 1e-6  # axes about which a link cannot turn still need a positive inertia


class SoftWallCartPoleEnv(BulletEnv):
    """Cart-pole between two soft walls; observation = state (x, θ, ẋ, θ̇), action = force [N].

    ``reset(options={"state": s})`` starts from a given state instead of the reset
    distribution (used to compare the env with the LCS model).
    """

    metadata = {"render_modes": ["human"], "render_fps": 100}

    def __init__(
        self,
        params: SoftWallCartPoleParams | None = None,
        render_mode: str | None = None,
        **overrides: Any,
    ) -> None:
        super().__init__(
            override_params(params or SoftWallCartPoleParams(), overrides), render_mode
        )
        p = self.params
        self.action_space = gym.spaces.Box(-p.max_force, p.max_force, (1,), np.float32)
        self.observation_space = gym.spaces.Box(-np.inf, np.inf, (4,), np.float32)
        self._body = self._build()
        self.state = np.zeros(4)
        self.wall_force = np.zeros(2)
        self._steps = 0

    def _build(self) -> int:
        """Rail (fixed base), cart and pole; returns the body id."""
        p, c = self.params, self._client
        c.setGravity(0.0, 0.0, -p.gravity)
        c.setTimeStep(p.dt)
        body = c.createMultiBody(
            baseMass=0.0,
            basePosition=[0.0, 0.0, 0.0],
            linkMasses=[p.cart_mass, p.pole_mass],
            linkCollisionShapeIndices=[-1, -1],
            linkVisualShapeIndices=[-1, -1],
            linkPositions=[[0.0, 0.0, 0.0], [0.0, 0.0, 0.0]],
            linkOrientations=[[0.0, 0.0, 0.0, 1.0]] * 2,
            linkInertialFramePositions=[[0.0, 0.0, 0.0], [0.0, 0.0, p.pole_com]],
            linkInertialFrameOrientations=[[0.0, 0.0, 0.0, 1.0]] * 2,
            linkParentIndices=[0, 1],
            linkJointTypes=[pybullet.JOINT_PRISMATIC, pybullet.JOINT_REVOLUTE],
            linkJointAxis=[[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]],
        )
        c.changeDynamics(body, CART, localInertiaDiagonal=[_TINY_INERTIA] * 3)
        c.changeDynamics(
            body, POLE, localInertiaDiagonal=[p.pole_inertia, p.pole_inertia, _TINY_INERTIA]
        )
        zero_damping(c, body, [CART, POLE])
        c.changeDynamics(body, CART, maxJointVelocity=1e4)
        c.changeDynamics(body, POLE, maxJointVelocity=1e4)
        disable_default_motors(c, body, [CART, POLE])
        return body

    def _set_state(self, state: np.ndarray) -> None:
        self._client.resetJointState(self._body, CART, state[0], state[2])
        self._client.resetJointState(self._body, POLE, state[1], state[3])
        self.state = np.array(state, dtype=np.float64)

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        super().reset(seed=seed)
        if options and "state" in options:
            state = np.asarray(options["state"], dtype=np.float64).reshape(-1)
            if state.shape != (4,):
                raise ValueError(f"reset state must have 4 entries, got shape {state.shape}")
            check_finite("reset state", state)
        else:
            state = task.sample_initial_state(self.np_random, self.params)
        self._set_state(state)
        self._steps = 0
        self.wall_force = task.wall_forces(self.state, self.params)
        return task.observation(self.state).astype(np.float32), {}

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        p = self.params
        force = float(np.asarray(action, dtype=np.float64).reshape(-1)[0])
        if not math.isfinite(force):
            raise ValueError(f"non-finite action: {action!r}")
        force = min(max(force, -p.max_force), p.max_force)
        state = self.state
        # soft walls from the state at the start of the step: right pushes −x, left +x
        lam = task.wall_forces(state, p)
        tip_x = state[0] + p.pole_length * math.sin(state[1])
        tip_z = p.pole_length * math.cos(state[1])
        calls = self._calls
        calls.apply_external_force(
            self._body,
            POLE,
            (float(lam[1] - lam[0]), 0.0, 0.0),
            (tip_x, 0.0, tip_z),
            pybullet.WORLD_FRAME,
        )
        calls.set_motor(self._body, CART, pybullet.TORQUE_CONTROL, force=force)
        calls.step_simulation()
        (x, xd, _, _), (th, thd, _, _) = calls.get_joint_states(self._body, (CART, POLE))
        self.state = np.array((x, th, xd, thd))
        self._steps += 1
        self.wall_force = lam
        act = np.array((force,))
        terms = task.reward_terms(self.state, act)
        reward = float(terms["alive"] + terms["state_cost"] + terms["action_cost"])
        terminated = bool(task.terminated(self.state, p))
        truncated = self._steps >= p.max_steps and not terminated
        obs = task.observation(self.state).astype(np.float32)
        if not np.isfinite(obs).all():
            raise ValueError(f"non-finite observation from SoftWallCartPole: {obs.tolist()}")
        info = {"reward_terms": {k: float(v) for k, v in terms.items()}, "wall_force": lam}
        return obs, reward, terminated, truncated, info
