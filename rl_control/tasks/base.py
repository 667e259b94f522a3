"""What a task is, once: :class:`StateLayout` (named state slices) and :class:`TaskDefinition`.

A task module (``rl_control/tasks/<task>.py``) keeps its pure functions and ends with one
``DEFINITION`` that wires them: state layout, joint names, action bounds, timing, the env's
gymnasium id, and observation / reward / termination on the layout's state, batched over
leading axes, numpy or torch. :meth:`TaskDefinition.bind` applies parameters and gives the
:class:`Task` the graph nodes, the trainer and the MPC model use.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from rl_control.tasks.params import override_params, task_params

if TYPE_CHECKING:
    from rl_control.robot.sensors import SensorReadings

#: the facts a task may provide (what :func:`rl_control.tasks.registry.require_task_facts`
#: checks), with the words its errors use
FACTS = {
    "layout": "state layout",
    "joint_names": "joint names",
    "estimate": "state estimate from sensor readings",
    "observation": "observation function",
    "reward": "reward function",
    "terminated": "termination function",
    "initial_state": "reset distribution",
    "dynamics": "exact dynamics model",
    "legs": "leg kinematics (base odometry from the legs)",
    "differentiable": "differentiable step (torch: next state, reward, termination)",
}


@dataclass(frozen=True)
class StateLayout:
    """Ordered named fields of a state vector, each of a size; slices by name, never by index.

    Element names (what an Observation message carries) are the field name for size 1 and
    ``<field>_<i>`` otherwise.
    """

    fields: tuple[tuple[str, int], ...]
    _slices: dict[str, slice] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        slices, start = {}, 0
        for name, size in self.fields:
            if name in slices or size < 1:
                raise ValueError(f"state field {name!r}: names must be unique, sizes >= 1")
            slices[name] = slice(start, start + size)
            start += size
        object.__setattr__(self, "_slices", slices)

    @property
    def size(self) -> int:
        return sum(size for _, size in self.fields)

    @property
    def names(self) -> tuple[str, ...]:
        """One name per state element, in order."""
        return tuple(
            n if size == 1 else f"{n}_{i}" for n, size in self.fields for i in range(size)
        )

    def slice(self, first: str, last: str | None = None) -> slice:
        """The elements of field ``first`` (through field ``last`` when given)."""
        for name in (first, last or first):
            if name not in self._slices:
                raise ValueError(f"unknown state field {name!r}; known: {list(self._slices)}")
        return slice(self._slices[first].start, self._slices[last or first].stop)

    def get(self, state: Any, first: str, last: str | None = None) -> Any:
        """``state[..., field]``: a scalar per state for size-1 fields, else a block.

        Works on numpy arrays and torch tensors, batched over leading axes.
        """
        s = self.slice(first, last)
        if last is None and s.stop - s.start == 1:
            return state[..., s.start]
        return state[..., s]


def joint_indices(readings: SensorReadings, names: Sequence[str]) -> np.ndarray:
    """Indices of ``names`` in the readings (the message's order need not match)."""
    index = {n: i for i, n in enumerate(readings.joint_names)}
    missing = [n for n in names if n not in index]
    if missing:
        raise ValueError(f"joint state lacks joint(s) {missing}; has {readings.joint_names}")
    return np.array([index[n] for n in names], dtype=np.int64)


def action_jacobians(
    step: Callable[[Any, Any], tuple[Any, Any, Any]], state: Any, action: Any
) -> tuple[Any, Any]:
    """(∂s'/∂a [B, n_s, n_a], ∂r/∂a [B, n_a]) of a task's differentiable ``step`` at a batch
    of torch states [B, n_s] and actions [B, n_a] (per sample, by autograd)."""
    from torch.func import jacrev, vmap

    def one(s: Any, a: Any) -> tuple[Any, Any]:
        s2, r, _ = step(s[None], a[None])
        return s2[0], r[0]

    return vmap(jacrev(one, argnums=1))(state, action)


@dataclass(frozen=True)
class LegModel:
    """A legged robot's feet: what :class:`rl_control.roles.leg_odometry.LegOdometry` needs.

    ``kinematics(q, qdot)`` takes the ``joint_names`` joints' angles and rates (task order
    and convention) and gives the foot positions and velocities ``[feet, 3]`` in the base
    frame; ``foot_height`` is the foot point's height above the ground when it stands.
    ``load(effort)`` gives a per-foot load from the joints' efforts that exceeds
    ``stance_load`` while a foot carries the robot (a contact sensor for robots with none).
    """

    joint_names: tuple[str, ...]
    feet: int
    kinematics: Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]
    foot_height: float = 0.0
    load: Callable[[np.ndarray], np.ndarray] | None = None
    stance_load: float = 0.0


@dataclass(frozen=True)
class TaskDefinition:
    """One task, parameter-free; every function takes the params instance last.

    ``reward(state, action, next_state, p)`` rewards a step as the env does (``action`` is
    the clipped action applied); ``terminated(state, p)`` judges the state reached.
    ``estimate`` is None for tasks the graph cannot estimate; ``dynamics(p)`` is the task's
    exact model where it has one (the cart-pole's LCS, differentiable in torch through
    :class:`rl_control.models.lcs.LearnableLCS`).
    """

    name: str
    params_cls: type
    layout: StateLayout
    #: joint names the bridge publishes, in the order of the robot's actuated joints
    joint_names: tuple[str, ...]
    env_id: str
    #: ``module:Class`` of the gymnasium env
    entry_point: str
    action_bounds: Callable[[Any], tuple[np.ndarray, np.ndarray]]
    dt: Callable[[Any], float]
    max_steps: Callable[[Any], int]
    observation: Callable[[Any, Any], Any]
    reward: Callable[[Any, Any, Any, Any], Any]
    terminated: Callable[[Any, Any], Any]
    estimate: Callable[[SensorReadings, Any], np.ndarray] | None = None
    reward_terms: Callable[[Any, Any, Any, Any], dict[str, Any]] | None = None
    sample_initial_state: Callable[[np.random.Generator, Any], np.ndarray] | None = None
    dynamics: Callable[[Any], Any] | None = None
    #: the feet of a legged robot, for base odometry on hardware (no ground-truth base pose)
    legs: Callable[[Any], LegModel] | None = None
    #: ``differentiable(p)`` -> ``step(state, action) -> (next_state, reward, terminated)``
    #: on torch tensors, differentiable in state and action (analytic-gradient algorithms)
    differentiable: Callable[[Any], Callable[[Any, Any], tuple[Any, Any, Any]]] | None = None
    #: named 3-D points the task aims at, in the robot's root frame (rviz markers)
    targets: Callable[[Any, Any], dict[str, np.ndarray]] | None = None
    #: ``graph_limits(p)`` -> {param name: why}: the settings in ``p`` that the node graph
    #: cannot reproduce as the in-process env does (refused at launch by
    #: :func:`rl_control.roles.session.check_graph_env`)
    graph_limits: Callable[[Any], dict[str, str]] | None = None

    def facts(self) -> tuple[str, ...]:
        """Which of :data:`FACTS` this task provides."""
        optional = {"estimate": self.estimate, "initial_state": self.sample_initial_state,
                    "dynamics": self.dynamics, "legs": self.legs,
                    "differentiable": self.differentiable}  # fmt: skip
        return tuple(f for f in FACTS if optional.get(f, True) is not None)

    def params(self, overrides: dict[str, Any] | None = None) -> Any:
        """The default params with ``overrides`` (unknown names raise ValueError); env-wrapper
        settings such as ``domain_randomization`` are not task parameters and are skipped."""
        return override_params(self.params_cls(), task_params(overrides))

    def bind(self, overrides: dict[str, Any] | None = None) -> Task:
        """This task with its parameters fixed."""
        p = self.params(overrides)
        low, high = self.action_bounds(p)
        return Task(
            self, p, np.asarray(low, dtype=np.float64), np.asarray(high, dtype=np.float64),
            float(self.dt(p)), int(self.max_steps(p)),
        )  # fmt: skip


def _one(value: Any, kind: type) -> Any:
    """A plain float/bool for one numpy state (what a step stores), else as computed."""
    scalar = isinstance(value, float | bool | np.generic) or (
        isinstance(value, np.ndarray) and value.ndim == 0
    )
    return kind(value) if scalar else value


@dataclass(frozen=True)
class Task:
    """A :class:`TaskDefinition` with its parameters applied: what the graph and MPC use."""

    definition: TaskDefinition
    params: Any
    action_low: np.ndarray
    action_high: np.ndarray
    dt: float
    max_steps: int

    @property
    def name(self) -> str:
        return self.definition.name

    @property
    def layout(self) -> StateLayout:
        return self.definition.layout

    @property
    def state_names(self) -> tuple[str, ...]:
        return self.definition.layout.names

    @property
    def joint_names(self) -> tuple[str, ...]:
        return self.definition.joint_names

    @property
    def obs_dim(self) -> int:
        return int(np.asarray(self.observation(np.zeros(self.layout.size))).size)

    @property
    def act_dim(self) -> int:
        return int(self.action_low.size)

    def clip_action(self, action: np.ndarray) -> np.ndarray:
        """The action the env would apply (the envs clip to their action space)."""
        return np.clip(np.asarray(action, dtype=np.float64), self.action_low, self.action_high)

    def estimate(self, readings: SensorReadings) -> np.ndarray:
        """Sensor readings -> state (ordered as :attr:`state_names`)."""
        if self.definition.estimate is None:
            raise ValueError(f"task {self.name!r} has no state estimate from sensor readings")
        return self.definition.estimate(readings, self.params)

    def dynamics(self) -> Any:
        """The task's exact model at these params (the cart-pole: its LCS)."""
        if self.definition.dynamics is None:
            raise ValueError(f"task {self.name!r} has no exact dynamics model")
        return self.definition.dynamics(self.params)

    def legs(self) -> LegModel:
        """The task's leg kinematics (legged robots only)."""
        if self.definition.legs is None:
            raise ValueError(f"task {self.name!r} has no leg kinematics (not a legged robot)")
        return self.definition.legs(self.params)

    def differentiable_step(self) -> Callable[[Any, Any], tuple[Any, Any, Any]]:
        """``step(state, action) -> (next_state, reward, terminated)`` in torch at these params."""
        if self.definition.differentiable is None:
            raise ValueError(f"task {self.name!r} has no differentiable step")
        return self.definition.differentiable(self.params)

    def observation(self, state: Any) -> Any:
        obs = self.definition.observation(state, self.params)
        return np.asarray(obs, dtype=np.float64) if isinstance(state, np.ndarray) else obs

    def reward(self, state: Any, action: Any, next_state: Any) -> Any:
        return _one(self.definition.reward(state, action, next_state, self.params), float)

    def terminated(self, state: Any) -> Any:
        return _one(self.definition.terminated(state, self.params), bool)
