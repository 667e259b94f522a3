"""Every declared parameter is used: building each node (embedded back-end, own domain)
reads all of its parameters, so none is declared for nothing."""

import pytest

from rl_control.ros import middleware as mw
from rl_control.ros.nodes.bag_recorder import BagRecorderNode
from rl_control.ros.nodes.policy_node import PolicyNode
from rl_control.ros.nodes.robot_publisher import RobotPublisherNode
from rl_control.ros.nodes.sim_bridge import SimBridgeNode
from rl_control.ros.nodes.state_estimator import StateEstimatorNode
from rl_control.ros.nodes.trainer_node import TrainerNode

CLASSES = {
    "sim_bridge": SimBridgeNode,
    "state_estimator": StateEstimatorNode,
    "policy_node": PolicyNode,
    "trainer_node": TrainerNode,
    "robot_publisher": RobotPublisherNode,
    "bag_recorder": BagRecorderNode,
}


@pytest.mark.parametrize("name", sorted(CLASSES))
def test_building_a_node_reads_every_declared_parameter(name, monkeypatch, ros_domain, tmp_path):
    monkeypatch.setenv("RL_CONTROL_MIDDLEWARE", "embedded")
    args = ["-p", f"run_dir:={tmp_path / 'run'}", "-p", f"output:={tmp_path / 'b.mcap'}"]
    node = mw.create_node(name, ["--ros-args", *args])
    try:
        bound = CLASSES[name](node)
        assert bound.p.unread() == [], f"{name} declares parameters it never uses"
        if name == "trainer_node":
            bound.role.close()
        if name == "sim_bridge":
            bound.robot.close()
        if name == "bag_recorder":
            bound.close()
            assert (tmp_path / "b.mcap").is_file()
    finally:
        node.destroy()
        mw.shutdown()
