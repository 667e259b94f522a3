"""Policy role: acting, updates (acting again after a mid-episode swap), giving up when no
policy arrives in time (fake clock), and what it reports."""

import numpy as np
import pytest
import torch
from clocks import FakeClock

from rl_control.models.actor_critic import GaussianActorCritic
from rl_control.roles.policy_role import PolicyRole, build_policy_server, control_period
from rl_control.roles.policy_server import serialize_policy
from rl_control.training.checkpoint import FORMAT, FORMAT_VERSION, encode_checkpoint, policy_record
from rl_control.training.export import export_policy

STATE = np.array([0.1, -0.1, 0.2, 0.0])


def _policy(seed: int) -> GaussianActorCritic:
    torch.manual_seed(seed)
    return GaussianActorCritic(4, 1, [-100.0], [100.0], hidden=[8])


class Log:
    def __init__(self) -> None:
        self.lines: list[tuple[str, str]] = []

    def sink(self, level: str):
        return lambda text: self.lines.append((level, text))


def _role(swap_mid_episode: bool = False, wait: float = 2.0):
    clock, log = FakeClock(), Log()
    server = build_policy_server(deterministic=True, swap_mid_episode=swap_mid_episode)
    role = PolicyRole(server, wait, clock, log.sink("info"), log.sink("warn"), log.sink("error"))
    return role, clock, log


def test_gives_up_with_exit_code_1_when_no_policy_comes_in_time() -> None:
    role, clock, log = _role(wait=2.0)
    assert role.on_observation(0, 0, STATE, 0.0, 0.0) is None  # no policy yet
    clock.advance(2.0)
    assert role.tick() is None  # not *more* than the wait yet
    clock.advance(0.01)
    assert role.tick() == 1
    assert log.lines == [("error", "no policy after 2.0 s (no checkpoint, no update)")]


def test_a_policy_in_time_keeps_the_node_running() -> None:
    role, clock, log = _role(wait=2.0)
    assert role.on_update(serialize_policy(_policy(0), 1), now=0.0) is None
    clock.advance(100.0)
    assert role.tick() is None
    assert role.on_observation(0, 0, STATE, 0.0, 0.0).policy_version == 1
    assert log.lines[0][0] == "info" and log.lines[0][1].startswith("policy v1 received (")


def test_training_swap_acts_again_and_a_rejected_update_is_warned() -> None:
    role, _, log = _role(swap_mid_episode=True)
    role.on_update(serialize_policy(_policy(0), 1), now=0.0)
    first = role.on_observation(7, 0, STATE, 0.07, 0.07)
    again = role.on_update(serialize_policy(_policy(1), 2), now=0.07)
    assert (again.step, again.policy_version, role.last_stamp) == (7, 2, 0.07)
    assert not np.allclose(again.action, first.action)
    assert role.on_update(serialize_policy(_policy(2), 2), now=0.08) is None  # not newer
    assert log.lines[-1] == ("warn", "policy update v2 rejected (1 so far)")


def test_an_unfit_observation_is_logged_not_raised_and_stale_ones_are_reported() -> None:
    role, _, log = _role()
    role.on_update(serialize_policy(_policy(0), 1), now=0.0)
    assert role.on_observation(3, 0, np.zeros(7), 0.0, 0.0) is None  # 7-D for a 4-D policy
    assert log.lines[-1][0] == "error" and log.lines[-1][1].startswith("cannot act on step 3")
    assert role.on_observation(4, 0, STATE, stamp=0.0, now=5.0) is None  # stale
    role.close()
    assert log.lines[-1] == ("info", "1 stale observations skipped")


def test_the_server_is_built_from_the_parameters() -> None:
    server = build_policy_server(task="two_link_leg", max_observation_age=0.3, seed=-1)
    assert server.policy is None and server.observe is not None and server.seed is None
    assert server.max_age == 0.3 and not server.deterministic
    assert build_policy_server(seed=4).seed == 4


def test_a_deploy_server_acts_from_an_exported_onnx_file(tmp_path) -> None:
    torch.manual_seed(3)
    policy = GaussianActorCritic(8, 2, [-3.0, -3.0], [3.0, 3.0], hidden=[16])
    with torch.no_grad():  # a trained-looking mean: the init's output gain is tiny
        for p in policy.parameters():
            p.add_(0.3 * torch.randn_like(p))
    # a non-default period: the observation's gait phase shows the task params travelled
    env = {"period": 0.4}
    data = {"format": FORMAT, "format_version": FORMAT_VERSION, "algo": "ppo",
            "task": "two_link_leg", "env": env, "policy": policy_record(policy)}  # fmt: skip
    (tmp_path / "checkpoint.pt").write_bytes(encode_checkpoint(data))
    model, _ = export_policy(tmp_path, "onnx")
    onnx = PolicyRole(build_policy_server(str(model), deterministic=True))
    torch_role = PolicyRole(build_policy_server(str(tmp_path), deterministic=True))
    for step, state in enumerate(np.random.default_rng(0).normal(0, 1, size=(5, 5))):
        got = onnx.on_observation(step, 0, state, 0.0, 0.0)  # the task maps state -> obs
        want = torch_role.on_observation(step, 0, state, 0.0, 0.0)
        np.testing.assert_allclose(got.action, want.action, atol=1e-5, rtol=0)
        assert np.abs(want.action).max() > 0.1
    assert control_period(str(model)) == control_period(str(tmp_path)) == 0.002
    with pytest.raises(ValueError, match="is an ONNX export .* set deterministic:=true"):
        build_policy_server(str(model), deterministic=False)


def _deploy_role(mode: str, solve: float, deadline: float | None = 0.01):
    """A deploy role whose every solve takes ``solve`` s of the fake clock."""
    clock, log = FakeClock(), Log()
    server = build_policy_server(deterministic=True)
    role = PolicyRole(
        server, 2.0, clock, log.sink("info"), log.sink("warn"), log.sink("error"),
        deadline=deadline, on_deadline_miss=mode, status_period=5.0,
    )  # fmt: skip
    role.on_update(serialize_policy(_policy(0), 1), now=0.0)
    clock.per_call = solve  # the clock moves between the readings at start and end
    return role, clock, log


def test_a_solve_past_its_deadline_is_counted_and_handled_as_configured() -> None:
    on_time, _, _ = _deploy_role("hold", solve=0.008)
    assert on_time.on_observation(0, 0, STATE, 0.0, 0.0) is not None
    assert on_time.deadline_misses == 0
    late, _, _ = _deploy_role("publish_late", solve=0.02)
    action = late.on_observation(0, 0, STATE, 0.0, 0.0)
    assert late.deadline_misses == 1 and np.any(action.action != 0)
    held, _, _ = _deploy_role("hold", solve=0.02)
    assert held.on_observation(0, 0, STATE, 0.0, 0.0) is None  # the bridge keeps the last
    assert held.on_observation(0, 0, STATE, 0.0, 0.0) is None  # the same step: no new miss
    assert held.deadline_misses == 1
    zero, _, _ = _deploy_role("zero", solve=0.02)
    out = zero.on_observation(0, 0, STATE, 0.0, 0.0)
    assert np.all(out.action == 0) and np.all(out.mean == 0) and out.policy_version == 1
    free, _, _ = _deploy_role("hold", solve=10.0, deadline=None)
    assert free.on_observation(0, 0, STATE, 0.0, 0.0) is not None  # no deadline at all
    assert free.deadline_misses == 0


def test_bad_deadline_settings_are_refused_naming_the_choices() -> None:
    server = build_policy_server()
    with pytest.raises(ValueError, match=r"'late' is not one of \['hold', 'zero', 'pub"):
        PolicyRole(server, on_deadline_miss="late")
    with pytest.raises(ValueError, match="deadline must be > 0 s"):
        PolicyRole(server, deadline=0.0)


def test_the_status_line_says_rates_episodes_and_the_worst_solve_every_period() -> None:
    role, clock, log = _deploy_role("publish_late", solve=0.004)
    for step in range(30):  # 20 steps of episode 0, then 10 of episode 1
        role.on_observation(step, step // 20, STATE, 0.0, 0.0)
    clock.per_call = 0.0
    role.tick()
    assert [text for level, text in log.lines if "actions/s" in text] == []  # not yet
    clock.t = 6.0
    role.tick()
    assert log.lines[-1] == (
        "info",
        "5 actions/s, 2 episodes, last episode 20 steps, worst solve 4.0 ms, 0 deadline misses",
    )
    clock.advance(5.0)
    role.tick()
    assert log.lines[-1][1].startswith("0 actions/s, 2 episodes, last episode 20 steps")


def test_update_lines_are_throttled_to_one_a_second() -> None:
    role, clock, log = _role(swap_mid_episode=True)
    for version in range(1, 101):  # SAC: an update every few steps, 50 per second
        role.on_update(serialize_policy(_policy(0), version), now=0.0)
        clock.advance(0.02)
    lines = [text for _, text in log.lines if "received" in text]
    assert len(lines) == 2 and lines[0].startswith("policy v1 received (")
    assert lines[1].startswith("policy v51 received (") and lines[1].endswith(
        "; 49 more since the last line)"
    )
