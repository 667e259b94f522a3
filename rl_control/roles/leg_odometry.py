"""Base pose and twist of a legged robot from its IMU and leg kinematics (no ground truth).

Orientation and angular rate are the IMU's. Position and linear velocity come from a linear
Kalman filter as in legged_control's ``KalmanFilterEstimate``: the state is the base
position and velocity and the foot positions, all in the world frame (18 numbers for four
feet); the IMU's acceleration, rotated to the world and with gravity added back, drives the
prediction; each foot gives three measurements,

- position: ``p - f_i = -R r_i`` (r_i the foot in the base frame, by forward kinematics),
- velocity: ``v = -R (ω × r_i + J_i q̇)`` (a standing foot does not move),
- height: ``f_i,z = foot_height`` (flat ground),

trusted only for feet in contact (their noise is multiplied by ``swing_scale`` otherwise,
and a swinging foot's position may drift). The Minitaur has no foot sensors: a foot is in
contact while its height below the base (by kinematics and the IMU's orientation) is within
``contact_margin`` of the lowest foot's (flat ground) and, where the legs give a load
signal (the Minitaur's extension torque), while that load exceeds the leg's stance load.

Flight (a jump, a bound's aerial phase, a robot lifted off the ground): no foot in contact,
or the accelerometer's specific force under ``flight_accel`` (free fall; the height rule
alone always calls the lowest foot standing). In flight no leg measurement is used: the
base moves ballistically under the IMU's acceleration (gravity only, in free fall), and
the feet ride along with it by kinematics, so that touchdown starts from where they are.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rl_control.robot.sensors import BasePose, SensorReadings
from rl_control.roles.estimator import StateEstimator, imu_rotation_matrix
from rl_control.tasks.base import LegModel, Task, joint_indices


@dataclass(frozen=True)
class LegOdometryParams:
    """Noise (standard deviations, SI units) and contact settings; tuned on the Minitaur."""

    accel_noise: float = 0.5  # m/s² per sqrt(s): the IMU's acceleration, as process noise
    position_noise: float = 0.001  # m per sqrt(s): base position random walk
    foot_noise: float = 0.002  # m per sqrt(s): a standing foot's slip
    kinematic_position_noise: float = 0.005  # m: p - f_i
    kinematic_velocity_noise: float = 0.3  # m/s: v from a standing leg
    height_noise: float = 0.005  # m: a standing foot's height
    swing_scale: float = 1e3  # noise factor for feet not in contact
    contact_margin: float = 0.01  # m above the lowest foot still counted as contact
    gravity: float = 9.81  # m/s²
    max_gap: float = 0.5  # s between readings beyond which the filter starts over
    flight_accel: float = 3.0  # m/s²: a specific force below it is free fall (flight)

    def __post_init__(self) -> None:
        for name, value in vars(self).items():
            if not value > 0:
                raise ValueError(f"LegOdometryParams.{name} must be > 0, got {value}")


class LegOdometry:
    """One reading at a time: :meth:`update` returns the estimated :class:`BasePose`."""

    def __init__(self, legs: LegModel, params: LegOdometryParams | None = None) -> None:
        self.legs, self.p = legs, params or LegOdometryParams()
        self.n_feet = legs.feet
        self.size = 6 + 3 * self.n_feet
        self.x = np.zeros(self.size)
        self.P = np.eye(self.size)
        self.stamp: float | None = None
        self.contact = np.ones(self.n_feet, dtype=bool)
        self.flight = False  # the last update found no stance leg (or free fall)
        self.flight_updates = 0  # updates in flight so far
        self._H = self._measurement_matrix()

    def _measurement_matrix(self) -> np.ndarray:
        """Rows: 3 position and 3 velocity rows per foot, then one height row per foot."""
        n = self.n_feet
        H = np.zeros((7 * n, self.size))
        for i in range(n):
            H[3 * i : 3 * i + 3, 0:3] = np.eye(3)
            H[3 * i : 3 * i + 3, 6 + 3 * i : 9 + 3 * i] = -np.eye(3)
            H[3 * n + 3 * i : 3 * n + 3 * i + 3, 3:6] = np.eye(3)
            H[6 * n + i, 8 + 3 * i] = 1.0
        return H

    def _start(self, stamp: float, feet_world: np.ndarray) -> None:
        """All feet standing: the base sits ``foot_height`` above the lowest ground point."""
        z = self.legs.foot_height - float(np.mean(feet_world[:, 2]))
        self.x = np.zeros(self.size)
        self.x[2] = z
        self.x[6:] = (feet_world + np.array([0.0, 0.0, z])).ravel()
        self.P = np.diag([1e-6] * 3 + [1e-4] * 3 + [1e-4] * 3 * self.n_feet)
        self.stamp, self.contact[:] = stamp, True

    def update(self, readings: SensorReadings) -> BasePose:
        """Fuse one reading (joint states + IMU) and return the base pose and twist."""
        imu = readings.imu
        if imu is None:
            raise ValueError("leg odometry needs an IMU reading (orientation, rates, accel)")
        idx = joint_indices(readings, self.legs.joint_names)
        r_body, rdot_body = self.legs.kinematics(readings.position[idx], readings.velocity[idx])
        rot, omega = imu_rotation_matrix(imu), np.asarray(imu.angular_velocity, np.float64)
        feet_world = r_body @ rot.T  # R r_i, one row per foot
        stamp = float(readings.stamp)
        dt = None if self.stamp is None else stamp - self.stamp
        if dt is None or dt > self.p.max_gap or dt < 0:
            self._start(stamp, feet_world)
        elif dt > 0:
            p, self.stamp = self.p, stamp
            # contact from the legs alone (the filter's own foot heights would keep every
            # foot it once called standing on the ground): near the lowest foot's height
            heights = feet_world[:, 2]
            self.contact = heights < heights.min() + self.p.contact_margin
            if self.legs.load is not None:
                load = self.legs.load(readings.effort[idx])
                self.contact &= load > self.legs.stance_load
            specific = np.asarray(imu.linear_acceleration, np.float64)
            self.flight = not self.contact.any() or np.linalg.norm(specific) < p.flight_accel
            if self.flight:
                self.contact[:] = False
            accel = rot @ specific
            self._predict(dt, accel + np.array([0.0, 0.0, -p.gravity]))
            if self.flight:  # no stance leg: nothing ties the base to the ground
                self.flight_updates += 1
                self._carry_feet(feet_world)
            else:
                self._correct(feet_world, (np.cross(omega, r_body) + rdot_body) @ rot.T)
        return BasePose(
            self.x[0:3].copy(), np.asarray(imu.orientation_xyzw, np.float64).copy(),
            rot.T @ self.x[3:6], omega.copy(),
        )  # fmt: skip

    def _predict(self, dt: float, accel: np.ndarray) -> None:
        p = self.p
        self.x[0:3] += dt * self.x[3:6] + 0.5 * dt * dt * accel
        self.x[3:6] += dt * accel
        F = np.eye(self.size)
        F[0:3, 3:6] = dt * np.eye(3)
        feet_var = np.repeat(np.where(self.contact, 1.0, p.swing_scale), 3) * p.foot_noise**2
        q = np.concatenate([np.full(3, p.position_noise**2), np.full(3, p.accel_noise**2),
                            feet_var]) * dt  # fmt: skip
        self.P = F @ self.P @ F.T + np.diag(q)

    def _carry_feet(self, feet_world: np.ndarray) -> None:
        """Flight: each foot where the legs put it from the base (f_i = p + R r_i), as
        uncertain as a swinging foot, and uncorrelated with the base (no leg measurement)."""
        self.x[6:] = (self.x[0:3] + feet_world).ravel()
        feet = slice(6, self.size)
        self.P[feet, :] = 0.0
        self.P[:, feet] = 0.0
        self.P[feet, feet] = np.eye(self.size - 6) * self.p.swing_scale * self.p.foot_noise**2

    def _correct(self, feet_world: np.ndarray, feet_velocity: np.ndarray) -> None:
        p, n = self.p, self.n_feet
        z = np.concatenate([-feet_world.ravel(), -feet_velocity.ravel(),
                            np.full(n, self.legs.foot_height)])  # fmt: skip
        scale = np.where(self.contact, 1.0, p.swing_scale)
        var = np.concatenate([np.repeat(scale, 3) * p.kinematic_position_noise**2,
                              np.repeat(scale, 3) * p.kinematic_velocity_noise**2,
                              scale * p.height_noise**2])  # fmt: skip
        H = self._H
        S = H @ self.P @ H.T + np.diag(var)
        K = np.linalg.solve(S, H @ self.P).T  # P H^T S^-1 (S and P symmetric)
        self.x = self.x + K @ (z - H @ self.x)
        self.P = (np.eye(self.size) - K @ H) @ self.P
        self.P = 0.5 * (self.P + self.P.T)


#: where the estimator takes the base pose from: the simulator's ground-truth odometry, or
#: this filter (real legs: there is no ground truth)
BASE_SOURCES = ("odometry", "legs")


def make_state_estimator(task: Task, base_source: str = "odometry") -> StateEstimator:
    """The estimator of ``task`` with its base pose from ``base_source`` (see BASE_SOURCES);
    ``legs`` for a task without legs (a fixed base: the 2R leg, the cart-pole) needs no
    base pose and gets the plain estimator."""
    if base_source not in BASE_SOURCES:
        raise ValueError(f"base_source {base_source!r}; choices: {list(BASE_SOURCES)}")
    legged = base_source == "legs" and "legs" in task.definition.facts()
    odometry = LegOdometry(task.legs()) if legged else None
    return StateEstimator(task, odometry)
