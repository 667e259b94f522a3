"""The robot-I/O port: what a bridge needs of a robot, simulated or real.

The PyBullet world implements it (:class:`rl_control.robot.pybullet.PyBulletRobot`); a
hardware bridge implements it over ros2_control topics. The lock-step bridge drives only
this protocol, never an env's internals.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np

from rl_control.robot.sensors import SensorReadings


@runtime_checkable
class RobotIO(Protocol):
    """Sensors in, commands out, at a fixed control period."""

    #: seconds between commands (one control step)
    period: float

    @property
    def joint_names(self) -> list[str]:
        """Names of the joints :meth:`read` reports, in its order."""
        ...

    def read(self) -> SensorReadings:
        """The sensors now, stamped with the robot's time (step and episode are -1)."""
        ...

    def apply(self, command: np.ndarray) -> None:
        """Apply one command (already clipped by the caller) for one control period."""
        ...

    def home(self, seed: int | None = None, options: dict | None = None) -> SensorReadings:
        """Move to the home pose (a simulator resets, ``seed`` fixing its start state)."""
        ...

    def close(self) -> None:
        """Release the robot (disconnect the simulator or the hardware)."""
        ...
