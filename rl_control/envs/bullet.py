"""Shared PyBullet plumbing for the task envs: one private client per env, deterministic set-up.

Every env owns its own :class:`BulletClient` (``DIRECT``, i.e. headless, unless
``render_mode="human"``), so several envs in one process never share a world. Hot calls are
bound once (:class:`FastCalls`) because ``BulletClient.__getattr__`` builds a new partial and
inspects the function on every call, which costs more than a small multibody's physics step.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import os
import sys
from collections.abc import Iterator, Sequence
from typing import Any

import gymnasium as gym
import numpy as np

_LIBC = ctypes.CDLL(None)


@contextlib.contextmanager
def quiet_stdout() -> Iterator[None]:
    """Silence C-level prints on fds 1 and 2 (PyBullet's build-time banner, ``argv[0]=``),
    which would otherwise break one-line error messages and node logs."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = [os.dup(1), os.dup(2)]
    try:
        with open(os.devnull, "wb") as devnull:
            os.dup2(devnull.fileno(), 1)
            os.dup2(devnull.fileno(), 2)
        yield
    finally:
        _LIBC.fflush(None)  # C stdio buffers empty into /dev/null, not later into the terminal
        for fd, copy in zip((1, 2), saved, strict=True):
            os.dup2(copy, fd)
            os.close(copy)


with quiet_stdout():
    import pybullet  # noqa: E402  (imported silenced: it prints its build time on import)
from pybullet_utils.bullet_client import BulletClient  # noqa: E402

RENDER_MODES = ("human",)


def make_client(render_mode: str | None = None) -> BulletClient:
    """A fresh PyBullet world: headless by default, with a GUI only for ``render_mode="human"``."""
    if render_mode not in (None, *RENDER_MODES):
        raise ValueError(f"unknown render_mode {render_mode!r}; known: [None, 'human']")
    mode = pybullet.GUI if render_mode == "human" else pybullet.DIRECT
    with quiet_stdout():
        client = BulletClient(connection_mode=mode)
    client.resetSimulation()
    # deterministic set-up: fixed time step and no real-time clock driving the physics
    client.setRealTimeSimulation(0)
    client.setPhysicsEngineParameter(deterministicOverlappingPairs=1)
    return client


class FastCalls:
    """PyBullet functions pre-bound to one client id (avoids the per-call partial)."""

    def __init__(self, client: BulletClient) -> None:
        cid = client._client
        bind = functools.partial
        self.step_simulation = bind(pybullet.stepSimulation, physicsClientId=cid)
        self.get_joint_states = bind(pybullet.getJointStates, physicsClientId=cid)
        self.set_motor_array = bind(pybullet.setJointMotorControlArray, physicsClientId=cid)
        self.set_motor = bind(pybullet.setJointMotorControl2, physicsClientId=cid)
        self.apply_external_force = bind(pybullet.applyExternalForce, physicsClientId=cid)
        self.get_base_pose = bind(pybullet.getBasePositionAndOrientation, physicsClientId=cid)
        self.get_base_velocity = bind(pybullet.getBaseVelocity, physicsClientId=cid)


def disable_default_motors(client: BulletClient, body: int, joints: Sequence[int]) -> None:
    """Turn off PyBullet's default velocity motors so joints are free (or torque-driven)."""
    n = len(joints)
    client.setJointMotorControlArray(
        body,
        list(joints),
        pybullet.VELOCITY_CONTROL,
        targetVelocities=[0.0] * n,
        forces=[0.0] * n,
    )


def zero_damping(client: BulletClient, body: int, links: Sequence[int]) -> None:
    """Remove PyBullet's default linear/angular damping (0.04) from the body and its links."""
    for link in (-1, *links):
        client.changeDynamics(body, link, linearDamping=0.0, angularDamping=0.0, jointDamping=0.0)


def check_finite(name: str, value: Any) -> None:
    """Raise ValueError naming ``name`` when ``value`` holds NaN or inf (the env's input guard)."""
    arr = np.asarray(value, dtype=np.float64)
    if not np.isfinite(arr).all():
        raise ValueError(f"non-finite {name}: {arr.tolist()}")


class BulletEnv(gym.Env):
    """Base of the task envs: parameters, a private PyBullet world and its clean-up.

    Sensor bridges read the robot through :meth:`physics_handles` and :meth:`joint_sensors`
    (public, so nobody probes the env's private attributes).
    """

    metadata = {"render_modes": list(RENDER_MODES), "render_fps": 100}
    #: the URDF the robot is loaded from, relative to pybullet_data; None for a body built
    #: with createMultiBody (robot/description.py exports those)
    urdf_file: str | None = None

    def __init__(self, params: Any, render_mode: str | None) -> None:
        self.params = params
        self.render_mode = render_mode
        self._client: BulletClient | None = make_client(render_mode)
        self._calls = FastCalls(self._client)
        self._body = -1  # the robot's body id, set by the subclass's build
        self._movable: list[int] | None = None

    def physics_handles(self) -> tuple[int, int]:
        """(PyBullet client id, robot body id) of this env's world."""
        if self._client is None:
            raise ValueError(f"{type(self).__name__} is closed: it has no PyBullet world")
        return self._client._client, self._body

    def movable_joints(self) -> list[int]:
        """Indices of the robot's non-fixed joints, in model order."""
        if self._movable is None:
            cid, body = self.physics_handles()
            self._movable = [
                j for j in range(pybullet.getNumJoints(body, physicsClientId=cid))
                if pybullet.getJointInfo(body, j, physicsClientId=cid)[2] != pybullet.JOINT_FIXED
            ]  # fmt: skip
        return self._movable

    def joint_names(self) -> list[str]:
        """The model's names of the joints :meth:`joint_sensors` reads."""
        cid, body = self.physics_handles()
        return [
            pybullet.getJointInfo(body, j, physicsClientId=cid)[1].decode()
            for j in self.movable_joints()
        ]

    def joint_sensors(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(positions, velocities, efforts) of the movable joints, as encoders would read
        them; robots whose motor convention differs from the raw joints override this."""
        cid, body = self.physics_handles()
        states = pybullet.getJointStates(body, self.movable_joints(), physicsClientId=cid)
        q = np.array([s[0] for s in states], dtype=np.float64)
        v = np.array([s[1] for s in states], dtype=np.float64)
        tau = np.array([s[3] for s in states], dtype=np.float64)
        return q, v, tau

    def joint_damping(self) -> np.ndarray | None:
        """Viscous damping [N·m·s/rad] per :meth:`movable_joints` joint that the env applies
        itself (PyBullet ignores ``changeDynamics(jointDamping=...)`` on a createMultiBody
        body and reports only a URDF's own values); None: PyBullet's values hold."""
        return None

    def step_effort(self, effort: np.ndarray) -> None:
        """Hold joint efforts (the :meth:`joint_sensors` joints and convention) for one
        control step, as a ros2_control effort controller would: for envs whose action is
        not an effort (the fake ros2_control robot's effort path). Reward and termination
        are not computed; envs that support it override this."""
        raise ValueError(f"{type(self).__name__} takes no effort commands (its action is "
                         "the only command)")  # fmt: skip

    def close(self) -> None:
        if getattr(self, "_client", None) is not None:
            self._client.disconnect()
            self._client = None
