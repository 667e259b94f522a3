"""rl_control.ros.monitor: the graph state and TUI over real DDS (embedded back-end, one
process), and the viser page read back from headless Chromium where it is installed."""

from __future__ import annotations

import io
import re
import time
from pathlib import Path

import pytest
from ports import free_port  # test/ports.py

from rl_control.robot.description import task_urdf
from rl_control.robot.urdf import UrdfModel
from rl_control.ros import middleware as mw
from rl_control.ros.monitor.state import SOURCES, GraphMonitor
from rl_control.ros.monitor.tui import run_tui, screen


class FakeGraph:
    """The topics a training graph publishes, from a node in the test."""

    def __init__(self, node: mw.Node) -> None:
        pub = node.create_publisher
        self.urdf = task_urdf("soft_wall_cartpole")
        self.joints = list(UrdfModel(self.urdf).moving_joints)
        desc = pub("std_msgs/msg/String", "robot_description", mw.QOS_LATCHED)
        desc.publish(mw.message_class("std_msgs/msg/String")(data=self.urdf))
        self.js = pub("sensor_msgs/msg/JointState", "robot_joint_states", 10)
        self.stats = pub("rl_control_msgs/msg/TrainingStats", "training_stats", 10)
        self.markers = pub("visualization_msgs/msg/MarkerArray", "plan_markers", 10)
        self.k = 0

    def step(self) -> None:
        """One joint state and plan; a training_stats every 10th."""
        self.k += 1
        js_class = mw.message_class("sensor_msgs/msg/JointState")
        positions = [0.01 * self.k] * len(self.joints)
        self.js.publish(js_class(name=self.joints, position=positions))
        point = mw.message_class("geometry_msgs/msg/Point")
        marker = mw.message_class("visualization_msgs/msg/Marker")(
            points=[point(x=0.1 * i, y=0.0, z=0.5) for i in range(4)]
        )
        self.markers.publish(mw.message_class("visualization_msgs/msg/MarkerArray")(
            markers=[marker]))  # fmt: skip
        if self.k % 10 == 0:
            stats = mw.message_class("rl_control_msgs/msg/TrainingStats")(
                env_steps=512 * self.k // 10, mean_return=float(self.k), last_return=2.0,
                policy_loss=float("nan"), names=["kl"], values=[0.01],
            )  # fmt: skip
            self.stats.publish(stats)


@pytest.fixture
def graph(ros_domain: int, monkeypatch):
    monkeypatch.setenv(mw.ENV_VAR, "embedded")
    monkeypatch.setenv("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
    talker = mw.create_node("fake_graph")
    fake = FakeGraph(talker)  # the latched description goes out before the monitor exists
    node = mw.create_node("rl_control_monitor")
    monitor = GraphMonitor(node, window=2.0)
    mw.spin_for(node, 0.5)  # discovery

    def pump(n: int) -> None:
        for _ in range(n):
            fake.step()
            mw.spin_for(talker, 0.0)
            monitor.spin(0.03)

    yield fake, node, monitor, pump
    node.destroy()
    talker.destroy()
    mw.shutdown()


def test_monitor_state_and_tui_follow_the_graph(graph) -> None:
    fake, node, monitor, pump = graph
    pump(30)
    monitor.spin(0.2)
    state = monitor.state
    assert state.description == fake.urdf  # latched: published before the monitor started
    assert state.joints[fake.joints[0]] > 0.2
    assert state.plan[-1] == pytest.approx((0.3, 0.0, 0.5))
    assert [x for x, _ in state.curve] == [512, 1024, 1536]
    assert state.stats["kl"] == 0.01 and state.stats["mean_return"] == 30.0
    assert monitor.rates.count("/robot_joint_states") >= 25  # DDS may drop none; allow a few
    assert monitor.rates.rate("/robot_joint_states") > 5.0
    text = screen(monitor)
    # publishers from discovery: the fake graph's node really writes these, not trainer_node
    assert re.search(r"^/training_stats .*  /fake_graph$", text, re.M), text
    assert re.search(r"^/imu .*  -$", text, re.M), text  # declared, but nobody publishes it
    assert "mean_return        30" in text and "kl                 0.01" in text
    assert "policy_loss" not in text  # NaN: the algorithm has none
    out = io.StringIO()
    assert run_tui(node, monitor, out, period=0.1, duration=0.35, clear=False) >= 2
    assert out.getvalue().count("topic ") >= 2 and "\x1b[" not in out.getvalue()


def test_topics_the_table_lacks_are_found_listed_and_counted(graph) -> None:
    """The table lists what `ros2 topic list` would: a worker's namespaced joint states and
    a user's topic appear by discovery; the user's is counted, the worker's per-step one
    joins the rotation (sampled, like the table's own undrawn per-step topics); in light
    mode the per-step one is left out, as the table's own per-step topics are."""
    fake, node, monitor, pump = graph
    other = mw.create_node("user_node", namespace="/worker_1")
    joints = other.create_publisher("sensor_msgs/msg/JointState", "joint_states")
    note = other.create_publisher("std_msgs/msg/String", "/user/note")
    light = GraphMonitor(mw.create_node("rl_control_monitor_light"), window=2.0, light=True)
    end = time.monotonic() + 10
    while time.monotonic() < end and "/user/note" not in dict(node.get_topic_names_and_types()):
        mw.spin_for(node, 0.1)
    assert {"/worker_1/joint_states", "/user/note"} <= set(monitor.discover())
    light.discover()
    for k in range(20):
        joints.publish(mw.message_class("sensor_msgs/msg/JointState")(name=["j"], position=[k]))
        note.publish(mw.message_class("std_msgs/msg/String")(data=str(k)))
        mw.spin_for(node, 0.02)
    mw.spin_for(node, 0.2)
    assert "/worker_1/joint_states" in monitor.rotation.topics
    assert monitor.rates.count("/user/note") >= 15  # reliable; allow for discovery
    rows = {r.name: r for r in monitor.rates.rows()}
    assert rows["/worker_1/joint_states"].sampled and not rows["/user/note"].sampled
    assert rows["/user/note"].type == "std_msgs/msg/String"
    assert rows["/user/note"].publishers == "/worker_1/user_node"
    assert {t for t, _ in node.get_topic_names_and_types()} <= set(rows)  # ros2 topic list
    light_rows = {r.name for r in light.rates.rows()}
    assert "/user/note" in light_rows and "/worker_1/joint_states" not in light_rows
    assert "/worker_1/joint_states" in light.unwatched
    other.destroy()
    light.node.destroy()


def test_undrawn_per_step_topics_get_one_reader_at_a_time_and_a_sampled_rate(graph) -> None:
    """Over DDS: a policy's `action` at ~100 Hz is read by at most one monitor reader at a
    time (the rotation), and its sampled rate comes out near the rate it was sent at."""
    monitor_node = mw.create_node("rl_control_monitor_rotating")
    monitor = GraphMonitor(monitor_node, window=2.0, rotation_slot=0.3)
    action_cls = mw.message_class("rl_control_msgs/msg/Action")
    talker = mw.create_node("fake_policy")
    actions = talker.create_publisher("rl_control_msgs/msg/Action", "action", 10)
    readers, sent, start = set(), 0, time.monotonic()
    rounds = len(monitor.rotation.topics) * 0.3 + 1.0  # every topic had its turn
    while time.monotonic() - start < rounds:
        actions.publish(action_cls(action=[0.0]))
        sent += 1
        readers.add(actions.get_subscription_count())
        monitor.take()
        time.sleep(0.01)
    sent_hz = sent / (time.monotonic() - start)
    row = next(r for r in monitor.rates.rows() if r.name == "/action")
    assert readers == {0, 1}, readers  # never two monitor readers, and none between turns
    assert row.sampled and 0.65 * sent_hz < row.rate_hz < 1.35 * sent_hz, (row, sent_hz)
    assert re.search(r"^/action +~\d", screen(monitor), re.M)
    talker.destroy()
    monitor_node.destroy()


def test_light_monitor_samples_what_it_draws_and_counts_only_low_rate_topics(graph) -> None:
    fake, node, full, pump = graph
    light_node = mw.create_node("rl_control_monitor_light")
    light = GraphMonitor(light_node, window=2.0, light=True)
    mw.spin_for(light_node, 0.5)  # discovery
    pump(30)  # the light monitor does not spin meanwhile: its depth-1 readers keep the latest
    light.spin(0.3)
    state = light.state
    assert state.joints[fake.joints[0]] == pytest.approx(0.01 * fake.k)  # the latest sample
    assert state.plan[-1] == pytest.approx((0.3, 0.0, 0.5))
    assert [x for x, _ in state.curve] == [512, 1024, 1536]  # low-rate: every message
    assert state.description == fake.urdf
    # one joint state and one plan taken, against 30 of each counted by the full monitor
    assert state.version <= 8 and full.rates.count("/robot_joint_states") >= 25
    rows = {r.name for r in light.rates.rows()}
    assert "/training_stats" in rows and "/robot_joint_states" not in rows
    assert light.rates.count("/training_stats") == 3
    assert "/robot_joint_states" in light.unwatched and "/training_stats" not in light.unwatched
    assert "not counted (per-step under --light" in screen(light)
    assert "--light" not in screen(full)
    light_node.destroy()


def test_page_in_headless_chromium_shows_the_robot_and_a_moving_curve(graph) -> None:
    pytest.importorskip("viser", reason="viser not installed (pip install rl_control[monitor])")
    pytest.importorskip("yourdfpy", reason="yourdfpy not installed")
    from headless_chromium import CHROMIUM, Page  # test/ros/headless_chromium.py

    from rl_control.ros.monitor.web import WebView

    if not CHROMIUM:
        pytest.skip("Chromium not installed (apt-get install chromium)")
    fake, node, monitor, pump = graph
    view = WebView(monitor, port=free_port(), table_period=0.2)
    page = None
    try:
        pump(10)
        view.update()
        page = Page(f"http://127.0.0.1:{view.port}")
        first = _wait_for(page, view, "mean_return")
        assert "soft_wall_cartpole" in first or "moving joints" in first, first
        assert re.search(r"/training_stats\t.*\t/fake_graph\b", first), first  # discovered
        pump(20)
        second = _wait_for(page, view, "mean_return        30")
        assert _value(first, "env_steps") < _value(second, "env_steps")
        assert page.evaluate("document.querySelectorAll('canvas').length") >= 2  # 3-D, plot
    finally:
        if page is not None:
            page.close()
        view.close()


def test_the_robot_is_posed_only_while_a_page_is_open(graph, monkeypatch) -> None:
    """Posing costs the monitor most of its CPU: nobody watching, nothing is posed; a page
    that connects gets the robot as it stands, and every change after."""
    pytest.importorskip("viser", reason="viser not installed (pip install rl_control[monitor])")
    pytest.importorskip("yourdfpy", reason="yourdfpy not installed")
    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parents[2] / "bench"))
    from viser_page import open_page  # bench/viser_page.py

    from rl_control.ros.monitor.web import WebView

    fake, node, monitor, pump = graph
    now = [0.0]
    view = WebView(monitor, port=free_port(), table_period=0.2, clock=lambda: now[0])
    poses = []
    monkeypatch.setattr(view, "_pose", lambda: poses.append(monitor.state.version))
    try:
        pump(5)
        view.update()
        assert view.urdf is not None and poses == []  # the model loaded, not posed
        with open_page(view.port) as received:
            deadline = time.monotonic() + 10.0
            while not view.server.get_clients():
                assert time.monotonic() < deadline, "the websocket client never registered"
                time.sleep(0.05)
            view.update()
            assert poses == [monitor.state.version]  # what it missed, once
            view.update()
            assert len(poses) == 1  # nothing changed
            pump(2)
            now[0] += 0.05
            view.update()
            assert len(poses) == 1  # changed, but within the pose period (0.1 s)
            now[0] += 0.05
            view.update()
            assert poses[-1] == monitor.state.version and len(poses) == 2
            assert received[0] > 0  # the page got the scene
    finally:
        view.close()


def _wait_for(page, view, needle: str, timeout: float = 30.0) -> str:
    """The page's text once it shows ``needle`` (viser pushes updates asynchronously)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        view.update()
        text = page.text()
        if needle in text:
            return text
        time.sleep(0.3)
    raise AssertionError(f"{needle!r} not on the page:\n{page.text()}")


def _value(text: str, name: str) -> float:
    line = next(ln for ln in text.splitlines() if ln.strip().startswith(name + " "))
    return float(line.split()[-1])


@pytest.mark.parametrize(
    ("args", "message"),
    [(["--period", "0"], "--period must be > 0, got 0.0"),
     (["--pose-period", "-0.1"], "--pose-period must be >= 0, got -0.1"),
     (["--tui", "--window", "-1"], "--window must be > 0, got -1.0"),
     (["--tui", "--duration", "-2"], "--duration must be >= 0, got -2.0"),
     (["--tui", "--nice", "20"], "--nice must be in 0..19, got 20")],
)  # fmt: skip
def test_monitor_command_rejects_bad_arguments_in_one_line(args, message, capsys) -> None:
    """rl_control.ros.monitor.run checks its arguments before it joins the domain."""
    from rl_control.cli.main import main

    with pytest.raises(SystemExit) as exc:
        main(["monitor", *args])
    assert str(exc.value) == f"rl-control monitor: {message}"


def test_full_monitor_counts_every_message_but_decodes_the_newest_of_a_batch(graph) -> None:
    fake, node, monitor, pump = graph
    monitor.spin(0.2)  # the latched description
    before = monitor.state.version
    for _ in range(30):  # the monitor does not take meanwhile: its raw readers keep them all
        fake.step()
    deadline = time.monotonic() + 5.0
    while monitor.rates.count("/robot_joint_states") < 30 and time.monotonic() < deadline:
        time.sleep(0.02)
        monitor.take()
    assert monitor.rates.count("/robot_joint_states") == 30  # reliable, deep enough: all
    assert monitor.rates.count("/plan_markers") == 30
    assert monitor.state.joints[fake.joints[0]] == pytest.approx(0.01 * fake.k)  # the newest
    # each take decodes one joint state and one plan at most, however many arrived
    assert monitor.state.version - before < 30


@pytest.mark.parametrize("light", [False, True])
def test_of_two_sources_of_a_drawn_thing_only_the_published_one_is_read(
    light, ros_domain: int, monkeypatch
) -> None:
    """A hardware graph has joint_states but no robot_joint_states, and odom beside
    ground_truth/odom: once discovery has seen the publishers, the views read joint_states
    and odom continuously, and the ground_truth/odom writer gets no monitor reader (light) or
    one for its rotation turn only (full)."""
    monkeypatch.setenv(mw.ENV_VAR, "embedded")
    monkeypatch.setenv("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
    node = mw.create_node("rl_control_monitor")
    monitor = GraphMonitor(node, window=2.0, light=light, rotation_slot=0.2)
    assert monitor.sources == sorted(n for group in SOURCES for n in group)  # none seen yet
    talker = mw.create_node("fake_hardware_graph")
    joints = talker.create_publisher("sensor_msgs/msg/JointState", "joint_states", 10)
    odom = talker.create_publisher("nav_msgs/msg/Odometry", "odom", 10)
    truth = talker.create_publisher("nav_msgs/msg/Odometry", "ground_truth/odom", 10)
    deadline = time.monotonic() + 10.0
    while monitor.sources != ["/joint_states", "/odom"] and time.monotonic() < deadline:
        monitor.spin(0.1)
    assert monitor.sources == ["/joint_states", "/odom"]
    odom_cls, js_cls = (mw.message_class(t) for t in ("nav_msgs/msg/Odometry",
                                                       "sensor_msgs/msg/JointState"))  # fmt: skip
    readers = set()
    for k in range(40):
        msg = odom_cls()
        msg.pose.pose.position.x = 1.0 + k
        odom.publish(msg)
        truth.publish(odom_cls())  # at the origin: never drawn
        joints.publish(js_cls(name=["hip"], position=[0.1 * k]))
        readers.add(truth.get_subscription_count())
        monitor.spin(0.03)
    assert odom.get_subscription_count() == joints.get_subscription_count() == 1
    assert readers <= ({0} if light else {0, 1}), readers
    assert monitor.state.base is not None and monitor.state.base[0][0] > 1.0
    assert monitor.state.joints["hip"] > 0.0
    node.destroy()
    talker.destroy()
    mw.shutdown()
