"""state_estimator with base_source:=legs on the fake Minitaur over the embedded back-end:
the leg odometry's base pose goes out as odom and /tf odom -> base_link (what rviz and the
monitor read on hardware), consistent with the IMU the bridge relays."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import yaml

from rl_control.robot.config import ROBOTS_DIR
from rl_control.ros import middleware as mw


def _robot(path: Path) -> Path:
    """The Minitaur YAML with timeouts a loaded machine keeps (see test_deploy_hardware_graph)."""
    config = yaml.safe_load((ROBOTS_DIR / "minitaur.yaml").read_text())
    config["timeouts"] = {"joint_states": 0.25, "imu": 0.25, "command": 0.25}
    config["homing_time"] = 0.5
    for joint in config["joints"]:
        joint.update(kp=4.0, kd=0.1)
    path.write_text(yaml.safe_dump(config))
    return path


@pytest.fixture
def minitaur(monkeypatch, ros_domain, tmp_path):
    """Fake Minitaur, hardware bridge (homing by itself) and the legs estimator as processes."""
    monkeypatch.setenv("RL_CONTROL_MIDDLEWARE", "embedded")
    robot = _robot(tmp_path / "minitaur.yaml")
    nodes = {
        "fake_ros2_control": ["-p", f"robot:={robot}"],
        "hardware_bridge": ["-p", f"robot:={robot}", "-p", "auto_home:=true"],
        "state_estimator": ["-p", "task:=minitaur", "-p", "base_source:=legs",
                            "-r", "joint_states:=policy_joint_states", "-r", "imu:=policy_imu"],
    }  # fmt: skip
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", f"rl_control.ros.nodes.{name}", "--ros-args", *extra],
            env=dict(os.environ, OMP_NUM_THREADS="1"),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )  # fmt: skip
        for name, extra in nodes.items()
    ]
    node = mw.create_node("test_driver")
    yield node
    node.destroy()
    mw.shutdown()
    for proc in procs:
        os.killpg(proc.pid, signal.SIGINT)
    for proc in procs:
        proc.wait(20)


def test_leg_odometry_is_published_as_odom_and_tf(minitaur) -> None:
    node = minitaur
    odom, tf, imu = [], [], {}  # imu: stamp -> orientation
    node.create_subscription("nav_msgs/msg/Odometry", "odom", odom.append, 10)
    node.create_subscription("tf2_msgs/msg/TFMessage", "/tf", tf.append, 10)
    node.create_subscription(
        "sensor_msgs/msg/Imu", "policy_imu",
        lambda m: imu.__setitem__(mw.stamp_to_seconds(m.header.stamp), m.orientation), 10,
    )  # fmt: skip
    end = time.monotonic() + 60.0
    while len(odom) < 50 or not tf:
        assert time.monotonic() < end, f"{len(odom)} odom, {len(tf)} tf messages"
        node.spin_once(0.05)
    last = odom[-1]
    assert (last.header.frame_id, last.child_frame_id) == ("odom", "base_link")
    p = last.pose.pose.position
    # the Minitaur's base stands ~0.1-0.25 m over its feet: the filter starts and stays there
    assert 0.05 < p.z < 0.35, p
    assert np.isfinite([p.x, p.y, p.z, last.twist.twist.linear.x]).all()
    # orientation is a relayed IMU sample's (the estimator fuses the newest one it has, which
    # on a separate topic may be a period older than the joint state)
    seen = np.array([[b.x, b.y, b.z, b.w] for b in imu.values()])
    for m in odom[-20:]:
        a = m.pose.pose.orientation
        assert np.abs(seen - [a.x, a.y, a.z, a.w]).max(axis=1).min() < 1e-9
    # the transform is the odometry's pose, in the same frames
    t = tf[-1].transforms[0]
    assert (t.header.frame_id, t.child_frame_id) == ("odom", "base_link")
    stamps = {mw.stamp_to_seconds(m.header.stamp): m for m in odom}
    twin = stamps.get(mw.stamp_to_seconds(t.header.stamp))
    if twin is not None:
        tr = t.transform.translation
        assert np.allclose([tr.x, tr.y, tr.z], [twin.pose.pose.position.x,
                           twin.pose.pose.position.y, twin.pose.pose.position.z])  # fmt: skip
