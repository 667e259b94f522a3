"""The policy node's logic: act on observations, tag actions, hot-swap verified updates.

Parameter updates travel as bytes with a sha256 checksum. A verified update waits until the
next episode boundary (a new episode number, or the very first policy), so an episode is
always run by one policy version; stale observations are refused and counted (``max_age``
0: never, for lock-step training, where the bridge applies actions to its current step
only and the shared /clock of several workers' bridges says nothing about staleness). In
training
(``swap_mid_episode``) an update is swapped in at once and the current observation acted on
again: the gated bridge waits for an action of the new version, as in-process PPO would go
on with the episode after its update.
"""

from __future__ import annotations

import hashlib
import io
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from rl_control.policies.base import Policy
from rl_control.policies.numpy_actor import NumpyGaussianActor, numpy_actor
from rl_control.training.checkpoint import policy_from_record, policy_record

#: payload of PolicyUpdate.data: torch.save of {kind, config, state}, loaded weights-only
UPDATE_FORMAT = "rl_control.policy_record/torch-v1"


@dataclass
class PolicyUpdate:
    """What rl_control_msgs/PolicyUpdate carries."""

    version: int
    format: str
    checksum: str
    data: bytes


def serialize_policy(
    policy: Policy, version: int, task: str = "", task_params: dict[str, Any] | None = None,
    uniform_actions: bool = False,
) -> PolicyUpdate:  # fmt: skip
    """Pack ``policy`` as an update for ``version`` (bytes + sha256 hex checksum).

    ``task`` (and its parameters) travel along so a policy node knows how to turn the
    estimated state into the policy's observation without being told separately;
    ``uniform_actions``: the algorithm explores uniformly in the action bounds for now (an
    off-policy warm-up), so the node does too, as the in-process runner would.
    """
    buffer = io.BytesIO()
    record = policy_record(policy)
    record.update(task=str(task), task_params=dict(task_params or {}),
                  uniform_actions=bool(uniform_actions))  # fmt: skip
    torch.save(record, buffer)
    data = buffer.getvalue()
    return PolicyUpdate(int(version), UPDATE_FORMAT, hashlib.sha256(data).hexdigest(), data)


def verify_update(update: PolicyUpdate) -> None:
    """Raise ValueError if the update's format is unknown or its checksum does not match."""
    if update.format != UPDATE_FORMAT:
        raise ValueError(f"policy update format {update.format!r} is not {UPDATE_FORMAT!r}")
    digest = hashlib.sha256(bytes(update.data)).hexdigest()
    if digest != update.checksum:
        raise ValueError(
            f"policy update v{update.version}: checksum mismatch ({digest[:12]} != "
            f"{update.checksum[:12]})"
        )


def read_update(update: PolicyUpdate) -> dict[str, Any]:
    """Verify an update and return its record (weights-only unpickling: no code runs)."""
    verify_update(update)
    try:
        record = torch.load(io.BytesIO(bytes(update.data)), map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises several types for a bad payload
        raise ValueError(f"policy update v{update.version} is unreadable: {err}") from None
    if not isinstance(record, dict):
        raise ValueError(f"policy update v{update.version} holds no policy record")
    return record


def deserialize_policy(update: PolicyUpdate) -> Policy:
    """Verify and rebuild the policy of an update."""
    return policy_from_record(read_update(update))


def task_observation(task: str, params: dict[str, Any] | None) -> Callable | None:
    """The task's state -> observation function (None for no task)."""
    if not task:
        return None
    from rl_control.tasks.registry import make_task

    return make_task(task, params).observation


@dataclass
class ActionResult:
    """What the policy node publishes for one observation."""

    step: int
    episode: int
    policy_version: int
    action: np.ndarray
    mean: np.ndarray
    log_prob: float
    solve_time: float
    info: dict[str, Any] = field(default_factory=dict)


class PolicyServer:
    """Acts with the current policy; swaps in pending updates only between episodes."""

    def __init__(
        self,
        policy: Policy | None = None,
        version: int = 0,
        deterministic: bool = False,
        max_age: float = 0.5,
        observe: Callable[[np.ndarray], np.ndarray] | None = None,
        swap_mid_episode: bool = False,
        seed: int | None = None,
        timer: Callable[[], float] = time.perf_counter,
        numpy_forward: bool = False,
    ) -> None:
        """``timer`` measures each action's solve time (seconds); ``numpy_forward`` acts
        with a numpy copy of small Gaussian MLP policies (:mod:`~rl_control.policies.
        numpy_actor`: the same actions to float32 rounding, no value head)."""
        if not max_age >= 0:
            raise ValueError(f"max observation age must be >= 0 s (0: no check), got {max_age}")
        self.policy, self.version = policy, int(version)
        self.deterministic, self.max_age = bool(deterministic), float(max_age)
        self.observe, self.swap_mid_episode = observe, bool(swap_mid_episode)
        self.seed, self.timer = seed, timer
        self._observe_given = observe is not None  # else the updates' task decides
        self.numpy_forward = bool(numpy_forward)
        # (policy, what acts for it): rebuilt whenever another policy object is in place
        self._actor: tuple[Policy | None, Policy | NumpyGaussianActor | None] = (None, None)
        self.pending: PolicyUpdate | None = None
        self.uniform = False  # the current update's uniform_actions (see serialize_policy)
        self.stale_observations = 0
        self.rejected_updates = 0
        self.swaps = 0
        self._episode: int | None = None
        self._last: ActionResult | None = None
        self._last_obs: tuple[int, int, np.ndarray, float] | None = None

    def offer(self, update: PolicyUpdate) -> bool:
        """Queue a verified update newer than what runs or waits; False (counted) otherwise."""
        newest = self.pending.version if self.pending is not None else self.version
        if self.policy is not None and update.version <= newest:
            self.rejected_updates += 1
            return False
        try:
            verify_update(update)
        except ValueError:
            self.rejected_updates += 1
            return False
        self.pending = update
        if self.policy is None or self.swap_mid_episode:
            self._swap()  # nothing to keep consistent yet, or the trainer waits for it
        return True

    def _swap(self) -> None:
        update, self.pending = self.pending, None
        try:
            record = read_update(update)
            policy = policy_from_record(record)
            observe = task_observation(record.get("task", ""), record.get("task_params"))
        except ValueError:
            self.rejected_updates += 1
            return
        if not self._observe_given:
            self.observe = observe
        # a warm-up draws in the bounds; only bounded policies have them (SAC's actor)
        self.uniform = bool(record.get("uniform_actions")) and hasattr(policy, "uniform_act")
        self.policy, self.version = policy, update.version
        if self.seed is None:
            self._reseed(policy, None)
        policy.reset()
        self.swaps += 1

    def actor(self) -> Policy | NumpyGaussianActor | None:
        """What acts for the current policy: its numpy forward when enabled and supported
        (a snapshot of the weights, taken once per policy object), else the policy."""
        policy, actor = self._actor
        if policy is not self.policy:
            fast = numpy_actor(self.policy) if self.numpy_forward else None
            actor = self.policy if fast is None else fast
            self._actor = (self.policy, actor)
        return actor

    def _reseed(self, policy: Policy, key: tuple[int, int] | None) -> None:
        """Seeded: the noise of the action for (episode, step) = ``key`` is drawn from
        (seed, version, episode, step) alone, so it never depends on how many actions the
        node computed before (a step acted on again after a swap, an update that arrives
        before or after an observation): same seed, same actions, whatever the timing.
        Unseeded: a fresh random stream per version (``key`` None)."""
        generator = getattr(policy, "generator", None)
        if not isinstance(generator, torch.Generator):
            return
        if self.seed is None:
            generator.seed()
            return
        # hashed, so that neighbouring steps do not seed the generator with neighbouring ints
        parts = struct.pack("<4q", int(self.seed), self.version, *key)
        digest = hashlib.blake2b(parts, digest_size=8).digest()
        generator.manual_seed(int.from_bytes(digest, "little") >> 1)

    def act(
        self, step: int, episode: int, state: np.ndarray, stamp: float, now: float
    ) -> ActionResult | None:
        """Action for observation (step, episode, state) stamped ``stamp``, at time ``now``.

        None when there is no policy yet or the observation is older than ``max_age``.
        A repeated step (a re-published observation) gets the same action again.
        """
        if self.max_age > 0 and now - stamp > self.max_age:
            self.stale_observations += 1
            return None
        self._last_obs = (int(step), int(episode), state, stamp)
        last = self._last
        if (
            last is not None and last.step == step and last.episode == episode
            and last.policy_version == self.version
        ):  # fmt: skip
            return last
        if episode != self._episode:
            if self.pending is not None:
                self._swap()
            if self.policy is not None:
                self.policy.reset()
            self._episode = episode
        if self.policy is None:
            return None
        obs = np.asarray(state if self.observe is None else self.observe(state), np.float64)
        if self.seed is not None and not self.deterministic:
            self._reseed(self.policy, (int(episode), int(step)))
        start = self.timer()
        if self.uniform and not self.deterministic:
            out = self.policy.uniform_act(1)
        else:
            out = self.actor().act(obs[None], deterministic=self.deterministic)
        solve_time = self.timer() - start
        action = out.mean if self.deterministic else out.action
        info = {k: np.asarray(v)[0] for k, v in out.info.items() if np.ndim(v) > 0}
        self._last = ActionResult(
            int(step), int(episode), self.version, np.asarray(action[0], np.float64),
            np.asarray(out.mean[0], np.float64), float(out.log_prob[0]), solve_time, info,
        )  # fmt: skip
        return self._last

    @property
    def last_stamp(self) -> float | None:
        """Stamp of the newest observation acted on (None before the first)."""
        return None if self._last_obs is None else self._last_obs[3]

    def act_again(self, now: float) -> ActionResult | None:
        """After a mid-episode swap: the newest observation's action from the new version."""
        if self._last_obs is None or (self._last and self._last.policy_version == self.version):
            return None
        return self.act(*self._last_obs, now)
