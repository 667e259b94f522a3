"""The bridge's inner PD loop (robot YAML `pd_period`) on the fake Minitaur: with the task's
kp 8 / kd 0.3 closed once per 10 ms control period, an open-loop trot chatters and trips
`overspeed`; closed every 2 ms (the simulator's physics rate, the policy's target held in
between) the same trot runs clean. The world steps at 2 ms and is measured every step, as a
robot publishing joint states at 500 Hz."""

import dataclasses

import numpy as np
import pytest
from clocks import FakeClock
from minitaur_trot import trot

from rl_control.envs.minitaur import MinitaurEnv
from rl_control.robot.config import load_robot_config, parse_robot_config
from rl_control.robot.fake_ros2_control import FakeRos2ControlRobot, fake_env_params
from rl_control.robot.pybullet import PyBulletRobot
from rl_control.robot.ros2_control import Ros2ControlRobot
from rl_control.robot.safety import Mode
from rl_control.roles.hardware_role import HardwareBridgeRole
from rl_control.tasks.registry import make_task

PHYSICS = 0.002  # s


def _trot(pd_period: float | None, seconds: float = 1.0) -> dict:
    """Home, hand over to a 2 Hz open-loop trot (targets at the 100 Hz control rate);
    joint velocities while active, the final mode and the readings sent per second."""
    task = make_task("minitaur")
    env = MinitaurEnv(control_dt=PHYSICS, physics_substeps=1)
    sim = PyBulletRobot(env, task.joint_names, PHYSICS)
    sim.home(seed=0)
    config = dataclasses.replace(load_robot_config("minitaur"), homing_time=0.5,
                                 pd_period=pd_period)  # fmt: skip
    fake, clock, readings = FakeRos2ControlRobot(sim, config), FakeClock(), []
    robot = Ros2ControlRobot(config, fake.command, clock)
    role = HardwareBridgeRole(robot, readings.append, lambda _: None, auto_home=True,
                              auto_activate=True, clock=clock)  # fmt: skip
    velocities, sent, start = [], 0, None
    for _ in range(round((0.7 + seconds) / PHYSICS)):
        clock.advance(PHYSICS)
        robot.on_joint_state(clock(), *fake.joint_state())
        imu = sim.read().imu
        robot.on_imu(clock(), imu.orientation_xyzw, imu.angular_velocity,
                     imu.linear_acceleration)  # fmt: skip
        role.tick()
        for _reading in readings:  # the policy acts once per reading: at the control rate
            sent += 1
            t = clock() - start if start is not None else 0.0
            robot.apply(trot(t) if start is not None else np.full(8, np.pi / 2))
        readings.clear()
        fake.step()
        if robot.safety.mode is Mode.ACTIVE:
            start = clock() if start is None else start
            velocities.append(sim.read().velocity)
        elif start is not None:
            break  # a fault ended the trot
    sim.close()
    return {"v": np.array(velocities), "mode": robot.safety.mode, "counts": robot.safety.counts,
            "readings_per_s": sent / clock()}  # fmt: skip


def test_pd_at_the_control_period_chatters_and_trips_overspeed() -> None:
    r = _trot(None)
    # measured: overspeed 0.21 s into the trot, joint rates up to 34 rad/s, their 2 ms
    # changes 4.3 rad/s rms (chatter)
    assert r["mode"] is Mode.FAULT and r["counts"].get("overspeed") == 1
    assert len(r["v"]) * PHYSICS < 0.5
    assert np.sqrt((np.diff(r["v"], axis=0) ** 2).mean()) > 2.0


def test_an_inner_pd_loop_at_the_physics_rate_runs_the_same_trot_clean() -> None:
    r = _trot(PHYSICS)
    # measured: no fault over the 1 s trot, joint rates up to 9.1 rad/s, 2 ms changes
    # 0.42 rad/s rms; the policy still gets its readings at 100 Hz
    assert r["mode"] is Mode.ACTIVE and not any("fault" in k for k in r["counts"])
    assert len(r["v"]) * PHYSICS >= 0.99
    assert np.abs(r["v"]).max() < 15.0
    assert np.sqrt((np.diff(r["v"], axis=0) ** 2).mean()) < 1.0
    assert r["readings_per_s"] == pytest.approx(100.0, rel=0.02)


def test_pd_period_is_checked_and_sets_the_fake_robots_physics() -> None:
    from rl_control.robot.config import ROBOTS_DIR
    from rl_control.roles.params import load_yaml

    data = load_yaml(ROBOTS_DIR / "minitaur.yaml")
    config = parse_robot_config({**data, "pd_period": 0.002})
    assert config.loop_period == 0.002
    assert fake_env_params(config) == {"control_dt": 0.002, "physics_substeps": 1}
    assert fake_env_params(dataclasses.replace(config, pd_period=None)) == {}
    with pytest.raises(ValueError, match="must divide control_period 0.01"):
        parse_robot_config({**data, "pd_period": 0.003})
    leg = load_yaml(ROBOTS_DIR / "two_link_leg.yaml")  # an effort policy: no bridge PD
    with pytest.raises(ValueError, match="pd_period needs the bridge's PD loop"):
        parse_robot_config({**leg, "pd_period": 0.001})
