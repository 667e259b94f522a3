"""Task reward/termination on observations: identity, the leg's inverse, refusals."""

import numpy as np
import torch

from rl_control.mpc import observed_task as ot
from rl_control.tasks.registry import make_task


def test_leg_reward_on_observations_equals_the_task_reward_on_states():
    task = make_task("two_link_leg")
    fns = ot.observed_task(task)
    assert fns is not None
    rng = np.random.default_rng(0)
    states = np.concatenate([rng.normal(size=(16, 4)), rng.uniform(0, 2, (16, 1))], -1)
    next_states = states + 0.01 * rng.normal(size=states.shape)
    obs = torch.as_tensor(task.observation(states))
    nxt = torch.as_tensor(task.observation(next_states))
    expected = task.reward(states, np.zeros((16, 2)), next_states)
    got = fns.reward(obs, torch.zeros(16, 2), nxt)
    np.testing.assert_allclose(got.numpy(), expected, atol=1e-9)
    assert not fns.terminated(obs).any()


def test_full_state_observations_use_the_identity():
    task = make_task("soft_wall_cartpole")
    fns = ot.observed_task(task)
    assert fns is not None
    far = torch.tensor([[10.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0]], dtype=torch.float64)
    assert fns.terminated(far).tolist() == [True, False]


def test_refused_without_a_task_or_a_checked_inverse(monkeypatch):
    assert ot.observed_task(None) is None
    assert ot.observed_task(make_task("minitaur")) is None  # observation is not the state
    wrong = {"two_link_leg": lambda obs, task: torch.cat([obs[..., :4], obs[..., :1]], -1)}
    monkeypatch.setattr(ot, "STATE_FROM_OBSERVATION", wrong)
    assert ot.observed_task(make_task("two_link_leg")) is None
