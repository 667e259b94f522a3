"""A stand-in for a ros2_control robot: a task's PyBullet world behind robot-side names.

It reports joint states under the robot config's ``robot_name``s, in its own order (the
reverse of the controller's, as a real driver may list them), in robot units and frame,
and takes the forwarding controller's command array (controller order). Like an upstream
forwarding controller it applies the last command it received, forever: the bridge has to
provide all safety. Commands become the task's action through the config's mapping
(``policy = direction * (robot - offset)`` for positions, ``direction * robot`` for
efforts). When the interface is what the task's action means they step the env as its
action; an effort interface under a position task (the Minitaur: the bridge closes the PD
loop) holds the efforts on the simulated motors instead (:meth:`BulletEnv.step_effort`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rl_control.robot.config import RobotConfig
from rl_control.robot.pybullet import PyBulletRobot
from rl_control.tasks.registry import make_task


def fake_env_params(config: RobotConfig) -> dict[str, Any]:
    """Env parameters that run the fake robot at the bridge's loop (``pd_period``), as a
    robot whose joint states come that fast: the task's ``control_dt`` set to the loop
    period, its ``physics_substeps`` scaled to keep the physics step. Empty when the loop is
    the control period or the task has no such parameters."""
    task = make_task(config.task)
    params = vars(task.params)
    loop = config.loop_period
    if loop >= task.dt or "control_dt" not in params or "physics_substeps" not in params:
        return {}
    substeps = max(1, round(params["physics_substeps"] * loop / task.dt))
    return {"control_dt": loop, "physics_substeps": substeps}


class FakeRos2ControlRobot:
    """PyBullet joints as a ros2_control driver plus one forwarding controller shows them."""

    def __init__(self, sim: PyBulletRobot, config: RobotConfig) -> None:
        if list(config.policy_joints) != sim.joint_names:
            raise ValueError(f"robot {config.robot!r} joints {list(config.policy_joints)} are "
                             f"not the simulation's {sim.joint_names}")  # fmt: skip
        self.sim, self.config = sim, config
        self.period = sim.period
        self.names = list(config.controller_joints)[::-1]  # the driver's own order
        index = config.robot_index()  # controller slot -> policy slot
        self._policy_of_name = {n: int(index[i]) for i, n in enumerate(config.controller_joints)}
        self._controller_slot = np.argsort(index)  # policy slot -> controller slot
        self.direction = np.array([j.direction for j in config.joints])
        self.offset = np.array([j.offset for j in config.joints])
        self.positions = config.command_interface == "position"
        self.as_action = config.command_interface == config.policy_output  # else: efforts
        self._command: np.ndarray | None = None  # controller order, as last received
        self._driven = False  # a command has moved the robot off its stand
        self.received = self.rejected = 0  # commands taken / dropped (wrong length)

    def command(self, data: list[float]) -> bool:
        """A Float64MultiArray's data; a wrong length is dropped, as the controller does."""
        array = np.asarray(data, dtype=np.float64)
        if array.shape != (len(self.names),):
            self.rejected += 1
            return False
        self._command = array
        self.received += 1
        # zero efforts hold nothing: the leg stays on its stand until a command drives it
        self._driven = self._driven or self.positions or bool(np.any(array))
        return True

    def step(self) -> None:
        """One period with the last command; until one drives the robot (a position, or a
        non-zero effort) the world stands still.

        A real leg rests on its stand until its controller drives it; a simulated one given
        zero effort would swing under gravity (the 2R leg's knee passes 20 rad/s within
        0.4 s). A bridge sends zero effort from its start (a limp leg, whatever a crashed
        predecessor left held), before it has heard a joint state: if its reader matched the
        fake's writer late, homing would start on a spinning leg and trip overspeed.
        """
        if self._command is None or not self._driven:
            return
        robot = self._command[self._controller_slot]  # policy order, robot units
        action = self.direction * (robot - self.offset if self.positions else robot)
        if self.as_action:
            self.sim.apply(action)
        else:
            self.sim.apply_effort(action)

    def joint_state(self) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray]:
        """(names, position, velocity, effort) in the driver's order, robot frame."""
        r = self.sim.read()
        slots = [self._policy_of_name[n] for n in self.names]
        d, off = self.direction[slots], self.offset[slots]
        q = d * r.position[slots] + off
        return list(self.names), q, d * r.velocity[slots], d * r.effort[slots]
