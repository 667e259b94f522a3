"""The hardware bridge's safety core: every command sent to real joints comes out of here.

Upstream forwarding controllers apply whatever they last received, forever, so all safety is
here, ROS-free and on an injected clock. Modes::

    PASSIVE --start_homing--> HOMING --activate--> ACTIVE
                                |   |                  |   fault: command watchdog, stale
                   start_homing |   +----> FAULT <-----+   sensor, overspeed
                                +--------- FAULT
    estop() from any mode -> ESTOP --release_estop--> PASSIVE; passive() from all but ESTOP

PASSIVE sends damping only (effort: ``-kd qdot``; position: the measured pose). HOMING moves
from the measured pose to the home pose along a smoothstep over ``homing_time``, at most
``velocity_limit`` per second, never a jump (effort interfaces track it with the PD
gains, whatever the policy outputs). ACTIVE (an episode) is entered only inside the robot's
safe set (``safe_set``: joints near home, slow, base level) and passes the policy's targets
clamped to the limits and rate limited (on an effort interface, while a joint is past its
``guard_velocity``, no effort that speeds a joint up, and a brake); no accepted command
within ``timeouts.command`` trips the watchdog (FAULT with the configured hold/damping/zero
output); stale sensors fault to damping. ESTOP
latches until :meth:`SafetyCore.release_estop`; nothing else leaves it.

All arrays are in robot joint order (``config.controller_joints``) and robot units. Targets
are in ``policy_output`` units; :meth:`SafetyCore.step` returns ``command_interface`` units.
"""

from __future__ import annotations

import enum
import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from rl_control.robot.config import RobotConfig

#: diagnostic_msgs/DiagnosticStatus levels
OK, WARN, ERROR, STALE = 0, 1, 2, 3


class Mode(enum.Enum):
    PASSIVE = "passive"
    HOMING = "homing"
    ACTIVE = "active"
    FAULT = "fault"
    ESTOP = "estop"


@dataclass(frozen=True)
class DiagnosticRecord:
    """One diagnostic_msgs/DiagnosticStatus, ROS-free: level, name, message, key/values."""

    level: int
    name: str
    message: str
    values: dict[str, str] = field(default_factory=dict)


def _ignore(_: str) -> None:
    return None


class SafetyCore:
    """Validates inputs, runs the mode machine and produces one safe command per step."""

    def __init__(
        self,
        config: RobotConfig,
        clock: Callable[[], float] = time.monotonic,
        log: Callable[[str], None] = _ignore,
        history: int = 100,
    ) -> None:
        self.config, self.clock, self.log = config, clock, log
        self.n = len(config.controller_joints)
        self.period = config.loop_period  # one step() per period: rate limits per step
        limits = config.robot_array("position_limits")
        self.q_low, self.q_high = limits[:, 0], limits[:, 1]
        self.effort_limit = config.robot_array("effort_limit")
        self.velocity_limit = config.robot_array("velocity_limit")
        self.max_delta = config.robot_array("rate_limit") * self.period  # per full period, active
        self.home_delta = self.velocity_limit * self.period  # per full period, homing
        self.kp, self.kd = config.robot_array("kp"), config.robot_array("kd")
        guard = [np.inf if j.guard_velocity is None else j.guard_velocity for j in config.joints]
        self.guard_velocity = np.asarray(guard)[config.robot_index()]
        self.home_pose = config.robot_array("home")
        self.position_targets = config.policy_output == "position"
        self.effort_out = config.command_interface == "effort"
        self.uses_imu = bool(config.topics["imu"])
        self.mode = Mode.PASSIVE
        self.counts: dict[str, int] = {}
        self.guarded_steps = 0  # ACTIVE steps whose efforts the speed guard changed
        self.events: deque[DiagnosticRecord] = deque(maxlen=history)
        self.fault_reason = ""
        self._position: np.ndarray | None = None  # last accepted joint state
        self._orientation: np.ndarray | None = None  # last accepted IMU quaternion (x,y,z,w)
        self._velocity = np.zeros(self.n)
        self._js_rx = self._imu_rx = self._cmd_rx = -math.inf  # receive times (clock)
        self._js_stamp = self._imu_stamp = self._cmd_stamp = -math.inf  # message stamps
        self._target: np.ndarray | None = None  # accepted, not yet limited
        self._last_target = np.zeros(self.n)  # last target sent (after limits)
        self._last_output: np.ndarray | None = None
        self._home_from = self._home_t0 = None
        self._stepped_at: float | None = None  # clock time of the last step()
        self._step_share = 1.0  # this step's share of a period: the rate limits scale with it

    # --- events ------------------------------------------------------------------------
    def record(self, level: int, name: str, message: str, **values: Any) -> None:
        """Log and count a safety event and keep it for diagnostics."""
        self.counts[name] = self.counts.get(name, 0) + 1
        record = DiagnosticRecord(level, name, message, {k: str(v) for k, v in values.items()})
        self.events.append(record)
        self.log(f"[{name}] {message}")

    def _enter(self, mode: Mode, level: int, reason: str) -> None:
        self.record(level, f"mode_{mode.value}", f"{self.mode.value} -> {mode.value}: {reason}")
        self.mode = mode

    def _fault(self, name: str, message: str, **values: Any) -> None:
        self.record(ERROR, name, message, mode=self.mode.value, **values)
        self.fault_reason = name
        self._enter(Mode.FAULT, ERROR, message)

    # --- inputs ------------------------------------------------------------------------
    def _stamp_ok(self, kind: str, stamp: float, last: float) -> bool:
        if not math.isfinite(stamp):
            self.record(WARN, f"{kind}_bad_stamp", f"{kind} stamp {stamp} is not finite")
            return False
        if stamp <= last:
            message = f"{kind} stamp {stamp} not after {last}"
            self.record(WARN, f"{kind}_out_of_order", message, stamp=stamp, last=last)
            return False
        return True

    def _vector(self, kind: str, value: Any, size: int) -> np.ndarray | None:
        try:
            array = np.asarray(value, dtype=np.float64).reshape(size)
        except (ValueError, TypeError):
            self.record(WARN, f"{kind}_bad_size", f"{kind} is not {size} numbers")
            return None
        if not np.all(np.isfinite(array)):
            self.record(WARN, f"{kind}_not_finite", f"{kind} holds NaN or inf")
            return None
        return array

    def on_joint_state(self, stamp: float, position: Any, velocity: Any) -> bool:
        """A joint state in robot order (stamp in the clock's time base); False if refused."""
        q = self._vector("joint_state", position, self.n)
        v = None if q is None else self._vector("joint_state", velocity, self.n)
        if v is None or not self._stamp_ok("joint_state", float(stamp), self._js_stamp):
            return False
        self._position, self._velocity = q, v
        self._js_stamp, self._js_rx = float(stamp), self.clock()
        return True

    def on_imu(self, stamp: float, values: Any) -> bool:
        """An IMU message (its 10 numbers: quaternion, rates, acceleration); False if refused."""
        if self._vector("imu", values, 10) is None:
            return False
        if not self._stamp_ok("imu", float(stamp), self._imu_stamp):
            return False
        self._orientation = np.asarray(values, dtype=np.float64).reshape(10)[:4]
        self._imu_stamp, self._imu_rx = float(stamp), self.clock()
        return True

    def on_command(self, target: Any, stamp: float | None = None) -> bool:
        """A policy target (robot order, ``policy_output`` units), stamped with the clock's
        time when it was produced (None: now). Refused ones keep the last safe target and do
        not feed the watchdog."""
        now = self.clock()
        stamp = now if stamp is None else float(stamp)
        if self.mode is Mode.ESTOP:
            self.record(WARN, "command_in_estop", "command ignored: e-stop latched")
            return False
        target = self._vector("command", target, self.n)
        if target is None or not self._stamp_ok("command", stamp, self._cmd_stamp):
            return False
        if now - stamp > self.config.timeouts["command"]:
            self.record(WARN, "command_stale", f"command {now - stamp:.3f} s old", age=now - stamp)
            return False
        self._target, self._cmd_stamp, self._cmd_rx = target, stamp, now
        return True

    def keepalive(self) -> bool:
        """A fresh policy action held back by the trainer's step gate (training on hardware):
        the policy is alive, so the watchdog is fed, but no target changes. Refused in ESTOP."""
        if self.mode is Mode.ESTOP:
            return False
        self._cmd_rx = self.clock()
        return True

    # --- transitions -------------------------------------------------------------------
    def _sensors_fresh(self) -> str:
        """'' if the sensors are fresh, else which one is stale."""
        now, timeouts = self.clock(), self.config.timeouts
        if self._position is None or now - self._js_rx > timeouts["joint_states"]:
            return "joint_states"
        if self.uses_imu and now - self._imu_rx > timeouts["imu"]:
            return "imu"
        return ""

    def _refuse(self, action: str, why: str) -> bool:
        self.record(WARN, "transition_refused", f"{action} refused: {why}", mode=self.mode.value)
        return False

    def start_homing(self) -> bool:
        """From PASSIVE or FAULT, with fresh sensors: move to the home pose."""
        if self.mode not in (Mode.PASSIVE, Mode.FAULT):
            return self._refuse("homing", f"mode is {self.mode.value}")
        stale = self._sensors_fresh()
        if stale:
            return self._refuse("homing", f"{stale} stale")
        self._home_from, self._home_t0 = self._position.copy(), self.clock()
        self._last_target = self._position.copy()
        self._enter(Mode.HOMING, OK, "homing from the measured pose")
        return True

    @property
    def command_age(self) -> float:
        """Seconds since the last accepted command (inf before the first)."""
        return self.clock() - self._cmd_rx

    @property
    def homed(self) -> bool:
        return self.mode is Mode.HOMING and self._homing_fraction() >= 1.0

    def outside_safe_set(self) -> str:
        """'' when the measured state may start an episode, else why not (joints far from
        home or moving, base tilted, no measurement)."""
        safe, names = self.config.safe_set, self.config.controller_joints
        if self._position is None:
            return "no joint state measured"
        far = np.abs(self._position - self.home_pose) > safe["joint_tolerance"]
        fast = np.abs(self._velocity) > safe["max_joint_velocity"]
        why = [f"{what} on {[names[i] for i in np.flatnonzero(mask)]}"
               for what, mask in ((f"more than {safe['joint_tolerance']} from home", far),
                                  (f"faster than {safe['max_joint_velocity']}", fast))
               if np.any(mask)]  # fmt: skip
        if self.uses_imu:
            if self._orientation is None:
                why.append("no IMU orientation measured")
            else:
                x, y, z, w = self._orientation / np.linalg.norm(self._orientation)
                tilt = math.acos(max(-1.0, min(1.0, 1.0 - 2.0 * (x * x + y * y))))
                if tilt > safe["max_tilt"]:
                    why.append(f"base tilted {tilt:.2f} rad > {safe['max_tilt']}")
        return "; ".join(why)

    def activate(self) -> bool:
        """From a finished HOMING inside the safe set: let policy commands through (they must
        arrive from now); an episode never starts outside it."""
        if not self.homed:
            return self._refuse("activate", "homing not finished")
        outside = self.outside_safe_set()
        if outside:
            self.record(WARN, "outside_safe_set", f"activate refused: {outside}")
            return False
        self._target = None  # only commands accepted from now on count
        self._cmd_rx = self.clock()  # the watchdog's grace starts now
        if not self.position_targets:
            self._last_target = np.zeros(self.n)
        self._enter(Mode.ACTIVE, OK, "policy commands pass")
        return True

    def passive(self) -> bool:
        """Back to damping only (refused in ESTOP)."""
        if self.mode is Mode.ESTOP:
            return self._refuse("passive", "e-stop latched")
        self._enter(Mode.PASSIVE, OK, "requested")
        return True

    def estop(self, reason: str = "requested") -> None:
        """Latch the e-stop: damping until :meth:`release_estop`."""
        if self.mode is not Mode.ESTOP:
            self.record(ERROR, "estop", f"e-stop: {reason}")
            self._enter(Mode.ESTOP, ERROR, reason)

    def release_estop(self) -> bool:
        """The only way out of ESTOP: to PASSIVE (homing must be started again)."""
        if self.mode is not Mode.ESTOP:
            return self._refuse("release_estop", "no e-stop latched")
        self._enter(Mode.PASSIVE, WARN, "e-stop released")
        return True

    # --- output ------------------------------------------------------------------------
    def _homing_fraction(self) -> float:
        if self._home_t0 is None:
            return 0.0
        return min(1.0, max(0.0, (self.clock() - self._home_t0) / self.config.homing_time))

    def _limited(self, target: np.ndarray, positions: bool, max_delta: np.ndarray) -> np.ndarray:
        """``target`` clamped to the limits and to ``max_delta`` from the last one sent."""
        if positions:
            target = np.clip(target, self.q_low, self.q_high)
        else:
            target = np.clip(target, -self.effort_limit, self.effort_limit)
        last, max_delta = self._last_target, max_delta * self._step_share
        target = np.clip(target, last - max_delta, last + max_delta)
        self._last_target = target
        return target

    def _drive(self, target: np.ndarray, positions: bool) -> np.ndarray:
        """A (limited) target as a command: a PD effort for positions on an effort interface."""
        if positions and self.effort_out:
            return self.kp * (target - self._position) - self.kd * self._velocity
        return target

    def _damping(self, hold_last: bool = True) -> np.ndarray | None:
        """Effort: -kd qdot (zero if the joint state is stale). Position: the last command
        sent (``hold_last``, faults: do not chase a measurement) or the measured pose."""
        if self.effort_out:
            fresh = self._sensors_fresh() != "joint_states"
            return -self.kd * self._velocity if fresh else np.zeros(self.n)
        if hold_last and self._last_output is not None:
            return self._last_output
        return self._position

    def _check(self) -> None:
        """ACTIVE/HOMING faults: stale sensors, overspeed, and (ACTIVE) the watchdog."""
        stale = self._sensors_fresh()
        if stale:
            self._fault(f"{stale}_stale", f"{stale} older than timeouts.{stale}")
            return
        fast = np.abs(self._velocity) > self.velocity_limit
        if np.any(fast):
            joints = [self.config.controller_joints[i] for i in np.flatnonzero(fast)]
            self._fault("overspeed", f"velocity over velocity_limit on {joints}")
            return
        age = self.clock() - self._cmd_rx
        if self.mode is Mode.ACTIVE and age > self.config.timeouts["command"]:
            self._fault("command_timeout", f"no command for {age:.3f} s", age=age)

    def _fallback(self) -> np.ndarray | None:
        """FAULT output: damping for sensor faults, else ``on_command_timeout``."""
        action = self.config.on_command_timeout
        if self.fault_reason != "command_timeout" or action == "damping":
            return self._damping()
        if action == "zero" and self.effort_out:
            return np.zeros(self.n)
        if self.position_targets and self._position is not None:  # hold the last target
            return self._drive(self._last_target, True)
        return self._last_output

    def step(self) -> np.ndarray | None:
        """One control period's command (robot order, interface units), or None when nothing
        can be sent safely (a position interface that has never measured the pose).

        The rate limits are per second: a step sooner than a period after the last one (a
        bridge commanding an action on arrival) may move its target only that time's share.
        """
        now = self.clock()
        since = self.period if self._stepped_at is None else now - self._stepped_at
        self._stepped_at, self._step_share = now, min(1.0, max(0.0, since / self.period))
        if self.mode in (Mode.HOMING, Mode.ACTIVE):
            self._check()
        if self.mode is Mode.HOMING:
            s = self._homing_fraction()
            smooth = s * s * (3.0 - 2.0 * s)  # zero slope at both ends: no jerk
            pose = self._home_from + smooth * (self.home_pose - self._home_from)
            out = self._drive(self._limited(pose, True, self.home_delta), True)
        elif self.mode is Mode.ACTIVE:
            target = self._target if self._target is not None else self._last_target
            positions = self.position_targets
            out = self._drive(self._limited(target, positions, self.max_delta), positions)
            if self.effort_out:
                out = self._speed_guard(out)
        elif self.mode is Mode.FAULT:
            out = self._fallback()
        else:
            out = self._damping(hold_last=self.mode is Mode.ESTOP)
        return self._safe(out)

    def _speed_guard(self, effort: np.ndarray) -> np.ndarray:
        """ACTIVE efforts while a joint is past its ``guard_velocity``: no joint gets effort
        along its motion (the joints are coupled: a hip torque spins the knee too, so every
        effort must take energy out), and a joint past the guard a brake growing from 0 there
        to the full ``effort_limit`` at ``velocity_limit``. An untrained policy's torques
        then cannot spin a light leg into the overspeed fault."""
        v = self._velocity
        excess = np.abs(v) - self.guard_velocity
        if not np.any(excess > 0):
            return effort
        span = self.velocity_limit - self.guard_velocity
        brake = self.effort_limit * np.clip(excess / span, 0.0, 1.0)
        direction = np.sign(v)  # the most effort allowed along each motion: -brake
        along = np.minimum(effort * direction, -brake)
        self.guarded_steps += 1  # a counter on /diagnostics, not an event: it may be every step
        return np.where(direction != 0, along * direction, effort)

    def _safe(self, out: np.ndarray | None) -> np.ndarray | None:
        """The last line: finite and inside the interface's limits, whatever came before."""
        if out is None:
            return None
        if not np.all(np.isfinite(out)):  # cannot happen with validated inputs; still checked
            self.record(ERROR, "output_not_finite", "non-finite command replaced by damping")
            out = np.zeros(self.n) if self.effort_out else self._position
            if out is None:
                return None
        if self.effort_out:
            out = np.clip(out, -self.effort_limit, self.effort_limit)
        else:
            out = np.clip(out, self.q_low, self.q_high)
        self._last_output = out
        return out.copy()

    # --- diagnostics -------------------------------------------------------------------
    def diagnostics(self) -> list[DiagnosticRecord]:
        """Status records for /diagnostics: the mode with every counter, and each input's age."""
        now, timeouts = self.clock(), self.config.timeouts
        level = {Mode.ESTOP: ERROR, Mode.FAULT: ERROR}.get(self.mode, OK)
        values = {"fault": self.fault_reason, **{k: str(v) for k, v in self.counts.items()},
                  "speed_guard_steps": str(self.guarded_steps)}  # fmt: skip
        records = [DiagnosticRecord(level, "safety", self.mode.value, values)]
        inputs = [("joint_states", self._js_rx), ("command", self._cmd_rx)]
        if self.uses_imu:
            inputs.insert(1, ("imu", self._imu_rx))
        for name, rx in inputs:
            age = now - rx
            stale = age > timeouts[name]
            watched = name != "command" or self.mode is Mode.ACTIVE
            records.append(DiagnosticRecord(
                STALE if stale and watched else OK, name, "stale" if stale else "fresh",
                {"age": f"{age:.4f}", "timeout": str(timeouts[name])},
            ))  # fmt: skip
        return records
