"""The 2R leg of :mod:`rl_control.tasks.two_link_leg` as a PyBullet env (hip fixed in the air).

Action: hip and knee torques [N·m], clipped to ±max_torque. One physics step of ``dt``
(500 Hz) per control step. Observation, reward and termination come from the task module;
the episode is truncated after ``max_steps``. ``reset(options={"state": s, "time": t})``
starts from a given state and trajectory time.
"""

from __future__ import annotations

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
from rl_control.tasks import two_link_leg as task
from rl_control.tasks.params import override_params
from rl_control.tasks.two_link_leg import TwoLinkLegParams

HIP, KNEE = 0, 1
HIP_HEIGHT = 0.5  # m; nothing to touch below, so only cosmetic
_JOINTS = (HIP, KNEE)
_TORQUE_CONTROL = pybullet.TORQUE_CONTROL


class TwoLinkLegEnv(BulletEnv):
    """Torque-controlled 2R leg tracking a semi-elliptical foot path; see the task module."""

    metadata = {"render_modes": ["human"], "render_fps": 500}

    def __init__(
        self,
        params: TwoLinkLegParams | None = None,
        render_mode: str | None = None,
        **overrides: Any,
    ) -> None:
        super().__init__(override_params(params or TwoLinkLegParams(), overrides), render_mode)
        p = self.params
        self.action_space = gym.spaces.Box(-p.max_torque, p.max_torque, (2,), np.float32)
        self.observation_space = gym.spaces.Box(-np.inf, np.inf, (8,), np.float32)
        self._body = self._build()
        self.state = np.zeros(4)
        self.time = 0.0
        self._steps = 0

    def _build(self) -> int:
        """Fixed hip, thigh and shank as uniform rods along −z; returns the body id."""
        p, c = self.params, self._client
        c.setGravity(0.0, 0.0, -p.gravity)
        c.setTimeStep(p.dt)
        l1, l2 = p.thigh_length, p.shank_length
        body = c.createMultiBody(
            baseMass=0.0,
            basePosition=[0.0, 0.0, HIP_HEIGHT],
            linkMasses=[p.thigh_mass, p.shank_mass],
            linkCollisionShapeIndices=[-1, -1],
            linkVisualShapeIndices=[-1, -1],
            linkPositions=[[0.0, 0.0, 0.0], [0.0, 0.0, -l1]],
            linkOrientations=[[0.0, 0.0, 0.0, 1.0]] * 2,
            linkInertialFramePositions=[[0.0, 0.0, -l1 / 2], [0.0, 0.0, -l2 / 2]],
            linkInertialFrameOrientations=[[0.0, 0.0, 0.0, 1.0]] * 2,
            linkParentIndices=[0, 1],
            linkJointTypes=[pybullet.JOINT_REVOLUTE] * 2,
            # about −y so that a positive angle swings the foot towards +x
            linkJointAxis=[[0.0, -1.0, 0.0]] * 2,
        )
        for link, mass, length in ((HIP, p.thigh_mass, l1), (KNEE, p.shank_mass, l2)):
            rod = mass * length**2 / 12.0
            c.changeDynamics(body, link, localInertiaDiagonal=[rod, rod, 1e-6])
        zero_damping(c, body, _JOINTS)
        for link in _JOINTS:
            c.changeDynamics(body, link, maxJointVelocity=1e3)
        disable_default_motors(c, body, _JOINTS)
        return body

    def joint_damping(self) -> np.ndarray:
        return np.full(len(_JOINTS), self.params.joint_damping)

    def _observe(self, errors: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
        t = np.float64(self.time)
        obs = task.observation(self.state, t, self.params, errors).astype(np.float32)
        if not np.isfinite(obs).all():
            raise ValueError(f"non-finite observation from TwoLinkLeg: {obs.tolist()}")
        return obs

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        super().reset(seed=seed)
        options = options or {}
        if "state" in options:
            state = np.asarray(options["state"], dtype=np.float64).reshape(-1)
            if state.shape != (4,):
                raise ValueError(f"reset state must have 4 entries, got shape {state.shape}")
            check_finite("reset state", state)
        else:
            state = task.sample_initial_state(self.np_random, self.params)
        self.time = float(options.get("time", 0.0))
        for joint in _JOINTS:
            self._client.resetJointState(self._body, joint, state[joint], state[2 + joint])
        self.state = state
        self._steps = 0
        return self._observe(), {}

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        p = self.params
        torque = np.asarray(action, dtype=np.float64).reshape(-1)
        if torque.shape != (2,):
            raise ValueError(f"TwoLinkLeg action must have 2 torques, got shape {torque.shape}")
        if not (np.isfinite(torque[0]) and np.isfinite(torque[1])):
            raise ValueError(f"non-finite action: {torque.tolist()}")
        torque = torque.clip(-p.max_torque, p.max_torque)
        calls = self._calls
        # viscous joint damping applied here: PyBullet ignores changeDynamics' jointDamping
        # on this body (measured: q̇ unchanged after 50 free steps at 1 N·m·s/rad)
        applied = torque - p.joint_damping * self.state[2:] if p.joint_damping else torque
        calls.set_motor_array(self._body, _JOINTS, _TORQUE_CONTROL, forces=applied)
        calls.step_simulation()
        (q1, w1, _, _), (q2, w2, _, _) = calls.get_joint_states(self._body, _JOINTS)
        self.state = np.array((q1, q2, w1, w2))
        self.time += p.dt
        self._steps += 1
        t = np.float64(self.time)
        errors = task.tracking_errors(self.state, t, p)  # shared by reward and observation
        terms = task.reward_terms(self.state, t, p, errors)
        reward = float(terms["position"] + terms["velocity"])
        terminated = bool(task.terminated(self.state, p))
        truncated = self._steps >= p.max_steps and not terminated
        info = {"reward_terms": {k: float(v) for k, v in terms.items()}, "torque": torque}
        return self._observe(errors), reward, terminated, truncated, info
