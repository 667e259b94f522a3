"""Rigid-body dynamics of a planar serial chain read from its URDF (torch, batched).

A fixed-base chain of revolute/continuous joints whose axes are all parallel (±n) and whose
joint and inertial frames turn only about n moves in the plane ⟂ n: each link is its mass,
its centre of mass and its inertia about n, all read from the URDF through
:class:`~rl_control.robot.urdf.UrdfModel` (so the model is the simulated robot's, not a copy of
its numbers). Inverse dynamics is the recursive Newton-Euler algorithm in plane coordinates;
forward dynamics solves M(q) q̈ = τ − D q̇ − b(q, q̇), with M's columns from RNEA and D the
joints' viscous ``<dynamics damping>``. Everything is torch float64 and twice differentiable
(what iLQR's derivatives need).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from rl_control.robot.urdf import UrdfModel


def _perp(v: torch.Tensor) -> torch.Tensor:
    """n × v in plane coordinates (e1, e2, n right-handed): (−v2, v1)."""
    return torch.stack([-v[..., 1], v[..., 0]], -1)


def _cross(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """The n-component of a × b."""
    return a[..., 0] * b[..., 1] - a[..., 1] * b[..., 0]


def _rotate(theta: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """Plane vectors v [..., 2] (or a constant [2]) turned by θ [...] about n."""
    c, s = torch.cos(theta), torch.sin(theta)
    return torch.stack([c * v[..., 0] - s * v[..., 1], s * v[..., 0] + c * v[..., 1]], -1)


class PlanarChain:
    """M(q) q̈ + b(q, q̇) + D q̇ = τ of a planar chain; joints in ``joint_names`` order."""

    def __init__(self, urdf: str, joint_names: Sequence[str], gravity: Sequence[float]) -> None:
        """``gravity``: the gravity vector [3] in the root link's frame (m/s²)."""
        model = UrdfModel(urdf)
        by_name = {j.name: j for j in model.chain}
        missing = [n for n in joint_names if n not in by_name]
        if missing:
            raise ValueError(f"URDF {model.name!r} has no joint(s) {missing}")
        joints = [by_name[n] for n in joint_names]
        parent = model.root
        for j in joints:
            if j.type not in ("revolute", "continuous") or j.mimic is not None:
                raise ValueError(f"planar chain: joint {j.name!r} is {j.type}, not revolute")
            if j.parent != parent:
                raise ValueError(f"planar chain: joint {j.name!r} does not follow {parent!r}: "
                                 "the joints must be one serial chain")  # fmt: skip
            parent = j.child
        n = joints[0].axis / np.linalg.norm(joints[0].axis)
        e1 = np.cross(n, [1.0, 0.0, 0.0] if abs(n[0]) < 0.9 else [0.0, 1.0, 0.0])
        e1 /= np.linalg.norm(e1)
        e2 = np.cross(n, e1)
        plane = np.stack([e1, e2])  # 3-D -> plane coordinates

        def about_n(rotation: np.ndarray, where: str) -> float:
            if not np.allclose(rotation @ n, n, atol=1e-9):
                raise ValueError(f"planar chain: {where} turns out of the plane ⟂ {n.tolist()}")
            return float(np.arctan2(e2 @ rotation @ e1, e1 @ rotation @ e1))

        signs, offsets, betas, coms, masses, inertias, damping = [], [], [], [], [], [], []
        for j in joints:
            sign = float(j.axis @ n)
            if not np.isclose(abs(sign), 1.0, atol=1e-9):
                raise ValueError(f"planar chain: joint {j.name!r} axis {j.axis.tolist()} is not "
                                 f"parallel to {n.tolist()}")  # fmt: skip
            signs.append(np.sign(sign))
            offsets.append(plane @ j.origin[:3, 3])
            betas.append(about_n(j.origin[:3, :3], f"joint {j.name!r}'s origin"))
            inertial = model.inertials[j.child]
            rot = inertial.origin[:3, :3]
            coms.append(plane @ inertial.origin[:3, 3])
            masses.append(inertial.mass)
            inertias.append(float(n @ rot @ inertial.inertia @ rot.T @ n))
            damping.append(j.damping)
        as_t = lambda x: torch.as_tensor(np.asarray(x, dtype=np.float64))  # noqa: E731
        self.joint_names = tuple(joint_names)
        self.sign, self.offset, self.beta = as_t(signs), as_t(offsets), as_t(betas)
        self.com, self.mass, self.inertia = as_t(coms), as_t(masses), as_t(inertias)
        self.damping = as_t(damping)
        self.gravity = as_t(plane @ np.asarray(gravity, dtype=np.float64))

    @property
    def dof(self) -> int:
        return len(self.joint_names)

    def inverse_dynamics(self, q: torch.Tensor, qd: torch.Tensor, qdd: torch.Tensor,
                         gravity: bool = True) -> torch.Tensor:  # fmt: skip
        """τ [..., dof] that gives accelerations ``qdd`` at (q, q̇), damping excluded (RNEA)."""
        g = self.gravity if gravity else torch.zeros(2, dtype=torch.float64)
        return self._rnea(q, qd, qdd, -g.expand(*q.shape[:-1], 2))

    def _rnea(self, q: torch.Tensor, qd: torch.Tensor, qdd: torch.Tensor,
              acc: torch.Tensor) -> torch.Tensor:  # fmt: skip
        """RNEA with the root accelerating at ``acc`` [..., 2] (−gravity: gravity's load)."""
        batch = q.shape[:-1]
        zero = torch.zeros(batch, dtype=torch.float64)
        theta, omega, alpha = zero, zero, zero
        rel, arm, force, spin = [], [], [], []
        for i in range(self.dof):
            r = _rotate(theta, self.offset[i]).expand(*batch, 2)
            acc = acc + alpha[..., None] * _perp(r) - omega[..., None] ** 2 * r
            s = self.sign[i]
            theta = theta + self.beta[i] + s * q[..., i]
            omega, alpha = omega + s * qd[..., i], alpha + s * qdd[..., i]
            d = _rotate(theta, self.com[i]).expand(*batch, 2)
            a_com = acc + alpha[..., None] * _perp(d) - omega[..., None] ** 2 * d
            rel.append(r)
            arm.append(d)
            force.append(self.mass[i] * a_com)
            spin.append(self.inertia[i] * alpha)
        tau, f_out, n_out = [], torch.zeros(*batch, 2, dtype=torch.float64), zero
        for i in range(self.dof - 1, -1, -1):
            r_next = rel[i + 1] if i + 1 < self.dof else torch.zeros_like(rel[i])
            n_out = spin[i] + _cross(arm[i], force[i]) + n_out + _cross(r_next, f_out)
            f_out = force[i] + f_out
            tau.append(self.sign[i] * n_out)
        return torch.stack(tau[::-1], -1)

    def mass_matrix(self, q: torch.Tensor) -> torch.Tensor:
        """M(q) [..., dof, dof], column k = RNEA(q, 0, e_k) without gravity."""
        return self._bias_and_mass(q, torch.zeros_like(q))[1]

    def _bias_and_mass(self, q: torch.Tensor, qd: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """(b(q, q̇), M(q)) from one RNEA pass over dof + 1 stacked cases (a few tensor ops
        instead of dof + 1 passes: rollouts and iLQR's derivatives are op-count bound)."""
        n, batch = self.dof, q.shape[:-1]
        eye = torch.eye(n, dtype=torch.float64).reshape(n, *([1] * len(batch)), n)
        qs = q.expand(n + 1, *q.shape)
        qds = torch.cat([qd[None], torch.zeros_like(qd).expand(n, *qd.shape)])
        qdds = torch.cat([torch.zeros_like(q)[None], eye.expand(n, *q.shape)])
        acc = torch.cat([-self.gravity.expand(1, *batch, 2),
                         torch.zeros(n, *batch, 2, dtype=torch.float64)])  # fmt: skip
        out = self._rnea(qs, qds, qdds, acc)
        return out[0], torch.stack(list(out[1:]), -1)

    def forward_dynamics(self, q: torch.Tensor, qd: torch.Tensor,
                         tau: torch.Tensor) -> torch.Tensor:  # fmt: skip
        """q̈ [..., dof] under joint torques ``tau`` (damping included)."""
        bias, mass = self._bias_and_mass(q, qd)
        rhs = tau - self.damping * qd - bias
        if self.dof == 2:  # closed-form 2x2 solve: ~10x fewer ops than linalg.solve's graph
            a, b, c, d = mass[..., 0, 0], mass[..., 0, 1], mass[..., 1, 0], mass[..., 1, 1]
            det = a * d - b * c
            solved = torch.stack([d * rhs[..., 0] - b * rhs[..., 1],
                                  a * rhs[..., 1] - c * rhs[..., 0]], -1)  # fmt: skip
            return solved / det[..., None]
        return torch.linalg.solve(mass, rhs[..., None])[..., 0]
