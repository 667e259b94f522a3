"""A 12-motor quadruped (pybullet_data's A1) walking through an elliptical foot trajectory.

The M-DeMoRL paper's quadruped set-up (after Paigwar et al. 2020): the policy does not
command joints; it shapes a trajectory generator. Each foot follows an ellipse in its hip
frame, once per gait period, diagonal legs in phase (a trot):

    x = x_shift − (L / 2) cos φ,   y = y_shift,   z = −h0 + z_shift + H max(sin φ, 0)

(swing while sin φ > 0: the foot lifts by ``step_height`` and moves forward; stance while
sin φ < 0: it pushes back on the ground). The action, per leg (``LEGS`` order), is
(step-length change, x shift, y shift, z shift) in metres within their bounds: 16 numbers.
The zero action is the nominal trot. A low-level controller turns the foot targets into
joint angles by the leg's analytic inverse kinematics (hip abduction about x, thigh and calf
about y; lengths read from the URDF) and tracks them with a PD law at every physics step.

Observation (22): roll and pitch, base angular velocity (body frame), base linear velocity
(body frame), the 12 joint angles, and (sin φ, cos φ) of the generator's phase. Reward, as
rates: the speed along x (up the slope, m/s) − w·|τ·q̇|. Terminated when the base falls below
``min_height`` above the ground or tilts more than ``max_tilt`` from the ground's normal.
``slope`` (rad) tilts the ground about y so that +x runs uphill; ``slopes`` draws each
episode's slope from a set (one policy for flat ground and slopes).

The generator's phase is a function of the time since the episode began
(:func:`clock_phase`): the env applies it to its step count, the graph's state estimate to
the episode clock the estimator keeps (``readings.episode_time``), so the task runs through
the node graph with the IMU's orientation and rates and the odometry's base pose and twist.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from rl_control.tasks.base import StateLayout, TaskDefinition

if TYPE_CHECKING:
    from rl_control.robot.sensors import SensorReadings

URDF_FILE = "a1/a1.urdf"
#: legs in the URDF's order; diagonal pairs (FR, RL) and (FL, RR) share a phase
LEGS = ("FR", "FL", "RR", "RL")
LEG_PHASE_OFFSETS = np.array([0.0, math.pi, math.pi, 0.0])
JOINT_NAMES = tuple(f"{leg}_{part}_joint" for leg in LEGS for part in ("hip", "upper", "lower"))
NUM_MOTORS = 12
#: per leg: step-length change, x shift, y shift, z shift (metres)
ACTION_FIELDS = ("step_length", "x_shift", "y_shift", "z_shift")
OBS_DIM = 2 + 3 + 3 + NUM_MOTORS + 2
LAYOUT = StateLayout(
    (("angle", 12), ("velocity", 12), ("torque", 12), ("qx", 1), ("qy", 1), ("qz", 1),
     ("qw", 1), ("angular_velocity", 3), ("linear_velocity", 3), ("phase_sin", 1),
     ("phase_cos", 1), ("base_x", 1), ("base_z", 1))
)  # fmt: skip


@dataclass(frozen=True)
class Quadruped12Params:
    """Actuator, gait, terrain and task parameters (SI units, rad)."""

    control_dt: float = 0.01  # one action per 10 ms ...
    physics_substeps: int = 5  # ... integrated in 2 ms physics steps (PD at 500 Hz)
    kp: float = 100.0  # N·m/rad (60 tracks too softly: the nominal trot then barely moves)
    kd: float = 2.0  # N·m·s/rad
    torque_limit: float = 33.5  # N·m: the A1's motors
    step_frequency: float = 2.0  # Hz: gait cycles per second
    step_length: float = 0.08  # m: nominal fore-aft stroke of a foot
    step_height: float = 0.06  # m: foot lift in swing
    stance_height: float = 0.27  # m: hip-to-foot height of the nominal stance
    #: action bounds (m): step-length change, x shift, y shift, z shift
    step_length_range: float = 0.06
    shift_range: tuple[float, float, float] = (0.05, 0.03, 0.04)
    slope: float = 0.0  # rad: the ground rises along +x
    #: when set, each episode's slope is drawn uniformly from these (rad) and ``slope`` unused
    slopes: tuple[float, ...] = ()
    ground_friction: float = 1.0
    energy_weight: float = 0.0005
    #: subtracted once on the step the robot falls (``terminated``). 0 (the default): a fall
    #: only ends the episode, which costs little where progress is slow anyway (up a slope)
    fall_penalty: float = 0.0
    min_height: float = 0.12  # m of base above the ground
    max_tilt: float = 0.8  # rad of roll, or pitch away from the slope's
    max_steps: int = 1000
    settle_steps: int = 300  # physics steps holding the stance before the first episode

    @property
    def physics_dt(self) -> float:
        return self.control_dt / self.physics_substeps

    def __post_init__(self) -> None:
        for name in ("control_dt", "kp", "torque_limit", "step_frequency", "stance_height",
                     "max_steps", "physics_substeps", "min_height", "max_tilt",
                     "ground_friction"):  # fmt: skip
            if not getattr(self, name) > 0:
                raise ValueError(f"Quadruped12Params.{name} must be > 0")
        for name in ("kd", "step_length", "step_height", "step_length_range", "energy_weight",
                     "settle_steps", "fall_penalty"):  # fmt: skip
            if getattr(self, name) < 0:
                raise ValueError(f"Quadruped12Params.{name} must be >= 0")
        if len(self.shift_range) != 3 or min(self.shift_range) < 0:
            raise ValueError("Quadruped12Params.shift_range needs 3 non-negative bounds (x y z)")
        for slope in (self.slope, *self.slopes):
            if not -0.35 <= slope <= 0.35:
                raise ValueError(
                    f"Quadruped12Params.slope(s) must be within ±0.35 rad, got {slope}"
                )


@dataclass(frozen=True)
class LegGeometry:
    """The legs' kinematic constants, read from the URDF (metres, trunk frame)."""

    hips: np.ndarray  # [4, 3]: hip abduction joint positions in the trunk frame
    side: np.ndarray  # [4]: +1 for left legs, −1 for right ones (sign of the hip offset)
    hip_offset: float  # lateral offset from the abduction axis to the thigh joint
    thigh: float  # thigh joint -> calf joint
    calf: float  # calf joint -> foot


@functools.cache
def geometry() -> LegGeometry:
    """The A1's leg geometry from pybullet_data's URDF (no hand-copied numbers)."""
    import pybullet_data

    from rl_control.robot.urdf import UrdfModel

    model = UrdfModel((Path(pybullet_data.getDataPath()) / URDF_FILE).read_text())
    origin = {j.name: j.origin[:3, 3] for j in model.joints}
    hips = np.array([origin[f"{leg}_hip_joint"] for leg in LEGS])
    offsets = np.array([origin[f"{leg}_upper_joint"][1] for leg in LEGS])
    thighs = np.array([-origin[f"{leg}_lower_joint"][2] for leg in LEGS])
    calves = np.array([-origin[f"{leg}_toe_fixed"][2] for leg in LEGS])
    for name, values in (("hip offset", np.abs(offsets)), ("thigh", thighs), ("calf", calves)):
        if np.ptp(values) > 1e-9:
            raise ValueError(f"{URDF_FILE}: legs differ in {name} length: {values.tolist()}")
    return LegGeometry(hips, np.sign(offsets), float(abs(offsets[0])), float(thighs[0]),
                       float(calves[0]))  # fmt: skip


def foot_positions(angles: np.ndarray, g: LegGeometry | None = None) -> np.ndarray:
    """Feet [..., 4, 3] in their hip frames from joint angles [..., 12] (forward kinematics)."""
    g = g or geometry()
    q = np.asarray(angles, dtype=np.float64).reshape(*np.shape(angles)[:-1], 4, 3)
    q1, q2, q3 = q[..., 0], q[..., 1], q[..., 2]
    x = -g.thigh * np.sin(q2) - g.calf * np.sin(q2 + q3)
    z_leg = -g.thigh * np.cos(q2) - g.calf * np.cos(q2 + q3)
    y_leg = g.side * g.hip_offset
    y = y_leg * np.cos(q1) - z_leg * np.sin(q1)
    z = y_leg * np.sin(q1) + z_leg * np.cos(q1)
    return np.stack([x, y, z], -1)


def leg_angles(feet: np.ndarray, g: LegGeometry | None = None) -> np.ndarray:
    """Joint angles [..., 12] putting the feet [..., 4, 3] (hip frames) where asked: the
    inverse of :func:`foot_positions` with the knee bent backwards (calf angle < 0).
    Unreachable targets are pulled onto the workspace's boundary."""
    g = g or geometry()
    p = np.asarray(feet, dtype=np.float64)
    x, y, z = p[..., 0], p[..., 1], p[..., 2]
    y_leg = g.side * g.hip_offset
    z_leg = -np.sqrt(np.maximum(y**2 + z**2 - g.hip_offset**2, 1e-9))
    q1 = np.arctan2(z, y) - np.arctan2(z_leg, y_leg)
    q1 = (q1 + np.pi) % (2 * np.pi) - np.pi
    cos_knee = (x**2 + z_leg**2 - g.thigh**2 - g.calf**2) / (2 * g.thigh * g.calf)
    q3 = -np.arccos(np.clip(cos_knee, -1.0, 1.0))
    k1, k2 = g.thigh + g.calf * np.cos(q3), g.calf * np.sin(q3)
    q2 = np.arctan2(-x, -z_leg) - np.arctan2(k2, k1)
    return np.stack([q1, q2, q3], -1).reshape(*p.shape[:-2], NUM_MOTORS)


def episode_slopes(p: Quadruped12Params) -> tuple[float, ...]:
    """The slopes an episode may have (rad): ``slopes`` if set, else ``slope`` alone."""
    return tuple(float(v) for v in p.slopes) or (float(p.slope),)


def action_bounds(p: Quadruped12Params) -> tuple[np.ndarray, np.ndarray]:
    high = np.tile([p.step_length_range, *p.shift_range], len(LEGS)).astype(np.float64)
    return -high, high


def foot_targets(action: np.ndarray, phase: float, p: Quadruped12Params) -> np.ndarray:
    """Foot targets [4, 3] in the hip frames: the ellipse at ``phase`` shaped by ``action``
    (clipped to its bounds)."""
    low, high = action_bounds(p)
    a = np.clip(np.asarray(action, dtype=np.float64), low, high).reshape(len(LEGS), 4)
    length = np.maximum(p.step_length + a[:, 0], 0.0)
    leg_phase = phase + LEG_PHASE_OFFSETS
    x = a[:, 1] - length / 2 * np.cos(leg_phase)
    z = -p.stance_height + a[:, 3] + p.step_height * np.maximum(np.sin(leg_phase), 0.0)
    g = geometry()
    y = g.side * g.hip_offset + a[:, 2]
    return np.stack([x, y, z], -1)


def clock_phase(t: Any, p: Quadruped12Params) -> Any:
    """The generator's phase ``t`` seconds into an episode, in [0, 2π): the one rule the env
    (steps × control_dt) and the graph's estimate (the episode clock) share."""
    return (2 * math.pi * p.step_frequency * t) % (2 * math.pi)


def estimate(readings: SensorReadings, p: Quadruped12Params) -> np.ndarray:
    """Joint states and the IMU's quaternion and body rates, the odometry's body-frame
    velocity, the phase at the episode's time, then the base position's x and z."""
    from rl_control.roles.estimator import quadruped_state  # IMU conventions live there

    if readings.base is None:
        raise ValueError("the quadruped12 estimate needs the base pose and twist (odometry)")
    joints_and_quaternion = quadruped_state(readings, JOINT_NAMES)  # checks the IMU is there
    phase = clock_phase(readings.episode_time, p)
    base = readings.base
    return np.concatenate([
        joints_and_quaternion, readings.imu.angular_velocity, base.linear_velocity,
        [math.sin(phase), math.cos(phase), base.position[0], base.position[2]],
    ])  # fmt: skip


def graph_limits(p: Quadruped12Params) -> dict[str, str]:
    """``slopes``: the env terminates each episode on its drawn slope, while the graph's
    trainer judges termination on ``slope``, and no sensor tells it which slope was drawn."""
    if episode_slopes(p) == (float(p.slope),):
        return {}
    return {
        "slopes": f"the env draws each episode's slope from {list(episode_slopes(p))}; "
        f"the graph's trainer terminates on slope {p.slope} and cannot see the draw"
    }


def standing_angles(p: Quadruped12Params) -> np.ndarray:
    """Joint angles [12] of the nominal stance (every foot under its thigh joint)."""
    g = geometry()
    feet = np.stack([np.zeros(4), g.side * g.hip_offset, np.full(4, -p.stance_height)], -1)
    return leg_angles(feet, g)


def pd_torque(desired: Any, angle: Any, velocity: Any, p: Quadruped12Params) -> Any:
    """τ = clip(kp (q_d − q) − kd q̇, ±torque_limit)."""
    raw = p.kp * (desired - angle) - p.kd * velocity
    return np.clip(raw, -p.torque_limit, p.torque_limit)


def _lib(x: Any) -> Any:
    return np if isinstance(x, np.ndarray | np.generic | float | int) else __import__("torch")


def roll_pitch(s: Any) -> tuple[Any, Any]:
    """Roll and pitch (rad, ZYX Euler) of the base quaternion in state ``s``."""
    lib = _lib(s)
    x, y, z, w = (LAYOUT.get(s, n) for n in ("qx", "qy", "qz", "qw"))
    roll = lib.arctan2(2 * (w * x + y * z), 1 - 2 * (x * x + y * y))
    pitch = lib.arcsin(lib.clip(2 * (w * y - z * x), -1.0, 1.0))
    return roll, pitch


def observation(s: Any, p: Quadruped12Params) -> Any:
    lib = _lib(s)
    roll, pitch = roll_pitch(s)
    cat = np.concatenate if lib is np else lib.cat
    parts = [lib.stack([roll, pitch], -1), LAYOUT.get(s, "angular_velocity"),
             LAYOUT.get(s, "linear_velocity"), LAYOUT.get(s, "angle"),
             LAYOUT.get(s, "phase_sin", "phase_cos")]  # fmt: skip
    return cat(parts, -1)


def reward_terms(s: Any, a: Any, s2: Any, p: Quadruped12Params) -> dict[str, Any]:
    """Rates, not increments: the step's speed along x, Δx/Δt (m/s), and the energy penalty
    −w·|τ·q̇| (w per W). A 10 s episode's return is then ~100× the distance in metres (the
    increments, ~2.5 mm a step, left SAC's entropy bonus ~100× the reward). With a
    ``fall_penalty``, also "fall": −fall_penalty on the step into a fall (s2 terminated)."""
    power = (LAYOUT.get(s2, "torque") * LAYOUT.get(s2, "velocity")).sum(-1)
    terms = {
        "forward": (LAYOUT.get(s2, "base_x") - LAYOUT.get(s, "base_x")) / p.control_dt,
        "energy": -p.energy_weight * abs(power),
    }
    if p.fall_penalty:
        terms["fall"] = -p.fall_penalty * terminated(s2, p)
    return terms


def reward(s: Any, a: Any, s2: Any, p: Quadruped12Params) -> Any:
    return sum(reward_terms(s, a, s2, p).values())


def terminated(s: Any, p: Quadruped12Params) -> Any:
    """Fallen: base too low above the sloped ground, or tilted too far from its normal."""
    lib = _lib(s)
    x, z = LAYOUT.get(s, "base_x"), LAYOUT.get(s, "base_z")
    roll, pitch = roll_pitch(s)
    low = z - x * math.tan(p.slope) < p.min_height
    tilted = (abs(roll) > p.max_tilt) | (abs(pitch + p.slope) > p.max_tilt)
    return low | tilted if lib is np else lib.logical_or(low, tilted)


DEFINITION = TaskDefinition(
    name="quadruped12",
    params_cls=Quadruped12Params,
    layout=LAYOUT,
    joint_names=JOINT_NAMES,
    env_id="rl_control/Quadruped12-v0",
    entry_point="rl_control.envs.quadruped12:Quadruped12Env",
    action_bounds=action_bounds,
    dt=lambda p: p.control_dt,
    max_steps=lambda p: p.max_steps,
    observation=observation,
    reward=reward,
    reward_terms=reward_terms,
    terminated=terminated,
    estimate=estimate,
    graph_limits=graph_limits,
)
