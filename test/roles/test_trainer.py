"""Graph trainer: pairing, rewards from the task, episode ownership, stale versions,
learning in a worker thread, and resume from the transition log."""

import threading
import time

import numpy as np
import pytest
from clocks import FakeClock

from rl_control.algorithms.base import Algorithm
from rl_control.models.actor_critic import GaussianActorCritic
from rl_control.roles.session import build_graph_trainer
from rl_control.roles.trainer import ActionIn, GraphTrainer, TrainerHooks
from rl_control.roles.transition_log import TransitionLog
from rl_control.tasks import soft_wall_cartpole as cp
from rl_control.tasks.registry import make_task
from rl_control.training.config import TrainConfig
from rl_control.training.io import RunPaths
from rl_control.training.session import RunSession


class FakeAlgorithm(Algorithm):
    """Records what it is given; update() can be held on an event to observe the thread."""

    name = "fake"

    def __init__(self, on_policy: bool = True, batch: int = 1000) -> None:
        self.on_policy, self.batch = on_policy, batch
        self.policy = GaussianActorCritic(4, 1, [-100.0], [100.0], hidden=[8])
        self.policy_version = 0
        self.records: list[tuple] = []
        self.gate = threading.Event()
        self.gate.set()
        self.update_thread: str | None = None

    def act(self, obs):
        return self.policy.act(obs)

    def record(self, obs, out, reward, terminated, truncated, next_obs):
        self.records.append(
            (
                obs[0],
                out.action[0],
                float(reward[0]),
                bool(terminated[0]),
                bool(truncated[0]),
                next_obs[0],
                int(out.info["policy_version"][0]),
            )
        )

    def ready(self):
        return len(self.records) >= self.batch

    def update(self):
        self.update_thread = threading.current_thread().name
        self.gate.wait(10)
        self.records.clear()
        self.policy_version += 1
        return {"loss": 1.0}

    def state_dict(self):
        return {"policy": self.policy.get_state(), "version": self.policy_version}

    def load_state_dict(self, state):
        self.policy_version = state["version"]


class Hooks:
    def __init__(self) -> None:
        self.calls: list = []
        self.grants: list[tuple[int, int, int]] = []
        self.hooks = TrainerHooks(
            lambda worker: self.calls.append("reset"),
            lambda p: self.calls.append(("pause", p)),
            lambda u: self.calls.append(("update", u.version)),
            lambda row: self.calls.append(("stats", row["env_steps"])),
            lambda worker, *grant: self.grants.append(grant),
        )


def _trainer(tmp_path, algo, max_steps=400, total=10_000, clock=None, checkpoint_every=0):
    """A trainer on a fake clock (stalls happen only when a test advances it)."""
    task = make_task("soft_wall_cartpole", {"max_steps": max_steps})
    config = TrainConfig(algo="fake", task="soft_wall_cartpole", run_dir=str(tmp_path))
    session = RunSession(config, RunPaths(tmp_path), tensorboard=False)
    hooks = Hooks()
    log = TransitionLog(tmp_path / "t.bin", 4, 1)
    trainer = GraphTrainer(
        task, algo, session, log, hooks.hooks, total_steps=total, stall_timeout=0.05,
        clock=clock or FakeClock(), checkpoint_every=checkpoint_every,
    )  # fmt: skip
    return trainer, hooks


def _state(x: float) -> np.ndarray:
    return np.array([x, 0.0, 0.0, 0.0])


def _act(step, episode=0, version=0, a=10.0):
    return ActionIn(step, episode, version, np.array([a]), -0.5)


def test_pairs_out_of_order_messages_with_task_reward(tmp_path) -> None:
    algo = FakeAlgorithm()
    trainer, _ = _trainer(tmp_path, algo)
    trainer.on_observation(0, 0, _state(0.0))
    trainer.on_observation(1, 0, _state(0.1))  # the action for step 0 arrives late
    assert algo.records == []
    trainer.on_action(_act(0, a=250.0))
    trainer.on_action(_act(1))
    trainer.on_observation(2, 0, _state(0.2))
    assert len(algo.records) == 1  # the newest transition is held back one step
    obs, action, reward, term, trunc, next_obs, version = algo.records[0]
    np.testing.assert_allclose(obs, _state(0.0))
    np.testing.assert_allclose(next_obs, _state(0.1))
    assert action[0] == 250.0  # recorded as sampled ...
    assert reward == pytest.approx(
        cp.reward(_state(0.1), np.array([100.0]))
    )  # ... rewarded clipped
    assert (term, trunc, version) == (False, False, 0)
    assert trainer.session.counters.env_steps == 1


def test_trainer_owns_episodes_termination_truncation_and_leftovers(tmp_path) -> None:
    algo = FakeAlgorithm()
    trainer, hooks = _trainer(tmp_path, algo, max_steps=3)
    trainer.on_observation(0, 0, _state(0.0))
    trainer.on_action(_act(0))
    trainer.on_observation(1, 0, _state(0.9))  # beyond x_limit: terminated
    assert algo.records[-1][3] is True and hooks.calls == ["reset"]
    trainer.on_action(_act(1))
    trainer.on_observation(2, 0, _state(0.0))  # leftovers of the ended episode
    assert len(algo.records) == 1
    for k in range(3, 7):  # new episode from step 3; truncated after 3 transitions
        trainer.on_observation(k, 1, _state(0.0))
        trainer.on_action(_act(k, episode=1))
    flags = [(r[3], r[4]) for r in algo.records[1:]]
    assert flags == [(False, False), (False, False), (False, True)]
    assert hooks.calls == ["reset", "reset"]
    assert trainer.session.counters.episodes == 2


def test_grants_each_step_but_not_an_episode_end_and_repeats_a_lost_grant(tmp_path) -> None:
    algo = FakeAlgorithm()
    trainer, hooks = _trainer(tmp_path, algo)
    trainer.on_observation(0, 0, _state(0.0))
    assert hooks.grants == []  # a first step waits for its own action to reach the trainer
    trainer.on_action(_act(0))
    assert hooks.grants == [(0, 0, 0)]
    trainer.on_observation(1, 0, _state(0.1))
    assert hooks.grants[-1] == (1, 0, 0)  # (0 -> 1) paired
    trainer.on_observation(1, 0, _state(0.1))  # re-published: the bridge still waits
    assert hooks.grants[-1] == (1, 0, 0) and len(hooks.grants) == 3
    trainer.on_action(_act(1))
    trainer.on_observation(2, 0, _state(0.9))  # terminal: reset, no grant
    assert hooks.calls == ["reset"] and len(hooks.grants) == 3


def test_actions_older_than_the_granted_version_are_not_paired(tmp_path) -> None:
    algo = FakeAlgorithm()
    algo.policy_version = 1
    trainer, hooks = _trainer(tmp_path, algo)
    trainer.on_observation(0, 0, _state(0.0))
    trainer.on_action(_act(0, version=0))  # the policy node had not swapped yet
    assert hooks.grants == []
    trainer.on_action(_act(0, version=1))
    assert hooks.grants == [(0, 0, 1)]
    trainer.on_action(_act(1, version=0))  # ignored: the bridge will not apply it either
    trainer.on_observation(1, 0, _state(0.0))
    trainer.on_observation(2, 0, _state(0.0))
    assert algo.records == [] and hooks.grants == [(0, 0, 1), (1, 0, 1)]  # 2 awaits action 1
    trainer.on_action(_act(1, version=1))
    assert hooks.grants[-1] == (2, 0, 1) and hooks.calls == []
    off = FakeAlgorithm(on_policy=False)
    off.policy_version = 5
    trainer2, hooks2 = _trainer(tmp_path / "off", off)
    for k in range(3):
        trainer2.on_observation(k, 0, _state(0.0))
        trainer2.on_action(_act(k, version=0))
    assert len(off.records) == 1 and trainer2.dropped_stale == 0
    assert {g[2] for g in hooks2.grants} == {0}  # off-policy: any version may act


def test_bridge_restart_cuts_the_episode_as_truncated(tmp_path) -> None:
    algo = FakeAlgorithm()
    trainer, _ = _trainer(tmp_path, algo)
    for k in range(4):
        trainer.on_observation(10 + k, 2, _state(0.0))
        trainer.on_action(_act(10 + k, episode=2))
    trainer.on_observation(0, 0, _state(0.0))  # a respawned bridge starts over
    assert [r[4] for r in algo.records] == [False, False, True]
    assert trainer.cut_episodes == 1


def test_update_holds_the_step_and_then_grants_it_to_the_new_version(tmp_path) -> None:
    algo = FakeAlgorithm(batch=3)
    algo.gate.clear()
    trainer, hooks = _trainer(tmp_path, algo)
    for k in range(5):
        trainer.on_observation(k, 0, _state(0.0))
        trainer.on_action(_act(k))  # (2 -> 3) fills the rollout when step 4 is observed
    assert trainer.updating and hooks.grants[-1] == (3, 0, 0)  # step 4 is held
    assert trainer.poll() is None  # callbacks return while update() blocks
    algo.gate.set()
    trainer.wait(5)
    assert algo.update_thread != threading.current_thread().name
    assert ("update", 1) in hooks.calls and ("stats", 3) in hooks.calls
    assert hooks.grants[-1] == (4, 0, 1)  # the episode goes on with version 1
    assert "reset" not in hooks.calls and trainer.cut_episodes == 0
    assert trainer.dropped_stale == 1  # (3 -> 4) by version 0 did not reach version 1
    trainer.on_action(_act(4, version=0))  # acted before the swap: not applied, not paired
    trainer.on_action(_act(4, version=1))
    trainer.on_observation(5, 0, _state(0.0))
    trainer.on_action(_act(5, version=1))
    trainer.on_observation(6, 0, _state(0.0))
    assert [r[6] for r in algo.records] == [1]  # (4 -> 5) by version 1
    assert hooks.grants[-1] == (6, 0, 1)


def test_grants_before_recording_unless_the_record_fills_the_rollout(tmp_path) -> None:
    class Counting(FakeAlgorithm):
        def records_until_ready(self):
            return self.batch - len(self.records)

    algo = Counting(batch=3)
    algo.gate.clear()
    trainer, hooks = _trainer(tmp_path, algo)
    order: list[str] = []
    hooks.hooks.grant = lambda w, *g: order.append(f"grant {g[0]}")
    record = algo.record
    algo.record = lambda *a: (order.append(f"record {len(algo.records)}"), record(*a))
    for k in range(5):
        trainer.on_observation(k, 0, _state(0.0))
        trainer.on_action(_act(k))
    # step 3 is granted before (1 -> 2) is recorded; (2 -> 3) fills the rollout, so step 4
    # waits for the update instead of being granted first
    assert order == [
        "grant 0", "grant 1", "grant 2", "record 0", "grant 3", "record 1", "record 2",
    ]  # fmt: skip
    assert trainer.updating
    algo.gate.set()
    trainer.wait(5)
    assert order[-1] == "grant 4"


def test_off_policy_run_ends_cleanly_when_the_budget_falls_inside_an_update(tmp_path) -> None:
    algo = FakeAlgorithm(on_policy=False, batch=2)
    algo.gate.clear()
    trainer, hooks = _trainer(tmp_path, algo, total=4)
    for k in range(8):  # off-policy: steps go on (queued) while the update runs
        trainer.on_observation(k, 0, _state(0.0))
        trainer.on_action(_act(k))
    assert trainer.updating and not trainer.done
    algo.gate.set()
    trainer.wait(5)
    assert trainer.done and not trainer.updating
    assert trainer.session.counters.env_steps >= 4 and ("pause", True) in hooks.calls
    assert (tmp_path / "checkpoint.pt").is_file()


def test_missing_actions_end_a_terminal_episode_after_the_stall_timeout(
    tmp_path, fake_clock
) -> None:
    algo = FakeAlgorithm()
    trainer, hooks = _trainer(tmp_path, algo, clock=fake_clock)
    trainer.on_observation(0, 0, _state(0.0))
    trainer.on_observation(1, 0, _state(0.9))  # terminal, but no action ever pairs it
    trainer.poll()
    assert hooks.calls == []
    fake_clock.advance(0.1)  # past the 0.05 s stall timeout
    trainer.poll()
    assert hooks.calls == ["reset"] and hooks.grants == []


def test_a_first_step_waits_for_its_action_however_long(tmp_path, fake_clock) -> None:
    algo = FakeAlgorithm()
    trainer, hooks = _trainer(tmp_path, algo, clock=fake_clock)
    trainer.on_observation(0, 0, _state(0.0))
    fake_clock.advance(0.1)  # past the 0.05 s stall timeout
    trainer.poll()
    assert hooks.grants == []  # the action topic may still be matching: no transition lost
    trainer.on_action(_act(0))
    assert hooks.grants == [(0, 0, 0)]


def test_a_missed_action_is_granted_past_after_the_stall_timeout(tmp_path, fake_clock) -> None:
    algo = FakeAlgorithm()
    trainer, hooks = _trainer(tmp_path, algo, clock=fake_clock)
    trainer.on_observation(0, 0, _state(0.0))
    trainer.on_observation(1, 0, _state(0.1))  # the bridge held the last action: no message
    fake_clock.advance(0.1)  # past the 0.05 s stall timeout
    trainer.poll()
    assert hooks.grants[-1] == (1, 0, 0) and hooks.calls == []
    trainer.on_action(_act(1))
    trainer.on_observation(2, 0, _state(0.2))
    assert hooks.grants[-1] == (2, 0, 0)  # (0 -> 1) is lost, (1 -> 2) is paired


def test_restart_replays_transitions_recorded_after_the_checkpoint(tmp_path) -> None:
    config = TrainConfig(
        algo="ppo",
        task="soft_wall_cartpole",
        run_dir=str(tmp_path),
        total_steps=10_000,
        algo_config={"n_steps": 256, "hidden": [8]},
    )
    trainer, resumed = build_graph_trainer(config)
    assert not resumed
    trainer.start()  # writes the initial checkpoint
    for k in range(11):
        trainer.on_observation(k, 0, _state(0.01 * k))
        trainer.on_action(_act(k))
    assert trainer.algorithm.storage.step == 9  # 10 transitions, the newest held back
    trainer.log.close()
    again, resumed = build_graph_trainer(config)  # e.g. after a crash of the trainer node
    assert resumed
    again.start()
    assert again.algorithm.storage.step == 9
    assert again.session.counters.env_steps == 9
    np.testing.assert_allclose(again.algorithm.storage.obs[:9], trainer.algorithm.storage.obs[:9])
    with pytest.raises(ValueError, match="already holds a checkpoint"):
        build_graph_trainer(config, resume=False)


def test_checkpoint_every_counts_env_steps_as_the_in_process_runner(tmp_path) -> None:
    """checkpoint_every=4 with an update every 2 steps: the updates at steps 4 and 8 write
    the checkpoint (a run folder resumed by `rl-control train` keeps the same unit)."""
    from rl_control.training.checkpoint import load_checkpoint

    algo = FakeAlgorithm(batch=2)
    trainer, _ = _trainer(tmp_path, algo, checkpoint_every=4)
    saved = []
    for k in range(16):  # (the transition straddling each update is dropped as stale)
        trainer.on_observation(k, 0, _state(0.0))
        trainer.on_action(_act(k, version=algo.policy_version))
        trainer.wait(5)
        path = tmp_path / "checkpoint.pt"
        steps = load_checkpoint(path)["env_steps"] if path.is_file() else None
        if steps is not None and steps not in saved:
            saved.append(steps)
    assert trainer.session.counters.updates == 4 and saved == [4, 8]


def _lock_step_bridge(trainer: GraphTrainer, hooks: Hooks, steps: int) -> int:
    """Step as a lock-step bridge does, only into granted steps; returns the last step."""
    for k in range(steps):
        trainer.on_observation(k, 0, _state(0.0))
        trainer.on_action(_act(k))
        if not hooks.grants or hooks.grants[-1][0] != k:
            return k
    return steps


def test_off_policy_grants_count_steps_queued_behind_an_update_against_the_budget(
    tmp_path,
) -> None:
    """A long off-policy update (M-DeMoRL's refit) must not let the bridge run past the
    budget: the queued steps count, and the run ends with exactly the budget recorded."""
    algo = FakeAlgorithm(on_policy=False, batch=2)
    algo.gate.clear()
    trainer, hooks = _trainer(tmp_path, algo, total=6)
    last = _lock_step_bridge(trainer, hooks, 50)
    assert trainer.updating and last == 7, last  # 2 recorded + 4 queued: step 7 not granted
    algo.gate.set()
    trainer.wait(5)
    assert trainer.done and trainer.session.counters.env_steps == 6
    assert ("pause", True) in hooks.calls


def test_recording_the_queue_after_an_update_never_overlaps_the_next_update(tmp_path) -> None:
    class Overlap(FakeAlgorithm):
        """Notes every record() that comes while update() runs."""

        def __init__(self) -> None:
            super().__init__(on_policy=False, batch=2)
            self.in_update, self.overlaps = False, 0

        def record(self, *args):
            self.overlaps += self.in_update
            super().record(*args)

        def update(self):
            self.in_update = True
            self.gate.wait(10)
            time.sleep(0.05)  # a queued record() arriving now would overlap
            self.in_update = False
            return super().update()

    algo = Overlap()
    algo.gate.clear()
    trainer, hooks = _trainer(tmp_path, algo, total=100)
    _lock_step_bridge(trainer, hooks, 12)  # the first update holds 9 steps in the queue
    algo.gate.set()
    trainer.wait(5)  # the whole queue is recorded, then one update runs
    assert algo.overlaps == 0 and trainer.session.counters.updates == 2
    assert trainer.session.counters.env_steps == 10  # (10 -> 11) is still held back
