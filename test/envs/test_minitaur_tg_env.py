"""MinitaurTGEnv: the simulated legs follow the trotting reference; bounds; determinism."""

import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from rl_control.envs.minitaur_tg import MinitaurTGEnv
from rl_control.tasks import minitaur as mt
from rl_control.tasks import minitaur_tg as tg


def open_loop(env: MinitaurTGEnv, steps: int, action: np.ndarray | None = None) -> dict:
    obs, info = env.reset(seed=0)
    a = np.zeros(env.action_space.shape, np.float32) if action is None else action
    out = {"angles": [], "targets": [], "obs": [obs], "x0": info["base_position"][0]}
    for _ in range(steps):
        obs, _, term, _, info = env.step(a)
        assert not term
        out["angles"].append(mt.split_observation(obs[: mt.OBS_DIM])["motor_angles"])
        out["targets"].append(info["motor_targets"])
        out["obs"].append(obs)
    out["x"] = info["base_position"][0]
    return {k: np.array(v) for k, v in out.items()}


def test_passes_gymnasium_env_checker():
    check_env(MinitaurTGEnv(), skip_render_check=True)


def test_zero_residual_commands_the_reference_and_the_legs_follow_it():
    env = MinitaurTGEnv()
    p = env.params
    run = open_loop(env, 200)
    phases = 2 * np.pi * p.step_frequency * p.control_dt * np.arange(200)
    want = tg.leg_to_motor(*tg.reference(phases, p))
    assert np.allclose(run["targets"], want, atol=1e-9)
    # the observation carries the generator's phase (after each step)
    after = phases + 2 * np.pi * p.step_frequency * p.control_dt
    assert np.allclose(run["obs"][1:, -2], np.sin(after), atol=1e-5)
    # the simulated legs, in leg space, over the last 100 steps (2 periods, past the start)
    swing, ext = tg.motor_to_leg(run["angles"][100:])
    spectrum = np.abs(np.fft.rfft(swing - swing.mean(0), axis=0))
    freqs = np.fft.rfftfreq(100, p.control_dt)
    assert np.all(freqs[spectrum.argmax(0)] == pytest.approx(2.0))  # every leg at 2 Hz
    corr = np.corrcoef(swing.T)
    assert corr[0, 3] > 0.9 and corr[1, 2] > 0.9  # diagonal legs together
    assert corr[0, 1] < -0.9 and corr[2, 3] < -0.9  # the pairs in anti-phase
    amplitude = (swing.max(0) - swing.min(0)) / 2
    assert np.all((amplitude > 0.5 * p.swing_amplitude) & (amplitude < 1.3 * p.swing_amplitude))


def test_residual_beyond_the_bound_is_clipped_to_it():
    env = MinitaurTGEnv(residual_bound=0.1)
    assert np.allclose(env.action_space.high, 0.1)
    big = open_loop(env, 5, np.full(8, 0.1, np.float32))
    bigger = open_loop(MinitaurTGEnv(residual_bound=0.1), 5, np.full(8, 10.0, np.float32))
    assert np.array_equal(big["targets"], bigger["targets"])
    base = open_loop(MinitaurTGEnv(residual_bound=0.1), 5)
    swing, ext = tg.motor_to_leg(big["targets"])
    swing0, ext0 = tg.motor_to_leg(base["targets"])
    assert np.allclose(swing - swing0, 0.1) and np.allclose(ext - ext0, 0.1)


def test_pmtg_env_has_two_more_actions_and_same_seed_same_run():
    env = MinitaurTGEnv(modulate=True)
    assert env.action_space.shape == (10,)
    a = np.array([0.1] * 8 + [0.5, -0.5], np.float32)
    first, again = open_loop(env, 20, a), open_loop(MinitaurTGEnv(modulate=True), 20, a)
    assert np.array_equal(first["obs"], again["obs"])
    with pytest.raises(ValueError, match="10 entries"):
        env.step(np.zeros(8, np.float32))
