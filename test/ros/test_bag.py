"""MCAP bags (rl_control.ros.bag): every message type of the project round-trips through a
bag written with mcap-ros2-support's CDR writer and read back with its decoder, and a bag
recorded from live topics replays on the embedded back-end."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from rl_control.ros import bag
from rl_control.ros import middleware as mw
from rl_control.ros.middleware.library import BUNDLED, default_library
from rl_control.ros.middleware.msgdef import EMPTY_MEMBER, MessageSpec

ROOT = Path(__file__).resolve().parents[2]
_INT = {"int8", "uint8", "int16", "uint16", "int32", "uint32", "int64", "uint64", "byte", "char"}


def message_types() -> list[str]:
    """Every .msg of the project: the bundled standard ones and rl_control_msgs."""
    bundled = [f"{p.parents[1].name}/msg/{p.stem}" for p in BUNDLED.glob("*/msg/*.msg")]
    custom = [f"rl_control_msgs/msg/{p.stem}" for p in (ROOT / "msg").glob("*.msg")]
    return sorted(bundled + custom)


def _value(base: str, k: int) -> object:
    if base == "bool":
        return k % 2 == 0
    if base in _INT:
        return 3 + k
    if base in ("float32", "float64"):
        return 0.25 * k - 1.5  # exact in float32
    return f"s{k}"


def sample(spec: MessageSpec, k: int = 1) -> object:
    """A message of ``spec`` with a distinct value in every field (k varies them)."""
    msg = mw.message_class(spec.type_name)()
    for i, field in enumerate(spec.fields):
        if field.name == EMPTY_MEMBER:
            continue
        t = field.type
        n = t.size if t.array == "array" else min(2, t.size or 2)  # bounded: at most size
        if t.is_primitive:
            values = [_value(t.base, k + i + j) for j in range(n)]
            value = values if t.array else values[0]
            if t.base in ("uint8", "byte") and t.array:
                value = bytes(value)
            elif t.base in ("uint8", "byte") and isinstance(getattr(msg, field.name), bytes):
                value = bytes([value])
        else:
            sub = default_library().spec(t.base)
            value = [sample(sub, k + i + j) for j in range(n)] if t.array else sample(sub, k + i)
        setattr(msg, field.name, value)
    return msg


def test_the_project_has_the_types_it_publishes() -> None:
    from rl_control.roles.topics import TOPICS

    types = set(message_types())
    assert {t.type for t in TOPICS} <= types and len(types) > 40


def test_every_message_type_round_trips_through_a_bag(tmp_path: Path) -> None:
    path = tmp_path / "all.mcap"
    writer = bag.BagWriter(path)
    written = {}
    for i, type_name in enumerate(message_types()):
        msg = sample(default_library().spec(type_name))
        writer.write(f"/t{i}", type_name, msg, 1_000 + i)
        written[f"/t{i}"] = (type_name, bag.to_plain(default_library().spec(type_name), msg))
    assert not path.exists()  # still .part until closed
    writer.close()
    read = list(bag.read_bag(path))
    assert [m.topic for m in read] == list(written)  # log-time order
    for item in read:
        type_name, plain = written[item.topic]
        assert item.type_name == type_name
        rebuilt = bag.from_plain(type_name, item.message)
        assert bag.to_plain(default_library().spec(type_name), rebuilt) == plain, type_name


def _normal(value: object) -> object:
    """bytes and numpy arrays as lists, recursively (readers differ only in containers)."""
    if isinstance(value, dict):
        return {k: _normal(v) for k, v in value.items()}
    if isinstance(value, (bytes, list, tuple)):
        return [_normal(v) for v in value]
    return value


def test_an_independent_ros2_reader_decodes_every_type(tmp_path: Path) -> None:
    """rosbags (its own CDR and ros2msg parsers, as rosbag2 and Foxglove have theirs) reads
    the bag from the schemas in it and gets the same field values."""
    rosbags = pytest.importorskip("rosbags.highlevel", reason="rosbags not installed")
    path, written = tmp_path / "all.mcap", {}
    writer = bag.BagWriter(path)
    for i, type_name in enumerate(message_types()):
        spec = default_library().spec(type_name)
        msg = sample(spec, k=i)
        writer.write(f"/t{i}", type_name, msg, 1_000 + i)
        written[f"/t{i}"] = (spec, _normal(bag.to_plain(spec, msg)))
    writer.close()
    with rosbags.AnyReader([path]) as reader:
        seen = 0
        for connection, _, raw in reader.messages():
            spec, plain = written[connection.topic]
            assert connection.msgtype == spec.type_name
            decoded = reader.deserialize(raw, connection.msgtype)
            assert _normal(bag.to_plain(spec, decoded)) == plain, spec.type_name
            seen += 1
    assert seen == len(written)


def test_schema_text_is_rosbag2s_ros2msg() -> None:
    text = bag.schema_text("nav_msgs/msg/Odometry")
    assert text.startswith(default_library().text("nav_msgs/msg/Odometry"))
    for dep in ("std_msgs/msg/Header", "geometry_msgs/msg/PoseWithCovariance",
                "builtin_interfaces/msg/Time"):  # fmt: skip
        assert f"{'=' * 80}\nMSG: {dep}\n" in text


def test_bad_names_are_refused_in_one_line(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="must end in .mcap"):
        bag.BagWriter(tmp_path / "run.bag")
    with pytest.raises(ValueError, match="unknown topic 'nope'; the graph's topics: /clock"):
        bag.resolve_topics(["nope"])
    with pytest.raises(ValueError, match="not found"):
        next(bag.read_bag(tmp_path / "missing.mcap"))
    assert bag.resolve_topics(["x:std_msgs/msg/String", "/tf"]) == [
        ("x", "std_msgs/msg/String"), ("/tf", "tf2_msgs/msg/TFMessage")]  # fmt: skip
    assert ("joint_states", "sensor_msgs/msg/JointState") in bag.resolve_topics([])


def test_record_live_topics_then_replay_them(
    tmp_path: Path, ros_domain: int, monkeypatch, fake_clock
) -> None:
    monkeypatch.setenv(mw.ENV_VAR, "embedded")
    monkeypatch.setenv("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
    node = mw.create_node("bag_test")
    try:
        path = tmp_path / "run.mcap"
        writer = bag.BagWriter(path)
        topics = bag.resolve_topics(["joint_states", "training_stats", "/robot_description"])
        bag.Recorder(node, topics, writer)
        js_pub = node.create_publisher("sensor_msgs/msg/JointState", "joint_states", 10)
        desc = node.create_publisher("std_msgs/msg/String", "robot_description", mw.QOS_LATCHED)
        desc.publish(mw.message_class("std_msgs/msg/String")(data="<robot/>"))
        mw.spin_for(node, 0.5)  # discovery
        for k in range(5):
            js = mw.message_class("sensor_msgs/msg/JointState")(name=["hip"], position=[0.1 * k])
            js_pub.publish(js)
            mw.spin_for(node, 0.05)
        mw.spin_for(node, 0.3)
        writer.close()
        recorded = [(m.topic, getattr(m.message, "position", None)) for m in bag.read_bag(path)]
        assert ("/robot_description", None) in recorded  # the latched one, published earlier
        positions = [p[0] for t, p in recorded if t == "/joint_states"]
        assert positions == pytest.approx([0.1 * k for k in range(5)])

        got: list = []
        listener = mw.create_node("bag_listener")
        listener.create_subscription("sensor_msgs/msg/JointState", "/joint_states", got.append, 10)
        waits: list[float] = []
        mw.spin_for(listener, 0.3)

        def sleep(dt: float) -> None:
            waits.append(dt)
            fake_clock.advance(dt)

        count = bag.replay(node, path, rate=2.0, sleep=sleep, clock=fake_clock)
        for _ in range(20):
            mw.spin_for(listener, 0.05)
        assert count == 6
        times = [m.log_time_ns for m in bag.read_bag(path)]
        # at the recorded pace, halved: the last message (times[-1] - times[0]) / 2 after the first
        assert sum(waits) == pytest.approx((times[-1] - times[0]) / 2e9, abs=1e-6)
        assert [msg.position[0] for msg in got] == pytest.approx(positions[-len(got) :])
        assert len(got) >= 3  # the replay subscribers saw, after discovery
        assert not math.isnan(positions[0])
        listener.destroy()
    finally:
        node.destroy()
        mw.shutdown()


def _ros2_bag_with_mcap() -> None:
    """Skip unless the ros2 CLI has the bag verb with rosbag2's MCAP storage plugin."""
    import shutil
    import subprocess

    if shutil.which("ros2") is None:
        pytest.skip("ros2 CLI not installed (ROS 2 with rosbag2 needed)")
    listed = subprocess.run(["ros2", "bag", "list", "storage"], capture_output=True,
                            text=True, timeout=60)  # fmt: skip
    if listed.returncode != 0 or "mcap" not in listed.stdout:
        pytest.skip("ros2 bag or its mcap storage plugin (rosbag2_storage_mcap) not installed")


def test_ros2_bag_info_lists_every_topic_type_and_count(tmp_path: Path) -> None:
    """rosbag2 itself (`ros2 bag info`) opens the bag: every topic with its type and count."""
    import re
    import subprocess

    _ros2_bag_with_mcap()
    path, expected = tmp_path / "all.mcap", {}
    writer = bag.BagWriter(path)
    for i, type_name in enumerate(message_types()):
        msg = sample(default_library().spec(type_name), k=i)
        for j in range(1 + i % 3):  # counts of 1-3
            writer.write(f"/t{i}", type_name, msg, 1_000 + 10 * i + j)
        expected[f"/t{i}"] = (type_name, 1 + i % 3)
    writer.close()
    info = subprocess.run(["ros2", "bag", "info", str(path)], capture_output=True, text=True,
                          timeout=120)  # fmt: skip
    assert info.returncode == 0, info.stderr
    pattern = r"Topic: (\S+) \| Type: (\S+) \| Count: (\d+)"
    listed = {m[1]: (m[2], int(m[3])) for m in re.finditer(pattern, info.stdout)}
    assert listed == expected


def test_ros2_bag_play_republishes_a_recorded_bag(
    tmp_path: Path, ros_domain: int, monkeypatch
) -> None:
    """`ros2 bag play` publishes the bag's joint states; an rclpy subscriber gets them."""
    import subprocess
    import time

    _ros2_bag_with_mcap()
    rclpy = pytest.importorskip("rclpy", reason="rclpy not installed")
    from rclpy.executors import SingleThreadedExecutor
    from sensor_msgs.msg import JointState

    monkeypatch.setenv("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
    path = tmp_path / "js.mcap"
    writer = bag.BagWriter(path)
    for k in range(5):
        js = mw.message_class("sensor_msgs/msg/JointState")(name=["hip"], position=[0.5 + k])
        writer.write("/joint_states", "sensor_msgs/msg/JointState", js, 1_000_000 * (k + 1))
    writer.close()
    context = rclpy.context.Context()  # its own: other tests may hold the default one
    rclpy.init(context=context)
    node = rclpy.create_node("bag_play_listener", context=context)
    executor = SingleThreadedExecutor(context=context)
    executor.add_node(node)
    got: list[float] = []
    node.create_subscription(JointState, "/joint_states", lambda m: got.append(m.position[0]), 10)
    # --loop: the bag repeats until the listener has matched, whatever discovery takes
    play = subprocess.Popen(["ros2", "bag", "play", str(path), "--loop"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while len(got) < 10 and time.monotonic() < deadline and play.poll() is None:
            executor.spin_once(timeout_sec=0.1)
    finally:
        play.terminate()
        play.wait(30)
        executor.shutdown()
        node.destroy_node()
        rclpy.shutdown(context=context)
    assert len(got) >= 10, f"ros2 bag play: {len(got)} messages received"
    assert set(got) <= {0.5 + k for k in range(5)} and len(set(got)) == 5
