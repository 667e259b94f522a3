"""sim_bridge + robot_publisher processes over the embedded back-end: the latched
robot_description and /tf_static, and /tf joint transforms that equal the URDF's kinematics
at the joint positions the bridge published (the 2R leg falling free under gravity)."""

import time

import numpy as np
from node_processes import start_nodes, stop_nodes

from rl_control.robot.urdf import UrdfModel, homogeneous
from rl_control.ros import middleware as mw


def _matrix(transform) -> np.ndarray:
    import pybullet

    t, q = transform.translation, transform.rotation
    rot = np.array(pybullet.getMatrixFromQuaternion([q.x, q.y, q.z, q.w])).reshape(3, 3)
    return homogeneous(rot, np.array([t.x, t.y, t.z]))


def _spin_until(node, predicate, timeout=30.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        node.spin_once(0.05)
        if predicate():
            return True
    return False


def test_robot_publisher_follows_the_bridges_joints(monkeypatch, ros_domain) -> None:
    monkeypatch.setenv("RL_CONTROL_MIDDLEWARE", "embedded")
    task = ["-p", "task:=two_link_leg"]
    commands = {
        "sim_bridge": [*task, "-p", "lock_step:=false", "-p", "reset_on_termination:=true"],
        "robot_publisher": task,
    }
    procs = start_nodes((n, ["--ros-args", *a]) for n, a in commands.items())
    node = mw.create_node("test_viewer")
    try:
        desc, static, tf, joints = [], [], [], []
        node.create_subscription("std_msgs/msg/String", "robot_description", desc.append,
                                 mw.QOS_LATCHED)  # fmt: skip
        node.create_subscription("tf2_msgs/msg/TFMessage", "/tf_static", static.append,
                                 mw.QOS_LATCHED)  # fmt: skip
        node.create_subscription("tf2_msgs/msg/TFMessage", "/tf", tf.append, 50)
        node.create_subscription("sensor_msgs/msg/JointState", "robot_joint_states",
                                 joints.append, 50)  # fmt: skip
        assert _spin_until(node, lambda: desc and static and len(tf) >= 5), (
            len(desc), len(static), len(tf),
        )  # fmt: skip
        model = UrdfModel(desc[0].data)
        assert [j.name for j in model.joints] == ["hip", "knee"]
        pairs = [(t.header.frame_id, t.child_frame_id) for t in static[0].transforms]
        assert pairs == [("odom", "base_link")]
        by_stamp = {(j.header.stamp.sec, j.header.stamp.nanosec): j for j in joints}
        checked, moved = 0, 0.0
        for msg in tf:
            stamp = (msg.transforms[0].header.stamp.sec, msg.transforms[0].header.stamp.nanosec)
            js = by_stamp.get(stamp)
            if js is None:
                continue
            q = dict(zip(js.name, js.position, strict=True))
            moved = max(moved, abs(q["hip"] - joints[0].position[0]))
            expect = {j.child: m for j, m in model.joint_transforms(q)}
            for transform in msg.transforms:
                np.testing.assert_allclose(
                    _matrix(transform.transform), expect[transform.child_frame_id], atol=1e-9
                )
                checked += 1
        assert checked >= 6 and moved > 1e-3, (checked, moved)  # real, changing poses
    finally:
        node.destroy()
        mw.shutdown()
        stop_nodes(procs)
