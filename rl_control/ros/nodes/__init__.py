"""ROS 2 nodes: each binds topics, services and its declared parameters (:mod:`.params`) to
one ROS-free role of :mod:`rl_control.roles`, and runs the shared loop (:mod:`.run`)."""
