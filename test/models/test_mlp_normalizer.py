"""mlp construction/initialisation and the running observation normaliser."""

import numpy as np
import pytest
import torch

from rl_control.models.mlp import mlp
from rl_control.models.normalizer import RunningMeanStd


def test_mlp_shapes_and_activation() -> None:
    net = mlp(3, 2, hidden=(8, 5), activation="relu")
    linears = [m for m in net if isinstance(m, torch.nn.Linear)]
    assert [(lin.in_features, lin.out_features) for lin in linears] == [(3, 8), (8, 5), (5, 2)]
    assert sum(isinstance(m, torch.nn.ReLU) for m in net) == 2
    assert net(torch.zeros(4, 3)).shape == (4, 2)


def test_mlp_orthogonal_init_gains() -> None:
    net = mlp(16, 4, hidden=(32,), ortho_init=True, output_gain=0.01)
    hidden_w, out_w = net[0].weight, net[2].weight
    # rows of a wide orthogonal matrix are orthonormal up to the gain
    torch.testing.assert_close(out_w @ out_w.T, 1e-4 * torch.eye(4), atol=1e-7, rtol=0)
    torch.testing.assert_close(hidden_w.T @ hidden_w, 2.0 * torch.eye(16), atol=1e-5, rtol=0)
    assert torch.count_nonzero(net[0].bias) == 0


def test_mlp_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="unknown activation 'sigmoidish'"):
        mlp(2, 2, activation="sigmoidish")
    with pytest.raises(ValueError, match="hidden sizes must be positive"):
        mlp(2, 2, hidden=(0,))


def test_running_mean_std_matches_numpy_over_batches() -> None:
    rng = np.random.default_rng(0)
    batches = [rng.normal(3.0, 2.0, size=(n, 4)) * [1, 10, 0.1, 1] for n in (1, 7, 50, 200)]
    rms = RunningMeanStd(4, epsilon=0.0)
    for b in batches:
        rms.update(torch.as_tensor(b))
    data = np.concatenate(batches)
    np.testing.assert_allclose(rms.mean.numpy(), data.mean(0), rtol=1e-10)
    np.testing.assert_allclose(rms.var.numpy(), data.var(0), rtol=1e-10)
    assert float(rms.count) == len(data)


def test_normalize_standardises_and_clips() -> None:
    rms = RunningMeanStd(2, epsilon=0.0)
    rms.update(torch.tensor([[0.0, 10.0], [2.0, 30.0]]))
    out = rms.normalize(torch.tensor([[1.0, 20.0], [1.0, 1e6]]), clip=5.0)
    assert out.dtype == torch.float32
    torch.testing.assert_close(out, torch.tensor([[0.0, 0.0], [0.0, 5.0]]))


def test_normalizer_is_saved_with_module_state() -> None:
    rms = RunningMeanStd(3)
    rms.update(torch.randn(10, 3) + 4)
    restored = RunningMeanStd(3)
    restored.load_state_dict(rms.state_dict())
    assert set(rms.state_dict()) == {"mean", "var", "count"}
    torch.testing.assert_close(restored.mean, rms.mean)
    with pytest.raises(ValueError, match="non-finite"):
        rms.update(torch.tensor([[np.nan, 0.0, 0.0]]))


def test_mlp_fast_forward_matches_a_plain_sequential() -> None:
    torch.manual_seed(0)
    net = mlp(3, 2, hidden=(8, 5), activation="tanh", ortho_init=True)
    plain = torch.nn.Sequential(*net)  # the same layer objects through Module.__call__
    assert list(net.state_dict()) == list(plain.state_dict())  # checkpoints unchanged
    x = torch.randn(6, 3, requires_grad=True)
    torch.testing.assert_close(net(x), plain(x), rtol=0, atol=0)
    (g_fast,) = torch.autograd.grad(net(x).sum(), x)
    (g_plain,) = torch.autograd.grad(plain(x).sum(), x)
    torch.testing.assert_close(g_fast, g_plain, rtol=0, atol=0)


def test_float32_normalisation_follows_every_change_of_the_statistics() -> None:
    rms = RunningMeanStd(2)
    x = torch.tensor([[1.0, -4.0], [3.0, 8.0]])
    torch.testing.assert_close(rms.normalize(x), x)  # identity before any data
    rms.update(x)
    expected = rms.normalize(x.double()).float()  # the float64 route
    torch.testing.assert_close(rms.normalize(x), expected, rtol=1e-6, atol=1e-6)
    assert not torch.allclose(expected, x)
    other = RunningMeanStd(2)
    other.update(torch.tensor([[100.0, 0.0], [300.0, 2.0]]))
    rms.load_state_dict(other.state_dict())  # in-place copy into the same buffers
    torch.testing.assert_close(rms.normalize(x), other.normalize(x.double()).float())
    x_grad = x.clone().requires_grad_()
    with torch.inference_mode():  # statistics first cached while acting ...
        rms.update(x)
        rms.normalize(x)
    rms.normalize(x_grad).sum().backward()  # ... still serve a differentiable call
    torch.testing.assert_close(x_grad.grad[0], (1 / rms.var.sqrt()).float())
