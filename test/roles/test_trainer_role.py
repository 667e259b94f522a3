"""Trainer role: its config from the node's parameters, collapsed service calls, the
throttled progress line (fake clock), and start / tick / close around a real trainer."""

import math

import pytest
import yaml
from clocks import FakeClock

from rl_control.roles.trainer_role import (
    ProgressLog,
    ServiceQueue,
    StallWarning,
    TrainerRole,
    trainer_config,
)
from rl_control.training.checkpoint import load_checkpoint

CONFIG = "config/train/ppo_soft_wall_cartpole.yaml"


def test_config_takes_the_nodes_overrides_and_zero_keeps_the_files_values(tmp_path) -> None:
    run = str(tmp_path / "run")
    config = trainer_config(CONFIG, "ppo", "soft_wall_cartpole", 3, run)
    assert (config.seed, config.run_dir, config.num_envs) == (3, run, 1)
    assert config.total_steps == 200_000 and config.checkpoint_every == 50_000  # the file's
    config = trainer_config(CONFIG, run_dir=run, total_steps=1000, checkpoint_every=256)
    assert config.total_steps == 1000 and config.checkpoint_every == 256  # env steps


def test_service_requests_collapse_and_a_silent_bridge_is_warned_about() -> None:
    calls, warnings = [], []

    def call(kind: str, value: bool, worker: int) -> None:
        calls.append((kind, value))
        if kind == "pause":
            raise TimeoutError

    queue = ServiceQueue(call, 5.0, warnings.append)
    queue.flush()
    assert calls == []
    queue.request_reset()
    queue.set_paused(True)
    queue.request_reset()
    queue.set_paused(False)  # the last pause state wins
    assert calls == []  # nothing is called from the hooks (they run inside callbacks)
    queue.flush()
    assert calls == [("reset", True), ("pause", False)]
    assert warnings == ["bridge pause service did not answer in 5.0 s"]
    queue.flush()
    assert len(calls) == 2


def _row(steps: int, ret: float) -> dict:
    return dict(env_steps=steps, train_return=ret, policy_version=1, steps_per_s=100.0)


def test_progress_is_logged_once_a_second_and_always_at_the_end() -> None:
    clock, lines = FakeClock(), []
    progress = ProgressLog(1000, lines.append, clock)
    progress(_row(100, math.nan))
    progress(_row(200, 5.0))  # within the second: skipped, but its return is kept
    clock.advance(1.0)
    progress(_row(300, math.nan))
    clock.advance(0.5)
    progress(_row(1000, math.nan))  # the last row, however soon
    assert lines == [
        "100/1000 steps (10%), policy v1, no episode ended yet, 100 steps/s",
        "300/1000 steps (30%), policy v1, last return 5.0, 100 steps/s",
        "1000/1000 steps (100%), policy v1, last return 5.0, 100 steps/s",
    ]
    clock.advance(1.0)
    progress(_row(1000, 7.5))
    assert lines[-1] == "1000/1000 steps (100%), policy v1, return 7.5, 100 steps/s"


def test_role_starts_ticks_and_keeps_the_work_on_close(tmp_path) -> None:
    config = trainer_config(CONFIG, run_dir=str(tmp_path / "run"), total_steps=600)
    published, lines = [], []
    role = TrainerRole(
        config, published.append, lambda row: None, lambda *g: None, lambda k, v, w: None,
        log=lines.append,
    )  # fmt: skip
    role.start()
    assert [u.version for u in published] == [0] and lines[-1].startswith("started ppo on")
    assert role.tick() is None  # nothing to do yet, not done
    role.close()
    assert load_checkpoint(tmp_path / "run")["env_steps"] == 0
    # what `rl-control train --resume` reads from the folder: env steps, not updates
    saved = yaml.safe_load((tmp_path / "run" / "config.yaml").read_text())
    assert saved["checkpoint_every"] == 50_000
    again = TrainerRole(config, published.append, print, print, print, log=lines.append)
    again.start()
    assert again.resumed and lines[-1].startswith("resumed ppo on soft_wall_cartpole at step 0")
    again.close()
    with pytest.raises(ValueError, match="already holds a checkpoint"):
        TrainerRole(config, print, print, print, print, resume=False)


def test_a_silent_graph_is_warned_about_naming_the_missing_input() -> None:
    clock, warnings, lines = FakeClock(), [], []
    stall = StallWarning(warnings.append, lines.append, clock, after=10.0)
    stall(0.0, 0.0, busy=False)
    clock.advance(9.0)
    stall(9.0, 0.0, busy=False)  # observations go on, the last action is 9 s old
    assert warnings == []
    clock.advance(1.0)
    stall(10.0, 0.0, busy=False)
    assert warnings == [
        "no action (is policy_node running?) for 10 s; waiting (Ctrl-C keeps the run folder "
        "resumable with resume:=true)"
    ]
    clock.advance(5.0)
    stall(10.0, 0.0, busy=False)  # warned again only after another 10 s
    assert len(warnings) == 1
    clock.advance(5.0)
    stall(10.0, 0.0, busy=False)  # now the observations stopped too
    assert warnings[-1].startswith("no observation (is sim_bridge or state_estimator running?)")
    assert "for 20 s" in warnings[-1]
    stall(20.0, 20.0, busy=False)  # traffic is back
    assert lines == ["observations and actions arrive again"] and len(warnings) == 2
    clock.advance(60.0)
    stall(20.0, 20.0, busy=True)  # learning: no traffic is expected
    assert len(warnings) == 2


def test_off_policy_updates_go_out_at_most_once_a_period_and_only_when_changed() -> None:
    from rl_control.roles.policy_server import PolicyUpdate
    from rl_control.roles.trainer_role import UpdateThrottle

    clock, sent = FakeClock(), []
    throttle = UpdateThrottle(lambda u: sent.append(u.version), 0.5, clock)

    def update(version: int, weights: str) -> PolicyUpdate:
        return PolicyUpdate(version, "f", weights, b"")

    throttle(update(0, "w0"))  # the first goes out at once
    throttle(update(1, "w1"))
    throttle(update(2, "w2"))  # supersedes version 1, which is never sent
    assert sent == [0]
    clock.advance(0.4)
    throttle.flush()
    assert sent == [0]
    clock.advance(0.1)
    throttle.flush()
    assert sent == [0, 2] and throttle.skipped == 1
    clock.advance(1.0)
    throttle(update(3, "w2"))  # the weights did not change: nothing to send
    throttle.flush()
    assert sent == [0, 2] and throttle.skipped == 2
    every = UpdateThrottle(lambda u: sent.append(u.version), 0.0, clock, skip_unchanged=False)
    every(update(4, "w2"))
    every(update(5, "w2"))  # on-policy: every version, the grants wait for it
    assert sent == [0, 2, 4, 5]
