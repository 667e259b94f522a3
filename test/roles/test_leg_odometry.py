"""Leg odometry (IMU + stance-leg Kalman filter) against PyBullet's ground truth on a trotting
Minitaur, with sensor noise and joint-state latency; and the hardware estimator never reading
the simulator's base pose."""

import dataclasses

import numpy as np
import pytest
from minitaur_trot import trot

from rl_control.envs.minitaur import MinitaurEnv
from rl_control.robot.pybullet import PyBulletRobot
from rl_control.roles.leg_odometry import LegOdometry, make_state_estimator
from rl_control.tasks.registry import make_task

#: sensor noise std: joint angles (rad), joint rates (rad/s), gyro (rad/s), accelerometer (m/s²)
NOISE = {"angle": 0.005, "rate": 0.1, "gyro": 0.02, "accel": 0.2}


def _rollout(seconds: float, control_dt: float, lag: int, seed: int = 0) -> dict[str, np.ndarray]:
    """Trot for ``seconds``; the filter gets noisy readings whose joint states are ``lag``
    control periods older than the IMU. Errors against the truth after a 0.5 s start."""
    substeps = round(control_dt / 0.002)
    task = make_task("minitaur", {"control_dt": control_dt, "physics_substeps": substeps})
    env = MinitaurEnv(control_dt=control_dt, physics_substeps=substeps)
    robot = PyBulletRobot(env, task.joint_names, control_dt)
    robot.home(seed=0)
    odometry, rng = LegOdometry(task.legs()), np.random.default_rng(seed)
    history, errors, truth, x = [], [], [], []
    for k in range(round(seconds / control_dt)):
        robot.apply(trot(k * control_dt))
        now = robot.read()
        history.append(now)
        joints = history[max(0, len(history) - 1 - lag)]

        def noisy(value: np.ndarray, kind: str) -> np.ndarray:
            return value + rng.normal(0.0, NOISE[kind], np.shape(value))

        imu = dataclasses.replace(now.imu, angular_velocity=noisy(now.imu.angular_velocity,
                                  "gyro"), linear_acceleration=noisy(
                                      now.imu.linear_acceleration, "accel"))  # fmt: skip
        readings = dataclasses.replace(
            now, position=noisy(joints.position, "angle"),
            velocity=noisy(joints.velocity, "rate"), imu=imu, base=None,
        )  # fmt: skip
        pose = odometry.update(readings)
        if k * control_dt >= 0.5:
            errors.append(np.r_[pose.linear_velocity - now.base.linear_velocity,
                                pose.position[2] - now.base.position[2]])  # fmt: skip
            truth.append(now.base.linear_velocity)
            x.append([pose.position[0], now.base.position[0]])
    robot.close()
    e, x = np.array(errors), np.array(x)
    return {"rms": np.sqrt((e**2).mean(0)), "truth_rms": np.sqrt((np.array(truth) ** 2).mean(0)),
            "dx": x[-1] - x[0]}  # fmt: skip


def test_base_velocity_and_height_at_the_control_rate_with_noise() -> None:
    r = _rollout(2.0, 0.01, lag=0)
    vx, vy, vz, z = r["rms"]
    # measured (seeds 0, 1): rms error vx 0.067, vy 0.006, vz 0.011 m/s (the truth's rms:
    # 0.38, 0.07, 0.30), height 0.5 mm; the 0.555 m walked is estimated as 0.521-0.524 m (6%)
    assert vx < 0.1 and vy < 0.03 and vz < 0.04 and z < 0.003
    assert np.all(r["rms"][:3] < 0.3 * r["truth_rms"])  # far better than "standing still"
    estimated, true = r["dx"]
    assert true < -0.3 and abs(estimated - true) < 0.15 * abs(true)


def test_joint_state_latency_of_a_few_ms_at_500_hz() -> None:
    r = _rollout(1.5, 0.002, lag=2)  # joint states 4 ms behind the IMU
    vx, vy, vz, z = r["rms"]
    # measured: rms error vx 0.069, vy 0.008, vz 0.037 m/s, height 1.5 mm (6 ms: vz 0.053,
    # height 2.1 mm; no latency: vx 0.074, vz 0.015, 0.5 mm)
    assert vx < 0.1 and vy < 0.03 and vz < 0.07 and z < 0.004


def test_the_hardware_estimator_ignores_ground_truth_odometry() -> None:
    task = make_task("minitaur")
    robot = PyBulletRobot(MinitaurEnv(), task.joint_names, task.dt)
    first = robot.home(seed=0)
    legs, truth = make_state_estimator(task, "legs"), make_state_estimator(task, "odometry")
    bogus = dataclasses.replace(first.base, position=np.array([5.0, 5.0, 5.0]))
    layout = task.layout
    for k in range(50):
        robot.apply(trot(k * task.dt))
        r = robot.read()
        fake = dataclasses.replace(r, step=k, episode=0, base=bogus)  # wrong, on purpose
        est = legs.estimate(fake)
        state = est.state
        sim = truth.estimate(dataclasses.replace(r, step=k, episode=0))
        real = sim.state
    robot.close()
    # the estimate the node publishes as odom and /tf is the filter's, in the state too
    assert sim.base is None and est.base is not None
    assert est.base.position[2] == layout.get(state, "base_z")
    assert layout.get(state, "base_z") == pytest.approx(layout.get(real, "base_z"), abs=0.01)
    assert abs(layout.get(state, "base_x") - layout.get(real, "base_x")) < 0.1
    np.testing.assert_array_equal(
        layout.get(state, "angle", "qw"), layout.get(real, "angle", "qw")
    )
    with pytest.raises(ValueError, match="base_source 'gps'"):
        make_state_estimator(task, "gps")
    assert legs.odometry is not None and truth.odometry is None
    assert make_state_estimator(make_task("two_link_leg"), "legs").odometry is None  # fixed


def test_needs_an_imu_and_restarts_after_a_gap() -> None:
    task = make_task("minitaur")
    robot = PyBulletRobot(MinitaurEnv(), task.joint_names, task.dt)
    r = robot.home(seed=0)
    odometry = LegOdometry(task.legs())
    with pytest.raises(ValueError, match="needs an IMU"):
        odometry.update(dataclasses.replace(r, imu=None))
    start = odometry.update(r)
    assert start.position[2] == pytest.approx(r.base.position[2], abs=0.005)
    for k in range(20):
        robot.apply(trot(k * task.dt))
        moving = odometry.update(robot.read())
    assert np.linalg.norm(moving.linear_velocity) > 0.05
    later = dataclasses.replace(robot.read(), stamp=robot.read().stamp + 1.0)  # 1 s silence
    restarted = odometry.update(later)
    assert not np.any(restarted.linear_velocity)  # starts over at rest, not integrated
    robot.close()


def _toss(odometry: LegOdometry, kick: float = 1.5) -> dict[str, np.ndarray]:
    """The standing Minitaur kicked upwards (``kick`` m/s), legs held: the filter's and the
    truth's vertical velocity and height per control step, and the filter's flight flag."""
    import pybullet

    task = make_task("minitaur")
    env = MinitaurEnv()
    robot = PyBulletRobot(env, task.joint_names, task.dt)
    robot.home(seed=0)
    stand = trot(0.0, swing=0.0, extension=0.0)
    out = {k: [] for k in ("vz", "true_vz", "z", "true_z", "flight")}
    for k in range(round(0.9 / task.dt)):
        if k == round(0.3 / task.dt):  # settled: the kick
            cid, body = env.physics_handles()
            linear, angular = pybullet.getBaseVelocity(body, physicsClientId=cid)
            pybullet.resetBaseVelocity(body, [linear[0], linear[1], kick], angular,
                                       physicsClientId=cid)  # fmt: skip
        robot.apply(stand)
        r = robot.read()
        pose = odometry.update(dataclasses.replace(r, base=None))
        rot = pose.orientation_xyzw  # the velocity is in the base frame: to the world
        x, y, z, w = rot
        world_z = np.array([2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)])
        for key, value in (("vz", world_z @ pose.linear_velocity), ("z", pose.position[2]),
                           ("true_z", r.base.position[2]), ("flight", odometry.flight),
                           ("true_vz", world_z @ r.base.linear_velocity)):  # fmt: skip
            out[key].append(value)
    robot.close()
    return {k: np.array(v) for k, v in out.items()}


@pytest.mark.parametrize("load", [True, False], ids=["load_signal", "free_fall_only"])
def test_flight_is_ballistic_not_leg_kinematics(load: bool) -> None:
    """Flight found by the legs' load (no stance leg) or, for legs without a load signal
    (the height rule always has a lowest foot standing), by the accelerometer's free fall."""
    legs = make_task("minitaur").legs()
    odometry = LegOdometry(legs if load else dataclasses.replace(legs, load=None))
    r = _toss(odometry)
    airborne = r["true_z"] > r["true_z"][: round(0.3 / 0.01)].max() + 0.02  # 2 cm up
    assert 10 < airborne.sum()  # a real flight phase, then a landing
    assert r["flight"][airborne].mean() > 0.9  # found: no stance leg, or free fall
    assert not r["flight"][: round(0.3 / 0.01)].any()  # never while standing
    error = (r["vz"] - r["true_vz"])[airborne]
    # ballistic in flight: the error does not grow (measured: by 2.6 mm/s over 27 steps)
    assert np.ptp(error) < 0.01
    if load:
        # measured: 27 steps airborne, flight rms error vz 0.002 m/s, apex height 6 mm low;
        # the filter before flight detection (legs still weighed, weakly): 0.20 m/s, 31 mm.
        # Without a load signal the kick's own step (a teleport, not a leg's push: the legs
        # say the base stands still) leaves a 0.31 m/s offset that flight keeps.
        assert np.sqrt(np.mean(error**2)) < 0.02
        apex = np.argmax(r["true_z"])
        assert abs(r["z"][apex] - r["true_z"][apex]) < 0.015
    assert not r["flight"][-5:].any()  # landed: the legs are used again
