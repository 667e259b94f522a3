"""Publishers per topic from discovery (`Node.get_publisher_names`), on the embedded back-end:
across processes, in this process, under namespaces, and gone when their process is."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable, Iterator

import pytest

from rl_control.ros import middleware as mw


@pytest.fixture(scope="module")
def node(domain_env: dict[str, str]) -> Iterator[mw.Node]:
    n = mw.create_node("graph_probe")
    yield n
    mw.shutdown()


def wait_for(node: mw.Node, check: Callable[[], bool], timeout: float = 10.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if check():
            return True
        mw.spin_once(node, 0.05)
    return check()


def test_own_publishers_are_listed_under_their_nodes(node: mw.Node) -> None:
    node.create_publisher("std_msgs/msg/String", "/graph_probe/out")
    other = mw.create_node("writer", namespace="/worker_1")
    other.create_publisher("std_msgs/msg/String", "/graph_probe/out")
    other.create_publisher("std_msgs/msg/String", "relative_out")  # -> /worker_1/relative_out
    expected = ["/graph_probe", "/worker_1/writer"]
    assert wait_for(node, lambda: node.get_publisher_names("/graph_probe/out") == expected)
    assert wait_for(node, lambda: node.get_publisher_names("/worker_1/relative_out")
                    == ["/worker_1/writer"])  # fmt: skip
    assert node.get_publisher_names("/nobody/publishes/this") == []


def test_publishers_in_another_process_come_and_go(node: mw.Node, peer) -> None:
    """The echo peer (mw_peer.py) publishes /pong as node /peer; a second process that
    publishes it and exits leaves the list again."""
    assert wait_for(node, lambda: node.get_publisher_names("/pong") == ["/peer"])
    code = (
        "import sys; from rl_control.ros import middleware as mw\n"
        "n = mw.create_node('late', namespace='/w2')\n"
        "n.create_publisher('std_msgs/msg/String', '/pong')\n"
        "print('up', flush=True); sys.stdin.read(); mw.shutdown()\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)  # fmt: skip
    try:
        assert proc.stdout.readline().strip() == "up"
        assert wait_for(node, lambda: node.get_publisher_names("/pong") == ["/peer", "/w2/late"])
    finally:
        proc.stdin.close()
        proc.wait(timeout=20)
    assert wait_for(node, lambda: node.get_publisher_names("/pong") == ["/peer"])


def test_topic_list_is_what_ros2_topic_list_shows(node: mw.Node) -> None:
    """Topics with a writer or only a reader, with ROS type names; no service topics."""
    node.create_publisher("sensor_msgs/msg/JointState", "/graph_probe/joints")
    node.create_subscription("std_msgs/msg/Float64MultiArray", "/graph_probe/cmd", lambda m: None)

    def listed() -> dict[str, list[str]]:
        return dict(node.get_topic_names_and_types())

    assert wait_for(node, lambda: "/graph_probe/cmd" in listed())
    topics = listed()
    assert topics["/graph_probe/joints"] == ["sensor_msgs/msg/JointState"]
    assert topics["/graph_probe/cmd"] == ["std_msgs/msg/Float64MultiArray"]
    assert topics["/rosout"] == ["rcl_interfaces/msg/Log"]  # every node's, as with rcl
    assert not [t for t in topics if "get_parameters" in t]  # services are not topics
    assert [name for name, _ in node.get_topic_names_and_types()] == sorted(topics)
