"""Recorded episodes: frames from the headless renderer, foot contacts, walking metrics,
GIF and gait diagram files, and `rl-control eval RUN --record out.gif`."""

import math

import numpy as np
import pytest
from PIL import Image

from rl_control.cli.main import main
from rl_control.envs.minitaur_tg import MinitaurTGEnv
from rl_control.policies.base import Policy, PolicyOutput
from rl_control.training import recording


class Zero(Policy):
    """The zero-residual policy: the trajectory generator alone."""

    def act(self, obs: np.ndarray, deterministic: bool = False) -> PolicyOutput:
        z = np.zeros((len(obs), 8))
        return PolicyOutput(action=z, mean=z, log_prob=np.zeros(len(obs)), info={})

    def reset(self, env_ids=None) -> None:
        del env_ids

    def get_config(self) -> dict:
        return {}

    def get_state(self) -> dict:
        return {}

    def set_state(self, state: dict) -> None:
        del state


@pytest.fixture(scope="module")
def trace():
    env = MinitaurTGEnv(max_steps=150)
    try:
        return recording.rollout(Zero(), env, seed=0, frame_every=10, size=(96, 64))
    finally:
        env.close()


def test_rollout_keeps_frames_contacts_and_the_base_path(trace):
    assert trace.steps == 150 and trace.dt == 0.01
    assert len(trace.frames) == 15 and trace.frames[0].shape == (64, 96, 3)
    assert trace.frames[0].std() > 5  # a rendered scene, not a blank image
    assert trace.contacts.shape == (150, 4) and trace.positions.shape == (151, 3)
    assert trace.leg_names == ("front_left", "back_left", "front_right", "back_right")
    # a trot: diagonal feet land together more often than the two left feet do
    c = trace.contacts[50:].astype(float)
    assert np.mean(c[:, 0] == c[:, 3]) > np.mean(c[:, 0] == c[:, 1]) + 0.2
    assert 0.1 < c.mean() < 0.95  # feet both touch and leave the floor


def test_walk_metrics_from_the_trace(trace):
    m = recording.walk_metrics(trace)
    d = trace.positions[-1, 0] - trace.positions[0, 0]
    assert m["distance"] == pytest.approx(d) and d > 0.1  # the generator alone walks
    assert m["speed"] == pytest.approx(d / 1.5)
    assert m["energy"] == pytest.approx(trace.power.sum() * 0.01)
    assert m["cost_of_transport"] == pytest.approx(m["energy"] / (trace.mass * 9.8 * d))
    backwards = recording.EpisodeTrace(0.01, 1.0, -trace.positions, trace.power, trace.contacts)
    assert math.isnan(recording.walk_metrics(backwards)["cost_of_transport"])


def test_gif_and_gait_diagram_files(trace, tmp_path):
    gif = recording.save_gif(trace.frames, tmp_path / "walk.gif", fps=10)
    with Image.open(gif) as image:
        assert image.n_frames == 15 and image.size == (96, 64)
    png = recording.save_gait_diagram(trace, tmp_path / "gait.png")
    with Image.open(png) as image:
        assert image.format == "PNG"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["gait.png", "walk.gif"]
    with pytest.raises(ValueError, match="no frames"):
        recording.save_gif([], tmp_path / "none.gif", fps=10)


def test_eval_record_writes_gif_and_gait_diagram(tmp_path, capsys):
    run = tmp_path / "tg_run"
    args = ["train", "--algo", "ppo", "--task", "minitaur_tg", "--steps", "64", "--run-dir",
            str(run), "--set", "algo.n_steps=64", "--set", "algo.n_epochs=1", "--set",
            "env.max_steps=60", "--set", "eval_episodes=1", "--no-progress"]  # fmt: skip
    assert main(args) == 0
    out = tmp_path / "walk.gif"
    record = ["eval", str(run), "--episodes", "1", "--record", str(out)]
    assert main([*record, "--record-seconds", "0.5"]) == 0
    text = capsys.readouterr().out
    assert "recorded seed 10000: 60 steps, forward" in text and "cost of transport" in text
    with Image.open(out) as image:
        assert image.n_frames == 10  # 0.5 s at 20 frames per second
    assert (tmp_path / "walk_gait.png").is_file()
    assert main(["eval", str(run), "--record", str(tmp_path / "walk.mp4")]) == 2
    assert "needs a .gif" in capsys.readouterr().err
