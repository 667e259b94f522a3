"""`rl-control launch train.launch.xml` after the trainer was SIGKILLed: relaunched with
resume:=true it continues the run with its counters, updates and metrics rows; a finished
run is refused at once (exit 2) instead of hanging, and so is a folder without resume:=true."""

from __future__ import annotations

import os
import re
import signal

from test_train_graph import Launch, _domain  # test/ros: the launch helper of the graph tests

from rl_control.training.checkpoint import load_checkpoint
from rl_control.training.metrics import read_metrics


def _launch(run, *extra: str) -> Launch:
    return Launch(run, steps=2048, domain=_domain(), extra=extra)


def test_trainer_killed_then_resumed_keeps_counters_and_rows(tmp_path) -> None:
    run = tmp_path / "run"
    first = _launch(run)
    try:
        # two rollouts' rows (their `policy vN received` lines may be throttled away)
        assert first.wait_for_rows(run, 2, 150), first.output()
        os.kill(first.pids("trainer_node")[0], signal.SIGKILL)  # no final checkpoint
    finally:
        first.finish(timeout=60)
    before = read_metrics(run / "metrics.csv")
    assert before["env_steps"][:2] == [512, 1024], before
    assert load_checkpoint(run)["updates"] < 2  # the checkpoint predates those updates

    second = _launch(run, "resume:=true")
    assert second.finish(timeout=200) == 0, second.output()
    assert re.search(r"resumed ppo on soft_wall_cartpole at step \d+", second.output())
    checkpoint = load_checkpoint(run)
    assert (checkpoint["env_steps"], checkpoint["updates"]) == (2048, 4)
    rows = read_metrics(run / "metrics.csv")
    assert rows["env_steps"] == [512, 1024, 1536, 2048], rows
    assert rows["updates"] == [1, 2, 3, 4] and rows["episodes"] == sorted(rows["episodes"])
    for key in ("episodes", "policy_loss", "value_loss"):  # the rows before the kill are kept
        assert rows[key][:2] == before[key][:2], key
    assert checkpoint["episodes"] >= rows["episodes"][-1] > before["episodes"][1]

    again = _launch(run, "resume:=true")  # the run is complete: refused, no hang
    assert again.finish(timeout=60) == 2
    assert f"run {run} already has 2048 env steps" in again.output()
    assert "started with pid" not in again.output()
    fresh = _launch(run)  # without resume:=true the folder is not touched
    assert fresh.finish(timeout=60) == 2 and "already exists and is not empty" in fresh.output()
