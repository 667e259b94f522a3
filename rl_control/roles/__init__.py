"""ROS-free logic of the node graph: one role per node, plus the pieces they are built from.

``bridge_role``, ``estimator_role``, ``policy_role`` and ``trainer_role`` hold everything a
node does besides translating messages (pacing, automatic reset, re-publishing a late step,
input-age fusion, policy wait and swaps, statistics throttling, service-call queuing), with
injected clocks; ``bridge``, ``estimator``, ``policy_server`` and ``trainer`` are the state
machines under them. All plain Python over numpy, unit-tested without any middleware; the
nodes in :mod:`rl_control.ros.nodes` bind topics, services and parameters to a role.
"""
