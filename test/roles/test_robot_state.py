"""robot_publisher's role (rl_control.roles.robot_state): throttled joint transforms from
the URDF, static transforms for fixed joints and the frames that join the TF tree."""

from __future__ import annotations

import numpy as np

from rl_control.robot.description import task_urdf
from rl_control.robot.urdf import UrdfModel
from rl_control.roles.robot_state import RobotStateRole


def test_joint_transforms_are_throttled_and_follow_the_urdf(fake_clock) -> None:
    warnings: list[str] = []
    urdf = task_urdf("two_link_leg")
    role = RobotStateRole(urdf, "base_link", 0.05, "odom", fake_clock, warnings.append)
    first = role.on_joint_state(["hip", "knee", "extra"], [0.3, -0.6, 1.0])
    assert [(t.parent, t.child) for t in first] == [("base_link", "hip_link"),
                                                     ("hip_link", "knee_link")]  # fmt: skip
    poses = UrdfModel(urdf).link_poses({"hip": 0.3, "knee": -0.6})
    np.testing.assert_allclose(first[0].matrix @ first[1].matrix, poses["knee_link"])
    assert warnings == ["joint 'extra' is not in the URDF 'TwoLinkLegEnv': ignored"]
    fake_clock.advance(0.04)
    assert role.on_joint_state(["hip", "extra"], [0.5, 1.0]) == []  # throttled, kept
    fake_clock.advance(0.01)
    again = role.on_joint_state(["knee"], [0.0])
    hip = UrdfModel(urdf).link_poses({"hip": 0.5})["hip_link"]
    np.testing.assert_allclose(again[0].matrix, hip)  # the kept hip angle
    assert len(warnings) == 1  # each unknown name once
    assert role.on_joint_state(["hip"], [1.0, 2.0]) == [] and "1 names but 2" in warnings[-1]


def test_static_transforms_join_the_tree() -> None:
    # the 2R leg's massless base is fixed in the world: odom -> base_link
    leg = RobotStateRole(task_urdf("two_link_leg"), "base_link", odom_frame="odom")
    assert [(t.parent, t.child) for t in leg.static_transforms()] == [("odom", "base_link")]
    # Minitaur: the estimator's base_link is its chassis (centre of mass at the link frame)
    minitaur = RobotStateRole(task_urdf("minitaur"), "base_link", odom_frame="odom")
    static = minitaur.static_transforms()
    assert (static[0].parent, static[0].child) == ("base_link", "base_chassis_link")
    np.testing.assert_allclose(static[0].matrix, np.eye(4))
    fixed = [j for j in minitaur.model.joints if j.type == "fixed"]
    assert len(static) == 1 + len(fixed) and len(fixed) == 10  # 26 joints, 16 moving
