"""A graph trainer (the ROS-free role over its real run folder) fed by an emulated lock-step
bridge, run as its own process so a test can SIGKILL it and start it again with resume.

    python test/roles/trainer_kill_driver.py RUN_DIR ALGO TOTAL_STEPS [KILL_AT [WHEN]]

The bridge steps only on the trainer's grant (re-offering its step meanwhile, and acting
again for a newer policy when the grant asks for one) and resets on its reset request; it
survives the trainer in ``RUN_DIR/bridge.txt`` (one ``episode step`` line per observation it
published, written before publishing), as a real bridge outlives a killed trainer. Each
checkpoint written appends its env steps to ``RUN_DIR/saves.txt``, and ``RUN_DIR/
dropped.txt`` follows the trainer's count of stale transitions (on-policy: the one held
back when the rollout filled was acted on by the old policy; dropped by design). After
every step the driver checks that nothing went missing: produced = recorded + pending +
dropped (exit 3 if not). After start-up it writes ``RUN_DIR/started.json``: the
transitions the trainer holds (recorded plus pending) and how many it took back from the
journal. With KILL_AT it SIGKILLs itself once
the bridge has produced that many transitions and WHEN holds: ``any``, ``pending`` (a
transition waits in a backlog beside the held one: an off-policy update is running) or
``updating`` (an update, maybe writing its checkpoint, is running in the worker thread).
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from pathlib import Path

import numpy as np

import rl_control.roles.trainer_learning as learning
from rl_control.roles.session import build_graph_trainer
from rl_control.roles.trainer import ActionIn, TrainerHooks
from rl_control.training.config import TrainConfig

ALGO_CONFIG = {
    "ppo": {"n_steps": 64, "hidden": [8], "n_epochs": 2},
    "sac": {"learning_starts": 64, "batch_size": 32, "hidden": [8], "buffer_size": 5000},
}


def config(run: Path, algo: str, total: int) -> TrainConfig:
    return TrainConfig(
        algo=algo, task="soft_wall_cartpole", run_dir=str(run), total_steps=total,
        checkpoint_every=100, seed=1, algo_config=ALGO_CONFIG[algo],
    )  # fmt: skip


def state(episode: int, step: int) -> np.ndarray:
    """The pole falls 0.03 rad a step (terminated past pi/4, at step 27); the cart's offset
    tells the episodes apart."""
    return np.array([0.001 * (episode % 100), 0.03 * step, 0.01 * step, 0.0])


def action(episode: int, step: int) -> np.ndarray:
    return np.random.default_rng(1000 * episode + step).normal(size=1)


def produced(run: Path) -> int:
    """Transitions the bridge has produced: its observations after a simulated step."""
    path = run / "bridge.txt"
    lines = path.read_text().split() if path.is_file() else []
    return sum(int(s) > 0 for s in lines[1::2])


def known(trainer) -> int:  # type: ignore[no-untyped-def]
    """Transitions the trainer has: recorded, plus pending (held back or in a backlog)."""
    pending = sum(len(lane.backlog) + (lane.held is not None) for lane in trainer.lanes)
    return trainer.recorded + pending


def main(run: Path, algo: str, total: int, kill_at: int = -1, when: str = "any") -> int:
    saves = run / "saves.txt"
    save = learning.save_checkpoint

    def counted_save(path, algorithm, meta) -> None:  # type: ignore[no-untyped-def]
        save(path, algorithm, meta)
        with saves.open("a") as f:
            f.write(f"{meta['env_steps']}\n")

    learning.save_checkpoint = counted_save
    grants: set[tuple[int, int]] = set()
    versions: dict[tuple[int, int], int] = {}  # (step, episode) granted -> min version
    resets: list[int] = []
    policy = [0]  # the policy node acts with the newest version the trainer published
    hooks = TrainerHooks(
        request_reset=lambda w: resets.append(w),
        publish_update=lambda u: policy.append(u.version),
        grant=lambda w, s, e, v: (grants.add((s, e)), versions.__setitem__((s, e), v)),
    )
    trainer, _ = build_graph_trainer(config(run, algo, total), hooks, resume=True)
    run.mkdir(parents=True, exist_ok=True)
    trainer.start()
    (run / "started.json").write_text(json.dumps({
        "known": known(trainer), "recorded": trainer.recorded,
        "restored": trainer.restored, "produced": produced(run),
    }))  # fmt: skip
    dropped_file = run / "dropped.txt"
    old = dropped_file.read_text().split() if dropped_file.is_file() else []
    base = int(old[-1]) if old else 0  # dropped before a kill (the count is not persisted)
    dropped = dropped_file.open("a")
    last_dropped = 0
    bridge = (run / "bridge.txt").open("a")
    lines = (run / "bridge.txt").read_text().split()
    episode, step = (int(lines[-2]), int(lines[-1])) if lines else (0, 0)
    acted: dict[tuple[int, int], int] = {}  # (step, episode) -> version of the action sent

    def publish(new: bool) -> None:
        if new:  # the bridge's own record first: it outlives the trainer
            bridge.write(f"{episode} {step}\n")
            bridge.flush()
        trainer.on_observation(step, episode, state(episode, step))
        act(policy[-1])

    def act(version: int) -> None:
        acted[step, episode] = version
        trainer.on_action(ActionIn(step, episode, version, action(episode, step), -1.0))

    publish(not lines)
    count, offered = produced(run), time.monotonic()
    while not trainer.done:
        trainer.poll()
        if trainer.dropped_stale != last_dropped:
            last_dropped = trainer.dropped_stale
            dropped.write(f"{base + last_dropped}\n")
            dropped.flush()
        if resets:
            resets.clear()
            episode, step = episode + 1, 0
            publish(True)
        elif (step, episode) in grants:
            if acted[step, episode] < versions[step, episode]:  # acts again for the new one
                act(policy[-1])
                continue
            step += 1
            publish(True)
            count += 1
            if count != known(trainer) + base + trainer.dropped_stale:
                print(f"lost: {count} produced, {known(trainer)} known, "
                      f"{base + trainer.dropped_stale} dropped", file=sys.stderr)  # fmt: skip
                return 3
        elif time.monotonic() - offered > 0.2:  # re-offer, as a waiting bridge does
            offered = time.monotonic()
            publish(False)
        else:
            time.sleep(0.0005)
            continue
        if 0 <= kill_at <= count and _kill_now(trainer, when, count - kill_at):
            os.kill(os.getpid(), signal.SIGKILL)
    trainer.wait()
    trainer.session.close()
    trainer.log.close()
    return 0


def _kill_now(trainer, when: str, late: int) -> bool:  # type: ignore[no-untyped-def]
    if when == "any" or late > 300:  # never hang on a condition the run does not meet
        return True
    if when == "updating":
        return trainer.updating
    lane = trainer.lanes[0]
    return len(lane.backlog) > 0 and lane.held is not None


if __name__ == "__main__":
    args = sys.argv[1:]
    sys.exit(main(Path(args[0]), args[1], int(args[2]), *[int(a) for a in args[3:4]], *args[4:5]))
