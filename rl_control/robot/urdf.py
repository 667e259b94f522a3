"""Generic URDF kinematics: parse a URDF's joint tree and compute its link frames (numpy).

What robot_state_publisher does, for any URDF and without ROS: every joint gives the
transform parent link -> child link = origin(xyz, rpy) · motion(axis, q), with q the joint's
position (revolute and continuous: rotation about the axis; prismatic: translation along
it; fixed, floating and planar: the origin alone). Mimic joints follow their leader
(q = multiplier · q_leader + offset). Only the kinematic tags are read, so a URDF's meshes
need not exist here; transforms are 4x4 homogeneous matrices.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

MOVING = ("revolute", "continuous", "prismatic")
JOINT_TYPES = (*MOVING, "fixed", "floating", "planar")


def _floats(text: str | None, n: int, where: str) -> np.ndarray:
    values = (text or " ".join(["0"] * n)).split()
    if len(values) != n:
        raise ValueError(f"URDF {where}: expected {n} numbers, got {text!r}")
    return np.array([float(v) for v in values], dtype=np.float64)


def rpy_matrix(rpy: np.ndarray) -> np.ndarray:
    """URDF's fixed-axis roll, pitch, yaw: R = Rz(yaw) · Ry(pitch) · Rx(roll)."""
    (sr, sp, sy), (cr, cp, cy) = np.sin(rpy), np.cos(rpy)
    return np.array([
        [cy * cp, cy * sp * sr - sy * cr, cy * sp * cr + sy * sr],
        [sy * cp, sy * sp * sr + cy * cr, sy * sp * cr - cy * sr],
        [-sp, cp * sr, cp * cr],
    ])  # fmt: skip


def axis_angle_matrix(axis: np.ndarray, angle: float) -> np.ndarray:
    """Rotation of ``angle`` about the unit ``axis`` (Rodrigues)."""
    x, y, z = axis
    k = np.array([[0.0, -z, y], [z, 0.0, -x], [-y, x, 0.0]])
    return np.eye(3) + math.sin(angle) * k + (1.0 - math.cos(angle)) * (k @ k)


def homogeneous(rotation: np.ndarray, translation: np.ndarray) -> np.ndarray:
    out = np.eye(4)
    out[:3, :3], out[:3, 3] = rotation, translation
    return out


def matrix_to_quaternion(m: np.ndarray) -> np.ndarray:
    """Unit quaternion (x, y, z, w) of a rotation matrix (Shepperd's method, w >= 0)."""
    r = m[:3, :3]
    trace = r[0, 0] + r[1, 1] + r[2, 2]
    if trace > 0:
        s = 2.0 * math.sqrt(trace + 1.0)
        q = [(r[2, 1] - r[1, 2]) / s, (r[0, 2] - r[2, 0]) / s, (r[1, 0] - r[0, 1]) / s, s / 4]
    else:
        i = int(np.argmax(np.diag(r)))
        j, k = (i + 1) % 3, (i + 2) % 3
        s = 2.0 * math.sqrt(1.0 + r[i, i] - r[j, j] - r[k, k])
        q = [0.0, 0.0, 0.0, (r[k, j] - r[j, k]) / s]
        q[i], q[j], q[k] = s / 4, (r[j, i] + r[i, j]) / s, (r[k, i] + r[i, k]) / s
    out = np.array(q)
    return out if out[3] >= 0 else -out


@dataclass(frozen=True)
class Joint:
    """One URDF joint: parent -> child link at ``origin`` (4x4), moving along ``axis``."""

    name: str
    type: str
    parent: str
    child: str
    origin: np.ndarray
    axis: np.ndarray
    mimic: tuple[str, float, float] | None = None  # (leader, multiplier, offset)
    damping: float = 0.0  # <dynamics damping>: viscous, N·m·s/rad (N·s/m for prismatic)

    def transform(self, q: float) -> np.ndarray:
        """parent -> child at joint position ``q``."""
        if self.type in ("revolute", "continuous"):
            return self.origin @ homogeneous(axis_angle_matrix(self.axis, q), np.zeros(3))
        if self.type == "prismatic":
            return self.origin @ homogeneous(np.eye(3), self.axis * q)
        return self.origin


@dataclass(frozen=True)
class Inertial:
    """A link's mass, centre-of-mass frame (4x4, in the link frame) and inertia tensor about
    the centre of mass in that frame."""

    mass: float
    origin: np.ndarray
    inertia: np.ndarray


class UrdfModel:
    """The joint tree of one URDF; :meth:`joint_transforms` and :meth:`link_poses` are its FK."""

    def __init__(self, urdf: str) -> None:
        try:
            root = ET.fromstring(urdf)
        except ET.ParseError as exc:
            raise ValueError(f"URDF is not valid XML: {exc}") from None
        if root.tag != "robot":
            raise ValueError(f"URDF root tag must be <robot>, got <{root.tag}>")
        self.name = root.get("name", "")
        self.links = [link.get("name", "") for link in root.findall("link")]
        self.joints = [_parse_joint(j) for j in root.findall("joint")]
        children = {j.child for j in self.joints}
        roots = [link for link in self.links if link not in children]
        if len(roots) != 1:
            raise ValueError(f"URDF {self.name!r} must have one root link, found {roots}")
        self.root = roots[0]
        #: the root link's centre-of-mass frame in the root frame (where PyBullet's base is)
        self.root_inertial, self.root_mass = _inertial(root, self.root)
        by_name = {j.name for j in self.joints}
        for j in self.joints:
            if j.mimic is not None and j.mimic[0] not in by_name:
                raise ValueError(f"URDF joint {j.name!r} mimics unknown joint {j.mimic[0]!r}")
        self._order = _topological(self.root, self.joints)
        #: every link's <inertial> (mass 0, identity frame and zero inertia without one)
        self.inertials = {link: _inertia(root, link) for link in self.links}

    @property
    def chain(self) -> list[Joint]:
        """The joints parents-first from the root (the order :meth:`link_poses` follows)."""
        return list(self._order)

    @property
    def moving_joints(self) -> list[str]:
        """Names of the joints whose transform depends on a position (mimics excluded)."""
        return [j.name for j in self.joints if j.type in MOVING and j.mimic is None]

    def positions(self, positions: Mapping[str, float]) -> dict[str, float]:
        """Every moving joint's position, mimic joints from their leaders (missing: 0)."""
        q = {name: float(positions.get(name, 0.0)) for name in self.moving_joints}
        for j in self.joints:
            if j.mimic is not None:
                leader, multiplier, offset = j.mimic
                q[j.name] = multiplier * float(positions.get(leader, 0.0)) + offset
        return q

    def joint_transforms(
        self, positions: Mapping[str, float], fixed: bool = False
    ) -> list[tuple[Joint, np.ndarray]]:
        """(joint, parent -> child) of the moving joints (``fixed``: of the fixed-origin ones,
        published once as static transforms); joints missing from ``positions`` are at 0."""
        q = self.positions(positions)
        return [
            (j, j.transform(q.get(j.name, 0.0)))
            for j in self._order
            if (j.type not in MOVING) == fixed
        ]

    def link_poses(
        self, positions: Mapping[str, float], root_pose: np.ndarray | None = None
    ) -> dict[str, np.ndarray]:
        """Every link's frame in the root's parent frame (``root_pose``: root link -> world)."""
        q = self.positions(positions)
        poses = {self.root: np.eye(4) if root_pose is None else np.asarray(root_pose)}
        for j in self._order:
            poses[j.child] = poses[j.parent] @ j.transform(q.get(j.name, 0.0))
        return poses


def _parse_joint(element: ET.Element) -> Joint:
    name, kind = element.get("name", ""), element.get("type", "")
    if kind not in JOINT_TYPES:
        raise ValueError(f"URDF joint {name!r}: unknown type {kind!r}")
    parent, child = element.find("parent"), element.find("child")
    if parent is None or child is None:
        raise ValueError(f"URDF joint {name!r} needs <parent> and <child>")
    origin = element.find("origin")
    xyz = _floats(origin.get("xyz") if origin is not None else None, 3, f"joint {name} xyz")
    rpy = _floats(origin.get("rpy") if origin is not None else None, 3, f"joint {name} rpy")
    axis_el = element.find("axis")
    axis = _floats(axis_el.get("xyz") if axis_el is not None else "1 0 0", 3, f"joint {name}")
    norm = float(np.linalg.norm(axis))
    if kind in MOVING and norm == 0.0:
        raise ValueError(f"URDF joint {name!r}: zero axis")
    mimic_el, mimic = element.find("mimic"), None
    if mimic_el is not None:
        mimic = (
            mimic_el.get("joint", ""),
            float(mimic_el.get("multiplier", "1")),
            float(mimic_el.get("offset", "0")),
        )
    return Joint(
        name, kind, parent.get("link", ""), child.get("link", ""),
        homogeneous(rpy_matrix(rpy), xyz), axis / (norm or 1.0), mimic, _damping(element, name),
    )  # fmt: skip


def _damping(element: ET.Element, name: str) -> float:
    dyn = element.find("dynamics")
    value = float(dyn.get("damping", "0")) if dyn is not None else 0.0
    if not (math.isfinite(value) and value >= 0):
        raise ValueError(f"URDF joint {name!r}: damping must be finite and >= 0, got {value}")
    return value


def _inertial(robot: ET.Element, link: str) -> tuple[np.ndarray, float]:
    """(inertial origin, mass) of ``link``: identity and 0 without an <inertial>."""
    for element in robot.findall("link"):
        if element.get("name") != link:
            continue
        origin, mass = element.find("inertial/origin"), element.find("inertial/mass")
        frame = np.eye(4)
        if origin is not None:
            xyz = _floats(origin.get("xyz"), 3, f"link {link} inertial xyz")
            rpy = _floats(origin.get("rpy"), 3, f"link {link} inertial rpy")
            frame = homogeneous(rpy_matrix(rpy), xyz)
        return frame, float(mass.get("value", "0")) if mass is not None else 0.0
    return np.eye(4), 0.0


def _inertia(robot: ET.Element, link: str) -> Inertial:
    frame, mass = _inertial(robot, link)
    tensor = np.zeros((3, 3))
    element = next((e for e in robot.findall("link") if e.get("name") == link), None)
    found = element.find("inertial/inertia") if element is not None else None
    if found is not None:
        v = {n: float(found.get(n, "0")) for n in ("ixx", "ixy", "ixz", "iyy", "iyz", "izz")}
        tensor = np.array([[v["ixx"], v["ixy"], v["ixz"]], [v["ixy"], v["iyy"], v["iyz"]],
                           [v["ixz"], v["iyz"], v["izz"]]])  # fmt: skip
    if mass < 0 or not np.all(np.isfinite(tensor)):
        raise ValueError(f"URDF link {link!r}: mass must be >= 0 and the inertia finite")
    return Inertial(mass, frame, tensor)


def _topological(root: str, joints: list[Joint]) -> list[Joint]:
    """Joints parents-first from the root; a link with two parents or a loop is refused."""
    by_parent: dict[str, list[Joint]] = {}
    for j in joints:
        by_parent.setdefault(j.parent, []).append(j)
    order, seen, stack = [], {root}, [root]
    while stack:
        for j in by_parent.get(stack.pop(), []):
            if j.child in seen:
                raise ValueError(f"URDF joint {j.name!r}: link {j.child!r} reached twice")
            seen.add(j.child)
            order.append(j)
            stack.append(j.child)
    if len(order) != len(joints):
        missing = sorted({j.name for j in joints} - {j.name for j in order})
        raise ValueError(f"URDF joints not connected to the root {root!r}: {missing}")
    return order
