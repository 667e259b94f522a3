"""rl_control/mpc/dmd_parts.py: the planner's callbacks over the ensemble, actor and critic."""

import torch

from rl_control.models.actor_critic import SquashedGaussianActor
from rl_control.models.ensemble import GaussianEnsemble
from rl_control.models.q_networks import TwinQ
from rl_control.mpc.dmd_parts import ExactReward, actor_shift, critic_value, ensemble_step


class _Observed:
    """reward = the env action's first entry (to see the unit-to-bounds map)."""

    def reward(self, obs, action, next_obs):
        return action[:, 0]


def test_exact_reward_sees_the_env_action_and_replaces_the_models():
    exact = ExactReward(_Observed(), [0.0, -1.0], [4.0, 1.0])  # type: ignore[arg-type]
    u = torch.tensor([[-1.0, 0.0], [0.5, 0.0], [3.0, 0.0]])  # the last is clipped to 1
    torch.testing.assert_close(exact(u, u, u), torch.tensor([0.0, 3.0, 4.0]))
    torch.manual_seed(0)
    model = GaussianEnsemble(2, 2, 3, 2, [8])
    obs = torch.randn(6, 2)
    act = torch.zeros(6, 2)
    a = ensemble_step(model, obs, act, torch.Generator().manual_seed(1), "per_particle", 10.0)
    b = ensemble_step(model, obs, act, torch.Generator().manual_seed(1), "per_particle", 10.0,
                      exact)  # fmt: skip
    torch.testing.assert_close(a[0], b[0])  # same draws, same next states
    torch.testing.assert_close(b[1], torch.full((6,), 2.0))  # u = 0: the middle of [0, 4]
    # a non-finite exact reward is flagged like a model one
    bad = ensemble_step(model, obs, act, None, "per_particle", 10.0,
                        lambda o, u, n: torch.full((len(o),), torch.nan))  # fmt: skip
    assert bad[2].all() and not a[2].any()


def test_actor_shift_and_critic_value():
    torch.manual_seed(0)
    actor = SquashedGaussianActor(3, 2, [-1.0, -1.0], [1.0, 1.0], [16])
    critic = TwinQ(3, 2, [16])
    obs = torch.randn(5, 3)
    centre, sample = actor_shift(actor, obs, torch.Generator().manual_seed(0))
    mean, _ = actor.mean_log_std(obs)
    torch.testing.assert_close(centre, torch.tanh(mean))
    assert sample.abs().max() < 1 and not torch.equal(sample, centre)
    _, wide = actor_shift(actor, obs, torch.Generator().manual_seed(0), sigma=100.0)
    assert wide.abs().max() == 1.0  # N(centre, sigma²) clipped to the unit box
    torch.testing.assert_close(critic_value(actor, critic, obs),
                               critic.min_q(obs, torch.tanh(mean)))  # fmt: skip
