"""A URDF in a viser scene, posed by moving only the frames of the joints that moved.

viser's own ``ViserUrdf`` poses a robot by running yourdfpy's forward kinematics over the
whole tree and setting the position and orientation of every joint's frame, moved or not:
~13 ms per pose for Minitaur (26 joints) on these machines, 1 ms for the cart-pole
(bench/monitor_pose.py). A joint frame's pose relative to its parent link is the joint's
origin times its own motion, so here a revolute joint only turns (its frame's orientation
is origin · rotation about the axis, one quaternion product, for all joints at once) and a
prismatic one only slides (its position); fixed joints are set once, and a joint whose
value moved less than ``tolerance`` since its frame was last set is not sent again.

The scene is nested as the kinematic tree: each link is a frame under its parent link's,
named by the chain of links from the root, so moving a joint's frame moves everything
below it; the visual meshes sit in their links' frames, as yourdfpy's scene places them.
"""

from __future__ import annotations

import io
from collections.abc import Mapping

import numpy as np

#: rad or m: a joint that moved less than this since its frame was set is not set again
TOLERANCE = 1e-4


def _wxyz(rotation: np.ndarray) -> np.ndarray:
    """Unit quaternion (w, x, y, z) of a rotation matrix."""
    import transforms3d

    return transforms3d.quaternions.mat2quat(rotation)


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

    def __init__(self, scene, description: str, root: str = "/robot",
                 tolerance: float = TOLERANCE) -> None:  # fmt: skip
        import yourdfpy

        self.model = yourdfpy.URDF.load(
            io.StringIO(description), build_collision_scene_graph=False,
            load_collision_meshes=False,
        )  # fmt: skip
        self.tolerance = tolerance
        joints = list(self.model.joint_map.values())
        parent_of = {j.child: j.parent for j in joints}
        paths = {self.model.base_link: root}

        def path(link: str) -> str:
            if link not in paths:
                paths[link] = f"{path(parent_of[link])}/{link}"
            return paths[link]

        #: each joint's frame (its child link's), by joint name
        self.frames: dict[str, object] = {}
        frames = self.frames
        for j in joints:
            origin = np.eye(4) if j.origin is None else np.asarray(j.origin, float)
            frames[j.name] = scene.add_frame(
                path(j.child), show_axes=False, wxyz=_wxyz(origin[:3, :3]),
                position=origin[:3, 3],
            )  # fmt: skip
        meshes = self._add_meshes(scene, path)
        # what hangs from the root: removing a node removes everything below it
        base = self.model.base_link
        self._top = [frames[j.name] for j in joints if j.parent == base]
        self._top += [handle for link, handle in meshes if link == base]
        turning = [j for j in joints if j.type in ("revolute", "continuous")]
        sliding = [j for j in joints if j.type == "prismatic"]
        self.joint_names = tuple(self.model.actuated_joint_names)
        self._turning = _Moving(turning, frames)
        self._sliding = _Moving(sliding, frames)

    def _add_meshes(self, scene, path) -> list:
        graph, meshes = self.model.scene.graph, []
        for name, mesh in self.model.scene.geometry.items():
            link = graph.transforms.parents[name]
            placed = mesh.copy()  # in its link's frame (the transform may hold a scale)
            placed.apply_transform(graph.get(frame_to=name, frame_from=link)[0])
            meshes.append((link, scene.add_mesh_trimesh(f"{path(link)}/{name}", placed)))
        return meshes

    def remove(self) -> None:
        """Take the robot out of the scene (its root frame stays)."""
        for handle in self._top:
            handle.remove()

    def pose(self, joints: Mapping[str, float]) -> int:
        """Move the frames of the joints whose value in ``joints`` (URDF names; a missing
        joint is at 0) moved by more than the tolerance; returns how many frames were set."""
        moved = 0
        turning, sliding = self._turning, self._sliding
        for group, apply in ((turning, self._turn), (sliding, self._slide)):
            values = group.value(joints)
            changed = np.flatnonzero(np.abs(values - group.sent) > self.tolerance)
            if changed.size:
                apply(group, changed, values[changed])
                group.sent[changed] = values[changed]
                moved += changed.size
        return moved

    @staticmethod
    def _turn(group: _Moving, idx: np.ndarray, angle: np.ndarray) -> None:
        half = 0.5 * angle[:, None]
        motion = np.hstack([np.cos(half), np.sin(half) * group.axis[idx]])
        for i, wxyz in zip(idx, _qmul(group.origin_wxyz[idx], motion), strict=True):
            group.frames[i].wxyz = wxyz

    @staticmethod
    def _slide(group: _Moving, idx: np.ndarray, distance: np.ndarray) -> None:
        along = group.axis[idx] * distance[:, None]  # in the joint frame: rotate by the origin
        offsets = np.einsum("nij,nj->ni", group.origin_rot[idx], along)
        for i, position in zip(idx, group.origin_pos[idx] + offsets, strict=True):
            group.frames[i].position = position


class _Moving:
    """The frames of one kind of moving joint, their origins and axes, and the values sent."""

    def __init__(self, joints: list, frames: Mapping[str, object]) -> None:
        origins = np.array([np.eye(4) if j.origin is None else j.origin for j in joints], float)
        origins = origins.reshape(-1, 4, 4)
        # a mimic joint follows another: value = multiplier · the other's + offset
        self.sources = [j.mimic.joint if j.mimic else j.name for j in joints]
        mimics = [j.mimic for j in joints]
        self.scale = np.array([1.0 if m is None or m.multiplier is None else m.multiplier
                               for m in mimics], float)  # fmt: skip
        self.offset = np.array([0.0 if m is None or m.offset is None else m.offset
                                for m in mimics], float)  # fmt: skip
        self.frames = [frames[j.name] for j in joints]
        axes = np.array([j.axis for j in joints], float).reshape(-1, 3)
        self.axis = axes / np.linalg.norm(axes, axis=1, keepdims=True).clip(1e-12)
        self.origin_rot, self.origin_pos = origins[:, :3, :3], origins[:, :3, 3]
        self.origin_wxyz = np.array([_wxyz(r) for r in self.origin_rot]).reshape(-1, 4)
        self.sent = np.zeros(len(joints))  # the frames start at the origins: joint value 0

    def value(self, joints: Mapping[str, float]) -> np.ndarray:
        """Each joint's value from the named positions (a missing one is at 0)."""
        named = np.array([joints.get(n, 0.0) for n in self.sources], float)
        return self.scale * named + self.offset
