"""rl_control.tasks.quadruped12: leg kinematics from the URDF, the trotting ellipse, bounds."""

import math

import numpy as np
import pytest

from rl_control.robot.sensors import BasePose, ImuReading, SensorReadings
from rl_control.tasks import quadruped12 as q
from rl_control.tasks.registry import GRAPH_FACTS, TASKS, require_task_facts


def _random_angles(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    hip = rng.uniform(-0.6, 0.6, (n, 4))
    thigh = rng.uniform(0.0, 1.6, (n, 4))
    calf = rng.uniform(-2.6, -0.95, (n, 4))  # the URDF's calf limits: the knee bends back
    return np.stack([hip, thigh, calf], -1).reshape(n, 12)


def test_geometry_is_read_from_the_urdf() -> None:
    g = q.geometry()
    assert (g.thigh, g.calf, g.hip_offset) == (0.2, 0.2, 0.08505)  # a1.urdf's origins
    assert g.side.tolist() == [-1, 1, -1, 1]  # FR FL RR RL
    assert np.allclose(np.abs(g.hips), [0.183, 0.047, 0.0])


def test_inverse_kinematics_inverts_forward_kinematics() -> None:
    angles = _random_angles(500)
    assert np.abs(q.leg_angles(q.foot_positions(angles)) - angles).max() < 1e-9


def test_out_of_reach_targets_are_pulled_onto_the_workspace() -> None:
    feet = np.tile([[0.0, 0.0, -1.0]], (4, 1))  # 1 m below the hip: the legs are 0.4 m
    angles = q.leg_angles(feet)
    assert np.isfinite(angles).all()
    assert np.allclose(angles.reshape(4, 3)[:, 2], 0.0)  # straight knee, as far as it goes


def test_stance_puts_every_foot_under_its_thigh() -> None:
    p = q.Quadruped12Params()
    feet = q.foot_positions(q.standing_angles(p))
    assert np.allclose(feet[:, 0], 0.0, atol=1e-12)
    assert np.allclose(feet[:, 2], -p.stance_height)


def test_trot_ellipse_phases_period_and_shape() -> None:
    p = q.Quadruped12Params()
    zero = np.zeros(16)
    for phase in np.linspace(0, 2 * math.pi, 9):
        feet = q.foot_targets(zero, phase, p)
        assert np.allclose(feet[0, [0, 2]], feet[3, [0, 2]])  # FR with RL: x and height
        assert np.allclose(feet[1, [0, 2]], feet[2, [0, 2]])  # FL with RR
        # the two diagonal pairs are half a period apart
        assert np.allclose(feet[1, [0, 2]], q.foot_targets(zero, phase + math.pi, p)[0, [0, 2]])
    lift = q.foot_targets(zero, math.pi / 2, p)[0]  # mid-swing: highest, centred
    assert lift[2] == pytest.approx(-p.stance_height + p.step_height)
    assert lift[0] == pytest.approx(0.0, abs=1e-12)
    stance = q.foot_targets(zero, 3 * math.pi / 2, p)[0]
    assert stance[2] == pytest.approx(-p.stance_height)
    steps = round(1 / (p.step_frequency * p.control_dt))
    phase = q.clock_phase(steps * p.control_dt, p)
    assert math.isclose(math.cos(phase), 1.0, abs_tol=1e-9)  # one period: back to the start
    quarter = q.clock_phase(steps / 4 * p.control_dt, p)
    assert quarter == pytest.approx(math.pi / 2) and 0 <= phase < 2 * math.pi


def test_action_shifts_and_step_length_move_the_ellipse_within_bounds() -> None:
    p = q.Quadruped12Params()
    low, high = q.action_bounds(p)
    assert low.shape == (16,) and np.allclose(high[:4], [0.06, 0.05, 0.03, 0.04])
    a = np.zeros(16)
    a[4:8] = [0.02, 0.01, -0.01, 0.02]  # FL: longer step, shifted forward, inward, higher
    base, shaped = q.foot_targets(np.zeros(16), 0.0, p), q.foot_targets(a, 0.0, p)
    # FL is at leg phase π: x = shift + (L + ΔL) / 2
    assert shaped[1] - base[1] == pytest.approx([0.01 + 0.01, -0.01, 0.02])
    clipped = q.foot_targets(np.full(16, 9.0), 0.0, p)
    assert np.allclose(clipped, q.foot_targets(high, 0.0, p))


def test_reward_termination_and_observation_on_states() -> None:
    p = q.Quadruped12Params(slope=0.1)
    s = np.zeros(q.LAYOUT.size)
    s[q.LAYOUT.slice("qw")] = 1.0
    s[q.LAYOUT.slice("base_z")] = 0.3
    s2 = s.copy()
    s2[q.LAYOUT.slice("base_x")] = 0.01
    assert q.reward(s, None, s2, p) == pytest.approx(0.01 / p.control_dt)  # m/s
    assert q.observation(s, p).shape == (q.OBS_DIM,)
    # level base on a 0.1 rad slope: 0.1 rad from the ground's normal, within max_tilt
    assert not q.terminated(s, p)
    fallen = s.copy()
    fallen[q.LAYOUT.slice("base_x")] = 2.0  # the ground is 0.2 m higher there
    assert q.terminated(fallen, p)
    batch = np.stack([s, fallen])
    assert q.terminated(batch, p).tolist() == [False, True]


def test_fall_penalty_is_paid_once_on_the_step_into_a_fall() -> None:
    import torch

    p = q.Quadruped12Params(slope=0.1, fall_penalty=100.0)
    s = np.zeros(q.LAYOUT.size)
    s[q.LAYOUT.slice("qw")] = 1.0
    s[q.LAYOUT.slice("base_z")] = 0.3
    fallen = s.copy()
    fallen[q.LAYOUT.slice("base_z")] = 0.05  # below min_height above the slope
    assert "fall" not in q.reward_terms(s, None, fallen, q.Quadruped12Params(slope=0.1))
    assert q.reward_terms(s, None, s, p)["fall"] == 0.0
    assert q.reward_terms(s, None, fallen, p)["fall"] == -100.0
    walking = q.reward(s, None, s, p)
    batch = torch.as_tensor(np.stack([s, s])), torch.as_tensor(np.stack([s, fallen]))
    rewards = q.reward(batch[0], None, batch[1], p)  # batched, in torch as in the graph
    assert rewards.tolist() == pytest.approx([walking, q.reward(s, None, fallen, p)])
    terms = q.reward_terms(batch[0], None, batch[1], p)
    assert terms["fall"].tolist() == [0.0, -100.0]
    with pytest.raises(ValueError, match="fall_penalty"):
        q.Quadruped12Params(fall_penalty=-1.0)


def test_bad_parameters_are_named() -> None:
    with pytest.raises(ValueError, match="slope"):
        q.Quadruped12Params(slope=0.5)
    with pytest.raises(ValueError, match="shift_range"):
        q.Quadruped12Params(shift_range=(0.1, 0.1))


def _readings(t: float, base: bool = True) -> SensorReadings:
    n = q.NUM_MOTORS
    imu = ImuReading(np.array([0.0, 0.0, 0.6, 0.8]), np.array([0.1, 0.2, 0.3]), np.zeros(3))
    pose = BasePose(np.array([1.5, -0.2, 0.3]), imu.orientation_xyzw, np.array([0.4, 0.5, 0.6]),
                    imu.angular_velocity)  # fmt: skip
    r = SensorReadings(0.0, 7, 0, list(reversed(q.JOINT_NAMES)), np.arange(n, 0.0, -1),
                       np.zeros(n), np.ones(n), imu, pose if base else None)  # fmt: skip
    r.episode_time = t
    return r


def test_graph_estimate_reads_the_phase_off_the_episode_clock() -> None:
    assert set(GRAPH_FACTS) <= set(TASKS["quadruped12"].facts())
    assert require_task_facts("quadruped12", GRAPH_FACTS, "the node graph") is not None
    p = q.Quadruped12Params()
    state = q.estimate(_readings(0.3), p)
    assert state.shape == (q.LAYOUT.size,)
    phase = 2 * math.pi * p.step_frequency * 0.3 % (2 * math.pi)
    assert q.LAYOUT.get(state, "phase_sin") == pytest.approx(math.sin(phase))
    assert q.LAYOUT.get(state, "phase_cos") == pytest.approx(math.cos(phase))
    # joints by name whatever the message's order; IMU rates, odometry velocity and position
    assert q.LAYOUT.get(state, "angle").tolist() == list(range(1, 13))
    assert q.LAYOUT.get(state, "angular_velocity").tolist() == [0.1, 0.2, 0.3]
    assert q.LAYOUT.get(state, "linear_velocity").tolist() == [0.4, 0.5, 0.6]
    assert (q.LAYOUT.get(state, "base_x"), q.LAYOUT.get(state, "base_z")) == (1.5, 0.3)
    assert q.roll_pitch(state)[0] == pytest.approx(0.0)
    with pytest.raises(ValueError, match="base pose and twist"):
        q.estimate(_readings(0.3, base=False), p)
