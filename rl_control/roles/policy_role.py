"""The policy node's logic around a :class:`PolicyServer`: act on observations, take policy
updates (acting again after a mid-episode swap), give up when no policy comes in time, hold
or replace an action whose solve missed its deadline, and say how it goes (a status line and
the update lines, both throttled on the injected clock)."""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from rl_control.roles.policy_server import (
    ActionResult,
    PolicyServer,
    PolicyUpdate,
    task_observation,
)

#: what a solve slower than its deadline leads to: nothing published (the bridge keeps
#: applying the last action), a zero action, or the late action all the same
DEADLINE_MISS_MODES = ("hold", "zero", "publish_late")


def _ignore(_: str) -> None:
    return None


def control_period(checkpoint: str = "", task: str = "") -> float | None:
    """The control period (s) of ``task``, else of the checkpoint's task; None if neither
    names one (a training node learns its task from the updates)."""
    from rl_control.tasks.registry import make_task

    params = None
    if not task and checkpoint:
        from rl_control.training.checkpoint import is_onnx, load_checkpoint

        if is_onnx(checkpoint):  # the export's period (its robot's, when exported with one)
            from rl_control.policies.onnx_policy import read_sidecar

            period = read_sidecar(Path(checkpoint)).get("control_period")
            return None if period is None else float(period)
        record = load_checkpoint(checkpoint)
        task, params = record.get("task", ""), record.get("env")
    return float(make_task(task, params).dt) if task else None


def check_deadline_mode(mode: str) -> str:
    """``mode`` if it is one of :data:`DEADLINE_MISS_MODES`, else a ValueError naming them."""
    if mode not in DEADLINE_MISS_MODES:
        raise ValueError(f"on_deadline_miss {mode!r} is not one of {list(DEADLINE_MISS_MODES)}")
    return mode


def build_policy_server(
    checkpoint: str = "",
    task: str = "",
    deterministic: bool = False,
    max_observation_age: float = 0.1,
    swap_mid_episode: bool = False,
    seed: int = -1,
    numpy_forward: bool = False,
) -> PolicyServer:
    """A server acting with ``checkpoint``'s policy, or waiting for the first update when it
    is empty. ``task`` maps states to observations (empty: the checkpoint's or the updates'
    task); ``seed`` < 0 leaves sampling unseeded."""
    observe = task_observation(task, {}) if task else None
    policy = None
    if checkpoint:
        from rl_control.policies.onnx_policy import OnnxPolicy
        from rl_control.training.checkpoint import load_deployment

        policy, trained_on, params = load_deployment(checkpoint)
        if isinstance(policy, OnnxPolicy) and not deterministic:
            raise ValueError(
                f"checkpoint {checkpoint} is an ONNX export (mean action only): set "
                f"deterministic:=true"
            )
        if observe is None:  # the checkpoint knows the task it was trained on
            observe = task_observation(trained_on, params)
    return PolicyServer(
        policy, 0, deterministic, max_observation_age, observe,
        swap_mid_episode=swap_mid_episode, seed=int(seed) if int(seed) >= 0 else None,
        numpy_forward=numpy_forward,
    )  # fmt: skip


class StatusLine:
    """Counts actions and episodes; :meth:`due` gives a line at most every ``period`` s:
    actions/s, episodes, the last finished episode's length, the worst solve, deadline
    misses (the numbers since the previous line, but for the totals of episodes and misses)."""

    def __init__(self, clock: Callable[[], float], period: float = 5.0) -> None:
        self.clock, self.period = clock, float(period)
        self.episodes, self.last_length, self.misses = 0, 0, 0
        self._since, self._actions, self._worst = clock(), 0, 0.0
        self._episode: int | None = None
        self._length = 0

    def count(self, result: ActionResult, solve: float, missed: bool) -> None:
        """One action acted on (``solve`` s, ``missed`` its deadline)."""
        if result.episode != self._episode:
            if self._episode is not None:
                self.last_length = self._length
            self._episode, self._length = result.episode, 0
            self.episodes += 1
        self._length += 1
        self._actions += 1
        self._worst = max(self._worst, solve)
        self.misses += int(missed)

    def due(self) -> str | None:
        """The line when ``period`` has passed since the previous one (0: never)."""
        now = self.clock()
        elapsed = now - self._since
        if self.period <= 0 or elapsed < self.period:
            return None
        line = (
            f"{self._actions / elapsed:.0f} actions/s, {self.episodes} episodes, last episode "
            f"{self.last_length} steps, worst solve {1000 * self._worst:.1f} ms, "
            f"{self.misses} deadline misses"
        )
        self._since, self._actions, self._worst = now, 0, 0.0
        return line


class PolicyRole:
    """What the policy node does with each input: the actions it returns are published.

    A fresh action whose solve took longer than ``deadline`` s (of ``clock``; None: no
    deadline) is counted as a miss and handled as ``on_deadline_miss`` says
    (:data:`DEADLINE_MISS_MODES`).
    """

    def __init__(
        self,
        server: PolicyServer,
        wait_timeout: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        log: Callable[[str], None] = _ignore,
        warn: Callable[[str], None] = _ignore,
        error: Callable[[str], None] = _ignore,
        deadline: float | None = None,
        on_deadline_miss: str = "publish_late",
        status_period: float = 5.0,
        update_log_period: float = 1.0,
    ) -> None:
        self.server = server
        self.wait_timeout, self.clock = float(wait_timeout), clock
        self.log, self.warn, self.error = log, warn, error
        if deadline is not None and not deadline > 0:
            raise ValueError(f"deadline must be > 0 s (or None: no deadline), got {deadline}")
        self.deadline, self.on_deadline_miss = deadline, check_deadline_mode(on_deadline_miss)
        self.status = StatusLine(clock, status_period)
        self.update_log_period = float(update_log_period)
        self._waiting_since = clock()
        self._update_logged_at = -math.inf
        self._updates_unlogged = 0
        self._last_acted: ActionResult | None = None  # the server's newest action
        self._last_out: ActionResult | None = None  # and what was published for it

    @property
    def deadline_misses(self) -> int:
        """Fresh actions whose solve took longer than the deadline, so far."""
        return self.status.misses

    def on_observation(
        self, step: int, episode: int, state: np.ndarray, stamp: float, now: float
    ) -> ActionResult | None:
        """The action for an observation stamped ``stamp``, at (node) time ``now``; None
        when there is none to publish (no policy yet, stale, unfit: logged; or a missed
        deadline held)."""
        start = self.clock()
        try:
            result = self.server.act(step, episode, state, stamp, now)
        except ValueError as err:  # e.g. an observation that does not fit the policy
            self.error(f"cannot act on step {step}: {err}")
            return None
        return self._timed(result, self.clock() - start)

    def _timed(self, result: ActionResult | None, solve: float) -> ActionResult | None:
        """Count a fresh action and apply the deadline to it (a repeated one passes)."""
        if result is None:
            return None
        if result is self._last_acted:  # a re-published step: what it got the first time
            return self._last_out
        self._last_acted = result
        missed = self.deadline is not None and solve > self.deadline
        self.status.count(result, solve, missed)
        out: ActionResult | None = result
        if missed and self.on_deadline_miss == "hold":
            out = None
        elif missed and self.on_deadline_miss == "zero":
            zero = np.zeros_like(result.action)
            out = dataclasses.replace(result, action=zero, mean=zero)
        self._last_out = out
        return out

    def on_update(self, update: PolicyUpdate, now: float) -> ActionResult | None:
        """Take a policy update. In training a swapped-in one acts again on the newest
        observation: that action is returned, to publish stamped :attr:`last_stamp`."""
        server = self.server
        if not server.offer(update):
            self.warn(
                f"policy update v{update.version} rejected ({server.rejected_updates} so far)"
            )
            return None
        self._log_update(update)
        if server.swap_mid_episode and server.last_stamp is not None:
            start = self.clock()
            result = server.act_again(now)
            return self._timed(result, self.clock() - start)
        return None

    def _log_update(self, update: PolicyUpdate) -> None:
        """One line per ``update_log_period`` s at most (SAC updates every few steps)."""
        now = self.clock()
        if now - self._update_logged_at < self.update_log_period:
            self._updates_unlogged += 1
            return
        skipped, self._updates_unlogged = self._updates_unlogged, 0
        more = f"; {skipped} more since the last line" if skipped else ""
        self.log(f"policy v{update.version} received ({len(update.data)} bytes{more})")
        self._update_logged_at = now

    @property
    def last_stamp(self) -> float | None:
        """Stamp of the newest observation acted on."""
        return self.server.last_stamp

    def tick(self) -> int | None:
        """1 (the node's exit code) once ``wait_timeout`` passed without any policy; logs the
        status line when it is due."""
        if self.server.policy is None and self.clock() - self._waiting_since > self.wait_timeout:
            self.error(f"no policy after {self.wait_timeout} s (no checkpoint, no update)")
            return 1
        line = self.status.due()
        if line is not None:
            self.log(line)
        return None

    def close(self) -> None:
        """Say what was skipped (at shut-down)."""
        if self.server.stale_observations:
            self.log(f"{self.server.stale_observations} stale observations skipped")


def policy_role_from_params(
    p: dict[str, Any],
    clock: Callable[[], float] = time.monotonic,
    log: Callable[[str], None] = _ignore,
    warn: Callable[[str], None] = _ignore,
    error: Callable[[str], None] = _ignore,
) -> PolicyRole:
    """The role for policy_node's declared parameters ``p`` (roles/params.py POLICY_NODE),
    the deadline 0 resolved to the task's control period; logs what it loaded."""
    server = build_policy_server(
        p["checkpoint"], p["task"], p["deterministic"], p["max_observation_age"],
        p["swap_mid_episode"], p["seed"], p["numpy_forward"],
    )  # fmt: skip
    deadline = p["deadline"]
    if deadline == 0:  # the task's control period (None: not known, no deadline)
        deadline = control_period(p["checkpoint"], p["task"])
    role = PolicyRole(
        server, p["policy_wait_timeout"], clock, log, warn, error,
        deadline if deadline is None or deadline > 0 else None, p["on_deadline_miss"],
        p["status_period"],
    )  # fmt: skip
    if p["checkpoint"]:
        limit = "none" if role.deadline is None else f"{role.deadline:g} s"
        log(
            f"loaded checkpoint {p['checkpoint']}; "
            f"{'mean' if p['deterministic'] else 'sampled'} actions, deadline {limit} "
            f"({p['on_deadline_miss']} on a miss)"
        )
    return role
