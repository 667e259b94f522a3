"""The Minitaur's trajectory generator: the stated foot path, residual bounds, PMTG, registry."""

import math

import numpy as np
import pytest
import torch

from rl_control.robot.sensors import BasePose, ImuReading, SensorReadings
from rl_control.tasks import minitaur as mt
from rl_control.tasks import minitaur_tg as tg
from rl_control.tasks.registry import GRAPH_FACTS, make_task, require_task_facts

P = tg.MinitaurTGParams()
PERIOD_STEPS = round(1 / (P.step_frequency * P.control_dt))  # 2 Hz at 100 Hz: 50 steps


def reference_over(steps: int, p: tg.MinitaurTGParams = P) -> tuple[np.ndarray, np.ndarray]:
    phase, swings, exts = 0.0, [], []
    zero = np.zeros(tg.action_bounds(p)[0].shape)
    for _ in range(steps):
        s, e = tg.reference(phase, p)
        swings.append(s)
        exts.append(e)
        phase = tg.next_phase(phase, zero, p)
    return np.array(swings), np.array(exts)


def test_reference_has_the_stated_amplitudes_frequency_and_trot_phases():
    swing, ext = reference_over(4 * PERIOD_STEPS)
    assert PERIOD_STEPS == 50
    # amplitude: half the peak-to-peak of each leg's swing and extension, about the centres
    assert np.allclose((swing.max(0) - swing.min(0)) / 2, P.swing_amplitude, atol=1e-3)
    assert np.allclose((ext.max(0) - ext.min(0)) / 2, P.extension_amplitude, atol=1e-3)
    assert np.allclose(ext.mean(0), P.extension_center, atol=1e-9)
    # frequency: periodic with 50 control steps (0.5 s), and not with half of it
    assert np.allclose(swing[PERIOD_STEPS:], swing[:-PERIOD_STEPS], atol=1e-9)
    assert not np.allclose(swing[PERIOD_STEPS // 2 :], swing[: -(PERIOD_STEPS // 2)], atol=0.1)
    # diagonal legs in phase (front-left = back-right, back-left = front-right) ...
    assert np.allclose(swing[:, 0], swing[:, 3]) and np.allclose(swing[:, 1], swing[:, 2])
    # ... and the two pairs half a period apart
    assert np.allclose(swing[:, 0], -swing[:, 1], atol=1e-9)
    assert np.allclose(ext[:, 0] - P.extension_center, -(ext[:, 1] - P.extension_center))
    # the foot goes round an ellipse: swing ~ sin, extension ~ cos of the same phase
    s = (swing[:, 0] - P.swing_center) / P.swing_amplitude
    e = (ext[:, 0] - P.extension_center) / P.extension_amplitude
    assert np.allclose(s**2 + e**2, 1.0)


def test_leg_model_round_trips_and_matches_numpy_and_torch():
    rng = np.random.default_rng(0)
    swing, ext = rng.normal(size=(5, 4)), rng.normal(size=(5, 4))
    motors = tg.leg_to_motor(swing, ext)
    back = tg.motor_to_leg(motors)
    assert np.allclose(back[0], swing) and np.allclose(back[1], ext)
    # left legs: m_a = e - s; right legs: m_a = e + s (PyBullet's Minitaur leg model)
    assert np.allclose(motors[:, 0], ext[:, 0] - swing[:, 0])
    assert np.allclose(motors[:, 4], ext[:, 2] + swing[:, 2])
    t = tg.leg_to_motor(torch.as_tensor(swing), torch.as_tensor(ext))
    assert np.allclose(t.numpy(), motors)


def test_residual_is_bounded_and_added_in_leg_space():
    p = tg.MinitaurTGParams(residual_bound=0.1)
    phase = 0.7
    base = np.concatenate(tg.reference(phase, p))
    for raw in (np.full(8, 5.0), np.full(8, -5.0), np.linspace(-0.3, 0.3, 8)):
        swing, ext = tg.motor_to_leg(tg.motor_targets(raw, phase, p))
        residual = np.concatenate([swing, ext]) - base
        assert np.abs(residual).max() <= 0.1 + 1e-12
        assert np.allclose(residual, np.clip(raw, -0.1, 0.1))
    low, high = tg.action_bounds(p)
    assert np.allclose(high, 0.1) and np.allclose(low, -0.1) and high.shape == (8,)


def test_pmtg_modulates_frequency_and_amplitude():
    p = tg.MinitaurTGParams(modulate=True)
    low, high = tg.action_bounds(p)
    assert high.shape == (10,) and high[-1] == 1.0
    faster = np.concatenate([np.zeros(8), [1.0, 0.0]])
    step = tg.next_phase(0.0, faster, p)
    assert step == pytest.approx(2 * math.pi * (p.step_frequency + p.frequency_range) * 0.01)
    larger = np.concatenate([np.zeros(8), [0.0, 1.0]])
    swing, _ = tg.motor_to_leg(tg.motor_targets(larger, math.pi / 2, p))
    assert swing[0] == pytest.approx(p.swing_amplitude * (1 + p.amplitude_range))
    # without modulation the generator stays at its nominal frequency and amplitude
    assert tg.modulation(np.zeros(8), P) == (P.step_frequency, 1.0)


def test_bad_generator_parameters_raise_by_name():
    with pytest.raises(ValueError, match="step_frequency"):
        tg.MinitaurTGParams(step_frequency=0.0)
    with pytest.raises(ValueError, match="frequency_range"):
        tg.MinitaurTGParams(frequency_range=3.0)
    with pytest.raises(ValueError, match="residual_bound"):
        tg.MinitaurTGParams(residual_bound=-0.1)


def test_registered_with_a_graph_estimate_whose_phase_is_the_episode_clocks():
    task = make_task("minitaur_tg", {"residual_bound": 0.2})
    assert task.act_dim == 8 and task.obs_dim == tg.OBS_DIM == 30
    assert np.allclose(task.action_high, 0.2)
    assert require_task_facts("minitaur_tg", GRAPH_FACTS, "the node graph") is not None
    n = mt.NUM_MOTORS
    imu = ImuReading(np.array([0.0, 0.0, 0.0, 1.0]), np.zeros(3), np.zeros(3))
    pose = BasePose(np.array([0.7, 0.0, 0.2]), imu.orientation_xyzw, np.zeros(3), np.zeros(3))
    readings = SensorReadings(0.0, 3, 0, list(mt.JOINT_NAMES), np.arange(n, dtype=float),
                              np.zeros(n), np.zeros(n), imu, pose)  # fmt: skip
    readings.episode_time = 0.125  # a quarter period at 2 Hz
    state = task.estimate(readings)
    assert state.shape == (tg.LAYOUT.size,)
    assert tg.LAYOUT.get(state, "phase_sin") == pytest.approx(1.0)
    assert tg.LAYOUT.get(state, "phase_cos") == pytest.approx(0.0, abs=1e-12)
    assert tg.LAYOUT.get(state, "angle").tolist() == list(range(n))
    assert tg.LAYOUT.get(state, "base_x") == 0.7
    # PMTG's phase follows the policy's frequency actions: no estimate from the clock
    with pytest.raises(ValueError, match="modulate: true has no state estimate"):
        make_task("minitaur_tg", {"modulate": True}).estimate(readings)


def test_clock_phase_matches_stepping_the_unmodulated_generator():
    zero, phase = np.zeros(8), 0.0
    for k in range(1, 3 * PERIOD_STEPS + 7):
        phase = tg.next_phase(phase, zero, P)
        clock = tg.clock_phase(k * P.control_dt, P)
        assert 0 <= clock < 2 * math.pi
        assert [math.sin(clock), math.cos(clock)] == pytest.approx(
            [math.sin(phase), math.cos(phase)], abs=1e-9
        )
