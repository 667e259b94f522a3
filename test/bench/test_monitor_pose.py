"""The posing bench runs both sides on one robot and measures each a positive cost."""

import importlib.util
import sys
from pathlib import Path

import pytest

pytest.importorskip("viser", reason="viser not installed (pip install rl_control[monitor])")
pytest.importorskip("yourdfpy", reason="yourdfpy not installed")

BENCH = Path(__file__).resolve().parents[2] / "bench"
sys.path.insert(0, str(BENCH))
spec = importlib.util.spec_from_file_location("monitor_pose", BENCH / "monitor_pose.py")
monitor_pose = importlib.util.module_from_spec(spec)
spec.loader.exec_module(monitor_pose)


def test_both_sides_pose_the_cart_pole_at_a_measured_cost() -> None:
    joints, theirs, ours = monitor_pose.measure("soft_wall_cartpole", blocks=2, poses=5)
    assert joints == 2
    assert theirs > 0.0 and ours > 0.0
