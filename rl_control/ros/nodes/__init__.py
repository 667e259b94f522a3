"""ROS 2 nodes: thin wrappers that translate messages and call :mod:`rl_control.graph`."""
