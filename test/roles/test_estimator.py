"""State estimation: joint-state mapping, quaternion conventions, lock-step tags."""

import math

import numpy as np
import pytest
import transforms3d

from rl_control.robot.sensors import ImuReading, SensorReadings, decode_step_tag, encode_step_tag
from rl_control.roles.estimator import (
    StateEstimator,
    imu_orientation,
    imu_rotation_matrix,
    quadruped_state,
    wxyz_to_xyzw,
    xyzw_to_wxyz,
)
from rl_control.tasks.registry import make_task


def _readings(names, q, v, imu=None, step=-1, episode=-1):
    n = len(names)
    return SensorReadings(
        1.5,
        step,
        episode,
        list(names),
        np.array(q, float),
        np.array(v, float),
        np.arange(n, dtype=float) * 0.1,
        imu,
    )


def test_ros_xyzw_is_converted_to_transforms3d_wxyz_explicitly() -> None:
    half = math.pi / 4  # 90 degrees about z
    ros = [0.0, 0.0, math.sin(half), math.cos(half)]
    imu = ImuReading(np.array(ros), np.zeros(3), np.zeros(3))
    np.testing.assert_allclose(imu_orientation(imu), [math.cos(half), 0, 0, math.sin(half)])
    # the body x axis points along world y after the rotation
    np.testing.assert_allclose(imu_rotation_matrix(imu) @ [1, 0, 0], [0, 1, 0], atol=1e-12)
    expected = transforms3d.euler.euler2quat(0, 0, math.pi / 2)  # wxyz
    np.testing.assert_allclose(xyzw_to_wxyz(ros), expected, atol=1e-12)
    np.testing.assert_allclose(wxyz_to_xyzw(expected), ros, atol=1e-12)


def test_imu_quaternion_is_normalised_and_sign_fixed() -> None:
    imu = ImuReading(np.array([0.0, 0.0, 0.0, -2.0]), np.zeros(3), np.zeros(3))
    np.testing.assert_allclose(imu_orientation(imu), [1, 0, 0, 0])
    with pytest.raises(ValueError, match="not a quaternion"):
        imu_orientation(ImuReading(np.zeros(4), np.zeros(3), np.zeros(3)))


def test_quadruped_state_ends_with_ros_ordered_imu_quaternion() -> None:
    names = [f"motor{i}" for i in range(8)]
    q = np.linspace(-1, 1, 8)
    ros = np.array([0.1, -0.2, 0.3, 0.9]) / np.linalg.norm([0.1, -0.2, 0.3, 0.9])
    imu = ImuReading(ros, np.zeros(3), np.zeros(3))
    state = quadruped_state(_readings(names[::-1], q[::-1], -q[::-1], imu), names)
    assert state.shape == (28,)
    np.testing.assert_allclose(state[:8], q)
    np.testing.assert_allclose(state[8:16], -q)
    np.testing.assert_allclose(state[24:], ros)
    with pytest.raises(ValueError, match="needs an IMU"):
        quadruped_state(_readings(names, q, q), names)


def test_cartpole_state_from_joint_states_in_any_order() -> None:
    est = StateEstimator(make_task("soft_wall_cartpole"))
    out = est.estimate(
        _readings(["pole_hinge", "cart_slider"], [0.2, 0.1], [2.0, 1.0], step=7, episode=3)
    )
    np.testing.assert_allclose(out.state, [0.1, 0.2, 1.0, 2.0])
    assert (out.step, out.episode, out.stamp) == (7, 3, 1.5)
    assert out.names == ("x", "theta", "x_dot", "theta_dot")
    with pytest.raises(ValueError, match="lacks joint"):
        est.estimate(_readings(["a", "b"], [0, 0], [0, 0]))
    with pytest.raises(ValueError, match="non-finite"):
        est.estimate(_readings(["cart_slider", "pole_hinge"], [np.nan, 0], [0, 0]))


def test_estimator_counts_steps_without_lock_step_tags() -> None:
    est = StateEstimator(make_task("soft_wall_cartpole"))
    r = _readings(["cart_slider", "pole_hinge"], [0, 0], [0, 0])
    assert [est.estimate(r).step for _ in range(3)] == [0, 1, 2]


def test_step_tag_round_trip_and_errors() -> None:
    assert decode_step_tag(encode_step_tag(12, 4)) == (12, 4)
    assert decode_step_tag("") is None and decode_step_tag("base_link") is None
    with pytest.raises(ValueError, match="malformed lock-step tag"):
        decode_step_tag("step=x;episode=1")
