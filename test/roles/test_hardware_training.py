"""Training on hardware, ROS-free: the trainer (TrainerRole, PPO), the gated hardware bridge
role, the estimator and a policy server on the fake ros2_control 2R leg and a fake clock.

The trainer's grants gate the policy's commands, episodes begin through the bridge's homing
reset, an update (no grants) ends the episode with the robot holding home, and an e-stop
stops the run cleanly with its data kept (checkpoint, resumable)."""

import dataclasses

import numpy as np
import pytest
from clocks import FakeClock

from rl_control.envs.registration import make_env
from rl_control.robot.config import load_robot_config
from rl_control.robot.fake_ros2_control import FakeRos2ControlRobot
from rl_control.robot.pybullet import PyBulletRobot
from rl_control.robot.ros2_control import Ros2ControlRobot
from rl_control.robot.safety import Mode
from rl_control.robot.sensors import BETWEEN_EPISODES
from rl_control.roles.hardware_gate import TrainerGate
from rl_control.roles.hardware_role import HardwareBridgeRole
from rl_control.roles.leg_odometry import make_state_estimator
from rl_control.roles.policy_server import PolicyServer
from rl_control.roles.session import build_graph_trainer
from rl_control.roles.trainer import ActionIn
from rl_control.roles.trainer_role import REFUSED, TrainerRole
from rl_control.tasks.registry import make_task
from rl_control.training.config import TrainConfig

EPISODE = 100  # control steps (0.2 s at 500 Hz): short episodes, many resets


class Graph:
    """The hardware training graph with its topics replaced by direct calls."""

    def __init__(self, run_dir: str, total_steps: int = 384) -> None:
        base = load_robot_config("two_link_leg")
        # a looser safe set than the rig's 0.1 rad / 1 rad/s: the untrained policy's last
        # torques leave the light leg swinging, and homing over 0.1 s stops it only roughly
        safe = {**base.safe_set, "joint_tolerance": 0.3, "max_joint_velocity": 5.0}
        # the untrained policy's torques scaled down, as a cautious first run on a rig would,
        # and velocity_limit raised: even so the light leg (its knee ~1e-3 kg m²) spins past
        # the rig's 25 rad/s within 40 ms of random torques (overspeed is tested elsewhere)
        joints = tuple(dataclasses.replace(j, action_scale=0.3, velocity_limit=200.0)
                       for j in base.joints)  # fmt: skip
        self.config = dataclasses.replace(base, homing_time=0.1, safe_set=safe, joints=joints)
        task = make_task("two_link_leg")
        self.sim = PyBulletRobot(make_env("two_link_leg"), task.joint_names, task.dt)
        self.sim.home(seed=0)
        self.fake = FakeRos2ControlRobot(self.sim, self.config)
        self.clock, self.readings = FakeClock(), []
        self.robot = Ros2ControlRobot(self.config, self.fake.command, self.clock)
        self.bridge = HardwareBridgeRole(
            self.robot, self.readings.append, lambda _: None, auto_home=True,
            auto_activate=True, clock=self.clock, trainer_gate=True, grant_timeout=0.05,
        )  # fmt: skip
        self.estimator = make_state_estimator(make_task("two_link_leg"), "legs")
        self.server = PolicyServer(swap_mid_episode=True, seed=0)
        self.grants: list[tuple[int, int]] = []
        self.warnings: list[str] = []
        config = TrainConfig(
            algo="ppo", task="two_link_leg", env={"max_steps": EPISODE},
            total_steps=total_steps, eval_every=0, checkpoint_every=0, log_every=100,
            run_dir=run_dir, algo_config={"n_steps": 64, "batch_size": 32, "n_epochs": 2,
                                          "hidden": [16]},
        )  # fmt: skip
        self.trainer_role = TrainerRole(
            config, self.server.offer, lambda _: None, self.grant, self.call, resume=False,
            warn=self.warnings.append, tensorboard=False,
        )  # fmt: skip
        self.trainer = self.trainer_role.trainer
        self.trainer_role.start()  # publishes the first policy
        self.stamp = 0.0
        self.sense()

    def grant(self, worker: int, step: int, episode: int, min_version: int) -> None:
        self.grants.append((step, episode))
        self.bridge.on_grant(step, episode, min_version)

    def call(self, kind: str, value: bool, worker: int) -> tuple[bool, str]:
        return self.bridge.service(kind, value)

    def sense(self) -> None:
        self.stamp += self.config.control_period
        self.robot.on_joint_state(self.stamp, *self.fake.joint_state())

    def period(self) -> int | None:
        """One control period of the whole graph; the trainer's exit code once it stops."""
        self._step()
        if self.trainer.updating:  # the legs and the policy go on while the trainer learns
            for _ in range(100):  # 0.2 s of them: longer than grant_timeout
                self._step()
            self.trainer.wait()
        return self.trainer_role.tick()

    def _step(self) -> None:
        self.clock.advance(self.config.control_period)
        self.bridge.tick()  # command out, readings to the estimator
        self.fake.step()
        self.sense()
        while self.readings:
            est = self.estimator.estimate(self.readings.pop(0))
            self.trainer.on_observation(est.step, est.episode, est.state)
            now = self.clock()
            out = self.server.act(est.step, est.episode, est.state, now, now)
            if out is not None:  # the action topic reaches the trainer and the bridge
                self.trainer.on_action(ActionIn(est.step, est.episode, out.policy_version,
                                                out.action, out.log_prob))  # fmt: skip
                self.bridge.on_action(est.step, est.episode, out.action, out.policy_version)

    def close(self) -> None:
        self.trainer_role.close()
        self.sim.close()


@pytest.fixture
def graph(tmp_path):
    graph = Graph(str(tmp_path / "run"))
    yield graph
    graph.sim.close()


def test_training_on_the_fake_leg_through_the_safety_layer(graph: Graph) -> None:
    code = None
    for _ in range(20_000):
        code = graph.period()
        if code is not None:
            break
    assert code == 0, (graph.robot.safety.counts, graph.warnings)
    trainer, safety = graph.trainer, graph.robot.safety
    assert trainer.session.counters.env_steps >= 384
    assert trainer.session.counters.updates >= 4
    # every episode began through homing, and none through a fault
    assert graph.bridge.episode >= 4
    assert safety.counts["mode_homing"] >= graph.bridge.episode
    for fault in ("command_timeout", "overspeed", "joint_states_stale", "mode_fault"):
        assert fault not in safety.counts, safety.counts
    # updates (no grants for 0.2 s) ended episodes with the robot homing, not a stale target
    assert safety.counts.get("grant_timeout", 0) >= 1
    # the policy's commands passed with the trainer's grants only: one per granted step
    gate = graph.bridge.gate
    assert 0 < gate.applied <= len(set(graph.grants))
    assert gate.applied >= 0.9 * trainer.session.counters.env_steps
    # the end of the run (pause) leaves the legs homing/holding, not under the policy
    assert safety.mode is Mode.HOMING
    graph.close()


def test_an_estop_stops_the_run_with_its_data_kept(graph: Graph, tmp_path) -> None:
    for _ in range(3000):  # train until an update has happened and an episode runs
        assert graph.period() is None
        if graph.trainer.session.counters.updates >= 1 and graph.robot.safety.mode is Mode.ACTIVE:
            break
    steps = graph.trainer.session.counters.env_steps
    assert graph.bridge.service("estop") == (True, "estop")
    code = None
    for _ in range(50):
        code = graph.period()
        if code is not None:
            break
    assert code == REFUSED
    at = graph.trainer.session.counters.env_steps
    refused = f"stopping at step {at}: bridge refused the reset: reset refused in estop"
    assert graph.warnings[-1].startswith(refused), graph.warnings
    assert graph.readings == [] and graph.robot.safety.mode is Mode.ESTOP
    graph.close()  # the node's close: the checkpoint holds what was collected
    config = graph.trainer_role.config
    resumed, was = build_graph_trainer(config, resume=True)
    assert was and resumed.session.counters.env_steps >= steps
    resumed.session.close()
    resumed.log.close()


def test_the_gate_applies_granted_actions_of_the_granted_version_only() -> None:
    applied = []

    class Robot:
        safety = type("S", (), {"keepalive": lambda self: True})()

        def apply(self, action):
            applied.append(float(action[0]))

    gate = TrainerGate(Robot(), FakeClock())
    gate.on_action(0, 1, np.array([1.0]), 0)
    gate.on_grant(0, 1, 0)
    assert applied == []  # no episode handed over yet
    gate.start(1)
    gate.on_action(3, 1, np.array([3.0]), 0)
    assert applied == []  # no grant: held back
    gate.on_grant(3, 1, 1)
    assert applied == []  # granted for version 1: version 0's action is stale
    gate.on_action(3, 1, np.array([3.5]), 1)
    assert applied == [3.5]
    gate.on_grant(5, 1, 1)  # grant first, action later
    gate.on_action(5, 2, np.array([9.0]), 1)  # another episode's action
    gate.on_action(4, 1, np.array([4.0]), 1)  # a step already passed? no: 4 > 3, not granted
    gate.on_action(5, 1, np.array([5.0]), 1)
    assert applied == [3.5, 5.0]
    gate.on_grant(4, 1, 1)  # too late: step 5 went out
    assert applied == [3.5, 5.0] and gate.ignored >= 2 and gate.stale == 1
    assert BETWEEN_EPISODES == 2**32 - 1
