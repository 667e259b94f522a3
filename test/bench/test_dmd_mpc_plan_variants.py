"""The DMD-MPC plan benches' arithmetic: the FLOP count behind the lower bound, the GEMM rate
and the bf16 error measure (the timings themselves are the bench's, not a test's)."""

import sys
from pathlib import Path

import pytest
import torch

BENCH = Path(__file__).resolve().parents[2] / "bench"
sys.path.insert(0, str(BENCH))
import dmd_mpc_plan  # noqa: E402
import dmd_mpc_plan_variants as variants  # noqa: E402


def test_plan_flops_count_every_matrix_product_of_one_plan():
    # ensemble 10 -> 4x200 -> 18, actor 8 -> 256 -> 256 -> 4, per particle-step (x2 per MAC)
    step = 2 * (10 * 200 + 3 * 200 * 200 + 200 * 18) + 2 * (8 * 256 + 256 * 256 + 256 * 4)
    # V(x_H): two Q nets (obs 8 + act 2) -> 256 -> 256 -> 1 and the actor's mean, per row
    value = 2 * 2 * (10 * 256 + 256 * 256 + 256) + 2 * (8 * 256 + 256 * 256 + 256 * 4)
    assert dmd_mpc_plan.plan_mflop() == pytest.approx((1500 * step + 100 * value) / 1e6)
    assert dmd_mpc_plan.plan_mflop(m=10, h=1) == pytest.approx(10 * (step + value) / 1e6)


def test_gemm_rate_is_positive_and_bf16_error_is_small_but_not_zero():
    assert variants.gemm_gflops(size=64, repeat=2) > 0
    torch.manual_seed(0)
    algo, obs = dmd_mpc_plan._algorithm()
    model_err, actor_err = variants.bf16_error(algo, obs[:100])
    assert 0 < model_err < 0.05 and 0 < actor_err < 0.05, (model_err, actor_err)
