"""The dmd_mpc policy kind (rl_control/policies/dmd_mpc_policy.py): it plans as M-DeMoRL's
planner does, round-trips through `rl-control export --kind dmd_mpc` and load_policy, and
with a model fitted to real 2R-leg transitions acts finitely within the bounds."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from rl_control.algorithms.registry import make_algorithm
from rl_control.algorithms.spec import AlgorithmSpec
from rl_control.cli.main import main as cli
from rl_control.envs.registration import make_env
from rl_control.mpc.actor_mppi import ActorMixedMPPI
from rl_control.policies.dmd_mpc_policy import DMDMPCPolicy
from rl_control.tasks.registry import make_task
from rl_control.training.checkpoint import load_deployment, load_policy, save_checkpoint
from rl_control.training.planner_export import export_planner, planner_policy

TASK = "two_link_leg"
TINY = dict(
    sac=dict(learning_starts=50, batch_size=32, hidden=[32, 32]),
    num_members=3, num_elites=2, model_hidden=[32, 32], model_epochs=20, num_samples=24,
    horizon_schedule=[0, 100, 3, 5],
)  # fmt: skip


def _transitions(steps: int = 300) -> tuple[torch.Tensor, ...]:
    """(obs, unit action, reward, next_obs) of the 2R leg under uniform random actions."""
    env, rng = make_env(TASK), np.random.default_rng(0)
    low, high = env.action_space.low, env.action_space.high
    rows: list[tuple] = []
    obs, _ = env.reset(seed=0)
    for _ in range(steps):
        u = rng.uniform(-1, 1, len(low))
        nxt, r, term, trunc, _ = env.step((high + low) / 2 + (high - low) / 2 * u)
        rows.append((obs, u, r, nxt))
        obs = env.reset()[0] if term or trunc else nxt
    env.close()
    return tuple(torch.tensor(np.array(c), dtype=torch.float32) for c in zip(*rows, strict=True))


@pytest.fixture(scope="module")
def fitted():
    """A tiny M-DeMoRL learner whose ensemble was fit to real leg transitions."""
    task = make_task(TASK)
    spec = AlgorithmSpec(task.obs_dim, task.action_low, task.action_high, 1, task)
    algo = make_algorithm("m_demorl", spec, TINY, 0)
    data = _transitions()
    algo.model.fit(*data, algo.model_optimizer, torch.Generator().manual_seed(0), 20, 64)
    return algo, data[0]


def test_the_policy_plans_exactly_as_the_algorithm_planner(fitted) -> None:
    algo, obs = fitted
    policy = planner_policy(algo, TASK)
    assert policy.horizon == 3 and policy.uses_exact_reward
    x0 = obs[:4]
    algo.generator.manual_seed(7)
    policy.generator.manual_seed(7)
    expected = algo.planner.plan(x0, 3)
    got = policy.planner.plan(x0, 3)
    torch.testing.assert_close(got.mu, expected.mu, rtol=0, atol=0)
    torch.testing.assert_close(got.costs, expected.costs, rtol=0, atol=0)


def test_actions_are_finite_in_bounds_with_a_plan_and_deterministic_on_request(fitted) -> None:
    algo, obs = fitted
    policy = planner_policy(algo, TASK)
    batch = obs[:6].numpy().astype(np.float64)
    out = policy.act(batch, deterministic=True)
    low, high = np.array(policy.actor.action_low), np.array(policy.actor.action_high)
    assert out.action.shape == (6, 2) and np.isfinite(out.action).all()
    assert np.all(out.action >= low - 1e-6) and np.all(out.action <= high + 1e-6)
    assert out.info["plan"].shape == (6, 4, policy.obs_dim)  # x0 and H predicted steps
    np.testing.assert_allclose(out.info["plan"][:, 0], batch, rtol=0, atol=1e-6)
    assert np.isfinite(out.info["plan"]).all() and not out.info["plan_failed"].any()
    np.testing.assert_array_equal(policy.act(batch, deterministic=True).action, out.action)
    # sampling runs on: another draw of particles gives another plan
    first, second = policy.act(batch).action, policy.act(batch).action
    assert not np.array_equal(first, second)
    assert policy.predict(batch[0]).shape == (2,)


def test_export_round_trips_through_a_checkpoint_and_load_policy(fitted, tmp_path) -> None:
    algo, obs = fitted
    run = tmp_path / "run"
    run.mkdir()
    save_checkpoint(run / "checkpoint.pt", algo, {"task": TASK, "env": {}})
    assert load_policy(run).kind == "squashed_gaussian_mlp"  # the run deploys its actor
    assert cli(["export", str(run), "--kind", "dmd_mpc", "--horizon", "4"]) == 0
    policy, task, _ = load_deployment(run / "dmd_mpc.pt")
    assert isinstance(policy, DMDMPCPolicy) and task == TASK and policy.horizon == 4
    assert policy.mppi is None  # the paper's variant deploys DMD-MPC, the planner it trained with
    live = planner_policy(algo, TASK, horizon=4)
    batch = obs[:3].numpy().astype(np.float64)
    np.testing.assert_array_equal(policy.predict(batch), live.predict(batch))
    # the default horizon is where the run's schedule stands (0 env steps: its start)
    assert load_policy(export_planner(run, out=tmp_path / "p.pt")).horizon == 3


def test_an_mpc_acts_run_exports_the_planner_that_chose_its_actions(fitted, tmp_path) -> None:
    algo, obs = fitted
    acts = make_algorithm("m_demorl", algo.spec, {**TINY, "mpc_acts": True, "act_horizon": 2,
                                                   "act_iterations": 2}, 0)  # fmt: skip
    acts.model.load_state_dict(algo.model.state_dict())
    acts.model_trainings = 1  # the model has been fit: from now on the planner acts
    run = tmp_path / "run"
    run.mkdir()
    save_checkpoint(run / "checkpoint.pt", acts, {"task": TASK, "env": {}})
    assert cli(["export", str(run), "--kind", "dmd_mpc"]) == 0
    policy = load_policy(run / "dmd_mpc.pt")
    assert isinstance(policy.mppi, ActorMixedMPPI) and policy.horizon == 2
    assert policy.get_config()["mpc_acts"]["iterations"] == 2
    # the deployed planner picks the run's behaviour actions, warm start included
    batch = obs[:3].numpy().astype(np.float64)
    acts.generator.manual_seed(5)
    policy.generator.manual_seed(5)
    for _ in range(2):
        out = policy.act(batch)
        np.testing.assert_allclose(out.action, acts.act(batch).action, rtol=0, atol=1e-6)
    assert out.info["plan"].shape == (3, 3, policy.obs_dim) and np.isfinite(out.info["plan"]).all()
    np.testing.assert_allclose(out.info["plan"][:, 0], batch, rtol=0, atol=1e-6)
    # deterministic: the final MPPI mean, the same after a reset (warm start forgotten)
    policy.reset()
    first = policy.act(batch, deterministic=True).action
    policy.reset()
    np.testing.assert_array_equal(policy.act(batch, deterministic=True).action, first)
    with pytest.raises(ValueError, match="unknown mpc_acts keys.*'kapa'"):
        DMDMPCPolicy(**{**policy.get_config(), "mpc_acts": {"kapa": 1.0}})


def test_bad_input_gets_a_one_line_error(fitted, tmp_path) -> None:
    algo, _ = fitted
    sac = make_algorithm("sac", algo.spec, {"hidden": [8]}, 0)
    save_checkpoint(tmp_path / "sac.pt", sac, {"task": TASK, "env": {}})
    with pytest.raises(ValueError, match="needs an m_demorl training checkpoint.*'sac'"):
        export_planner(tmp_path / "sac.pt")
    with pytest.raises(ValueError, match="horizon must be >= 1"):
        planner_policy(algo, TASK, horizon=0)
    # the CLI refuses what does not apply to a planner export, in one line, exit code 2
    assert cli(["export", str(tmp_path / "sac.pt"), "--kind", "dmd_mpc", "--robot", "x"]) == 2
    assert cli(["export", str(tmp_path / "sac.pt"), "--format", "onnx", "--horizon", "3"]) == 2
    assert cli(["export", str(tmp_path / "sac.pt"), "--kind", "dmd_mpc"]) == 2
    policy = planner_policy(algo, TASK)
    with pytest.raises(ValueError, match=r"shape \[N, 8\]"):
        policy.act(np.zeros((1, 3)))
    with pytest.raises(ValueError, match="dmd_mpc state lacks"):
        policy.set_state({"actor": policy.get_state()["actor"]})
