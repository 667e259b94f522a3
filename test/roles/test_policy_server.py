"""Policy server: checksums, hot-swap only between episodes, staleness, version tags."""

import dataclasses

import numpy as np
import torch
from clocks import FakeClock

from rl_control.models.actor_critic import GaussianActorCritic
from rl_control.roles.policy_server import PolicyServer, deserialize_policy, serialize_policy


def _policy(seed: int) -> GaussianActorCritic:
    torch.manual_seed(seed)
    policy = GaussianActorCritic(4, 1, [-100.0], [100.0], hidden=[8], ortho_init=False)
    with torch.no_grad():
        for param in policy.mean_net.parameters():
            param.normal_()
    return policy


STATE = np.array([0.1, -0.1, 0.2, 0.0])


def test_update_round_trip_and_checksum_rejection() -> None:
    update = serialize_policy(_policy(1), 4)
    rebuilt = deserialize_policy(update)
    np.testing.assert_allclose(rebuilt.predict(STATE), _policy(1).predict(STATE))
    server = PolicyServer(_policy(0), version=0)
    tampered = dataclasses.replace(update, data=update.data[:-1] + bytes([update.data[-1] ^ 1]))
    assert not server.offer(tampered)
    assert not server.offer(dataclasses.replace(update, format="pickle"))
    assert server.rejected_updates == 2 and server.pending is None
    assert server.offer(update) and server.pending is update


def test_hot_swap_happens_only_at_an_episode_boundary() -> None:
    server = PolicyServer(_policy(0), version=0, deterministic=True)
    first = server.act(0, 0, STATE, stamp=0.0, now=0.0)
    assert first.policy_version == 0
    assert server.offer(serialize_policy(_policy(1), 1))
    same_episode = server.act(1, 0, STATE, stamp=0.01, now=0.01)
    assert same_episode.policy_version == 0
    np.testing.assert_allclose(same_episode.action, first.action)
    new_episode = server.act(2, 1, STATE, stamp=0.02, now=0.02)
    assert new_episode.policy_version == 1 and server.swaps == 1
    np.testing.assert_allclose(new_episode.action, _policy(1).predict(STATE))
    assert not np.allclose(new_episode.action, first.action)
    assert not server.offer(serialize_policy(_policy(2), 1))  # not newer: refused


def test_training_swaps_mid_episode_and_acts_again_on_the_newest_observation() -> None:
    server = PolicyServer(_policy(0), version=0, deterministic=True, swap_mid_episode=True)
    assert server.act_again(0.0) is None  # nothing observed yet
    first = server.act(5, 0, STATE, stamp=0.05, now=0.05)
    assert server.offer(serialize_policy(_policy(1), 1)) and server.version == 1
    again = server.act_again(now=0.05)
    assert (again.step, again.episode, again.policy_version) == (5, 0, 1)
    np.testing.assert_allclose(again.action, _policy(1).predict(STATE))
    assert not np.allclose(again.action, first.action)
    assert server.act(5, 0, STATE, stamp=0.05, now=0.05) is again  # re-published: same
    assert server.act_again(0.05) is None and server.last_stamp == 0.05


def test_first_policy_is_installed_immediately() -> None:
    server = PolicyServer()
    assert server.act(0, 0, STATE, 0.0, 0.0) is None
    server.offer(serialize_policy(_policy(0), 3))
    assert server.act(1, 0, STATE, 0.01, 0.01).policy_version == 3


def test_stale_observations_are_refused_and_repeats_get_the_same_action() -> None:
    timer = FakeClock(per_call=0.25)  # each reading moves on 0.25 s: one policy call "takes" it
    server = PolicyServer(_policy(0), version=2, max_age=0.1, timer=timer)
    assert server.act(0, 0, STATE, stamp=1.0, now=1.5) is None
    assert server.stale_observations == 1 and timer.calls == 0  # refused before acting
    a = server.act(1, 0, STATE, stamp=1.0, now=1.05)
    b = server.act(1, 0, STATE, stamp=1.0, now=1.05)  # re-published observation
    assert a is b and a.policy_version == 2 and a.step == 1
    assert a.solve_time == 0.25 and timer.calls == 2  # timed around the one policy call
    assert np.isfinite(a.log_prob)


def test_update_carries_the_task_so_the_server_maps_state_to_observation() -> None:
    torch.manual_seed(0)
    leg_policy = GaussianActorCritic(8, 2, [-3.0, -3.0], [3.0, 3.0], hidden=[8])
    server = PolicyServer(deterministic=True)
    assert server.offer(serialize_policy(leg_policy, 1, "two_link_leg", {}))
    state = np.array([0.3, -0.6, 0.0, 0.0, 0.1])  # (q, q_dot, t): 5-D, the policy sees 8-D
    result = server.act(0, 0, state, 0.0, 0.0)
    from rl_control.tasks.registry import make_task

    expected = leg_policy.predict(make_task("two_link_leg").observation(state))
    np.testing.assert_allclose(result.action, expected)


def _swapped_server(seed: int) -> PolicyServer:
    return PolicyServer(None, swap_mid_episode=True, seed=seed, max_age=0.1)


def test_seeded_noise_depends_on_the_step_not_on_what_was_acted_on_before() -> None:
    """Issue 14: an update reaching the node before or after an observation (so acting
    again on an older step first) must not change the action drawn for a step."""
    v0, v1 = serialize_policy(_policy(0), 0), serialize_policy(_policy(0), 1)
    first, second = _swapped_server(7), _swapped_server(7)
    for server in (first, second):
        server.offer(v0)
        server.act(4, 0, STATE, stamp=0.0, now=0.0)
    first.act(5, 0, STATE, stamp=0.0, now=0.0)  # the observation came first ...
    first.offer(v1)
    a = first.act_again(now=0.0)
    second.offer(v1)  # ... or the update did: the node acts again on step 4 first
    assert second.act_again(now=0.0).step == 4
    b = second.act(5, 0, STATE, stamp=0.0, now=0.0)
    assert a.step == b.step == 5 and a.policy_version == b.policy_version == 1
    np.testing.assert_array_equal(a.action, b.action)
    # noise still differs between steps, versions and seeds
    other_step = first.act(6, 0, STATE, stamp=0.0, now=0.0)
    other_seed = _swapped_server(8)
    other_seed.offer(v1)
    c = other_seed.act(5, 0, STATE, stamp=0.0, now=0.0)
    assert not np.array_equal(a.action, other_step.action)
    assert not np.array_equal(a.action, c.action)


def test_max_age_zero_never_refuses_an_observation() -> None:
    server = PolicyServer(_policy(0), max_age=0.0)
    assert server.act(0, 0, STATE, stamp=0.0, now=1e6) is not None
    assert server.stale_observations == 0


def test_an_uniform_warm_up_update_draws_in_the_bounds_as_sac_does_in_process() -> None:
    """SAC explores uniformly before learning_starts: an update saying so makes the node
    draw uniformly in the bounds (seeded per step), and the next one acts the actor."""
    from rl_control.models.actor_critic import SquashedGaussianActor

    torch.manual_seed(0)
    actor = SquashedGaussianActor(4, 2, [-3.0, -1.0], [3.0, 1.0], hidden=[8])
    server = _swapped_server(7)
    server.offer(serialize_policy(actor, 0, uniform_actions=True))
    drawn = np.array([server.act(k, 0, STATE, 0.0, 0.0).action for k in range(400)])
    assert np.all(np.abs(drawn) <= [3.0, 1.0]) and np.all(drawn.std(0) > [1.5, 0.5])
    again = _swapped_server(7)
    again.offer(serialize_policy(actor, 0, uniform_actions=True))
    np.testing.assert_array_equal(again.act(5, 0, STATE, 0.0, 0.0).action, drawn[5])
    assert server.act(400, 0, STATE, 0.0, 0.0).log_prob == -2 * np.log(2.0)
    server.offer(serialize_policy(actor, 1))  # the first update after the warm-up
    log_probs = {server.act(k, 0, STATE, 0.0, 0.0).log_prob for k in range(500, 510)}
    assert len(log_probs) == 10 and -2 * np.log(2.0) not in log_probs  # the actor's density
    assert server.uniform is False
