"""Linear complementarity systems (LCS) and a small exact LCP solver (numpy, no torch).

An LCS is  s' = A s + B a + C λ + d,  0 ≤ λ ⊥ D s + E a + F λ + c ≥ 0.
For a given (s, a) the contact force λ solves the LCP  0 ≤ λ ⊥ F λ + q ≥ 0  with
q = D s + E a + c, which has a unique solution when F is a P-matrix (e.g. F = I/k for
soft contacts). Used as the exact model of tasks and as ground truth for learned models.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np


def solve_lcp(M: np.ndarray, q: np.ndarray, tol: float = 1e-10) -> np.ndarray:
    """Solve 0 ≤ z ⊥ M z + q ≥ 0 exactly by enumerating active sets (n ≤ 12).

    Active sets are tried smallest first, so the common no-contact case (z = 0) costs one
    check. Raises ValueError when no complementary solution exists (M not a Q-matrix).
    """
    M = np.atleast_2d(np.asarray(M, dtype=np.float64))
    q = np.asarray(q, dtype=np.float64).reshape(-1)
    n = q.shape[0]
    if M.shape != (n, n):
        raise ValueError(f"solve_lcp: M has shape {M.shape}, expected ({n}, {n})")
    if n > 12:
        raise ValueError(f"solve_lcp: {n} complementarity variables is too many to enumerate")
    scale = tol * max(1.0, float(np.abs(q).max(initial=0.0)))
    for size in range(n + 1):
        for active in itertools.combinations(range(n), size):
            idx = list(active)
            z = np.zeros(n)
            if idx:
                try:
                    z[idx] = np.linalg.solve(M[np.ix_(idx, idx)], -q[idx])
                except np.linalg.LinAlgError:
                    continue
            w = M @ z + q
            if z.min(initial=0.0) >= -scale and w.min(initial=0.0) >= -scale:
                return np.maximum(z, 0.0)
    raise ValueError("solve_lcp: no complementary solution (M is not a Q-matrix)")


@dataclass
class LCS:
    """Matrices of a discrete-time LCS; shapes (n_x, n_a, n_λ) are checked on creation."""

    A: np.ndarray
    B: np.ndarray
    C: np.ndarray
    d: np.ndarray
    D: np.ndarray
    E: np.ndarray
    F: np.ndarray
    c: np.ndarray

    def __post_init__(self) -> None:
        for name in ("A", "B", "C", "d", "D", "E", "F", "c"):
            setattr(self, name, np.asarray(getattr(self, name), dtype=np.float64))
        nx, na, nl = self.A.shape[0], self.B.shape[1], self.C.shape[1]
        expected = {
            "A": (nx, nx),
            "B": (nx, na),
            "C": (nx, nl),
            "d": (nx,),
            "D": (nl, nx),
            "E": (nl, na),
            "F": (nl, nl),
            "c": (nl,),
        }
        for name, shape in expected.items():
            if getattr(self, name).shape != shape:
                raise ValueError(
                    f"LCS matrix {name} has shape {getattr(self, name).shape}, expected {shape}"
                )

    @property
    def dims(self) -> tuple[int, int, int]:
        """(n_x, n_a, n_λ)."""
        return self.A.shape[0], self.B.shape[1], self.C.shape[1]

    def contact_force(self, s: np.ndarray, a: np.ndarray) -> np.ndarray:
        """λ solving the complementarity problem at (s, a)."""
        q = self.D @ np.asarray(s, dtype=np.float64) + self.E @ np.atleast_1d(a) + self.c
        return solve_lcp(self.F, q)

    def step(self, s: np.ndarray, a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """One step: returns (s', λ)."""
        s = np.asarray(s, dtype=np.float64)
        a = np.atleast_1d(np.asarray(a, dtype=np.float64))
        lam = self.contact_force(s, a)
        return self.A @ s + self.B @ a + self.C @ lam + self.d, lam

    def rollout(self, s0: np.ndarray, actions: np.ndarray) -> np.ndarray:
        """States [T+1, n_x] from s0 under actions [T, n_a]."""
        states = [np.asarray(s0, dtype=np.float64)]
        for a in np.asarray(actions, dtype=np.float64).reshape(len(actions), -1):
            states.append(self.step(states[-1], a)[0])
        return np.stack(states)
