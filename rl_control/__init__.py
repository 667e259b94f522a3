"""rl_control: learned policies for robots.

A ROS-free core (tasks, envs, models, MPC, algorithms, training, CLI) plus one thin ROS 2
layer, :mod:`rl_control.ros`, the only sub-package that imports rclpy or cyclonedds.
"""

__version__ = "0.1.0"
