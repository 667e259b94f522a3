"""Minitaur task functions: PD actuator, observation layout, reward, termination."""

import numpy as np
import pytest
import torch

from rl_control.tasks import minitaur as mt

P = mt.MinitaurParams()


def test_pd_torque_tracks_and_saturates():
    q, qd = np.full(8, 1.5), np.full(8, 0.2)
    desired = np.full(8, 1.6)
    assert np.allclose(mt.pd_torque(desired, q, qd, P), 8.0 * 0.1 - 0.3 * 0.2)
    assert np.allclose(mt.pd_torque(desired + 10, q, qd, P), P.torque_limit)
    assert np.allclose(mt.pd_torque(desired - 10, q, qd, P), -P.torque_limit)
    got = mt.pd_torque(torch.tensor(desired + 10), torch.tensor(q), torch.tensor(qd), P)
    assert torch.allclose(got, torch.full((8,), P.torque_limit, dtype=torch.float64))


def test_observation_layout_and_split():
    rng = np.random.default_rng(0)
    blocks = [rng.normal(size=(3, 8)) for _ in range(3)] + [rng.normal(size=(3, 4))]
    obs = mt.observation(*blocks)
    assert obs.shape == (3, mt.OBS_DIM) == (3, 28)
    for (name, _, _), block in zip(mt.OBS_BLOCKS, blocks, strict=True):
        assert np.array_equal(mt.split_observation(obs)[name], block)
    t_obs = mt.observation(*[torch.tensor(b) for b in blocks])
    assert np.array_equal(t_obs.numpy(), obs)


def test_reward_and_termination():
    tau, qd = np.arange(8.0), np.ones(8)
    r = mt.reward(0.10, 0.13, tau, qd, P)
    assert r == pytest.approx(0.03 - 0.005 * 0.01 * 28.0)
    assert mt.reward(0.0, 0.0, tau, -qd, P) == pytest.approx(-0.005 * 0.01 * 28.0)
    heights = np.array([0.2, 0.13, 0.129])
    assert mt.terminated(heights, P).tolist() == [False, False, True]


def test_noise_scale_expands_per_block_and_params_validate():
    scale = mt.noise_scale(mt.MinitaurParams(noise_std=(1.0, 2.0, 3.0, 4.0)))
    assert scale.shape == (28,) and scale[7] == 1 and scale[8] == 2 and scale[27] == 4
    with pytest.raises(ValueError, match="latency"):
        mt.MinitaurParams(latency=-0.001)
    with pytest.raises(ValueError, match="action_range"):
        mt.MinitaurParams(action_range=4.0)
