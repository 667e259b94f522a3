"""`rl-control record` and `rl-control replay` as a user runs them: a recorder process
writes the topics a node publishes into an MCAP bag, and replay republishes them; bad
input ends in one line."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from rl_control.cli.main import main
from rl_control.ros import bag
from rl_control.ros import middleware as mw


def test_record_then_replay_from_the_command_line(tmp_path: Path, monkeypatch, ros_domain) -> None:
    monkeypatch.setenv(mw.ENV_VAR, "embedded")
    monkeypatch.setenv("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
    out = tmp_path / "run.mcap"
    cli = [sys.executable, "-m", "rl_control.cli.main"]
    recorder = subprocess.Popen(
        [*cli, "record", "training_stats", "/tf", "-o", str(out)],
        env=dict(os.environ), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(recorder.stdout), daemon=True)
    reader.start()
    node = mw.create_node("stats_source")
    try:
        end = time.monotonic() + 120.0  # the recorder imports and starts (slow on a busy CI)
        while not any("recording 2 topics" in x for x in lines) and time.monotonic() < end:
            time.sleep(0.1)
        assert any("recording 2 topics" in x for x in lines), lines
        pub = node.create_publisher("rl_control_msgs/msg/TrainingStats", "training_stats", 10)
        Stats = mw.message_class("rl_control_msgs/msg/TrainingStats")
        end, sent = time.monotonic() + 3.0, 0
        while time.monotonic() < end:
            pub.publish(Stats(env_steps=sent, mean_return=float(sent), entropy=0.5))
            sent += 1
            mw.spin_for(node, 0.05)
        recorder.send_signal(signal.SIGINT)  # Ctrl-C: the bag is finished and moved in place
        assert recorder.wait(60) == 0, lines
        reader.join(5)
        assert any(f"to {out}" in x for x in lines), lines
        recorded = [m for m in bag.read_bag(out) if m.topic == "/training_stats"]
        steps = [m.message.env_steps for m in recorded]
        assert len(steps) >= 10 and steps == sorted(steps) and steps[-1] < sent
        assert all(m.message.mean_return == m.message.env_steps for m in recorded)

        got: list = []
        node.create_subscription(
            "rl_control_msgs/msg/TrainingStats", "training_stats", got.append, 100
        )
        replay = [*cli, "replay", str(out), "--rate", "0"]
        player = subprocess.Popen(replay, env=dict(os.environ), stdout=subprocess.PIPE, text=True)
        end = time.monotonic() + 20.0
        while player.poll() is None and time.monotonic() < end:
            mw.spin_for(node, 0.05)
        mw.spin_for(node, 0.5)
        assert (
            player.returncode == 0 and f"replayed {len(recorded)} messages" in player.stdout.read()
        )
        assert got and {g.env_steps for g in got} <= set(steps)
    finally:
        node.destroy()
        mw.shutdown()
        if recorder.poll() is None:
            recorder.kill()


def test_bad_input_is_one_line(tmp_path: Path, capsys) -> None:
    assert main(["replay", str(tmp_path / "none.mcap")]) == 2
    assert capsys.readouterr().err.strip() == (
        f"rl-control: error: bag '{tmp_path / 'none.mcap'}' not found"
    )
    assert main(["record", "trainng_stats", "-o", str(tmp_path / "x.mcap")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "unknown topic 'trainng_stats'" in err[0], err
