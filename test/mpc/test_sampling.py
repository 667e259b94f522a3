"""CEM, MPPI and the DMD step over control sequences."""

import math

import pytest
import torch

from rl_control.mpc.sampling import (
    CEM,
    MPPI,
    dmd_step,
    elite_mean,
    gaussian_sequences,
    mppi_mean,
    num_elites,
)

TARGET = torch.tensor([[0.3, -0.6], [0.9, 0.1], [-0.4, 0.5]])  # [H=3, A=2], inside [-1, 1]


def _quadratic(u: torch.Tensor) -> torch.Tensor:
    return (u - TARGET).square().sum((-1, -2))


def test_elite_mean_by_hand():
    samples = torch.tensor([[[0.0]], [[1.0]], [[2.0]], [[3.0]]])  # M=4, H=1, A=1
    costs = torch.tensor([3.0, 0.0, 1.0, 2.0])
    # p = 50%: elites 1 (cost 0) and 2 (cost 1)
    assert elite_mean(samples, costs, 0.5).item() == pytest.approx(1.5)
    # eq. 14 with returns: weights (3 - 0, 3 - 1) = (3, 2)
    w = elite_mean(samples, costs, 0.5, "return").item()
    assert w == pytest.approx((3 * 1.0 + 2 * 2.0) / 5, abs=1e-6)
    assert num_elites(100, 0.1) == 10 and num_elites(5, 0.01) == 1


def test_mppi_weights_are_a_softmax_of_negative_costs():
    samples = torch.tensor([[[0.0]], [[1.0]]])
    costs = torch.tensor([0.0, 1.0])
    w1 = 1 / (1 + math.e)  # softmax(-[0, 1])[1]
    assert mppi_mean(samples, costs, 1.0).item() == pytest.approx(w1, abs=1e-6)


def test_dmd_step_is_eq_9():
    shift, g = torch.tensor([[1.0, 2.0]]), torch.tensor([[3.0, 6.0]])
    torch.testing.assert_close(dmd_step(shift, g, 0.25), torch.tensor([[1.5, 3.0]]))
    torch.testing.assert_close(dmd_step(shift, g, 0.0), shift)
    with pytest.raises(ValueError, match="alpha"):
        dmd_step(shift, g, 1.5)


def test_sequences_are_clipped_to_bounds():
    u = gaussian_sequences(torch.zeros(3, 2), 5.0, 50, -1.0, 1.0, torch.Generator().manual_seed(0))
    assert u.shape == (50, 3, 2) and u.abs().max() <= 1.0 and u.abs().max() == 1.0


def test_cem_finds_the_minimum_of_a_quadratic():
    cem = CEM(num_samples=200, elite_fraction=0.1, iterations=10, init_std=0.5)
    mean = cem.optimize(_quadratic, torch.zeros(3, 2), -1.0, 1.0, torch.Generator().manual_seed(0))
    assert (mean - TARGET).abs().max() < 0.05


def test_mppi_finds_the_minimum_of_a_quadratic():
    mppi = MPPI(num_samples=400, temperature=0.05, iterations=10, noise_std=0.3)
    mean = mppi.optimize(_quadratic, torch.zeros(3, 2), -1.0, 1.0,
                         torch.Generator().manual_seed(0))  # fmt: skip
    assert (mean - TARGET).abs().max() < 0.05


def test_batched_problems_are_independent():
    targets = torch.stack([TARGET, -TARGET])

    def cost(u: torch.Tensor) -> torch.Tensor:  # [2, M, H, A]
        return (u - targets[:, None]).square().sum((-1, -2))

    cem = CEM(num_samples=200, iterations=10)
    mean = cem.optimize(cost, torch.zeros(2, 3, 2), -1.0, 1.0, torch.Generator().manual_seed(0))
    assert (mean - targets).abs().max() < 0.05


def test_bad_settings_raise():
    with pytest.raises(ValueError, match="elite_fraction"):
        CEM(elite_fraction=0.0)
    with pytest.raises(ValueError, match="weighting"):
        elite_mean(torch.zeros(2, 1, 1), torch.zeros(2), 0.5, "softmax")
    with pytest.raises(ValueError, match="temperature"):
        MPPI(temperature=0.0)


def test_infinite_costs_weigh_nothing():
    samples = torch.tensor([[[0.0]], [[1.0]], [[2.0]]])
    costs = torch.tensor([torch.inf, 1.0, 0.0])
    for weighting in ("uniform", "return"):
        assert torch.isfinite(elite_mean(samples, costs, 1.0, weighting)).all()
    assert elite_mean(samples, costs, 1.0).item() == pytest.approx(1.5)
    assert elite_mean(samples, torch.full((3,), torch.inf), 1.0).item() == 0.0
