"""robot_publisher's logic: the TF tree of a URDF from joint states (robot_state_publisher's job).

Moving joints give parent link -> child link transforms at the joint state's stamp, at most
every ``period`` seconds of the injected clock (rviz needs no more; hardware joint states
come at the control rate); fixed joints are static transforms, sent once and latched. When
the graph's ``base_frame`` (the child of odom -> base_frame) is not the URDF's root link, a
static base_frame -> root joins them: the inverse of the root's inertial origin, since the
ground truth places base_frame at the base's centre of mass (PyBullet's base pose). A root
without mass is fixed in the world (PyBullet's fixed bases, URDF's "world" links): nobody
publishes odom -> base_frame for it, so a static ``odom_frame`` -> root (identity) does, and
rviz shows every task in the odom frame.
Joint names the URDF lacks are reported once; joints a message lacks keep their last value.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from rl_control.robot.urdf import UrdfModel


@dataclass(frozen=True)
class Transform:
    """parent -> child as a 4x4 matrix (the node turns it into a TransformStamped)."""

    parent: str
    child: str
    matrix: np.ndarray


def _ignore(_: str) -> None:
    return None


class RobotStateRole:
    """Joint states in, throttled joint transforms out; static transforms on request."""

    def __init__(
        self,
        urdf: str,
        base_frame: str = "",
        period: float = 0.05,
        odom_frame: str = "",
        clock: Callable[[], float] = time.monotonic,
        warn: Callable[[str], None] = _ignore,
    ) -> None:
        self.model = UrdfModel(urdf)
        self.base_frame, self.period, self.odom_frame = base_frame, float(period), odom_frame
        self.clock, self.warn = clock, warn
        self.positions: dict[str, float] = {}
        self._next = -math.inf
        self._unknown: set[str] = set()
        self._known = set(self.model.moving_joints)

    def static_transforms(self) -> list[Transform]:
        """Fixed joints (and base_frame -> root or odom -> root), for /tf_static."""
        out = [
            Transform(j.parent, j.child, m)
            for j, m in self.model.joint_transforms({}, fixed=True)
        ]  # fmt: skip
        root = self.model.root
        if self.model.root_mass == 0.0 and self.odom_frame and self.odom_frame != root:
            out.insert(0, Transform(self.odom_frame, root, np.eye(4)))
        elif self.base_frame and self.base_frame != root:
            offset = np.linalg.inv(self.model.root_inertial)
            out.insert(0, Transform(self.base_frame, self.model.root, offset))
        return out

    def on_joint_state(self, names: Sequence[str], positions: Sequence[float]) -> list[Transform]:
        """The moving joints' transforms, or [] while throttled (positions are kept anyway)."""
        if len(names) != len(positions):
            self.warn(f"joint state with {len(names)} names but {len(positions)} positions")
            return []
        for name, q in zip(names, positions, strict=True):
            if name in self._known:
                self.positions[name] = float(q)
            elif name not in self._unknown:
                self._unknown.add(name)
                self.warn(f"joint {name!r} is not in the URDF {self.model.name!r}: ignored")
        now = self.clock()
        if now < self._next:
            return []
        self._next = now + self.period
        return [
            Transform(j.parent, j.child, m)
            for j, m in self.model.joint_transforms(self.positions)
        ]  # fmt: skip
