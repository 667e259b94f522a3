"""A URDF in a viser scene, posed by moving only the frames of the joints that moved.

viser's own ``ViserUrdf`` poses a robot by running yourdfpy's forward kinematics over the
whole tree and setting the position and orientation of every joint's frame, moved or not:
~13 ms per pose for Minitaur (26 joints) on these machines, 1 ms for the cart-pole
(bench/monitor_pose.py). A joint frame's pose relative to its parent link is the joint's
origin times its own motion, so here a revolute joint only turns (its frame's orientation
is origin · rotation about the axis, one quaternion product, for all joints at once) and a
prismatic one only slides (its position); fixed joints are set once, and a joint whose
value moved less than ``tolerance`` since its frame was last set is not sent again.

The joint tree, origins, axes and mimic joints are the project's
:class:`~rl_control.robot.urdf.UrdfModel` (the one the TF tree is computed from); yourdfpy
loads the visual meshes. The scene is nested as the tree: each link is a frame under its
parent link's, named by the chain of links from the root, so moving a joint's frame moves
everything below it; the meshes sit in their links' frames, as yourdfpy's scene places them.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from rl_control.robot.urdf import Joint, UrdfModel, matrix_to_quaternion

#: rad or m: a joint that moved less than this since its frame was set is not set again
TOLERANCE = 1e-4


def _wxyz(transform: np.ndarray) -> np.ndarray:
    """Unit quaternion (w, x, y, z), viser's order, of a transform's rotation."""
    return np.roll(matrix_to_quaternion(transform), 1)


def _qmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise Hamilton products of (n, 4) (w, x, y, z) quaternions."""
    aw, ax, ay, az = a.T
    bw, bx, by, bz = b.T
    return np.stack([
        aw * bw - ax * bx - ay * by - az * bz,
        aw * bx + ax * bw + ay * bz - az * by,
        aw * by - ax * bz + ay * bw + az * bx,
        aw * bz + ax * by - ay * bx + az * bw,
    ], axis=1)  # fmt: skip


class RobotScene:
    """One URDF's links and meshes in a viser scene under ``root``; :meth:`pose` moves them."""

    def __init__(self, scene: Any, description: str, root: str = "/robot",
                 tolerance: float = TOLERANCE) -> None:  # fmt: skip
        self.model = UrdfModel(description)
        self.tolerance = tolerance
        #: the joints a pose names (mimic joints follow their leaders)
        self.joint_names = tuple(self.model.moving_joints)
        parent_of = {j.child: j.parent for j in self.model.joints}
        paths = {self.model.root: root}

        def path(link: str) -> str:
            if link not in paths:
                paths[link] = f"{path(parent_of[link])}/{link}"
            return paths[link]

        #: each joint's frame (its child link's), by joint name, starting at the origin
        self.frames: dict[str, Any] = {
            j.name: scene.add_frame(
                path(j.child), show_axes=False, wxyz=_wxyz(j.origin), position=j.origin[:3, 3]
            )  # fmt: skip
            for j in self.model.chain
        }
        meshes = _add_meshes(scene, description, path)
        # what hangs from the root: removing a node removes everything below it
        top = self.model.root
        self._top = [self.frames[j.name] for j in self.model.joints if j.parent == top]
        self._top += [handle for link, handle in meshes if link == top]
        chain = self.model.chain
        turning = [j for j in chain if j.type in ("revolute", "continuous")]
        self._turning = _Moving(turning, self.frames)
        self._sliding = _Moving([j for j in chain if j.type == "prismatic"], self.frames)

    def remove(self) -> None:
        """Take the robot out of the scene (its root frame stays)."""
        for handle in self._top:
            handle.remove()

    def pose(self, joints: Mapping[str, float]) -> int:
        """Move the frames of the joints whose value in ``joints`` (URDF names; a missing
        joint is at 0) moved by more than the tolerance; returns how many frames were set."""
        q, moved = self.model.positions(joints), 0
        for group, apply in ((self._turning, _turn), (self._sliding, _slide)):
            values = np.array([q[name] for name in group.names], float)
            changed = np.flatnonzero(np.abs(values - group.sent) > self.tolerance)
            if changed.size:
                apply(group, changed, values[changed])
                group.sent[changed] = values[changed]
                moved += changed.size
        return moved


def _add_meshes(scene: Any, description: str, path: Callable[[str], str]) -> list:
    """(link, handle) of each visual mesh, added in its link's frame."""
    import yourdfpy

    model = yourdfpy.URDF.load(io.StringIO(description), build_collision_scene_graph=False,
                               load_collision_meshes=False)  # fmt: skip
    graph, meshes = model.scene.graph, []
    for name, mesh in model.scene.geometry.items():
        link = graph.transforms.parents[name]
        placed = mesh.copy()  # in its link's frame (the transform may hold a scale)
        placed.apply_transform(graph.get(frame_to=name, frame_from=link)[0])
        meshes.append((link, scene.add_mesh_trimesh(f"{path(link)}/{name}", placed)))
    return meshes


class _Moving:
    """The frames of one kind of moving joint, their origins and axes, and the values sent."""

    def __init__(self, joints: list[Joint], frames: Mapping[str, Any]) -> None:
        self.names = [j.name for j in joints]
        self.frames = [frames[j.name] for j in joints]
        origins = np.array([j.origin for j in joints], float).reshape(-1, 4, 4)
        self.axis = np.array([j.axis for j in joints], float).reshape(-1, 3)  # unit
        self.origin_rot, self.origin_pos = origins[:, :3, :3], origins[:, :3, 3]
        self.origin_wxyz = np.array([_wxyz(o) for o in origins]).reshape(-1, 4)
        self.sent = np.zeros(len(joints))  # the frames start at the origins: joint value 0


def _turn(group: _Moving, idx: np.ndarray, angle: np.ndarray) -> None:
    half = 0.5 * angle[:, None]
    motion = np.hstack([np.cos(half), np.sin(half) * group.axis[idx]])
    for i, wxyz in zip(idx, _qmul(group.origin_wxyz[idx], motion), strict=True):
        group.frames[i].wxyz = wxyz


def _slide(group: _Moving, idx: np.ndarray, distance: np.ndarray) -> None:
    along = group.axis[idx] * distance[:, None]  # in the joint frame: rotate by the origin
    offsets = np.einsum("nij,nj->ni", group.origin_rot[idx], along)
    for i, position in zip(idx, group.origin_pos[idx] + offsets, strict=True):
        group.frames[i].position = position
