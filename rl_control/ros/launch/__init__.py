"""Runner for the launch XML subset rl_control's launch files use, for machines without ROS 2.

`resolve_launch` turns a file plus `name:=value` arguments into a LaunchPlan (nodes with their
`--ros-args` command lines); `LaunchRunner` runs it; `cli.main` is `rl-control launch`.
"""

from rl_control.ros.launch.model import ArgDecl, LaunchError, LaunchPlan, NodeSpec
from rl_control.ros.launch.packages import find_package_share, resolve_executable
from rl_control.ros.launch.resolver import declared_arguments, resolve_launch
from rl_control.ros.launch.runner import LaunchRunner

__all__ = [
    "ArgDecl",
    "LaunchError",
    "LaunchPlan",
    "LaunchRunner",
    "NodeSpec",
    "declared_arguments",
    "find_package_share",
    "resolve_executable",
    "resolve_launch",
]
