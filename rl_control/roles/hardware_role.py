"""The hardware bridge node's logic around a :class:`Ros2ControlRobot`: when to tick, what
to publish, and the operator's transitions.

Real legs are not lock-stepped: :meth:`HardwareBridgeRole.tick` runs one safety step per
control period of the injected clock (the robot publishes the command), then hands each
new measurement, policy order and frame, to the node for the estimator, tagged with a step
number (one per measurement) and an episode number (one per activation). Diagnostics go out
every ``diagnostics_period`` and at once after a safety event. With ``auto_home`` homing
starts on the first joint state; with ``auto_activate`` policy commands pass once homed and
a policy is sending (activating before that would only trip the watchdog).

Training on hardware: the trainer's ``reset`` (:meth:`HardwareBridgeRole.reset_episode`)
ends the episode and homes from the measured pose; the next episode starts (ACTIVE, a new
episode number on the readings) only once homing has finished, a policy is sending and the
measured state is inside the robot's safe set; until then the bridge holds the home pose
and the readings keep the old episode's number, which the trainer ignores. With a
:class:`~rl_control.roles.hardware_gate.TrainerGate` (``trainer_gate``) policy actions pass
only with the trainer's step grants, readings outside ACTIVE carry
:data:`~rl_control.robot.sensors.BETWEEN_EPISODES` (so a fault, an e-stop or a hold ends
the trainer's episode at once), and when no grant came for ``grant_timeout`` (an update, an
episode end) the episode ends: the bridge homes and holds home until the trainer's reset.
``pause`` (the trainer's end of the run) does the same. ``managed``: a lifecycle node
(:mod:`rl_control.roles.hardware_lifecycle`); nothing is sent unless configured.

``answer_on_arrival`` (the node's default): a joint state goes to the estimator as it arrives
(:meth:`HardwareBridgeRole.on_joint_state`, one per control period of robot stamps) and a
policy action that reaches the robot is commanded at once, the loop's next tick moved 1.5
periods on (a PD loop's: one of its periods); the timer then only runs the steps no action
came for: the watchdog, staleness, homing and the PD steps between actions. Without it the
loop's tick relays both, so each waits up to a period for the tick (the joint state ->
command latency of ``bench/control_latency.py``'s ``neural_tick`` rows).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from typing import Any

from rl_control.robot.ros2_control import Ros2ControlRobot
from rl_control.robot.safety import WARN, DiagnosticRecord, Mode
from rl_control.robot.sensors import BETWEEN_EPISODES, SensorReadings
from rl_control.roles.hardware_gate import TrainerGate
from rl_control.roles.hardware_lifecycle import BridgeLifecycle

#: (readings) -> None and (records) -> None: the node turns them into messages
PublishReadings = Callable[[SensorReadings], None]
PublishDiagnostics = Callable[[list[DiagnosticRecord]], None]


class HardwareBridgeRole:
    """Paces the robot's safety steps and the node's outputs on an injected clock."""

    def __init__(
        self,
        robot: Ros2ControlRobot,
        publish_readings: PublishReadings,
        publish_diagnostics: PublishDiagnostics,
        auto_home: bool = False,
        auto_activate: bool = False,
        diagnostics_period: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        trainer_gate: bool = False,
        grant_timeout: float = 0.25,
        managed: bool = False,
        answer_on_arrival: bool = False,
    ) -> None:
        if not diagnostics_period > 0:
            raise ValueError(f"diagnostics_period must be > 0 s, got {diagnostics_period}")
        if not grant_timeout > 0:
            raise ValueError(f"grant_timeout must be > 0 s, got {grant_timeout}")
        self.gate = TrainerGate(robot, clock) if trainer_gate else None
        self.grant_timeout = float(grant_timeout)
        self.robot, self.safety = robot, robot.safety
        self.lifecycle = BridgeLifecycle(self) if managed else None  # starts unconfigured
        self._readings, self._diagnostics = publish_readings, publish_diagnostics
        self.auto_home, self.auto_activate = bool(auto_home), bool(auto_activate)
        self.diagnostics_period, self.clock = float(diagnostics_period), clock
        self._next_tick = clock()
        # an inner PD loop (pd_period) ticks several times per control period; the readings
        # still go out once per control period (the policy acts at its own rate)
        self._ticks_per_reading = round(robot.config.control_period / robot.period)
        self._ticks = 0
        self.answer_on_arrival = bool(answer_on_arrival)
        # robot stamps closer than this belong to one control period (a robot publishing at
        # the PD rate, or faster than the policy runs): only the first is relayed
        self._relay_gap = robot.config.control_period - 0.5 * robot.period - 1e-9
        self._next_diag = clock()
        self._events_seen = 0
        self._homed_once = False
        self._last_stamp: float | None = None
        # readings are tagged like the sim bridge's: the policy server answers a repeated
        # (step, episode) with the same action, and the estimator times episodes by steps
        self.step, self.episode = -1, 0
        self._last_mode = Mode.PASSIVE
        self._episode_pending = False  # a trainer's reset: activate once homed and safe
        self._outside_logged = False
        self.active_commands = 0  # commands sent in ACTIVE: the policy's, through the limits

    def spin_timeout(self) -> float:
        """How long the node may wait for callbacks before the next :meth:`tick`."""
        return max(0.0, self._next_tick - self.clock())

    def tick(self) -> int | None:
        """One loop period when due: safety step, command; readings once per control period
        (the loop runs at ``pd_period`` where the bridge closes the PD loop); diagnostics."""
        now = self.clock()
        if now < self._next_tick:
            return None
        period = self.robot.period
        self._next_tick += period
        if self._next_tick <= now:  # a stalled loop resumes on the period, without a burst
            self._next_tick = now + period
        if self.lifecycle is not None and not self.lifecycle.commanding:
            return 0 if self.lifecycle.state == 4 else None  # finalized: the node exits
        self._auto_transitions()
        if self.safety.mode is Mode.ACTIVE and self._last_mode is not Mode.ACTIVE:
            self.episode += 1  # each hand-over to the policy starts an episode
            if self.gate is not None:
                self.gate.start(self.episode)
        self._check_grants()
        if self.robot.tick() is not None and self.safety.mode is Mode.ACTIVE:
            self.active_commands += 1
        active = self.safety.mode is Mode.ACTIVE
        self._last_mode = self.safety.mode
        self._ticks += 1  # since the last readings sent
        if not self.answer_on_arrival and self._ticks >= self._ticks_per_reading:
            self._relay(active)
        self._diagnose(now)
        return None

    def _relay(self, active: bool) -> None:
        """The newest measurement to the estimator, tagged, if it is new (and, on arrival,
        a control period of robot stamps after the last one relayed)."""
        readings = self.robot.read()
        last = self._last_stamp
        if readings.stamp == last:  # only new measurements are sent
            return
        if self.answer_on_arrival and last is not None and readings.stamp - last < self._relay_gap:
            return
        self._last_stamp, self._ticks = readings.stamp, 0
        self.step += 1
        gated_out = self.gate is not None and not active
        episode = BETWEEN_EPISODES if gated_out else self.episode
        self._readings(dataclasses.replace(readings, step=self.step, episode=episode))

    def _diagnose(self, now: float) -> None:
        """Diagnostics every ``diagnostics_period`` and at once after a safety event."""
        events = sum(self.safety.counts.values())
        if now >= self._next_diag or events != self._events_seen:
            self._events_seen, self._next_diag = events, now + self.diagnostics_period
            self._diagnostics(self.safety.diagnostics())

    def _commanding(self) -> bool:
        return self.lifecycle is None or self.lifecycle.commanding

    # --- robot inputs ------------------------------------------------------------------------
    def on_joint_state(
        self, stamp: float, names: Any, position: Any, velocity: Any, effort: Any
    ) -> bool:
        """A robot joint state (:meth:`Ros2ControlRobot.on_joint_state`); with
        ``answer_on_arrival`` relayed to the estimator at once. False if refused."""
        accepted = self.robot.on_joint_state(stamp, names, position, velocity, effort)
        if accepted and self.answer_on_arrival and self._commanding():
            self._relay(self.safety.mode is Mode.ACTIVE)
        return accepted

    def _command_now(self) -> None:
        """``answer_on_arrival``: an action that reached the robot in ACTIVE is commanded now
        (one safety step: limits, watchdog, staleness); the next tick comes a period later."""
        if not self.answer_on_arrival or self.safety.mode is not Mode.ACTIVE:
            return
        if not self._commanding():
            return
        if self.robot.tick() is not None and self.safety.mode is Mode.ACTIVE:
            self.active_commands += 1
        now = self.clock()
        # the next action is due a control period on: a tick just before it would take the
        # rate limits' share of that period, so the timer waits half a period more (PD
        # steps between actions keep their own period)
        grace = 1.5 if self._ticks_per_reading == 1 else 1.0
        self._next_tick = now + grace * self.robot.period
        self._diagnose(now)

    def summary(self) -> str:
        """One line for the log when the bridge stops: what was sent, and the safety events."""
        events = ", ".join(f"{k} {v}" for k, v in sorted(self.safety.counts.items()))
        return (
            f"{self.robot.sent} commands sent, {self.active_commands} of them policy actions "
            f"(active); mode {self.safety.mode.value}; events: {events or 'none'}"
        )

    # --- policy and trainer inputs ----------------------------------------------------------
    def on_action(self, step: int, episode: int, action: Any, version: int = 0) -> None:
        """A policy action: straight to the robot, or through the trainer's gate."""
        if self.gate is None:
            self.robot.apply(action)
            self._command_now()
            return
        applied = self.gate.applied
        self.gate.on_action(step, episode, action, version)
        if self.gate.applied != applied:
            self._command_now()

    def on_grant(self, step: int, episode: int, min_version: int) -> None:
        """The trainer's step grant (ignored without ``trainer_gate``)."""
        if self.gate is not None:
            applied = self.gate.applied
            self.gate.on_grant(step, episode, min_version)
            if self.gate.applied != applied:
                self._command_now()

    def _check_grants(self) -> None:
        """Gated and ACTIVE, no grant for ``grant_timeout``: end the episode, hold home."""
        gate = self.gate
        if gate is None or self.safety.mode is not Mode.ACTIVE:
            return
        silent = self.clock() - gate.granted_at
        if silent > self.grant_timeout:
            message = f"no step grant for {silent:.3f} s: episode {self.episode} ends, homing"
            self.safety.record(WARN, "grant_timeout", message)
            self._hold_home()

    def _hold_home(self) -> None:
        """End the episode: home from the measured pose and hold there."""
        self.safety.passive()
        self.safety.start_homing()

    def pause(self, paused: bool) -> tuple[bool, str]:
        """The trainer's pause (the end of its run): end the episode and hold home; no next
        episode starts until a reset. Resuming changes nothing (the next reset starts one)."""
        if paused:
            self._episode_pending = False
            if self.safety.mode is Mode.ACTIVE:
                self._hold_home()
        return True, "paused" if paused else "running"

    def _auto_transitions(self) -> None:
        mode = self.safety.mode
        if self.auto_home and mode is Mode.PASSIVE and not self._homed_once:
            if self.robot.measured and self.safety.start_homing():
                self._homed_once = True  # after a fault or e-stop, an operator re-homes
        elif (self._auto_activates() or self._episode_pending) and self.safety.homed:
            if not self._policy_live():
                return
            outside = self.safety.outside_safe_set()
            if outside:  # wait, holding home; said once per homing, not every period
                if not self._outside_logged:
                    message = f"episode not started: {outside}"
                    self.safety.record(WARN, "outside_safe_set", message)
                    self._outside_logged = True
            elif self.safety.activate():
                self._episode_pending = self._outside_logged = False

    def _auto_activates(self) -> bool:
        """``auto_activate``; gated, only for the first episode (the trainer's resets start
        the others: a hold after a late grant must not start one the trainer did not ask)."""
        return self.auto_activate and (self.gate is None or self.episode == 0)

    def reset_episode(self) -> tuple[bool, str]:
        """The trainer's reset: end the episode, home from the measured pose, and start the
        next one (episode + 1) when homed inside the safe set. Refused after a fault and in
        ESTOP: those need the operator (``home``), never an automatic restart."""
        if self.safety.mode in (Mode.FAULT, Mode.ESTOP):
            return False, f"reset refused in {self.safety.mode.value}: the operator homes"
        if self.safety.mode in (Mode.ACTIVE, Mode.HOMING):
            self.safety.passive()
        if not self.safety.start_homing():
            return False, f"reset refused in {self.safety.mode.value}"
        self._episode_pending, self._outside_logged = True, False
        # unlike the sim bridge's 'step=<k>;episode=<e>', the first step is not known yet
        return True, f"homing; episode={self.episode + 1} starts when homed in the safe set"

    def _policy_live(self) -> bool:
        """A command arrived within the watchdog's timeout: activating will not trip it."""
        return self.safety.command_age <= self.robot.config.timeouts["command"]

    # --- operator services (std_srvs/Trigger: success, message) --------------------------
    def service(self, name: str, value: bool = False) -> tuple[bool, str]:
        """``home``, ``activate``, ``passive``, ``estop``, ``release_estop``, ``reset`` or
        ``pause`` (``value``: paused)."""
        if name == "reset":
            return self.reset_episode()
        if name == "pause":
            return self.pause(value)
        actions = {
            "home": self.safety.start_homing, "activate": self.safety.activate,
            "passive": self.safety.passive, "release_estop": self.safety.release_estop,
            "estop": lambda: self.safety.estop("operator") or True,
        }  # fmt: skip
        if name not in actions:
            known = sorted([*actions, "reset", "pause"])
            raise ValueError(f"unknown hardware bridge service {name!r}; known: {known}")
        ok = bool(actions[name]())
        return ok, self.safety.mode.value if ok else f"refused in {self.safety.mode.value}"
