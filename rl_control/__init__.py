"""rl_control: learned policies for robots; a ROS-free core plus a thin ROS 2 layer (`rl_control.ros`)."""

__version__ = "0.1.0"
