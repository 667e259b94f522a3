"""ROS-free logic of the node graph: bridge, estimator, policy server and trainer.

Each module holds what one node role does, as plain Python over numpy, so it is unit-tested
without any middleware; the nodes in :mod:`rl_control.ros.nodes` only translate messages.
"""
