"""The Gaussian ensemble: batched members, bounded log-variance, fitting, elites, prediction."""

import math

import pytest
import torch

from rl_control.models.ensemble import EnsembleLinear, GaussianEnsemble, invalid_rows

A = torch.tensor([[0.9, 0.1], [-0.2, 0.8]])
B = torch.tensor([[0.0], [0.5]])
C = torch.tensor([1.0, -0.5])


def _linear_data(n: int, seed: int = 0) -> tuple[torch.Tensor, ...]:
    """s' = A s + B a, r = C·s + 0.3 a: a known linear system."""
    g = torch.Generator().manual_seed(seed)
    obs = torch.randn(n, 2, generator=g)
    act = torch.rand(n, 1, generator=g) * 2 - 1
    nxt = obs @ A.T + act @ B.T
    rew = obs @ C + 0.3 * act[:, 0]
    return obs, act, rew, nxt


def _ensemble(**kw) -> GaussianEnsemble:
    torch.manual_seed(0)
    base = dict(num_members=3, num_elites=2, hidden=(64, 64))
    return GaussianEnsemble(2, 1, **{**base, **kw})


def test_batched_layer_equals_per_member_linear():
    layer = EnsembleLinear(3, 4, 5)
    x = torch.randn(3, 7, 4)
    loop = torch.stack([x[k] @ layer.weight[k] + layer.bias[k] for k in range(3)])
    torch.testing.assert_close(layer(x), loop)


def test_log_variance_stays_within_its_soft_bounds():
    model = _ensemble()
    x = 1e3 * torch.randn(3, 50, 3)  # far outside the data: raw log-variances are huge
    _, logvar = model(x)
    # soft: the outer softplus overshoots the upper bound by softplus(-(max - min)) ~ 3e-5
    assert (logvar <= model.max_logvar + 1e-4).all() and (logvar >= model.min_logvar).all()
    assert logvar.max() > 0.4 and logvar.min() < -9.5  # both bounds are reached


def test_recovers_a_linear_system():
    """After 30 epochs on 2000 transitions the elites' mean predicts the next state within
    0.05 RMSE (state std ~1) and the reward within 0.05."""
    model = _ensemble()
    opt = model.make_optimizer(3e-3)
    stats = model.fit(*_linear_data(2000), opt, torch.Generator().manual_seed(1), epochs=30)
    assert math.isfinite(stats["model_loss"]) and stats["model_val_mse"] < 0.01
    obs, act, rew, nxt = _linear_data(500, seed=7)
    pred, r = model.predict(obs, act, member_mode="per_particle", deterministic=True)
    assert (pred - nxt).square().mean().sqrt() < 0.05
    assert (r - rew).square().mean().sqrt() < 0.05


def test_elites_are_the_members_with_lowest_validation_loss():
    model = _ensemble(num_members=4, num_elites=2)
    model.fit(*_linear_data(400), model.make_optimizer(3e-3), torch.Generator().manual_seed(1),
              epochs=5)  # fmt: skip
    with torch.no_grad():  # spoil members 0 and 2: they must not be elites
        for k in (0, 2):
            model.head.bias[k] += 5.0
    x, y = model.normalize(*_linear_data(300, seed=3))
    val = model.select_elites(x, y)
    assert sorted(model.elites.tolist()) == [1, 3]
    assert set(model.elites.tolist()) == set(torch.argsort(val)[:2].tolist())


def test_per_particle_rows_use_member_index_modulo_elites():
    model = _ensemble(num_members=3, num_elites=3)
    obs, act, _, _ = _linear_data(7)
    pred, rew = model.predict(obs, act, member_mode="per_particle", deterministic=True)
    one = model.predict(obs[:1], act[:1], member_mode="per_particle", deterministic=True)
    torch.testing.assert_close(one[0], pred[:1])  # fewer rows than elites: padded
    x = model._inputs(obs, act)
    mean, _ = model(x.expand(3, -1, -1))
    raw = mean * model.out_std + model.out_mean
    rows = torch.arange(7)
    chosen = raw[model.elites[rows % 3], rows]
    torch.testing.assert_close(pred, obs + chosen[:, :2])
    torch.testing.assert_close(rew, chosen[:, 2])


def test_prediction_folds_the_input_normaliser_and_follows_new_statistics():
    model = _ensemble(num_members=3, num_elites=3)
    obs, act, rew, nxt = _linear_data(12)
    targets = model.targets(obs, rew, nxt)
    for scale in (3.0, 0.5):  # the folded first layer is rebuilt when the statistics change
        model.set_normalizers(scale * obs + 1.0, act - 0.2, targets * scale)
        pred, r = model.predict(obs, act, member_mode="per_particle", deterministic=True)
        mean, _ = model(model._inputs(obs, act).expand(3, -1, -1))
        raw = mean * model.out_std + model.out_mean
        rows = torch.arange(12)
        chosen = raw[model.elites[rows % 3], rows]
        torch.testing.assert_close(pred, obs + chosen[:, :2], rtol=1e-5, atol=1e-5)
        torch.testing.assert_close(r, chosen[:, 2], rtol=1e-5, atol=1e-5)


def test_random_mode_uses_elites_only():
    model = _ensemble(num_members=3, num_elites=1)
    model.elites.fill_(2)
    obs, act, _, _ = _linear_data(9)
    a = model.predict(obs, act, torch.Generator().manual_seed(0), "random", deterministic=True)
    b = model.predict(obs, act, member_mode="per_particle", deterministic=True)
    torch.testing.assert_close(a, b)
    with pytest.raises(ValueError, match="member_mode must be one of"):
        model.predict(obs, act, member_mode="mean")  # type: ignore[arg-type]


def test_invalid_rows_flags_nan_inf_and_exploding():
    values = torch.tensor([[0.0, 1.0], [math.nan, 0.0], [math.inf, 0.0], [0.0, 50.0]])
    assert invalid_rows(values, 10.0).tolist() == [False, True, True, True]
    model = _ensemble()
    model.fit(*_linear_data(100), model.make_optimizer(), torch.Generator().manual_seed(0),
              epochs=1)  # fmt: skip
    huge = torch.full((1, 2), 1e6)
    assert model.exploding(huge, torch.zeros(1)).tolist() == [True]
    assert model.exploding(torch.zeros(1, 2), torch.zeros(1)).tolist() == [False]
    # states alone, and rewards alone (the planner checks its batched exact reward so)
    assert model.exploding(huge).tolist() == [True]
    assert model.exploding(torch.zeros(1, 2), torch.full((1,), 1e6)).tolist() == [True]
    assert model.exploding(torch.zeros(1, 2)).tolist() == [False]
    rewards = torch.tensor([0.0, 1e6, math.nan])
    assert model.reward_exploding(rewards).tolist() == [False, True, True]


def test_bad_sizes_raise():
    with pytest.raises(ValueError, match="num_elites must be in"):
        GaussianEnsemble(2, 1, num_members=3, num_elites=4)


def test_patience_stops_training_on_a_plateau():
    model = _ensemble()
    data = _linear_data(200)
    g = torch.Generator().manual_seed(1)
    stats = model.fit(*data, model.make_optimizer(3e-3), g, epochs=500, patience=3)
    assert 3 <= stats["model_epochs"] < 500
