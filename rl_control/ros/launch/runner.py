"""Run the nodes of a LaunchPlan as subprocesses, the way `ros2 launch` does.

Each node runs in its own process group so that stopping it also stops anything it spawned.
Output lines are prefixed with `[label]`. A node with `on_exit="shutdown"` stops the launch
when it exits; `respawn` restarts a node after `respawn_delay` unless shutting down. A node
exiting with code 2 (a configuration error, see :mod:`checks`) is never respawned: the
launch stops and exits with 2.
Stopping escalates SIGINT -> SIGTERM -> SIGKILL with timeouts (5 s each, like launch).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from rl_control.ros.launch.checks import CONFIG_ERROR
from rl_control.ros.launch.lifeline import LAUNCHER_PID_ENV
from rl_control.ros.launch.model import LaunchError, LaunchPlan, NodeSpec
from rl_control.ros.launch.packages import check_executable

_POLL = 0.05


@dataclass
class _Process:
    """A node and its current incarnation."""

    spec: NodeSpec
    popen: subprocess.Popen[bytes] | None = None
    pumps: list[threading.Thread] = field(default_factory=list)
    restart_at: float | None = None
    starts: int = 0
    code: int | None = None
    log: IO[str] | None = None


class LaunchRunner:
    """Start, watch and stop the nodes of one plan; `run()` returns the exit code."""

    def __init__(
        self,
        plan: LaunchPlan,
        *,
        sigterm_timeout: float = 5.0,
        sigkill_timeout: float = 5.0,
        stdout: IO[str] | None = None,
        stderr: IO[str] | None = None,
        environ: Mapping[str, str] | None = None,
        log_dir: Path | None = None,
    ) -> None:
        self.plan = plan
        self.sigterm_timeout = sigterm_timeout
        self.sigkill_timeout = sigkill_timeout
        self.stdout = stdout or sys.stdout
        self.stderr = stderr or sys.stderr
        self.environ = dict(os.environ if environ is None else environ)
        # Python nodes would otherwise hold their output back until it fills a pipe buffer.
        self.environ.setdefault("PYTHONUNBUFFERED", "1")
        # our nodes ask for a SIGTERM when this process dies (lifeline.end_with_launcher)
        self.environ[LAUNCHER_PID_ENV] = str(os.getpid())
        self.log_dir = log_dir
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._stop_reason = ""
        self._failed: list[str] = []
        self._config_errors: list[str] = []
        self._procs = [_Process(spec) for spec in plan.nodes]

    def request_shutdown(self, reason: str) -> None:
        """Ask the run loop to stop every node (safe from signal handlers and threads)."""
        if not self._stop.is_set():
            self._stop_reason = reason
            self._stop.set()

    def _say(self, text: str, error: bool = False) -> None:
        with self._lock:
            stream = self.stderr if error else self.stdout
            stream.write(f"[launch] {text}\n")
            stream.flush()

    def run(self) -> int:
        """Start all nodes, supervise them until they end or a shutdown; return 0, 1 or 2."""
        for message in self.plan.messages:
            self._say(message)
        if self.plan.shutdown_reason is not None:
            self._say(f"shutdown: {self.plan.shutdown_reason}", error=True)
            return 1
        for proc in self._procs:
            check_executable(proc.spec.exec_argv, proc.spec.executable)
        try:
            for proc in self._procs:
                self._start(proc)
            self._supervise()
        finally:
            self._stop_all()
        if self._config_errors:
            self._say(f"configuration error in: {', '.join(self._config_errors)}", error=True)
            return CONFIG_ERROR
        if self._failed:
            self._say(f"required node(s) failed: {', '.join(self._failed)}", error=True)
            return 1
        return 0

    def _supervise(self) -> None:
        while not self._stop.is_set():
            now = time.monotonic()
            active = False
            for proc in self._procs:
                if proc.popen is not None and proc.popen.poll() is not None:
                    self._on_exit(proc)
                if proc.restart_at is not None and now >= proc.restart_at:
                    proc.restart_at = None
                    self._start(proc)
                active = active or proc.popen is not None or proc.restart_at is not None
            if not active:
                return
            self._stop.wait(_POLL)
        self._say(f"shutting down: {self._stop_reason}")

    def _on_exit(self, proc: _Process) -> None:
        self._reap(proc)
        code = proc.code
        label = proc.spec.label
        if code == 0:
            self._say(f"process [{label}] has finished cleanly")
        else:
            self._say(f"process [{label}] has died (exit code {code})", error=True)
        if code == CONFIG_ERROR:
            # its parameters are wrong: a respawn would fail the same way, and the graph
            # cannot work without it
            self._config_errors.append(label)
            self.request_shutdown(f"process [{label}] has a configuration error")
        elif proc.spec.shutdown_on_exit:
            if code != 0:
                self._failed.append(label)
            self.request_shutdown(f"process [{label}] exited and has on_exit=shutdown")
        elif proc.spec.respawn and not self._stop.is_set():
            proc.restart_at = time.monotonic() + proc.spec.respawn_delay

    def _reap(self, proc: _Process) -> None:
        """Collect an exited process: kill what it left in its group, drain its output."""
        assert proc.popen is not None
        proc.popen.wait()
        proc.code = proc.popen.returncode
        # Anything the node spawned and left behind would be an orphan: it goes too.
        _signal_group(proc.popen.pid, signal.SIGKILL)
        for thread in proc.pumps:
            thread.join(timeout=1.0)
        if proc.log is not None:
            proc.log.close()
            proc.log = None
        proc.popen = None

    def _start(self, proc: _Process) -> None:
        spec = proc.spec
        proc.starts += 1
        try:
            proc.popen = subprocess.Popen(
                spec.command(),
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                stdin=subprocess.DEVNULL,
                env=self.environ,
                start_new_session=True,
            )
        except OSError as exc:
            raise LaunchError(f"{spec.source}: cannot start '{spec.executable}': {exc}") from None
        self._say(f"process [{spec.label}] started with pid {proc.popen.pid}")
        proc.log = log = self._log_file(spec, proc.starts)
        to_screen = spec.output in ("screen", "both")
        proc.pumps = [
            self._pump(proc.popen.stdout, spec.label, self.stdout if to_screen else None, log),
            self._pump(proc.popen.stderr, spec.label, self.stderr, log),
        ]

    def _log_file(self, spec: NodeSpec, start: int) -> IO[str] | None:
        if spec.output == "screen" or self.log_dir is None:
            return None
        self.log_dir.mkdir(parents=True, exist_ok=True)
        return open(self.log_dir / f"{spec.label}-{start}.log", "a", encoding="utf-8")

    def _pump(
        self, pipe: IO[bytes] | None, label: str, screen: IO[str] | None, log: IO[str] | None
    ) -> threading.Thread:
        def copy() -> None:
            assert pipe is not None
            for raw in iter(pipe.readline, b""):
                line = raw.decode("utf-8", "replace").rstrip("\r\n")
                with self._lock:
                    if screen is not None:
                        screen.write(f"[{label}] {line}\n")
                        screen.flush()
                    if log is not None:
                        log.write(line + "\n")
            pipe.close()

        thread = threading.Thread(target=copy, name=f"launch-{label}", daemon=True)
        thread.start()
        return thread

    def _stop_all(self) -> None:
        """SIGINT every live process group, then SIGTERM, then SIGKILL, with timeouts."""
        for proc in self._procs:
            proc.restart_at = None
        live = [p for p in self._procs if p.popen is not None]
        for sig, timeout in (
            (signal.SIGINT, self.sigterm_timeout),
            (signal.SIGTERM, self.sigkill_timeout),
            (signal.SIGKILL, 5.0),
        ):
            live = [p for p in live if p.popen is not None and p.popen.poll() is None]
            if not live:
                break
            for proc in live:
                if sig != signal.SIGINT:
                    self._say(f"sending {sig.name} to process [{proc.spec.label}]", error=True)
                assert proc.popen is not None
                _signal_group(proc.popen.pid, sig)
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline and any(p.popen.poll() is None for p in live):
                time.sleep(_POLL)
        for proc in self._procs:
            if proc.popen is not None:
                self._reap(proc)  # stopped on request: not counted as a failure


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    """Signal a node's process group (its pid: each node leads a new session)."""
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass
