"""The node graph's topics, in one table: name, type, publishers, QoS, what is on it.

Names are as ``ros2 topic list`` shows them for a graph without a namespace (relative names
get the namespace in front, absolute ones such as /tf do not). `rl-control record` takes its
types and QoS from here, the rviz and rqt configs are checked against it
(test/ros/test_monitoring_configs.py), and the nodes' publishers against it in turn
(test/roles/test_topics.py). Pure data: nothing here needs a middleware.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Topic:
    """One topic of the graph."""

    name: str
    type: str
    publishers: tuple[str, ...]
    qos: str  # "default", "latched" (transient local, depth 1) or "clock" (best effort)
    description: str


def _t(name: str, type_: str, publishers: str, qos: str, description: str) -> Topic:
    return Topic(name, type_, tuple(publishers.split()), qos, description)


TOPICS: tuple[Topic, ...] = (
    _t("/clock", "rosgraph_msgs/msg/Clock", "sim_bridge", "clock",
       "simulated time (throttled to clock_period)"),
    _t("/joint_states", "sensor_msgs/msg/JointState", "sim_bridge fake_ros2_control", "default",
       "the task's joints (lock-step tag in header.frame_id); hardware: the robot's own"),
    _t("/imu", "sensor_msgs/msg/Imu", "sim_bridge", "default", "floating bases only"),
    _t("/ground_truth/odom", "nav_msgs/msg/Odometry", "sim_bridge", "default",
       "PyBullet's base pose and twist (floating bases)"),
    _t("/robot_joint_states", "sensor_msgs/msg/JointState", "sim_bridge", "default",
       "every PyBullet joint in URDF names, with each /clock (robot_publisher's input)"),
    _t("/tf", "tf2_msgs/msg/TFMessage", "sim_bridge state_estimator robot_publisher",
       "default", "odom -> base_link(_ground_truth) and the URDF's moving joints"),
    _t("/tf_static", "tf2_msgs/msg/TFMessage", "robot_publisher", "latched",
       "the URDF's fixed joints (and base_link -> URDF root)"),
    _t("/robot_description", "std_msgs/msg/String", "robot_publisher", "latched",
       "the task's URDF (rviz RobotModel)"),
    _t("/observation", "rl_control_msgs/msg/Observation", "state_estimator", "default",
       "the estimated state vector, with names"),
    _t("/odom", "nav_msgs/msg/Odometry", "state_estimator", "default",
       "the estimated base pose (odom -> base_link)"),
    _t("/task_markers", "visualization_msgs/msg/MarkerArray", "state_estimator", "default",
       "the task's targets (the 2R leg's foot target), in base_link"),
    _t("/action", "rl_control_msgs/msg/Action", "policy_node", "default",
       "action, mean, log-prob and policy version"),
    _t("/solve_time", "std_msgs/msg/Float64MultiArray", "policy_node", "default",
       "s per policy evaluation (data[0]), when someone listens"),
    _t("/deadline_misses", "std_msgs/msg/UInt32", "policy_node", "default",
       "count of solves past the deadline, at each miss"),
    _t("/plan_markers", "visualization_msgs/msg/MarkerArray", "policy_node", "default",
       "MPC plans as a line strip"),
    _t("/policy_update", "rl_control_msgs/msg/PolicyUpdate", "trainer_node", "latched",
       "serialized policy parameters, checksummed"),
    _t("/training_stats", "rl_control_msgs/msg/TrainingStats", "trainer_node", "default",
       "return, losses, entropy, steps/s (rqt_plot)"),
    _t("/step_gate", "rl_control_msgs/msg/StepGate", "trainer_node", "default",
       "lock-step grants to the bridge"),
    _t("/policy_joint_states", "sensor_msgs/msg/JointState", "hardware_bridge", "default",
       "hardware: the robot's readings in policy names, order and convention"),
    _t("/policy_imu", "sensor_msgs/msg/Imu", "hardware_bridge", "default",
       "hardware: the accepted IMU"),
    _t("/diagnostics", "diagnostic_msgs/msg/DiagnosticArray", "hardware_bridge", "default",
       "hardware: the safety layer's status (rqt_runtime_monitor)"),
    _t("/rosout", "rcl_interfaces/msg/Log", "every node", "latched", "log lines"),
    _t("/parameter_events", "rcl_interfaces/msg/ParameterEvent", "every node", "default",
       "parameter changes"),
)  # fmt: skip

BY_NAME: dict[str, Topic] = {t.name: t for t in TOPICS}
#: topics published at every control step (or with each /clock): a `monitor --light` leaves
#: them uncounted, since taking each of their messages in Python is what a monitor costs
PER_STEP = frozenset({"/clock", "/joint_states", "/imu", "/ground_truth/odom",
                      "/robot_joint_states", "/tf", "/observation", "/odom", "/task_markers",
                      "/action", "/solve_time", "/plan_markers", "/step_gate",
                      "/policy_joint_states", "/policy_imu"})  # fmt: skip
#: topics the nodes name absolutely (a namespace does not move them)
ABSOLUTE = frozenset({"/clock", "/tf", "/tf_static", "/diagnostics", "/rosout",
                      "/parameter_events"})  # fmt: skip


def topic(name: str) -> Topic:
    """The table's row for ``name`` (leading slash optional); ValueError naming the known."""
    key = name if name.startswith("/") else f"/{name}"
    if key not in BY_NAME:
        raise ValueError(f"unknown topic {name!r}; the graph's topics: {', '.join(BY_NAME)}")
    return BY_NAME[key]
