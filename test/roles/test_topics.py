"""The graph's topic table (rl_control.roles.topics) against the nodes' own publishers: each
literal (type, name) a node publishes is in the table with that node among its publishers,
and the table names no topic nobody publishes."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from rl_control.roles.topics import BY_NAME, PER_STEP, TOPICS, topic

NODES = Path(__file__).resolve().parents[2] / "rl_control" / "ros" / "nodes"
_PUB = re.compile(r'(?:pub|create_publisher)\(\s*"([a-z0-9_]+/msg/\w+)",\s*"([/\w]+)"')
_SYSTEM = {"/rosout", "/parameter_events"}  # every node's, from the middleware


def _published() -> dict[str, set[tuple[str, str]]]:
    out = {}
    for path in sorted(NODES.glob("*.py")):
        found = {
            (t, n if n.startswith("/") else f"/{n}") for t, n in _PUB.findall(path.read_text())
        }
        if found:
            out[path.stem] = found
    return out


def test_every_literal_publisher_is_in_the_table() -> None:
    published = _published()
    assert {"sim_bridge", "robot_publisher", "policy_node", "trainer_node"} <= set(published)
    for node, pairs in published.items():
        for type_name, name in pairs:
            row = BY_NAME.get(name)
            assert row is not None, f"{node} publishes {name}, missing from roles/topics.py"
            assert row.type == type_name and node in row.publishers, (node, name, row)


def test_every_table_topic_has_a_publisher() -> None:
    published = {name for pairs in _published().values() for _, name in pairs}
    # the hardware bridge's relays take their names from parameters (defaults listed)
    by_parameter = {"/policy_joint_states", "/policy_imu", "/joint_states"}
    # trainer_node formats the grant topic per worker (worker_<k>/step_gate; plain for one)
    by_parameter |= {"/step_gate"}
    for row in TOPICS:
        assert row.name in published | _SYSTEM | by_parameter, row.name


def test_lookup_takes_relative_names_and_refuses_unknown_ones() -> None:
    assert topic("training_stats").type == "rl_control_msgs/msg/TrainingStats"
    with pytest.raises(ValueError, match="unknown topic 'trainng_stats'"):
        topic("trainng_stats")


def test_per_step_topics_are_in_the_table_and_the_low_rate_ones_are_not() -> None:
    assert PER_STEP <= set(BY_NAME)
    assert {"/training_stats", "/robot_description", "/policy_update"}.isdisjoint(PER_STEP)
