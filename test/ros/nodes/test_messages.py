"""Message conversions of the nodes on the active back-end (embedded without ROS)."""

import numpy as np

from rl_control.models.actor_critic import GaussianActorCritic
from rl_control.robot.sensors import BasePose, ImuReading, SensorReadings
from rl_control.roles.policy_server import serialize_policy
from rl_control.ros.nodes.messages import Messages

msgs = Messages()


def _readings(step: int = 12) -> SensorReadings:
    imu = ImuReading(np.array([0.0, 0.0, 0.6, 0.8]), np.array([1.0, 2, 3]), np.array([0, 0, 9.81]))
    base = BasePose(np.array([1.0, 2, 3]), np.array([0.0, 0, 0.6, 0.8]), np.ones(3), np.zeros(3))
    return SensorReadings(
        0.12,
        step,
        3,
        ["a", "b"],
        np.array([0.1, 0.2]),
        np.array([1.0, 2.0]),
        np.array([5.0, 6.0]),
        imu,
        base,
    )


def test_joint_state_and_imu_round_trip_with_lock_step_tag() -> None:
    r = _readings()
    js, imu = msgs.joint_state(r), msgs.imu(r, "base_link")
    assert js.header.frame_id == "step=12;episode=3" and imu.header.frame_id == "base_link"
    back = msgs.readings(js, imu)
    assert (back.step, back.episode, back.joint_names) == (12, 3, ["a", "b"])
    assert abs(back.stamp - 0.12) < 1e-9
    np.testing.assert_allclose(back.position, r.position)
    np.testing.assert_allclose(back.effort, r.effort)
    np.testing.assert_allclose(back.imu.orientation_xyzw, [0, 0, 0.6, 0.8])
    np.testing.assert_allclose(back.imu.angular_velocity, [1, 2, 3])


def test_hardware_joint_states_have_no_step() -> None:
    js = msgs.joint_state(_readings(step=-1))
    js.effort = []  # ros2_control may leave effort empty
    back = msgs.readings(js, None)
    assert back.step == -1 and back.imu is None
    np.testing.assert_allclose(back.effort, [0.0, 0.0])


def test_odometry_tf_clock_and_policy_update_messages() -> None:
    r = _readings()
    odom = msgs.odometry(r.stamp, r.base, "odom", "base_link")
    assert (odom.header.frame_id, odom.child_frame_id) == ("odom", "base_link")
    assert odom.pose.pose.position.z == 3.0 and odom.pose.pose.orientation.w == 0.8
    tf = msgs.tf(r.stamp, r.base, "odom", "base_link")
    assert tf.transforms[0].transform.translation.y == 2.0
    assert msgs.clock(1.25).clock.sec == 1 and msgs.clock(1.25).clock.nanosec == 250_000_000
    update = serialize_policy(GaussianActorCritic(4, 1, [-1.0], [1.0], hidden=[4]), 7)
    msg = msgs.policy_update_msg(update)
    msg.data = list(msg.data)  # what a subscriber may hand back
    assert msgs.policy_update(msg) == update


def test_stats_plan_markers_and_the_relayed_odometry_transform() -> None:
    from rl_control.roles.policy_server import ActionResult
    from rl_control.ros.nodes import messages as m

    row = dict(env_steps=512, episodes=7, policy_version=2, train_return=9.5, steps_per_s=80.0)
    stats = m.training_stats(row)
    assert (stats.env_steps, stats.episodes, stats.policy_version) == (512, 7, 2)
    assert stats.mean_return == stats.last_return == 9.5 and stats.steps_per_second == 80.0
    assert list(stats.names) == ["episodes", "policy_version", "train_return", "steps_per_s"]
    assert np.isnan([stats.policy_loss, stats.value_loss, stats.entropy]).all()  # none given
    sac = m.training_stats({**row, "actor_loss": -3.0, "critic_loss": 0.5, "entropy": 1.25})
    assert (sac.policy_loss, sac.value_loss, sac.entropy) == (-3.0, 0.5, 1.25)
    plan = np.array([[0.0, 1.0, 9.0], [0.5, -1.0, 9.0]])
    one = np.zeros(1)
    result = ActionResult(0, 0, 1, one, one, 0.0, 0.0, {"plan": plan})
    marker = m.plan_markers(result, msgs.clock(1.0).clock, "odom").markers[0]
    assert marker.header.frame_id == "odom" and marker.type == 4
    assert [(p.x, p.y) for p in marker.points] == [(0.0, 1.0), (0.5, -1.0)]
    odom = msgs.odometry(0.12, _readings().base, "odom", "base_link")
    transform = m.odometry_tf(odom).transforms[0]
    assert (transform.header.frame_id, transform.child_frame_id) == ("odom", "base_link")
    t = transform.transform.translation
    assert (t.x, t.y, t.z) == (1.0, 2.0, 3.0) and transform.transform.rotation.z == 0.6
