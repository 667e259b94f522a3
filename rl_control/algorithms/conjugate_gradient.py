"""Conjugate gradient for A x = b with A given only as a matrix-vector product (TRPO)."""

from __future__ import annotations

from collections.abc import Callable

import torch


def conjugate_gradient(
    Avp: Callable[[torch.Tensor], torch.Tensor],  # noqa: N803 (the matrix is named A)
    b: torch.Tensor,
    iters: int = 10,
    tol: float = 1e-10,
) -> torch.Tensor:
    """Approximately solve A x = b for symmetric positive-definite A, starting from x = 0.

    Stops after ``iters`` iterations or when the squared residual norm drops below ``tol``.
    """
    if iters <= 0:
        raise ValueError(f"conjugate_gradient needs iters > 0, got {iters}")
    x = torch.zeros_like(b)
    r = b.clone()
    p = b.clone()
    rr = torch.dot(r, r)
    for _ in range(iters):
        if rr <= tol:
            break
        Ap = Avp(p)  # noqa: N806
        pAp = torch.dot(p, Ap)  # noqa: N806
        if pAp <= 0:  # A not positive definite along p: stop with what we have
            break
        alpha = rr / pAp
        x = x + alpha * p
        r = r - alpha * Ap
        rr_new = torch.dot(r, r)
        p = r + (rr_new / rr) * p
        rr = rr_new
    return x
