"""De Jong / Ackley one-step tasks (rl_control.tasks.function_opt): values, ∂r/∂a, registry."""

import math

import numpy as np
import pytest
import torch

from rl_control.envs.registration import make_env
from rl_control.tasks import function_opt
from rl_control.tasks.registry import make_task, require_task_facts


def test_known_values_and_optimum():
    assert function_opt.dejong(np.array([1.0, -2.0])) == -5.0
    assert function_opt.dejong(np.zeros(64)) == 0.0
    assert function_opt.ackley(np.zeros(64)) == pytest.approx(0.0, abs=1e-10)
    # Ackley at x = 1 (1-D): -(-20 e^{-0.2} - e^{cos 2π} + 20 + e) = 20 e^{-0.2} + e - 20 - e
    assert function_opt.ackley(np.ones(1)) == pytest.approx(20 * math.exp(-0.2) - 20)


@pytest.mark.parametrize("name", ["dejong_1", "dejong_64", "ackley_1", "ackley_64"])
def test_reward_gradient_matches_finite_differences(name):
    task = make_task(name)
    step = task.differentiable_step()
    rng = np.random.default_rng(0)
    bound = task.action_high[0]
    a = torch.tensor(rng.uniform(-0.9, 0.9, (3, task.act_dim)) * bound, requires_grad=True)
    state = torch.zeros(3, 1, dtype=torch.float64)
    _, r, done = step(state, a)
    assert done.all()
    (grad,) = torch.autograd.grad(r.sum(), a)
    h = 1e-6
    for i in range(3):
        for j in range(min(task.act_dim, 8)):
            e = np.zeros(task.act_dim)
            e[j] = h
            base = a[i].detach().numpy()
            fd = (task.reward(None, base + e, None) - task.reward(None, base - e, None)) / (2 * h)
            assert grad[i, j].item() == pytest.approx(fd, rel=1e-5, abs=1e-7)


def test_gradient_is_zero_outside_the_box_and_env_agrees():
    task = make_task("dejong_1")
    a = torch.tensor([[6.0], [-1.0]], dtype=torch.float64, requires_grad=True)
    _, r, _ = task.differentiable_step()(torch.zeros(2, 1, dtype=torch.float64), a)
    (grad,) = torch.autograd.grad(r.sum(), a)
    assert grad[0, 0] == 0.0 and grad[1, 0] == 2.0
    env = make_env("dejong_1", seed=0)
    obs, rew, term, trunc, _ = env.step(np.array([6.0], dtype=np.float32))
    assert rew == pytest.approx(-(5.12**2)) and term and not trunc and obs.tolist() == [0.0]


def test_facts_params_and_errors():
    require_task_facts("ackley_64", ("differentiable",), "gi_ppo")
    require_task_facts("soft_wall_cartpole", ("differentiable",), "gi_ppo")
    with pytest.raises(ValueError, match="has no differentiable step"):
        require_task_facts("minitaur", ("differentiable",), "gi_ppo")
    assert make_task("ackley_64").act_dim == 64 and make_task("ackley_1").action_high[0] == 32.768
    assert make_env("dejong_1", dim=3).action_space.shape == (3,)
    with pytest.raises(ValueError, match="function must be one of"):
        make_task("dejong_1", {"function": "rosenbrock"})


def test_env_classes_fix_their_task():
    from rl_control.envs.function_opt import Ackley64Env, Dejong1Env

    assert Ackley64Env().action_space.shape == (64,)
    assert Ackley64Env().params.function == "ackley"
    env = Dejong1Env(dim=2)
    assert env.reset(seed=0)[0].tolist() == [0.0] and env.action_space.shape == (2,)
    with pytest.raises(ValueError, match="non-finite action"):
        env.step(np.array([np.nan, 0.0]))
