"""LearnableLCS: parameter round trips, smoothed contact, agreement with the exact LCS/env."""

import numpy as np
import pytest
import torch

from rl_control.envs.registration import make_env
from rl_control.models.lcs import LearnableLCS, flat_to_lcs, lcs_to_flat, perturb_lcs
from rl_control.tasks import soft_wall_cartpole as task


def test_flat_round_trip_and_perturbation_is_seeded() -> None:
    lcs = task.exact_lcs()
    np.testing.assert_array_equal(
        lcs_to_flat(flat_to_lcs(lcs_to_flat(lcs), 4, 1, 2)), lcs_to_flat(lcs)
    )
    model = LearnableLCS(lcs)
    target = lcs_to_flat(perturb_lcs(lcs, 0.3, 1))
    model.from_flat(target)
    np.testing.assert_allclose(model.flat().detach().numpy(), target, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(lcs_to_flat(model.to_lcs()), target, rtol=1e-12, atol=1e-15)
    np.testing.assert_array_equal(target, lcs_to_flat(perturb_lcs(lcs, 0.3, 1)))
    assert not np.allclose(target, lcs_to_flat(perturb_lcs(lcs, 0.3, 2)))
    with pytest.raises(ValueError, match="expected 48"):
        model.from_flat(np.zeros(3))


def test_smoothed_prediction_matches_exact_lcs_in_and_out_of_contact() -> None:
    lcs, model = task.exact_lcs(), LearnableLCS(task.exact_lcs(), gamma=1e-4)
    rng = np.random.default_rng(0)
    s = rng.uniform(-1, 1, (64, 4)) * np.array([0.3, 0.5, 1.0, 2.0])  # many touch a wall
    a = rng.uniform(-100, 100, (64, 1))
    exact = np.stack([lcs.step(si, ai)[0] for si, ai in zip(s, a, strict=True)])
    pred = model.predict(torch.tensor(s), torch.tensor(a)).detach().numpy()
    lam = model.contact_force(torch.tensor(s), torch.tensor(a)).detach().numpy()
    assert (lam.max(1) > 1.0).sum() > 5  # the batch really exercises contact
    # smoothing moves λ by at most ~sqrt(k γ) = 0.26 N at the contact switch: ~1e-3 in velocity
    np.testing.assert_allclose(pred, exact, atol=5e-3)
    assert np.abs(pred - exact).mean() < 1e-4


def test_prediction_gradient_matches_finite_differences() -> None:
    model = LearnableLCS(perturb_lcs(task.exact_lcs(), 0.2, 0), gamma=1e-2)
    s = torch.tensor([[0.1, 0.3, 0.2, -0.5], [0.0, -0.1, 0.1, 0.2]], dtype=torch.float64)
    a = torch.tensor([[10.0], [-5.0]], dtype=torch.float64)
    assert torch.autograd.gradcheck(
        lambda d: (model.theta0 + model.scale * d).sum() * 0 + _predict_with(model, d, s, a),
        (model.delta.detach().clone().requires_grad_(),),
        eps=1e-6,
        atol=1e-5,
    )


def _predict_with(model: LearnableLCS, delta: torch.Tensor, s, a) -> torch.Tensor:
    with torch.no_grad():
        model.delta.zero_()
    model.delta.data = delta  # route the gradcheck input through the module's parameter
    return model.predict(s, a)


def test_exact_model_predicts_the_pybullet_env_over_10_steps() -> None:
    """Open-loop 10-step rollout of the exact LCS vs the env, per-component tolerance.

    5e-3 away from the walls; 0.1 in wall contact, where θ ≈ 0.25 rad makes the upright
    linearisation (sin θ ≈ θ, tip ≈ x + lθ) the dominant error.
    """
    env, model = make_env("soft_wall_cartpole"), LearnableLCS(task.exact_lcs(), gamma=1e-6)
    rng = np.random.default_rng(1)
    for start, tol in (([0.05, 0.1, 0.2, -0.3], 5e-3), ([0.2, 0.25, 0.3, 0.5], 1e-1)):
        obs, _ = env.reset(options={"state": np.array(start)})
        s = torch.tensor(obs, dtype=torch.float64)[None]
        for _ in range(10):
            a = rng.uniform(-20, 20, 1)
            obs, *_ = env.step(a.astype(np.float32))
            s = model.predict(s, torch.tensor(a)[None]).detach()
        np.testing.assert_allclose(s[0].numpy(), obs, atol=tol)


def test_bad_input_is_rejected() -> None:
    model = LearnableLCS(task.exact_lcs())
    with pytest.raises(ValueError, match="predict expects"):
        model.predict(torch.zeros(2, 3), torch.zeros(2, 1))
    with pytest.raises(ValueError, match="gamma"):
        LearnableLCS(task.exact_lcs(), gamma=0.0)
    with pytest.raises(ValueError, match="perturbation"):
        perturb_lcs(task.exact_lcs(), -1.0, 0)
