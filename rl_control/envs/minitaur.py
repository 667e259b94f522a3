"""Minitaur walking on flat ground (pybullet_data's quadruped/minitaur.urdf) as a gymnasium env.

Set-up, from the URDF: each leg is a five-bar linkage whose two lower links are joined by a
point-to-point constraint at the knees (the URDF is a tree and cannot close the loop); the
eight motor joints are torque-driven by the PD actuator of :mod:`rl_control.tasks.minitaur`
and every default velocity motor (motors and passive knees) is switched off.

Timing: one action per ``control_dt`` (10 ms), integrated as ``physics_substeps`` (5) steps
of 2 ms with the PD torque recomputed at each. Observation latency is resolved against a
history kept at that physics rate; Gaussian sensor noise is drawn from the env's seeded
generator. Reset restores a snapshot of the settled standing robot (``saveState``), so every
episode starts from bit-identical physics.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import pybullet_data

from rl_control.envs.bullet import BulletEnv, disable_default_motors, pybullet
from rl_control.envs.randomization import PhysicsVariation
from rl_control.envs.wrappers import ObservationHistory, gaussian_noise
from rl_control.tasks import minitaur as task
from rl_control.tasks.minitaur import MinitaurParams
from rl_control.tasks.params import override_params

LEGS = task.LEGS
#: +1/−1 per motor so that one angle convention serves both sides (L then R per leg)
MOTOR_DIRECTIONS = np.array([-1.0, -1.0, -1.0, -1.0, 1.0, 1.0, 1.0, 1.0])
KNEE_ANGLE = -2.1834  # rad: knee angle of the standing pose (closed five-bar at motors = π/2)
#: constraint anchors on the right and left lower legs, in their link frames
KNEE_ANCHOR_RIGHT = (0.0, 0.005, 0.2)
KNEE_ANCHOR_LEFT = (0.0, 0.01, 0.2)
INIT_POSITION = (0.0, 0.0, 0.2)


class MinitaurEnv(BulletEnv):
    """8 desired motor angles in, 28-D observation out; see :mod:`rl_control.tasks.minitaur`."""

    metadata = {"render_modes": ["human"], "render_fps": 100}
    urdf_file = "quadruped/minitaur.urdf"
    params_cls: type[MinitaurParams] = MinitaurParams

    def __init__(
        self,
        params: MinitaurParams | None = None,
        render_mode: str | None = None,
        **overrides: Any,
    ) -> None:
        super().__init__(override_params(params or self.params_cls(), overrides), render_mode)
        p = self.params
        center = task.STANDING_ANGLE
        motors = gym.spaces.Box(
            center - p.action_range, center + p.action_range, (task.NUM_MOTORS,), np.float32
        )
        #: the desired-angle box every action is clipped to (the raw task's action space)
        self.motor_low, self.motor_high = (b.astype(np.float64) for b in (motors.low, motors.high))
        self.action_space = motors
        self.observation_space = gym.spaces.Box(-np.inf, np.inf, (task.OBS_DIM,), np.float32)
        self._noise_std = task.noise_scale(p)
        self._history = ObservationHistory(p.latency, p.physics_dt)
        self._strength = 1.0  # motor strength factor (domain randomisation)
        self._body, self._motors = self._build()
        self._nominal_mass = {
            link: self._client.getDynamicsInfo(self._body, link)[0]
            for link in (-1, *range(self._client.getNumJoints(self._body)))
        }
        self._snapshot = self._client.saveState()
        self._settled_torques = self._torques.copy()  # the snapshot holds no motor commands
        self._steps = 0

    # --- set-up -------------------------------------------------------------------------
    def _build(self) -> tuple[int, list[int]]:
        p, c = self.params, self._client
        c.setAdditionalSearchPath(pybullet_data.getDataPath())
        c.setGravity(0.0, 0.0, -9.8)
        c.setTimeStep(p.physics_dt)
        self._plane = c.loadURDF("plane.urdf")
        body = c.loadURDF(self.urdf_file, INIT_POSITION)
        ids = {c.getJointInfo(body, j)[1].decode(): j for j in range(c.getNumJoints(body))}
        motors, knees = [], []
        for leg_index, leg in enumerate(LEGS):
            for side_index, side in enumerate("LR"):
                direction = MOTOR_DIRECTIONS[2 * leg_index + side_index]
                motor, knee = ids[f"motor_{leg}{side}_joint"], ids[f"knee_{leg}{side}_link"]
                c.resetJointState(body, motor, direction * task.STANDING_ANGLE, 0.0)
                c.resetJointState(body, knee, direction * KNEE_ANGLE, 0.0)
                motors.append(motor)
                knees.append(knee)
            c.createConstraint(
                body,
                ids[f"knee_{leg}R_link"],
                body,
                ids[f"knee_{leg}L_link"],
                pybullet.JOINT_POINT2POINT,
                (0.0, 0.0, 0.0),
                KNEE_ANCHOR_RIGHT,
                KNEE_ANCHOR_LEFT,
            )
        disable_default_motors(c, body, motors + knees)
        self._joints = motors + knees
        self._feet = knees  # the lower legs, whose tips touch the floor
        self._body, self._motors = body, motors
        # land and settle in the standing pose once; every reset restores this snapshot
        self._read_motors()
        self._torques = np.zeros(task.NUM_MOTORS)
        stand = np.full(task.NUM_MOTORS, task.STANDING_ANGLE)
        for _ in range(p.settle_steps):
            self._physics_step(stand)
        return body, motors

    # --- sensors ------------------------------------------------------------------------
    def joint_names(self) -> list[str]:
        return list(task.JOINT_NAMES)

    def joint_sensors(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Motor angles and velocities in the common convention, and the PD torques."""
        return self._angles.copy(), self._velocities.copy(), self._torques.copy()

    def leg_names(self) -> tuple[str, ...]:
        """The legs, in the order of :meth:`foot_contacts`."""
        return LEGS

    def foot_contacts(self) -> np.ndarray:
        """Per leg (``LEGS`` order), whether either lower leg touches the floor now."""
        cid, body = self.physics_handles()
        touching = {
            point[3] for point in pybullet.getContactPoints(body, self._plane, physicsClientId=cid)
        }
        feet = np.array([f in touching for f in self._feet])
        return feet.reshape(len(LEGS), 2).any(axis=1)

    def total_mass(self) -> float:
        """The robot's mass now (kg), randomisation included."""
        cid, body = self.physics_handles()
        links = (-1, *range(pybullet.getNumJoints(body, physicsClientId=cid)))
        return float(sum(pybullet.getDynamicsInfo(body, j, physicsClientId=cid)[0] for j in links))

    def apply_variation(self, v: PhysicsVariation) -> None:
        """Apply one domain-randomisation draw (kept until the next call); see
        :mod:`rl_control.envs.randomization`. Takes effect from the next reset on."""
        c, p = self._client, self.params
        for link, mass in self._nominal_mass.items():
            scale = v.base_mass_scale if link == -1 else v.leg_mass_scale
            c.changeDynamics(self._body, link, mass=mass * scale)
        n = len(self._joints)
        # PyBullet's joint friction: a velocity motor holding 0 rad/s with at most this force
        c.setJointMotorControlArray(
            self._body, self._joints, pybullet.VELOCITY_CONTROL,
            targetVelocities=[0.0] * n, forces=[v.joint_friction] * n,
        )  # fmt: skip
        c.changeDynamics(self._plane, -1, lateralFriction=v.ground_friction)
        self._strength = v.motor_strength
        self._history = ObservationHistory(p.latency + v.latency, p.physics_dt)
        self._noise_std = task.noise_scale(p) + np.repeat(v.noise_std, [8, 8, 8, 4])

    # --- physics ------------------------------------------------------------------------
    def _read_motors(self) -> None:
        """Motor angles and velocities in the common convention."""
        states = self._calls.get_joint_states(self._body, self._motors)
        self._angles = np.array([s[0] for s in states]) * MOTOR_DIRECTIONS
        self._velocities = np.array([s[1] for s in states]) * MOTOR_DIRECTIONS

    def _physics_step(self, desired: np.ndarray) -> None:
        """One physics step under the PD actuator; leaves the new motor state read."""
        self._torque_step(task.pd_torque(desired, self._angles, self._velocities, self.params))

    def _torque_step(self, torque: np.ndarray) -> None:
        """One physics step with motor torques (common convention) scaled by the randomised
        motor strength (1 without domain randomisation); reads the motors."""
        torque = self._strength * torque
        self._calls.set_motor_array(
            self._body, self._motors, pybullet.TORQUE_CONTROL, forces=torque * MOTOR_DIRECTIONS
        )
        self._calls.step_simulation()
        self._torques = torque
        self._read_motors()

    def step_effort(self, effort: np.ndarray) -> None:
        """Hold motor torques (common convention, clipped to ``torque_limit``) for one control
        step of ``physics_substeps``: the PD loop is then closed outside, at the control rate
        (the hardware bridge's PD on an effort interface)."""
        torque = np.asarray(effort, dtype=np.float64).reshape(-1)
        if torque.shape != (task.NUM_MOTORS,) or not np.isfinite(torque).all():
            raise ValueError(f"Minitaur efforts must be 8 finite torques, got {torque.tolist()}")
        limit = self.params.torque_limit
        for _ in range(self.params.physics_substeps):
            self._torque_step(np.clip(torque, -limit, limit))

    def _sensor_sample(self, orientation: Any) -> np.ndarray:
        return task.observation(
            self._angles, self._velocities, self._torques, np.asarray(orientation)
        )

    def _observe(self) -> np.ndarray:
        """Latency-delayed, noisy observation as float32; raises on NaN/inf."""
        obs = self._history.delayed()
        obs = gaussian_noise(self.np_random, obs, self._noise_std).astype(np.float32)
        if not np.isfinite(obs).all():
            raise ValueError(f"non-finite observation from Minitaur: {obs.tolist()}")
        return obs

    # --- gym API ------------------------------------------------------------------------
    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        super().reset(seed=seed)
        self._client.restoreState(stateId=self._snapshot)
        self._read_motors()
        self._torques = self._settled_torques.copy()
        position, orientation = self._calls.get_base_pose(self._body)
        self._x = position[0]
        self._time = 0.0
        self._steps = 0
        self._history.clear()
        self._history.add(0.0, self._sensor_sample(orientation))
        return self._observe(), {"base_position": np.array(position)}

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        desired = np.asarray(action, dtype=np.float64).reshape(-1)
        if desired.shape != (task.NUM_MOTORS,):
            raise ValueError(f"Minitaur action must have 8 motor angles, got {desired.shape}")
        if not np.isfinite(desired).all():
            raise ValueError(f"non-finite action: {desired.tolist()}")
        return self.step_motors(desired)

    def step_motors(
        self, desired: np.ndarray
    ) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        """One control step towards desired motor angles (clipped to the motor box)."""
        p = self.params
        desired = desired.clip(self.motor_low, self.motor_high)
        record = p.latency > 0.0
        for sub in range(p.physics_substeps):
            self._physics_step(desired)
            self._time += p.physics_dt
            if record or sub == p.physics_substeps - 1:
                position, orientation = self._calls.get_base_pose(self._body)
                self._history.add(self._time, self._sensor_sample(orientation))
        x_before, self._x = self._x, position[0]
        terms = task.reward_terms(x_before, self._x, self._torques, self._velocities, p)
        reward = float(terms["forward"] + terms["energy"])
        self._steps += 1
        terminated = bool(task.terminated(position[2], p))
        truncated = self._steps >= p.max_steps and not terminated
        info = {
            "reward_terms": {k: float(v) for k, v in terms.items()},
            # |τ·q̇| summed over the motors (W) at the step's end, as the energy term uses it
            "mechanical_power": float(abs(self._torques @ self._velocities)),
            "base_position": np.array(position),
        }
        return self._observe(), reward, terminated, truncated, info
