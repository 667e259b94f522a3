"""The policy node's logic around a :class:`PolicyServer`: act on observations, take policy
updates (acting again after a mid-episode swap), give up when no policy comes in time."""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from rl_control.roles.policy_server import (
    ActionResult,
    PolicyServer,
    PolicyUpdate,
    task_observation,
)


def _ignore(_: str) -> None:
    return None


def build_policy_server(
    checkpoint: str = "",
    task: str = "",
    deterministic: bool = False,
    max_observation_age: float = 0.1,
    swap_mid_episode: bool = False,
    seed: int = -1,
) -> PolicyServer:
    """A server acting with ``checkpoint``'s policy, or waiting for the first update when it
    is empty. ``task`` maps states to observations (empty: the checkpoint's or the updates'
    task); ``seed`` < 0 leaves sampling unseeded."""
    observe = task_observation(task, {}) if task else None
    policy = None
    if checkpoint:
        from rl_control.training.checkpoint import load_checkpoint, policy_from_record

        record = load_checkpoint(checkpoint)
        policy = policy_from_record(record["policy"])
        if observe is None:  # the checkpoint knows the task it was trained on
            observe = task_observation(record.get("task", ""), record.get("env"))
    return PolicyServer(
        policy, 0, deterministic, max_observation_age, observe,
        swap_mid_episode=swap_mid_episode, seed=int(seed) if int(seed) >= 0 else None,
    )  # fmt: skip


class PolicyRole:
    """What the policy node does with each input: the actions it returns are published."""

    def __init__(
        self,
        server: PolicyServer,
        wait_timeout: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        log: Callable[[str], None] = _ignore,
        warn: Callable[[str], None] = _ignore,
        error: Callable[[str], None] = _ignore,
    ) -> None:
        self.server = server
        self.wait_timeout, self.clock = float(wait_timeout), clock
        self.log, self.warn, self.error = log, warn, error
        self._waiting_since = clock()

    def on_observation(
        self, step: int, episode: int, state: np.ndarray, stamp: float, now: float
    ) -> ActionResult | None:
        """The action for an observation stamped ``stamp``, at (node) time ``now``; None
        when there is none to publish (no policy yet, stale, or unfit: logged)."""
        try:
            return self.server.act(step, episode, state, stamp, now)
        except ValueError as err:  # e.g. an observation that does not fit the policy
            self.error(f"cannot act on step {step}: {err}")
            return None

    def on_update(self, update: PolicyUpdate, now: float) -> ActionResult | None:
        """Take a policy update. In training a swapped-in one acts again on the newest
        observation: that action is returned, to publish stamped :attr:`last_stamp`."""
        server = self.server
        if not server.offer(update):
            self.warn(
                f"policy update v{update.version} rejected ({server.rejected_updates} so far)"
            )
            return None
        self.log(f"policy v{update.version} received ({len(update.data)} bytes)")
        if server.swap_mid_episode and server.last_stamp is not None:
            return server.act_again(now)
        return None

    @property
    def last_stamp(self) -> float | None:
        """Stamp of the newest observation acted on."""
        return self.server.last_stamp

    def tick(self) -> int | None:
        """1 (the node's exit code) once ``wait_timeout`` passed without any policy."""
        if self.server.policy is None and self.clock() - self._waiting_since > self.wait_timeout:
            self.error(f"no policy after {self.wait_timeout} s (no checkpoint, no update)")
            return 1
        return None

    def close(self) -> None:
        """Say what was skipped (at shut-down)."""
        if self.server.stale_observations:
            self.log(f"{self.server.stale_observations} stale observations skipped")
