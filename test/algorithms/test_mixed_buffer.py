"""MixedBuffer: recorded rows go to the real buffer; batches mix by the ratio."""

import numpy as np
import pytest
import torch

from rl_control.algorithms.mixed_buffer import MixedBuffer
from rl_control.algorithms.replay_buffer import ReplayBuffer


def _filled(value: float, n: int) -> ReplayBuffer:
    buf = ReplayBuffer(100, 1, 1)
    ones = np.ones((n, 1), dtype=np.float32)
    buf.add(value * ones, ones, np.full(n, value, np.float32), ones, np.zeros(n, np.float32))
    return buf


def test_batches_mix_real_and_model_rows_by_ratio():
    real, model = _filled(1.0, 10), _filled(-1.0, 10)
    mixed = MixedBuffer(real, model, real_ratio=0.25)
    batch = mixed.sample(8, torch.Generator().manual_seed(0))
    assert (batch["rewards"] == 1.0).sum() == 2 and (batch["rewards"] == -1.0).sum() == 6
    assert set(batch) == {"obs", "actions", "rewards", "next_obs", "terminated"}


def test_adds_go_to_the_real_buffer_and_empty_model_means_all_real():
    real, model = _filled(1.0, 0), ReplayBuffer(100, 1, 1)
    mixed = MixedBuffer(real, model, real_ratio=0.0)
    ones = np.ones((3, 1), np.float32)
    mixed.add(ones, ones, np.ones(3, np.float32), ones, np.zeros(3, np.float32))
    assert (len(mixed), len(real), len(model)) == (3, 3, 0)
    assert (mixed.sample(5, torch.Generator())["rewards"] == 1.0).all()
    with pytest.raises(ValueError, match="real_ratio"):
        MixedBuffer(real, model, 1.5)
