"""The trainer node's logic around a :class:`GraphTrainer`: its config from the node's
parameters, the bridge's reset/pause requests queued and made from the loop (never from a
callback, which would wait on the spin thread it blocks), a progress line at most once a
second of the injected clock (SAC updates every few steps), and a warning when observations
or actions stop arriving."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

from rl_control.roles.policy_server import PolicyUpdate
from rl_control.roles.session import build_graph_trainer, check_graph_task
from rl_control.roles.trainer import TrainerHooks
from rl_control.training.config import TrainConfig, load_config

#: (kind: "reset" | "pause", value, worker) -> the response's (success, message), or None
#: when there is none to read; TimeoutError when the bridge is silent
ServiceCall = Callable[[str, bool, int], "tuple[bool, str] | None"]

#: the trainer node's exit code when a bridge refused its reset (a fault or e-stop on real
#: legs): the run stopped before its budget, checkpointed and resumable
REFUSED = 3


def _ignore(_: str) -> None:
    return None


def trainer_config(
    config: str = "",
    algo: str = "ppo",
    task: str = "soft_wall_cartpole",
    seed: int = 0,
    run_dir: str = "",
    total_steps: int = 0,
    checkpoint_every: int = 0,
    workers: int = 1,
) -> TrainConfig:
    """The TrainConfig of ``config`` (empty: defaults) with the node's overrides; 0 for
    ``total_steps`` or ``checkpoint_every`` (env steps) keeps the config's value;
    ``workers`` (bridge groups) is the algorithm's number of parallel envs."""
    if int(workers) < 1:
        raise ValueError(f"workers must be >= 1, not {workers}")
    check_graph_task(task, algo)  # names first: the default config path is built from them
    overrides: dict[str, Any] = dict(algo=algo, task=task, seed=seed, run_dir=run_dir)
    overrides["num_envs"] = int(workers)
    if int(total_steps) > 0:
        overrides["total_steps"] = int(total_steps)
    if int(checkpoint_every) > 0:
        overrides["checkpoint_every"] = int(checkpoint_every)
    return load_config(config or None, overrides)


class ServiceQueue:
    """Reset and pause requests, collapsed and made by :meth:`flush`: one reset per worker
    for any number asked, the last pause state wins (paused: every worker). A refused reset
    (a hardware bridge after a fault or e-stop: the operator must home) is kept in
    :attr:`refused`, the reason the run stops."""

    def __init__(
        self, call: ServiceCall, timeout: float, warn: Callable[[str], None], workers: int = 1
    ) -> None:
        self.call, self.timeout, self.warn = call, float(timeout), warn
        self.workers = int(workers)
        self._resets: list[int] = []
        self._pauses: list[bool] = []
        self.refused = ""  # the first refused reset: who and why

    def request_reset(self, worker: int = 0) -> None:
        self._resets.append(int(worker))

    def set_paused(self, paused: bool = True) -> None:
        self._pauses.append(bool(paused))

    def flush(self) -> None:
        resets, self._resets = sorted(set(self._resets)), []
        pauses, self._pauses = self._pauses, []
        for worker in resets:
            self._call("reset", True, worker)
        if pauses:
            for worker in range(self.workers):
                self._call("pause", pauses[-1], worker)

    def _call(self, kind: str, value: bool, worker: int) -> None:
        who = f"worker {worker} " if self.workers > 1 else ""
        try:
            answer = self.call(kind, value, worker)
        except TimeoutError:  # the bridge may be respawning; its new episode starts anyway
            self.warn(f"{who}bridge {kind} service did not answer in {self.timeout} s")
            return
        if kind == "reset" and answer is not None and not answer[0] and not self.refused:
            self.refused = f"{who}bridge refused the reset: {answer[1]}"


class UpdateThrottle:
    """Off-policy updates (SAC: every few steps, ~270 KB each) go out at most every
    ``period`` s of the injected clock and only when the weights changed (checksum); the
    newest one held back is published by :meth:`flush` once due. On-policy, pass period 0
    and ``skip_unchanged`` False: the trainer's grants wait for every new version."""

    def __init__(
        self,
        publish: Callable[[PolicyUpdate], None],
        period: float,
        clock: Callable[[], float] = time.monotonic,
        skip_unchanged: bool = True,
    ) -> None:
        self.publish, self.period, self.clock = publish, float(period), clock
        self.skip_unchanged = skip_unchanged
        self.published = self.skipped = 0  # updates sent; updates never sent (superseded)
        self._pending: PolicyUpdate | None = None
        self._sent_at = -math.inf
        self._sent_checksum: str | None = None

    def __call__(self, update: PolicyUpdate) -> None:
        if self._pending is not None:
            self.skipped += 1  # superseded before it was due
        self._pending = None
        if self.skip_unchanged and update.checksum == self._sent_checksum:
            self.skipped += 1
            return
        self._pending = update
        self.flush()

    def flush(self) -> None:
        """Publish the held update if the period since the last one has passed."""
        update = self._pending
        if update is None or self.clock() - self._sent_at < self.period:
            return
        self._pending, self._sent_at, self._sent_checksum = None, self.clock(), update.checksum
        self.published += 1
        self.publish(update)


class ProgressLog:
    """Logs a row's progress at most every ``period`` s (always the last row); keeps the
    newest episode return across the rows it skips."""

    def __init__(
        self,
        total_steps: int,
        log: Callable[[str], None],
        clock: Callable[[], float] = time.monotonic,
        period: float = 1.0,
    ) -> None:
        self.total_steps, self.log, self.clock, self.period = total_steps, log, clock, period
        self._logged_at = -math.inf
        self._last_return = math.nan

    def __call__(self, row: dict[str, Any]) -> None:
        fresh = not math.isnan(row["train_return"])  # NaN: no episode ended since last row
        if fresh:
            self._last_return = row["train_return"]
        last = row["env_steps"] >= self.total_steps
        if self.clock() - self._logged_at < self.period and not last:
            return
        self._logged_at = self.clock()
        share = 100 * row["env_steps"] / self.total_steps
        ret = self._last_return
        ret_text = (
            "no episode ended yet" if math.isnan(ret)
            else f"return {ret:.1f}" if fresh else f"last return {ret:.1f}"
        )  # fmt: skip
        self.log(
            f"{row['env_steps']}/{self.total_steps} steps ({share:.0f}%), "
            f"policy v{row['policy_version']}, {ret_text}, {row['steps_per_s']:.0f} steps/s"
        )


class StallWarning:
    """Warns when no observation or no action arrived for ``after`` s (again every ``after``
    s while it lasts), naming the nodes that may be down, and says when traffic is back: a
    lost node that does not come back must not leave the run waiting without a word."""

    def __init__(
        self,
        warn: Callable[[str], None],
        log: Callable[[str], None],
        clock: Callable[[], float] = time.monotonic,
        after: float = 10.0,
    ) -> None:
        self.warn, self.log, self.clock, self.after = warn, log, clock, float(after)
        self._warned_at: float | None = None

    def __call__(self, last_observation: float, last_action: float, busy: bool) -> None:
        """Check the newest traffic times (``busy``: learning or done, silence expected)."""
        now = self.clock()
        silent = now - min(last_observation, last_action)
        if busy or silent < self.after:
            if self._warned_at is not None and not busy:
                self.log("observations and actions arrive again")
            self._warned_at = None
            return
        if self._warned_at is not None and now - self._warned_at < self.after:
            return
        self._warned_at = now
        if now - last_observation >= self.after:
            missing = "observation (is sim_bridge or state_estimator running?)"
        else:
            missing = "action (is policy_node running?)"
        self.warn(
            f"no {missing} for {silent:.0f} s; waiting (Ctrl-C keeps the run folder "
            f"resumable with resume:=true)"
        )


class TrainerRole:
    """Builds (or resumes) the graph trainer of ``config`` and runs it from the node's loop."""

    def __init__(
        self,
        config: TrainConfig,
        publish_update: Callable[[PolicyUpdate], None],
        publish_stats: Callable[[dict[str, Any]], None],
        grant: Callable[[int, int, int, int], None],
        call: ServiceCall,
        resume: bool = True,
        service_timeout: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
        log: Callable[[str], None] = _ignore,
        warn: Callable[[str], None] = _ignore,
        force_resume: bool = False,
        tensorboard: bool = True,
        update_period: float = 0.0,
        worker_timeout: float = 30.0,
    ) -> None:
        self.config, self.log, self.warn, self._publish_stats = config, log, warn, publish_stats
        self.services = ServiceQueue(call, service_timeout, warn, config.num_envs)
        self.progress = ProgressLog(config.total_steps, log, clock)
        self.stall = StallWarning(warn, log, clock)
        hooks = TrainerHooks(
            self.services.request_reset, self.services.set_paused, publish_update,
            self._stats, grant,
        )  # fmt: skip
        self.trainer, self.resumed = build_graph_trainer(
            config, hooks, resume=resume, force=force_resume, tensorboard=tensorboard
        )
        off_policy = not self.trainer.algorithm.on_policy
        self.updates = UpdateThrottle(
            publish_update, update_period if off_policy else 0.0, clock, off_policy
        )
        hooks.publish_update = self.updates
        hooks.worker_left = lambda k: warn(
            f"worker {k} sent nothing for {worker_timeout:g} s: its episode is cut and its "
            f"column mirrors another worker's until a worker {k} is back"
        )
        self.trainer.worker_timeout = float(worker_timeout)

    def _stats(self, row: dict[str, Any]) -> None:
        self._publish_stats(row)
        self.progress(row)

    def start(self) -> None:
        """Replay what a resumed run left and publish the first policy."""
        self.trainer.start()
        config = self.config
        self.log(
            f"{'resumed' if self.resumed else 'started'} {config.algo} on {config.task} at "
            f"step {self.trainer.session.counters.env_steps} in {config.run_dir}"
            + (f" ({self.trainer.restored} unrecorded transitions taken back from the journal)"
               if self.trainer.restored else "")
        )  # fmt: skip

    def tick(self) -> int | None:
        """Collect updates, make queued service calls; 0 (exit code) once the run is done,
        :data:`REFUSED` once a bridge refused a reset (:meth:`close` keeps the data)."""
        trainer = self.trainer
        if trainer.done:  # the pause asked at the end (hardware: hold home) goes out first
            self.services.flush()
        else:
            trainer.poll()
            self.updates.flush()
            self.services.flush()
            if self.services.refused:
                self.warn(f"stopping at step {trainer.session.counters.env_steps}: "
                          f"{self.services.refused}; the run folder {self.config.run_dir} "
                          "resumes with resume:=true once the robot is homed")  # fmt: skip
                return REFUSED
            busy = trainer.updating or trainer.done
            self.stall(trainer.last_observation_at, trainer.last_action_at, busy)
            if not trainer.done:
                return None
        self.log(f"done: {trainer.session.counters.env_steps} steps; run folder "
                 f"{self.config.run_dir}")  # fmt: skip
        return 0

    def close(self) -> None:
        """Shut down: an unfinished run keeps its work in a checkpoint; files are closed."""
        trainer = self.trainer
        if not trainer.done:
            trainer.wait()
            trainer.checkpoint()
        trainer.session.close()
        trainer.log.close()
        if trainer.journal is not None:
            trainer.journal.close()
