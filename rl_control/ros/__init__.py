"""ROS 2 layer of rl_control: the only sub-package that imports rclpy or cyclonedds.

Node code uses `rl_control.ros.middleware` (one facade over rclpy or the embedded Cyclone DDS
back-end); nothing here is imported by the ROS-free core.
"""
