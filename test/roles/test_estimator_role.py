"""Estimator role: side inputs are fused only when close in time to the joint states; a
sample that cannot be estimated is warned about and counted, not raised."""

import numpy as np
import pytest

from rl_control.robot.sensors import SensorReadings
from rl_control.roles.estimator import StateEstimator
from rl_control.roles.estimator_role import HOLD_TIMEOUT, EstimatorRole
from rl_control.tasks.registry import make_task


def _role(task: str = "soft_wall_cartpole", age: float = 0.05):
    warnings: list[str] = []
    role = EstimatorRole(StateEstimator(make_task(task)), age, warnings.append)
    return role, warnings


def test_inputs_are_fused_only_within_the_age_either_side() -> None:
    role, _ = _role(age=0.05)
    assert role.fresh(1.0) == (None, None)  # nothing received yet
    role.on_imu(1.0, "imu@1.0")
    role.on_odom(0.92, "odom@0.92")
    assert role.fresh(1.04) == ("imu@1.0", None)  # 0.04 away: in; 0.12 away: out
    assert role.fresh(0.96) == ("imu@1.0", "odom@0.92")  # before or after the stamp
    assert role.fresh(1.07) == (None, None)
    role.on_imu(2.0, "imu@2.0")  # only the newest input is kept
    assert role.fresh(1.0)[0] is None and role.fresh(2.01)[0] == "imu@2.0"


def test_age_zero_fuses_only_equal_stamps_and_a_negative_age_is_refused() -> None:
    role, _ = _role(age=0.0)
    role.on_imu(1.0, "imu")
    assert role.fresh(1.0) == ("imu", None) and role.fresh(1.001) == (None, None)
    with pytest.raises(ValueError, match="max_input_age"):
        _role(age=-0.1)


def test_estimate_passes_the_state_and_warns_on_what_cannot_be_estimated() -> None:
    role, warnings = _role()
    names = ["cart_slider", "pole_hinge"]
    ok = SensorReadings(0.5, 3, 0, names, np.array([0.1, 0.2]), np.array([0.3, 0.4]), np.zeros(2))
    est = role.estimate(ok)
    assert (est.step, est.episode) == (3, 0)
    np.testing.assert_allclose(est.state, [0.1, 0.2, 0.3, 0.4])
    quadruped, warnings = _role("minitaur")
    motors = list(make_task("minitaur").joint_names)
    no_imu = SensorReadings(0.25, 0, 0, motors, *(np.zeros(len(motors)) for _ in range(3)))
    assert quadruped.estimate(no_imu) is None and quadruped.failed == 1
    assert len(warnings) == 1 and warnings[0].startswith("no observation at t=0.250: ")


def test_targets_of_the_task_throttled_on_the_injected_clock(fake_clock) -> None:
    from rl_control.tasks import two_link_leg

    task = make_task("two_link_leg")
    role = EstimatorRole(StateEstimator(task), 0.05, target_period=0.05, clock=fake_clock)
    state = np.array([0.3, -0.6, 0.0, 0.0, 0.125])  # q1, q2, rates, t
    targets = role.targets(state)
    p_d, _ = two_link_leg.desired_foot(np.float64(0.125), task.params)
    np.testing.assert_allclose(targets["foot_target"], [p_d[0], 0.0, p_d[1]])
    assert list(targets) == ["foot_target"]
    fake_clock.advance(0.04)
    assert role.targets(state) is None  # throttled
    fake_clock.advance(0.01)
    later = role.targets(state + np.array([0, 0, 0, 0, 0.1]))
    assert not np.allclose(later["foot_target"], targets["foot_target"])  # the target moves
    cartpole = EstimatorRole(StateEstimator(make_task("soft_wall_cartpole")), 0.05)
    assert cartpole.targets(np.zeros(4)) is None  # a task without targets


def test_a_lock_step_sample_waits_for_side_inputs_with_its_stamp(fake_clock) -> None:
    role = EstimatorRole(StateEstimator(make_task("minitaur")), 0.05, clock=fake_clock)
    role.on_imu(1.00, "imu@1.00")
    role.on_odom(1.00, "odom@1.00")
    # step 1.01's joint states before its IMU and odometry: not fused with step 1.00's
    assert role.on_joint_states(1.01, "js@1.01", lock_step=True) == []
    role.on_imu(1.01, "imu@1.01")
    assert role.ready() == []  # the odometry is still a step behind
    role.on_odom(1.01, "odom@1.01")
    assert role.ready() == [("js@1.01", "imu@1.01", "odom@1.01")]
    assert role.ready() == []  # released once
    # inputs already in: out at once
    role.on_imu(1.02, "imu@1.02")
    role.on_odom(1.02, "odom@1.02")
    assert role.on_joint_states(1.02, "js@1.02", True) == [("js@1.02", "imu@1.02", "odom@1.02")]
    # a stream that stopped: the sample goes out after HOLD_TIMEOUT with what is fresh
    assert role.on_joint_states(1.03, "js@1.03", True) == []
    fake_clock.advance(HOLD_TIMEOUT - 0.01)
    assert role.ready() == []
    fake_clock.advance(0.01)
    assert role.ready() == [("js@1.03", "imu@1.02", "odom@1.02")]
    # a newer sample releases the held one first; hardware samples are never held
    assert role.on_joint_states(1.04, "js@1.04", True) == []
    out = role.on_joint_states(1.05, "js@1.05", lock_step=False)
    assert out == [("js@1.04", "imu@1.02", "odom@1.02"), ("js@1.05", "imu@1.02", "odom@1.02")]


def test_without_side_inputs_a_lock_step_sample_is_not_held() -> None:
    role, _ = _role()  # the cart-pole: joint states only
    assert role.on_joint_states(0.5, "js", lock_step=True) == [("js", None, None)]
