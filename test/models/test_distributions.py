"""Diagonal Gaussian log-prob, entropy and KL against torch.distributions."""

import torch
from torch.distributions import Normal, kl_divergence

from rl_control.models.distributions import (
    DiagGaussian,
    gaussian_entropy,
    gaussian_kl,
    gaussian_log_prob,
    gaussian_log_prob_of_noise,
)


def _params(seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    mean = torch.randn(5, 3, generator=g, dtype=torch.float64)
    log_std = torch.randn(5, 3, generator=g, dtype=torch.float64) * 0.5
    u = torch.randn(5, 3, generator=g, dtype=torch.float64)
    return mean, log_std, u


def test_log_prob_and_entropy_match_torch() -> None:
    mean, log_std, u = _params()
    ref = Normal(mean, log_std.exp())
    torch.testing.assert_close(gaussian_log_prob(u, mean, log_std), ref.log_prob(u).sum(-1))
    torch.testing.assert_close(gaussian_entropy(log_std), ref.entropy().sum(-1))
    z_sq = ((u - mean) / log_std.exp()).square()
    torch.testing.assert_close(gaussian_log_prob_of_noise(z_sq, log_std), ref.log_prob(u).sum(-1))


def test_kl_matches_torch_and_vanishes_on_itself() -> None:
    mean0, log_std0, _ = _params(0)
    mean1, log_std1, _ = _params(1)
    ref = kl_divergence(Normal(mean0, log_std0.exp()), Normal(mean1, log_std1.exp())).sum(-1)
    torch.testing.assert_close(gaussian_kl(mean0, log_std0, mean1, log_std1), ref)
    torch.testing.assert_close(gaussian_kl(mean0, log_std0, mean0, log_std0), torch.zeros(5,
                               dtype=torch.float64))  # fmt: skip


def test_diag_gaussian_with_a_shared_std() -> None:
    mean, _, u = _params()
    log_std = torch.tensor([-0.5, 0.0, 0.3], dtype=torch.float64, requires_grad=True)
    shared, expanded = DiagGaussian(mean, log_std), DiagGaussian(mean, log_std).expanded()
    assert expanded.log_std.shape == mean.shape
    torch.testing.assert_close(shared.log_prob(u), expanded.log_prob(u))
    # one entropy for every sample: the scalar is the per-sample entropy and the batch mean
    assert shared.entropy().ndim == 0
    torch.testing.assert_close(shared.entropy(), expanded.entropy())
    frozen = shared.frozen()
    assert not frozen.log_std.requires_grad and frozen.log_std.data_ptr() != log_std.data_ptr()
    torch.testing.assert_close(shared.kl(frozen), torch.zeros(5, dtype=torch.float64))
