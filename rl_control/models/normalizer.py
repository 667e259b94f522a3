"""Running mean/variance of observations, kept as module buffers so it ships with the policy."""

from __future__ import annotations

import torch
from torch import nn


class RunningMeanStd(nn.Module):
    """Per-feature running mean and (population) variance, merged batch by batch.

    Stored in float64 so millions of updates do not drift; :meth:`normalize` returns the
    input's dtype. ``count`` starts at a tiny epsilon (as in SB3) so the first merge is exact
    to within 1e-4 and the initial transform is the identity.
    """

    def __init__(self, dim: int, epsilon: float = 1e-4) -> None:
        super().__init__()
        if int(dim) <= 0:
            raise ValueError(f"RunningMeanStd dimension must be positive, got {dim}")
        self.register_buffer("mean", torch.zeros(int(dim), dtype=torch.float64))
        self.register_buffer("var", torch.ones(int(dim), dtype=torch.float64))
        self.register_buffer("count", torch.tensor(float(epsilon), dtype=torch.float64))

    @property
    def dim(self) -> int:
        return int(self.mean.shape[0])

    @torch.no_grad()
    def update(self, x: torch.Tensor) -> None:
        """Merge the statistics of a batch ``x`` [B, dim] (parallel-variance formula)."""
        x = torch.as_tensor(x, dtype=torch.float64).reshape(-1, self.dim)
        if x.shape[0] == 0:
            return
        if not torch.isfinite(x).all():
            raise ValueError("RunningMeanStd.update got non-finite values")
        self.merge(x.mean(0), x.var(0, unbiased=False), float(x.shape[0]))

    @torch.no_grad()
    def merge(self, mean: torch.Tensor, var: torch.Tensor, count: float) -> None:
        """Merge statistics (mean, population var, count) of another set of samples."""
        mean = torch.as_tensor(mean, dtype=torch.float64)
        var = torch.as_tensor(var, dtype=torch.float64)
        total = self.count + count
        delta = mean - self.mean
        m2 = self.var * self.count + var * count + delta.square() * self.count * count / total
        self.mean.add_(delta * count / total)
        self.var.copy_(m2 / total)
        self.count.fill_(float(total))

    def normalize(self, x: torch.Tensor, clip: float = 10.0) -> torch.Tensor:
        """(x - mean) / sqrt(var + 1e-8), clipped to [-clip, clip].

        float32 input uses float32 copies of mean and std (rounded from the float64
        statistics, refreshed whenever those change): three ops per call instead of seven on
        the per-step acting path, differing from the float64 route by float32 rounding only.
        """
        if x.dtype == torch.float32:
            mean, std = self._float32_stats()
            return ((x - mean) / std).clamp(-clip, clip)
        std = torch.sqrt(self.var + 1e-8)
        out = (x.to(torch.float64) - self.mean) / std
        return out.clamp(-clip, clip).to(x.dtype)

    def _float32_stats(self) -> tuple[torch.Tensor, torch.Tensor]:
        # tensor versions change with every in-place write (merge, load_state_dict); buffers
        # made under inference_mode have none, so they are never cached
        cacheable = not (self.mean.is_inference() or self.var.is_inference())
        key = (
            (id(self.mean), self.mean._version, id(self.var), self.var._version)
            if cacheable
            else ()
        )
        cache = self.__dict__.get("_f32_cache")
        if cache is None or cache[0] != key or not cacheable:
            # ordinary tensors even when first asked under inference_mode (acting), so a
            # later normalisation inside autograd may save them for backward
            with torch.inference_mode(False), torch.no_grad():
                std = torch.sqrt(self.var + 1e-8).float()
                cache = (key, self.mean.float(), std)
            self.__dict__["_f32_cache"] = cache
        return cache[1], cache[2]
