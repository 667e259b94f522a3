"""The posing bench runs both sides on one robot and measures each a positive cost."""

import monitor_pose
import pytest

pytest.importorskip("viser", reason="viser not installed (pip install rl_control[monitor])")
pytest.importorskip("yourdfpy", reason="yourdfpy not installed")


def test_both_sides_pose_the_cart_pole_at_a_measured_cost() -> None:
    joints, theirs, ours = monitor_pose.measure("soft_wall_cartpole", blocks=2, poses=5)
    assert joints == 2
    assert theirs > 0.0 and ours > 0.0
