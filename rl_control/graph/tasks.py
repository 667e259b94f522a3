"""Per-task facts the graph needs, taken from the task's pure functions in rl_control.tasks.

The estimator builds the task's state vector from sensor readings, and the trainer computes
reward and termination from that state with the same functions the gymnasium env uses, so
simulation and hardware never disagree on what a reward is.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from rl_control.graph.sensors import SensorReadings


@dataclass(frozen=True)
class GraphTask:
    """What the graph nodes know about one task (state layout, limits, pure functions)."""

    name: str
    state_names: tuple[str, ...]
    #: joint names the bridge publishes, in the order of the body's movable joints
    joint_names: tuple[str, ...]
    action_low: np.ndarray
    action_high: np.ndarray
    dt: float
    max_steps: int
    #: sensor readings -> state vector (ordered as state_names)
    estimate: Callable[[SensorReadings], np.ndarray]
    #: state -> policy observation
    observation: Callable[[np.ndarray], np.ndarray]
    #: (state, applied action, next state) -> reward of that step
    reward: Callable[[np.ndarray, np.ndarray, np.ndarray], float]
    #: next state -> terminated
    terminated: Callable[[np.ndarray], bool]
    #: bridge-side joint sensor model: env -> (positions, velocities, efforts) in the order
    #: of joint_names, for robots whose motor convention differs from the raw joints
    read_joints: Callable[[Any], tuple[np.ndarray, np.ndarray, np.ndarray]] | None = None

    @property
    def obs_dim(self) -> int:
        return int(np.asarray(self.observation(np.zeros(len(self.state_names)))).size)

    @property
    def act_dim(self) -> int:
        return int(self.action_low.size)

    def clip_action(self, action: np.ndarray) -> np.ndarray:
        """The action the env would apply (the envs clip to their action space)."""
        return np.clip(np.asarray(action, dtype=np.float64), self.action_low, self.action_high)


def joints_by_name(readings: SensorReadings, names: tuple[str, ...]) -> np.ndarray:
    """Indices of ``names`` in the readings (order of the message need not match)."""
    index = {n: i for i, n in enumerate(readings.joint_names)}
    missing = [n for n in names if n not in index]
    if missing:
        raise ValueError(f"joint state lacks joint(s) {missing}; has {readings.joint_names}")
    return np.array([index[n] for n in names], dtype=np.int64)


def _replace(params: Any, overrides: dict[str, Any], label: str) -> Any:
    known = {f.name for f in dataclasses.fields(params)}
    unknown = sorted(set(overrides) - known)
    if unknown:
        raise ValueError(f"unknown {label} params {unknown}; known: {sorted(known)}")
    return dataclasses.replace(params, **overrides)


def _soft_wall_cartpole(overrides: dict[str, Any]) -> GraphTask:
    from rl_control.tasks import soft_wall_cartpole as task

    p = _replace(task.SoftWallCartPoleParams(), overrides, "soft_wall_cartpole")
    joints = ("cart_slider", "pole_hinge")

    def estimate(readings: SensorReadings) -> np.ndarray:
        idx = joints_by_name(readings, joints)
        q, v = readings.position[idx], readings.velocity[idx]
        return np.array([q[0], q[1], v[0], v[1]], dtype=np.float64)

    def reward(state: np.ndarray, action: np.ndarray, next_state: np.ndarray) -> float:
        # the env rewards the state reached by the step and the (clipped) force applied
        return float(task.reward(next_state, action))

    return GraphTask(
        name="soft_wall_cartpole",
        state_names=tuple(task.STATE_NAMES),
        joint_names=joints,
        action_low=np.array([-p.max_force]),
        action_high=np.array([p.max_force]),
        dt=p.dt,
        max_steps=p.max_steps,
        estimate=estimate,
        observation=lambda s: np.asarray(task.observation(s), dtype=np.float64),
        reward=reward,
        terminated=lambda s: bool(task.terminated(s, p)),
    )


def _two_link_leg(overrides: dict[str, Any]) -> GraphTask:
    from rl_control.tasks import two_link_leg as task

    p = _replace(task.TwoLinkLegParams(), overrides, "two_link_leg")
    joints = ("hip", "knee")

    def estimate(readings: SensorReadings) -> np.ndarray:
        # the tracking target moves with time: the state carries the episode time
        idx = joints_by_name(readings, joints)
        return np.concatenate(
            [readings.position[idx], readings.velocity[idx], [readings.episode_time]]
        )

    return GraphTask(
        name="two_link_leg",
        state_names=tuple(task.STATE_NAMES) + ("t",),
        joint_names=joints,
        action_low=np.full(2, -p.max_torque),
        action_high=np.full(2, p.max_torque),
        dt=p.dt,
        max_steps=p.max_steps,
        estimate=estimate,
        observation=lambda s: np.asarray(task.observation(s[:4], np.float64(s[4]), p)),
        reward=lambda s, a, s2: float(task.reward(s2[:4], np.float64(s2[4]), p)),
        terminated=lambda s: bool(task.terminated(s[:4], p)),
    )


def _minitaur(overrides: dict[str, Any]) -> GraphTask:
    from rl_control.graph.estimator import quadruped_state
    from rl_control.tasks import minitaur as task

    p = _replace(task.MinitaurParams(), overrides, "minitaur")
    legs = ("front_left", "back_left", "front_right", "back_right")
    motors = tuple(f"motor_{leg}{side}_joint" for leg in legs for side in "LR")
    blocks = ("angle", "velocity", "torque")
    names = tuple(f"{b}_{i}" for b in blocks for i in range(8)) + ("qx", "qy", "qz", "qw")

    def estimate(readings: SensorReadings) -> np.ndarray:
        if readings.base is None:
            raise ValueError("the minitaur estimate needs the base pose (odometry)")
        base = readings.base.position
        return np.concatenate([quadruped_state(readings, motors), [base[0], base[2]]])

    def read_joints(env: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        inner = env.unwrapped  # motor angles in the env's common convention, PD torques
        return inner._angles.copy(), inner._velocities.copy(), inner._torques.copy()

    def reward(s: np.ndarray, a: np.ndarray, s2: np.ndarray) -> float:
        return float(task.reward(s[28], s2[28], s2[16:24], s2[8:16], p))

    center = task.STANDING_ANGLE
    return GraphTask(
        name="minitaur",
        state_names=names + ("base_x", "base_z"),
        joint_names=motors,
        action_low=np.full(8, center - p.action_range),
        action_high=np.full(8, center + p.action_range),
        dt=p.control_dt,
        max_steps=p.max_steps,
        estimate=estimate,
        observation=lambda s: np.asarray(s[:28], dtype=np.float64),
        reward=reward,
        terminated=lambda s: bool(task.terminated(s[29], p)),
        read_joints=read_joints,
    )


_TASKS: dict[str, Callable[[dict[str, Any]], GraphTask]] = {
    "soft_wall_cartpole": _soft_wall_cartpole,
    "two_link_leg": _two_link_leg,
    "minitaur": _minitaur,
}


def graph_tasks() -> list[str]:
    """Tasks the node graph can run."""
    return sorted(_TASKS)


def make_graph_task(name: str, params: dict[str, Any] | None = None) -> GraphTask:
    """The graph view of task ``name`` with parameter overrides (same keys as make_env)."""
    if name not in _TASKS:
        raise ValueError(f"task {name!r} has no node-graph support yet; known: {graph_tasks()}")
    return _TASKS[name](dict(params or {}))
