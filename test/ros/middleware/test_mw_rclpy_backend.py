"""rclpy back-end behaves like the embedded one for parameters (needs ROS 2)."""

import domains  # test/domains.py: one allocator for DDS domain ids
import pytest

pytest.importorskip("rclpy", reason="ROS 2 (rclpy) is not installed: source ROS 2 Jazzy")
pytestmark = pytest.mark.ros


def test_parameters_are_coerced_and_double_declare_is_a_value_error(monkeypatch) -> None:
    monkeypatch.setenv("ROS_DOMAIN_ID", str(domains.allocate()))
    from rl_control.ros.middleware import rclpy_backend

    node = rclpy_backend.create_node("param_check", ["--ros-args", "-p", "gain:=2"])
    try:
        assert node.declare_parameter("gain", 1.0) == 2.0
        assert isinstance(node.get_parameter("gain"), float)
        with pytest.raises(ValueError, match="already declared"):
            node.declare_parameter("gain", 1.0)
        with pytest.raises(ValueError, match="not declared"):
            node.get_parameter("missing")
    finally:
        node.destroy()


def test_a_node_after_shutdown_gets_a_fresh_context_not_rclpys_default(monkeypatch) -> None:
    monkeypatch.setenv("ROS_DOMAIN_ID", str(domains.allocate()))
    import rclpy

    from rl_control.ros.middleware import rclpy_backend

    for round_ in range(2):  # rclpy cannot initialise a context twice: each round a new one
        node = rclpy_backend.create_node(f"ctx_check{round_}", [])
        assert rclpy_backend.ok()
        node.destroy()
        rclpy_backend.shutdown()
        assert not rclpy_backend.ok()
    assert not rclpy.ok()  # the default context stays free for code beside the facade


def test_publisher_names_and_topics_come_from_the_rclpy_graph(monkeypatch) -> None:
    monkeypatch.setenv("ROS_DOMAIN_ID", str(domains.allocate()))
    import time

    from rl_control.ros.middleware import rclpy_backend

    node = rclpy_backend.create_node("graph_check", [], namespace="/w0")
    try:
        node.create_publisher("std_msgs/msg/String", "out")
        end = time.monotonic() + 10
        while node.get_publisher_names("out") != ["/w0/graph_check"] and time.monotonic() < end:
            node.spin_once(0.05)
        assert node.get_publisher_names("/w0/out") == ["/w0/graph_check"]
        assert node.get_publisher_names("/nobody") == []
        assert dict(node.get_topic_names_and_types())["/w0/out"] == ["std_msgs/msg/String"]
    finally:
        node.destroy()
        rclpy_backend.shutdown()


@pytest.fixture
def rclpy_node(monkeypatch):
    """(the rclpy back-end, a node on a domain of its own); shut down afterwards."""
    monkeypatch.setenv("ROS_DOMAIN_ID", str(domains.allocate()))
    from rl_control.ros.middleware import rclpy_backend

    node = rclpy_backend.create_node("sub_check", [])
    yield rclpy_backend, node
    node.destroy()
    rclpy_backend.shutdown()


def _publish_until(node, pub, msg, got: list) -> None:
    """Publish ``msg`` and spin until ``got`` has something (discovery takes a moment)."""
    for _ in range(50):
        pub.publish(msg)
        node.spin_once(0.05)
        if got:
            return


TYPE = "std_msgs/msg/Float64MultiArray"


def test_raw_subscription_delivers_bytes_that_deserialize(rclpy_node) -> None:
    backend, node = rclpy_node
    raw: list = []
    node.create_subscription(TYPE, "raw_topic", raw.append, 10, raw=True)
    pub = node.create_publisher(TYPE, "raw_topic", 10)
    _publish_until(node, pub, backend.message_class(TYPE)(data=[1.5, 2.5]), raw)
    assert raw and isinstance(raw[0], bytes)
    assert list(backend.deserialize(TYPE, raw[0]).data) == [1.5, 2.5]


def test_a_destroyed_subscription_is_unmatched_and_silent(rclpy_node) -> None:
    backend, node = rclpy_node
    cls = backend.message_class(TYPE)
    got: list = []
    sub = node.create_subscription(TYPE, "d_topic", got.append, 10)
    pub = node.create_publisher(TYPE, "d_topic", 10)
    _publish_until(node, pub, cls(data=[1.0]), got)
    assert got and pub.get_subscription_count() == 1
    node.destroy_subscription(sub)
    for _ in range(50):  # the unmatching is discovery's, a moment later
        if pub.get_subscription_count() == 0:
            break
        node.spin_once(0.02)
    assert pub.get_subscription_count() == 0
    received = len(got)
    pub.publish(cls(data=[2.0]))
    node.spin_once(0.2)
    assert len(got) == received
    with pytest.raises(ValueError, match="not a live subscription"):
        node.destroy_subscription(sub)
