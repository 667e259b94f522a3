"""StateLayout slices by name (numpy and torch, batched); a definition binds its params."""

import numpy as np
import pytest
import torch

from rl_control.tasks.base import StateLayout
from rl_control.tasks.registry import make_task

LAYOUT = StateLayout((("angle", 3), ("x", 1), ("z", 1)))


def test_layout_names_and_slices() -> None:
    assert LAYOUT.size == 5
    assert LAYOUT.names == ("angle_0", "angle_1", "angle_2", "x", "z")
    assert LAYOUT.slice("angle") == slice(0, 3)
    assert LAYOUT.slice("angle", "x") == slice(0, 4)
    with pytest.raises(ValueError, match=r"unknown state field 'y'; known: \['angle', 'x', 'z'\]"):
        LAYOUT.slice("y")
    with pytest.raises(ValueError, match="unique"):
        StateLayout((("a", 1), ("a", 2)))


@pytest.mark.parametrize("lib", [np, torch])
def test_layout_get_works_batched_on_numpy_and_torch(lib) -> None:
    states = lib.arange(10.0).reshape(2, 5) if lib is np else torch.arange(10.0).reshape(2, 5)
    assert LAYOUT.get(states, "x").tolist() == [3.0, 8.0]  # size 1: one value per state
    assert LAYOUT.get(states, "angle").tolist() == [[0, 1, 2], [5, 6, 7]]
    assert LAYOUT.get(states[0], "z") == 4.0


def test_bound_task_applies_params_and_keeps_functions_batched() -> None:
    task = make_task("soft_wall_cartpole", {"max_force": 20.0, "max_steps": 7})
    assert (task.act_dim, task.obs_dim, task.max_steps) == (1, 4, 7)
    np.testing.assert_allclose(task.clip_action([50.0]), [20.0])
    batch = np.zeros((3, 4))
    batch[1, 0] = 1.0  # out of x_limit 0.5
    assert task.terminated(batch).tolist() == [False, True, False]
    rewards = task.reward(batch, np.zeros((3, 1)), batch)
    assert rewards.shape == (3,) and isinstance(task.reward(batch[0], [0.0], batch[0]), float)
    grad_state = torch.zeros(4, requires_grad=True)
    task.reward(grad_state, torch.ones(1), grad_state + 0.1).backward()  # torch: differentiable
    assert grad_state.grad is not None


def test_every_task_lists_the_facts_it_has() -> None:
    assert "dynamics" in make_task("soft_wall_cartpole").definition.facts()
    assert "dynamics" in make_task("two_link_leg").definition.facts()  # its URDF model
    assert "dynamics" not in make_task("minitaur").definition.facts()
    leg = make_task("two_link_leg")
    state = leg.definition.sample_initial_state(np.random.default_rng(0), leg.params)
    assert state.shape == (leg.definition.layout.size,) and leg.layout.get(state, "t") == 0.0


def test_cartpole_dynamics_give_ds_da_in_torch() -> None:
    from rl_control.models.lcs import LearnableLCS

    task = make_task("soft_wall_cartpole")
    lcs = task.dynamics()
    model = LearnableLCS(lcs, gamma=1e-6)
    s = torch.zeros(1, 4, dtype=torch.float64)
    a = torch.tensor([[10.0]], dtype=torch.float64, requires_grad=True)
    model.predict(s, a)[0, 2].backward()  # ∂ẋ'/∂a away from the walls is B's entry
    assert a.grad.item() == pytest.approx(lcs.B[2, 0], rel=1e-6)
    with pytest.raises(ValueError, match="'minitaur' has no exact dynamics model"):
        make_task("minitaur").dynamics()
