"""Package share directories and node executables, with or without an ament index."""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
from collections.abc import Mapping
from pathlib import Path

from rl_control.ros.launch.model import LaunchError

PACKAGE = "rl_control"
# rl_control/ros/launch/packages.py -> the repository root holding launch/ and config/
_SOURCE_ROOT = Path(__file__).resolve().parents[3]


#: why a ROS 2 package is missing, for the launch arguments that start one
_HINTS = {
    "rviz2": ": rviz is not available on the embedded back-end; install ROS 2 with rviz2 "
    "and source it, or launch without rviz:=true",
}


def _ament_prefixes(package: str, environ: Mapping[str, str]) -> list[Path]:
    """Install prefixes on AMENT_PREFIX_PATH that register `package` in the ament index."""
    prefixes = [Path(p) for p in environ.get("AMENT_PREFIX_PATH", "").split(os.pathsep) if p]
    marker = Path("share", "ament_index", "resource_index", "packages", package)
    return [p for p in prefixes if (p / marker).is_file()]


def find_package_share(package: str, environ: Mapping[str, str]) -> Path:
    """`$(find-pkg-share package)`: ament index first (as `ros2 launch`), then for rl_control
    the source tree (editable install) or `<sys.prefix>/share/rl_control` (pip data files)."""
    prefixes = _ament_prefixes(package, environ)
    if prefixes:
        return prefixes[0] / "share" / package
    searched = "AMENT_PREFIX_PATH"
    if package == PACKAGE:
        installed = Path(sys.prefix) / "share" / PACKAGE
        for root in (_SOURCE_ROOT, installed):
            if (root / "launch").is_dir() and (root / "config").is_dir():
                return root
        searched += f", {_SOURCE_ROOT}, {installed}"
    raise LaunchError(f"package '{package}' not found (searched {searched})")


def resolve_executable(
    package: str | None, executable: str, environ: Mapping[str, str]
) -> list[str]:
    """argv prefix running `executable` of `package`.

    Order: `<prefix>/lib/<package>/<exec>` from the ament index (where `ros2 launch` looks),
    then for rl_control a console script on PATH, then `python -m rl_control.ros.nodes.<exec>`.
    Without a package the executable is run as given, like launch_ros.
    """
    if package is None:
        return [executable]
    for prefix in _ament_prefixes(package, environ):
        candidate = prefix / "lib" / package / executable
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return [str(candidate)]
    if package != PACKAGE:
        raise LaunchError(
            f"executable '{executable}' of package '{package}' not found "
            f"(package not in the ament index on AMENT_PREFIX_PATH){_HINTS.get(package, '')}"
        )
    script = shutil.which(executable, path=environ.get("PATH"))
    if script is not None:
        return [script]
    return [sys.executable, "-m", f"{PACKAGE}.ros.nodes.{executable}"]


def check_executable(argv: list[str], executable: str) -> None:
    """Fail before anything starts if a `python -m` fallback names a module that is missing."""
    if len(argv) >= 3 and argv[1] == "-m":
        try:
            found = importlib.util.find_spec(argv[2]) is not None
        except ModuleNotFoundError:
            found = False
        if not found:
            raise LaunchError(
                f"executable '{executable}' not found: no console script on PATH "
                f"and no module {argv[2]}"
            )
    elif shutil.which(argv[0]) is None:
        raise LaunchError(f"executable '{argv[0]}' not found or not executable")
