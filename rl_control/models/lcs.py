"""A learnable linear complementarity system (LCS) with barrier-smoothed contact forces.

Θ = (A, B, C, d, D, E, F, c) as in ``rl_control.tasks.lcs``. The contact force is the
*smoothed* LCP solution used by the MPC (Jin & Posa's log-barrier smoothing): λ > 0 with
λ_i · w_i = γ, w = D s + E a + F λ + c > 0, which tends to the exact LCP solution as γ → 0
and is a smooth function of (s, a, Θ). One-step predictions used by the prediction loss and
the MPC therefore see the same model.

Θ is stored as ``theta0 + scale * delta`` with per-entry scales (|θ0| plus a floor), and only
``delta`` is learned: entries of an LCS span five orders of magnitude (B has dt² terms), so an
optimiser stepping all of them by the same amount would destroy the small ones.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from rl_control.tasks.lcs import LCS

NAMES = ("A", "B", "C", "d", "D", "E", "F", "c")


def lcs_shapes(n_x: int, n_a: int, n_l: int) -> dict[str, tuple[int, ...]]:
    """Shapes of the LCS matrices, in the order of the flat parameter vector."""
    return {
        "A": (n_x, n_x), "B": (n_x, n_a), "C": (n_x, n_l), "d": (n_x,),
        "D": (n_l, n_x), "E": (n_l, n_a), "F": (n_l, n_l), "c": (n_l,),
    }  # fmt: skip


def lcs_to_flat(lcs: LCS) -> np.ndarray:
    """Row-major concatenation of A, B, C, d, D, E, F, c."""
    return np.concatenate([np.asarray(getattr(lcs, n), dtype=np.float64).ravel() for n in NAMES])


def flat_to_lcs(flat: np.ndarray, n_x: int, n_a: int, n_l: int) -> LCS:
    """Inverse of :func:`lcs_to_flat`."""
    flat = np.asarray(flat, dtype=np.float64).reshape(-1)
    shapes = lcs_shapes(n_x, n_a, n_l)
    total = sum(int(np.prod(s)) for s in shapes.values())
    if flat.size != total:
        raise ValueError(f"flat LCS vector has {flat.size} entries, expected {total}")
    out, i = {}, 0
    for name, shape in shapes.items():
        size = int(np.prod(shape))
        out[name] = flat[i : i + size].reshape(shape)
        i += size
    return LCS(**out)


def perturb_lcs(lcs: LCS, relative: float, seed: int) -> LCS:
    """A wrong-but-plausible model: every entry gets relative and additive Gaussian noise.

    M_ij -> M_ij (1 + relative ε) + relative · 0.1 · max|M| ε'. For A the noise acts on
    A − I (the dt-scaled physics), since a relative error on the identity part would make a
    step-to-step map that is not a time discretisation at all. The additive part fills
    structural zeros, so the model does not start with the true sparsity pattern either.
    """
    if relative < 0:
        raise ValueError(f"perturbation size must be >= 0, got {relative}")
    rng = np.random.default_rng(seed)
    out = {}
    for name in NAMES:
        m = np.asarray(getattr(lcs, name), dtype=np.float64)
        base = m - np.eye(len(m)) if name == "A" else m
        floor = 0.1 * float(np.abs(base).max(initial=0.0))
        noise = rng.standard_normal(m.shape), rng.standard_normal(m.shape)
        out[name] = m + relative * (base * noise[0] + floor * noise[1])
    return LCS(**out)


def smoothed_lambda(
    F: torch.Tensor, q: torch.Tensor, gamma: float, iters: int = 30
) -> torch.Tensor:
    """λ > 0 with λ ∘ (F λ + q) = γ for a batch q [N, n_l]; differentiable (implicit).

    Newton from the diagonal closed form, keeping λ and w = Fλ + q positive; the final
    Newton step is taken with gradients on, which at a root gives exactly the implicit-function
    derivative −J⁻¹ ∂φ/∂(F, q).
    """
    fd = torch.diagonal(F).clamp_min(1e-9)
    with torch.no_grad():
        qd = q.detach()
        root = torch.sqrt(qd**2 + 4.0 * fd.detach() * gamma)
        # stable form of the positive root of f λ² + q λ − γ = 0
        lam = torch.where(qd > 0, 2.0 * gamma / (qd + root), (root - qd) / (2.0 * fd.detach()))
        Fd = F.detach()
        for _ in range(iters):
            w = lam @ Fd.T + qd
            phi = lam * w - gamma
            if float(phi.abs().max()) < 1e-12 * max(1.0, gamma):
                break
            jac = torch.diag_embed(w) + lam.unsqueeze(-1) * Fd
            step = torch.linalg.solve(jac, -phi)
            dw = step @ Fd.T
            ratio = torch.cat([-step / lam, -dw / w], dim=-1).clamp_min(0.0).amax(-1)
            alpha = torch.minimum(torch.ones_like(ratio), 0.99 / ratio.clamp_min(1e-12))
            lam = lam + alpha.unsqueeze(-1) * step
    w = lam @ F.T + q
    phi = lam * w - gamma
    jac = torch.diag_embed(w.detach()) + lam.unsqueeze(-1) * F.detach()
    return lam - torch.linalg.solve(jac, phi)


class LearnableLCS(nn.Module):
    """LCS parameters Θ as a torch module: ``predict`` is differentiable in Θ."""

    def __init__(self, lcs: LCS, gamma: float = 1e-3, scale_floor: float = 0.01) -> None:
        super().__init__()
        if not gamma > 0:
            raise ValueError(f"smoothing gamma must be > 0, got {gamma}")
        self.n_x, self.n_a, self.n_l = lcs.dims
        self.gamma = float(gamma)
        theta0 = lcs_to_flat(lcs)
        scale, i = np.zeros_like(theta0), 0
        for name in NAMES:
            block = theta0[i : i + getattr(lcs, name).size]
            top = float(np.abs(block).max(initial=0.0))
            scale[i : i + block.size] = np.abs(block) + scale_floor * (top if top > 0 else 0.1)
            i += block.size
        self.register_buffer("theta0", torch.tensor(theta0))
        self.register_buffer("scale", torch.tensor(scale))
        self.delta = nn.Parameter(torch.zeros(theta0.size, dtype=torch.float64))

    @property
    def num_params(self) -> int:
        return int(self.theta0.numel())

    def flat(self) -> torch.Tensor:
        """Θ as one float64 vector (row-major A, B, C, d, D, E, F, c), with gradients."""
        return self.theta0 + self.scale * self.delta

    @torch.no_grad()
    def from_flat(self, flat: np.ndarray | torch.Tensor) -> None:
        """Set Θ from a flat vector (keeps the reference point and scales)."""
        flat = torch.as_tensor(np.asarray(flat, dtype=np.float64)).reshape(-1)
        if flat.numel() != self.num_params:
            raise ValueError(
                f"flat LCS vector has {flat.numel()} entries, expected {self.num_params}"
            )
        self.delta.copy_((flat - self.theta0) / self.scale)

    def matrices(self, flat: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        """Θ split into named matrices (views of ``flat`` or of :meth:`flat`)."""
        flat = self.flat() if flat is None else flat
        out, i = {}, 0
        for name, shape in lcs_shapes(self.n_x, self.n_a, self.n_l).items():
            size = int(np.prod(shape))
            out[name] = flat[i : i + size].reshape(shape)
            i += size
        return out

    def to_lcs(self) -> LCS:
        """The current Θ as a numpy :class:`LCS`."""
        return flat_to_lcs(self.flat().detach().numpy(), self.n_x, self.n_a, self.n_l)

    def contact_force(self, s: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
        """Smoothed λ [N, n_l] at states [N, n_x] and actions [N, n_a]."""
        m = self.matrices()
        q = s @ m["D"].T + a @ m["E"].T + m["c"]
        return smoothed_lambda(m["F"], q, self.gamma)

    def predict(self, s: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
        """One-step prediction s' = A s + B a + C λ_γ(s, a) + d, batched, float64."""
        s = torch.as_tensor(s, dtype=torch.float64)
        a = torch.as_tensor(a, dtype=torch.float64)
        if s.ndim != 2 or s.shape[1] != self.n_x or a.shape != (s.shape[0], self.n_a):
            raise ValueError(
                f"predict expects s [N, {self.n_x}] and a [N, {self.n_a}], got "
                f"{tuple(s.shape)} and {tuple(a.shape)}"
            )
        m = self.matrices()
        lam = self.contact_force(s, a)
        return s @ m["A"].T + a @ m["B"].T + lam @ m["C"].T + m["d"]
