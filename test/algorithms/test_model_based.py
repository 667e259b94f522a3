"""What model-based SAC variants share: schedules, the actor's actions, state round trip."""

import numpy as np
import torch
from model_based_toys import RAIL_TASK, feed

from rl_control.algorithms.model_based import linear_schedule
from rl_control.algorithms.registry import make_algorithm
from rl_control.algorithms.spec import AlgorithmSpec

TINY = dict(
    sac=dict(learning_starts=40, batch_size=16, hidden=[16, 16], gradient_steps=1),
    num_members=3, num_elites=2, model_hidden=[16, 16], model_epochs=3, model_train_freq=50,
    rollout_schedule=[0, 100, 1, 3], rollout_batch_size=20, rollout_chunk=8,
)  # fmt: skip


def test_linear_schedule():
    assert [linear_schedule(s, [10, 20, 5, 15]) for s in (0, 10, 15, 20, 99)] == [5, 5, 10, 15, 15]
    assert linear_schedule(7, [10, 10, 1, 4]) == 1 and linear_schedule(11, [10, 10, 1, 4]) == 4


def test_actor_actions_are_in_the_unit_box_and_centred_on_the_mean():
    spec = AlgorithmSpec(2, np.array([-1.0]), np.array([1.0]), 1, RAIL_TASK)
    algo = make_algorithm("mbpo", spec, TINY, 0)
    obs = torch.randn(64, 2)
    centre, sample = algo.actor_actions(obs)
    assert centre.abs().max() < 1 and sample.abs().max() <= 1
    _, wide = algo.actor_actions(obs, sigma=10.0)
    assert wide.abs().max() == 1.0  # clipped


def test_state_dict_round_trip_restores_model_and_counters():
    spec = AlgorithmSpec(2, np.array([-1.0]), np.array([1.0]), 1, RAIL_TASK)
    a = make_algorithm("mbpo", spec, TINY, 0)
    feed(a, 60)
    b = make_algorithm("mbpo", spec, TINY, 5)
    b.load_state_dict(a.state_dict())
    x, u = torch.randn(10, 2), torch.zeros(10, 1)
    for algo in (a, b):
        algo.generator.manual_seed(3)
    torch.testing.assert_close(a.model_step(x, u), b.model_step(x, u))
    assert (
        (b.model_trainings, b.last_model_step) == (a.model_trainings, a.last_model_step) == (1, 50)
    )
