"""pybullet_data's A1 (12 motors) walking through an elliptical foot trajectory, as a gymnasium
env; the task (gait, kinematics, reward, termination) is :mod:`rl_control.tasks.quadruped12`.

Set-up: the plane is tilted by ``slope`` about y (+x runs uphill) and the robot placed on it
in the nominal stance, its default velocity motors switched off; the motors are
torque-driven by the task's PD law at every physics step. The robot settles in the stance
once, and every reset restores that snapshot (``saveState``), so every episode starts from
bit-identical physics. The state vector follows the task's ``LAYOUT`` and the observation,
reward and termination are the task's functions of it.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

import gymnasium as gym
import numpy as np
import pybullet_data

from rl_control.envs.bullet import BulletEnv, check_finite, disable_default_motors, pybullet
from rl_control.tasks import quadruped12 as task
from rl_control.tasks.params import override_params
from rl_control.tasks.quadruped12 import Quadruped12Params


class Quadruped12Env(BulletEnv):
    """16 trajectory-generator actions in, 22-D observation out; ``info["foot_targets"]``."""

    metadata = {"render_modes": ["human"], "render_fps": 100}
    urdf_file = task.URDF_FILE
    params: Quadruped12Params

    def __init__(
        self,
        params: Quadruped12Params | None = None,
        render_mode: str | None = None,
        **overrides: Any,
    ) -> None:
        super().__init__(override_params(params or Quadruped12Params(), overrides), render_mode)
        low, high = task.action_bounds(self.params)
        self.action_space = gym.spaces.Box(low.astype(np.float32), high.astype(np.float32))
        self.observation_space = gym.spaces.Box(-np.inf, np.inf, (task.OBS_DIM,), np.float32)
        self._build()
        self._episode = self._slopes[0][0]
        self._client.restoreState(stateId=self._slopes[0][1])
        self._read_motors()
        self.phase, self._steps = 0.0, 0
        self._state = self._read_state()

    def _build(self) -> None:
        p, c = self.params, self._client
        c.setAdditionalSearchPath(pybullet_data.getDataPath())
        c.setGravity(0.0, 0.0, -9.8)
        c.setTimeStep(p.physics_dt)
        slopes = task.episode_slopes(p)
        self._plane = c.loadURDF("plane.urdf", (0.0, 0.0, 0.0), self._tilt(slopes[0]))
        c.changeDynamics(self._plane, -1, lateralFriction=p.ground_friction)
        self._body = c.loadURDF(self.urdf_file, (0.0, 0.0, 1.0))
        ids = {c.getJointInfo(self._body, j)[1].decode(): j
               for j in range(c.getNumJoints(self._body))}  # fmt: skip
        self._motors = [ids[name] for name in task.JOINT_NAMES]
        self._feet = [ids[f"{leg}_toe_fixed"] for leg in task.LEGS]  # link index = joint's
        self._stand = task.standing_angles(p)
        disable_default_motors(c, self._body, self._motors)
        #: per slope: (the params whose ``slope`` it is, the settled stance's snapshot)
        self._slopes: list[tuple[Quadruped12Params, int]] = []
        for slope in slopes:
            self._settle(slope)
            self._slopes.append((replace(p, slope=slope), c.saveState()))

    @staticmethod
    def _tilt(slope: float) -> tuple[float, ...]:
        return pybullet.getQuaternionFromEuler((0.0, -slope, 0.0))  # +x uphill

    def _settle(self, slope: float) -> None:
        """Tilt the ground by ``slope``, place the robot on it in the stance and let it settle."""
        c, p = self._client, self.params
        c.resetBasePositionAndOrientation(self._plane, (0.0, 0.0, 0.0), self._tilt(slope))
        height = (p.stance_height + 0.01) / math.cos(slope)
        c.resetBasePositionAndOrientation(self._body, (0.0, 0.0, height), self._tilt(slope))
        c.resetBaseVelocity(self._body, (0.0, 0.0, 0.0), (0.0, 0.0, 0.0))
        for joint, angle in zip(self._motors, self._stand, strict=True):
            c.resetJointState(self._body, joint, angle, 0.0)
        self._torques = np.zeros(task.NUM_MOTORS)
        self._read_motors()
        for _ in range(p.settle_steps):
            self._physics_step(self._stand)

    # --- sensors ------------------------------------------------------------------------
    def joint_names(self) -> list[str]:
        return list(task.JOINT_NAMES)

    def joint_sensors(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Motor angles, velocities and the PD torques (URDF convention)."""
        return self._angles.copy(), self._velocities.copy(), self._torques.copy()

    def leg_names(self) -> tuple[str, ...]:
        """The legs, in the order of :meth:`foot_contacts`."""
        return task.LEGS

    def foot_contacts(self) -> np.ndarray:
        """Per leg (``LEGS`` order), whether its foot touches the ground now."""
        cid, body = self.physics_handles()
        points = pybullet.getContactPoints(body, self._plane, physicsClientId=cid)
        touching = {point[3] for point in points}
        return np.array([foot in touching for foot in self._feet])

    def total_mass(self) -> float:
        """The robot's mass (kg): base and every link."""
        cid, body = self.physics_handles()
        links = (-1, *range(pybullet.getNumJoints(body, physicsClientId=cid)))
        return float(sum(pybullet.getDynamicsInfo(body, j, physicsClientId=cid)[0] for j in links))

    @property
    def slope(self) -> float:
        """The ground's slope (rad) in this episode."""
        return self._episode.slope

    def _read_motors(self) -> None:
        states = self._calls.get_joint_states(self._body, self._motors)
        self._angles = np.array([s[0] for s in states])
        self._velocities = np.array([s[1] for s in states])

    def _read_state(self) -> np.ndarray:
        """The task state (``task.LAYOUT``) now: joints, base pose and body-frame twist."""
        position, orientation = self._calls.get_base_pose(self._body)
        linear, angular = self._calls.get_base_velocity(self._body)
        rotation = np.array(pybullet.getMatrixFromQuaternion(orientation)).reshape(3, 3)
        phase = [math.sin(self.phase), math.cos(self.phase)]
        state = np.concatenate([self._angles, self._velocities, self._torques, orientation,
                                rotation.T @ angular, rotation.T @ linear, phase,
                                [position[0], position[2]]])  # fmt: skip
        check_finite("quadruped12 state", state)
        return state

    # --- physics ------------------------------------------------------------------------
    def _physics_step(self, desired: np.ndarray) -> None:
        self._torques = task.pd_torque(desired, self._angles, self._velocities, self.params)
        self._calls.set_motor_array(
            self._body, self._motors, pybullet.TORQUE_CONTROL, forces=self._torques
        )
        self._calls.step_simulation()
        self._read_motors()

    # --- gym API ------------------------------------------------------------------------
    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        super().reset(seed=seed)
        choice = int(self.np_random.integers(len(self._slopes))) if len(self._slopes) > 1 else 0
        self._episode, snapshot = self._slopes[choice]
        self._client.resetBasePositionAndOrientation(
            self._plane, (0.0, 0.0, 0.0), self._tilt(self._episode.slope)
        )
        self._client.restoreState(stateId=snapshot)
        self._read_motors()
        self._torques = task.pd_torque(self._stand, self._angles, self._velocities, self.params)
        self.phase, self._steps = 0.0, 0
        self._state = self._read_state()
        position = np.array(self._calls.get_base_pose(self._body)[0])
        return self._observe(), {"base_position": position, "slope": self._episode.slope}

    def _observe(self) -> np.ndarray:
        return task.observation(self._state, self.params).astype(np.float32)

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        a = np.asarray(action, dtype=np.float64).reshape(-1)
        if a.shape != self.action_space.shape:
            raise ValueError(
                f"quadruped12 action must have {self.action_space.shape[0]} entries "
                f"(per leg: {', '.join(task.ACTION_FIELDS)}), got {a.shape}"
            )
        check_finite("quadruped12 action", a)
        p = self.params
        feet = task.foot_targets(a, self.phase, p)
        desired = task.leg_angles(feet)
        for _ in range(p.physics_substeps):
            self._physics_step(desired)
        self._steps += 1
        self.phase = task.clock_phase(self._steps * p.control_dt, p)  # the estimate's rule
        before, self._state = self._state, self._read_state()
        # the episode's parameters: its drawn slope decides a fall (and so the fall term)
        terms = task.reward_terms(before, a, self._state, self._episode)
        terminated = bool(task.terminated(self._state, self._episode))
        truncated = self._steps >= p.max_steps and not terminated
        info = {
            "reward_terms": {k: float(v) for k, v in terms.items()},
            "foot_targets": feet,
            "base_position": np.array(self._calls.get_base_pose(self._body)[0]),
            "mechanical_power": float(abs(self._torques @ self._velocities)),
            "slope": self._episode.slope,
        }
        reward = float(sum(terms.values()))
        return self._observe(), reward, terminated, truncated, info
