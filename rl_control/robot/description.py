"""A PyBullet robot's URDF (robot_description) and its joint positions in URDF names.

A robot loaded from a URDF (``BulletEnv.urdf_file``, e.g. pybullet_data's Minitaur) gives
that file, with relative mesh paths made absolute ``file://`` URIs so rviz finds them, and
its XML declaration made ``version="1.0"`` (Minitaur's says ``0.0``, which libxml2, and so
yourdfpy and the monitor's page, refuse). A
body built with ``createMultiBody`` (cart-pole, 2R leg) is exported from PyBullet's own
joint and inertia data, so the description cannot drift from the simulated robot: joint
origin = parent's inertial frame · joint frame (PyBullet keeps joint frames relative to the
parent's centre of mass), the axis in the child frame, each link drawn as its inertia box
(the uniform box of the same mass and principal moments, at least ``MIN_BOX`` thick).
Joints are named by the robot's ``joint_names`` when those are exactly the movable joints
(the rule of :class:`~rl_control.robot.pybullet.PyBulletRobot`), else by the model.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from pathlib import Path
from xml.sax.saxutils import quoteattr

import numpy as np

from rl_control.envs.bullet import BulletEnv, pybullet

MIN_BOX = 0.02  # m: thinnest side of an inertia box (a rod's inertia has ~0 thickness)
_TYPES = {pybullet.JOINT_REVOLUTE: "revolute", pybullet.JOINT_PRISMATIC: "prismatic",
          pybullet.JOINT_FIXED: "fixed", pybullet.JOINT_PLANAR: "planar",
          pybullet.JOINT_SPHERICAL: "floating"}  # fmt: skip
_MESH = re.compile(r'(<mesh\s[^>]*filename\s*=\s*)(["\'])(.*?)\2')
_DECLARATION = re.compile(r"^\s*<\?xml\s[^>]*\?>")


def _f(values: Sequence[float]) -> str:
    return " ".join(repr(float(v)) for v in values)


def _rpy(xyzw: Sequence[float]) -> list[float]:
    return list(pybullet.getEulerFromQuaternion(xyzw))


def absolute_meshes(urdf: str, folder: Path) -> str:
    """Mesh filenames relative to the URDF's folder -> absolute file:// URIs."""

    def fix(m: re.Match[str]) -> str:
        name = m[3]
        if "://" in name or name.startswith("/"):
            return m[0]
        return f"{m[1]}{m[2]}file://{(folder / name).resolve()}{m[2]}"

    return _MESH.sub(fix, urdf)


def model_joint_names(cid: int, body: int, robot_names: Sequence[str]) -> list[str]:
    """Names of the body's movable joints (model order) as the description spells them."""
    count = pybullet.getNumJoints(body, physicsClientId=cid)
    infos = [pybullet.getJointInfo(body, j, physicsClientId=cid) for j in range(count)]
    movable = [i[1].decode() for i in infos if i[2] != pybullet.JOINT_FIXED]
    return list(robot_names) if len(robot_names) == len(movable) else movable


def _movable(cid: int, body: int) -> list[int]:
    return [
        j for j in range(pybullet.getNumJoints(body, physicsClientId=cid))
        if pybullet.getJointInfo(body, j, physicsClientId=cid)[2] != pybullet.JOINT_FIXED
    ]  # fmt: skip


def joint_positions(cid: int, body: int, names: Sequence[str]) -> dict[str, float]:
    """Raw PyBullet positions of the movable joints, keyed by ``names`` (model order)."""
    states = pybullet.getJointStates(body, _movable(cid, body), physicsClientId=cid)
    return {name: float(s[0]) for name, s in zip(names, states, strict=True)}


def _inertia_box(mass: float, inertia: Sequence[float]) -> list[float]:
    ixx, iyy, izz = (float(v) for v in inertia)
    sides = [6.0 * (iyy + izz - ixx), 6.0 * (ixx + izz - iyy), 6.0 * (ixx + iyy - izz)]
    return [max(math.sqrt(max(s / mass, 0.0)), MIN_BOX) for s in sides]


def _link(name: str, cid: int, body: int, index: int) -> list[str]:
    info = pybullet.getDynamicsInfo(body, index, physicsClientId=cid)
    mass, inertia, pos, orn = info[0], info[2], info[3], info[4]
    out = [f"  <link name={quoteattr(name)}>"]
    if mass > 0:
        origin = f'<origin xyz="{_f(pos)}" rpy="{_f(_rpy(orn))}"/>'
        out += [
            f'    <inertial>{origin}<mass value="{mass!r}"/>',
            f'      <inertia ixx="{inertia[0]!r}" iyy="{inertia[1]!r}" izz="{inertia[2]!r}"'
            ' ixy="0" ixz="0" iyz="0"/></inertial>',
            f'    <visual>{origin}<geometry><box size="{_f(_inertia_box(mass, inertia))}"/>'
            '</geometry></visual>',
        ]  # fmt: skip
    return out + ["  </link>"]


def export_body(cid: int, body: int, robot_names: Sequence[str], name: str = "robot",
                damping: Sequence[float] | None = None) -> str:  # fmt: skip
    """URDF of a PyBullet multibody (see the module docstring); ``damping`` per movable
    joint overrides PyBullet's reported joint damping (an env that applies its own)."""
    count = pybullet.getNumJoints(body, physicsClientId=cid)
    infos = [pybullet.getJointInfo(body, j, physicsClientId=cid) for j in range(count)]
    names = iter(model_joint_names(cid, body, robot_names))
    joint_names = [next(names) if i[2] != pybullet.JOINT_FIXED else i[1].decode() for i in infos]
    links = ["base_link"] + [f"{j}_link" for j in joint_names]
    lines = [f"<robot name={quoteattr(name)}>", *_link(links[0], cid, body, -1)]
    moving = [j for j, i in enumerate(infos) if i[2] != pybullet.JOINT_FIXED]
    damp = {j: infos[j][6] for j in moving}
    if damping is not None:
        damp.update(zip(moving, (float(d) for d in damping), strict=True))
    for j, info in enumerate(infos):
        kind = _TYPES[info[2]]
        lower, upper, parent = info[8], info[9], info[16]
        if kind == "revolute" and lower > upper:
            kind = "continuous"
        parent_com = pybullet.getDynamicsInfo(body, parent, physicsClientId=cid)[3:5]
        pos, orn = pybullet.multiplyTransforms(*parent_com, info[14], info[15])
        lines += _link(links[j + 1], cid, body, j) + [
            f"  <joint name={quoteattr(joint_names[j])} type={quoteattr(kind)}>",
            f"    <parent link={quoteattr(links[parent + 1])}/>"
            f"<child link={quoteattr(links[j + 1])}/>",
            f'    <origin xyz="{_f(pos)}" rpy="{_f(_rpy(orn))}"/><axis xyz="{_f(info[13])}"/>',
        ]
        if kind != "fixed":  # PyBullet's joint damping and friction (changeDynamics)
            lines.append(f'    <dynamics damping="{damp[j]!r}" friction="{info[7]!r}"/>')
        if kind in ("revolute", "prismatic"):
            lines.append(
                f'    <limit lower="{lower!r}" upper="{upper!r}" effort="{info[10]!r}"'
                f' velocity="{info[11]!r}"/>'
            )
        lines.append("  </joint>")
    return "\n".join([*lines, "</robot>", ""])


def robot_description(env: BulletEnv, robot_names: Sequence[str]) -> str:
    """The URDF of a PyBullet env's robot: its file, or the exported multibody."""
    cid, body = env.physics_handles()
    if env.urdf_file is not None:
        import pybullet_data

        path = Path(pybullet_data.getDataPath()) / env.urdf_file
        text = _DECLARATION.sub('<?xml version="1.0"?>', path.read_text(), count=1)
        return absolute_meshes(text, path.parent)
    return export_body(cid, body, robot_names, type(env).__name__, env.joint_damping())


def root_pose(cid: int, body: int) -> np.ndarray:
    """World pose (4x4) of the base's URDF frame (PyBullet reports its centre of mass)."""
    pos, orn = pybullet.getBasePositionAndOrientation(body, physicsClientId=cid)
    com = pybullet.getDynamicsInfo(body, -1, physicsClientId=cid)[3:5]
    pos, orn = pybullet.multiplyTransforms(pos, orn, *pybullet.invertTransform(*com))
    out = np.eye(4)
    out[:3, :3] = np.array(pybullet.getMatrixFromQuaternion(orn)).reshape(3, 3)
    out[:3, 3] = pos
    return out


def task_urdf(task_name: str) -> str:
    """robot_description of a task's robot (its PyBullet env built once, headless)."""
    from rl_control.envs.registration import make_env
    from rl_control.tasks.registry import make_task

    task, env = make_task(task_name), make_env(task_name)
    try:
        inner = env.unwrapped
        if not isinstance(inner, BulletEnv):
            raise ValueError(f"task {task_name!r} has no PyBullet robot to describe")
        return robot_description(inner, task.joint_names)
    finally:
        env.close()
