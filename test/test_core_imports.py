"""The ROS-free core must import without loading rclpy, cyclonedds or ROS launch."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: every sub-package but ros (the only one allowed to load a middleware), found on disk so a
#: new one is covered the day it appears
CORE = tuple(
    sorted(
        p.parent.name
        for p in (ROOT / "rl_control").glob("*/__init__.py")
        if p.parent.name != "ros"
    )
)
FORBIDDEN = ("rclpy", "cyclonedds", "launch", "rl_control.ros")

SCRIPT = """
import importlib, json, pkgutil, sys
import rl_control
names = ["rl_control"]
for sub in %r:
    pkg = importlib.import_module("rl_control." + sub)
    names.append(pkg.__name__)
    # every module of the package, not just its __init__: a stray import anywhere counts
    for info in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + "."):
        importlib.import_module(info.name)
        names.append(info.name)
print(json.dumps({"imported": names, "loaded": sorted(sys.modules)}))
"""


def test_core_does_not_import_ros():
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT % (CORE,)], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert {"roles", "robot", "mpc", "training", "cli"} <= set(CORE)  # the roles included
    for module in ("training.runner", "cli.main", "roles.trainer_role", "roles.bridge_role"):
        assert f"rl_control.{module}" in result["imported"]
    leaked = [
        m for m in result["loaded"] if any(m == f or m.startswith(f + ".") for f in FORBIDDEN)
    ]
    assert leaked == [], f"core imported ROS modules: {leaked}"
