"""The one run loop of every node: spin, tick the role, shut down cleanly on SIGINT/SIGTERM.

A node module's ``compose(argv)`` builds its node and returns a :class:`Unit` (node, tick,
spin timeout, clean-up); its ``main`` runs that one unit, and the node container
(:mod:`rl_control.ros.nodes.node_container`) runs several in one process and one loop."""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from rl_control.ros import middleware as mw
from rl_control.ros.launch.runner import LAUNCHER_PID_ENV

_PR_SET_PDEATHSIG = 1  # linux/prctl.h


class _StopRequest:
    """SIGINT/SIGTERM handler: the first signal only asks the loop to stop after the current
    spin and tick, so it cannot be lost inside a long call that swallows exceptions (casadi
    catches a KeyboardInterrupt raised during an IPOPT solve, logs a warning and returns);
    a second one interrupts at once."""

    def __init__(self) -> None:
        self.signum: int | None = None

    def __call__(self, signum: int, frame: Any) -> None:
        if self.signum is not None:
            raise KeyboardInterrupt(f"signal {signum}")
        self.signum = signum


@dataclass
class Unit:
    """One node as its run loop drives it."""

    node: mw.Node
    tick: Callable[[], int | None] | None = None
    spin_timeout: float | Callable[[], float] = 0.1
    close: Callable[[], None] | None = None

    def timeout(self) -> float:
        return self.spin_timeout() if callable(self.spin_timeout) else self.spin_timeout


def run_node(
    node: mw.Node, tick: Callable[[], int | None] | None = None,
    spin_timeout: float | Callable[[], float] = 0.1, close: Callable[[], None] | None = None,
) -> int:  # fmt: skip
    """Spin ``node`` and call ``tick`` after each spin until it returns an exit code, the
    middleware shuts down, or SIGINT/SIGTERM arrives (a normal way to stop: 0).

    Clean-up runs with further interrupts held (``close``, then the node and the middleware),
    so a checkpoint is not cut in half; a SIGTERM then is no longer caught, which lets the
    launch's escalation still end a node that hangs there.
    """
    return run_units([Unit(node, tick, spin_timeout, close)])


def run_units(units: Sequence[Unit]) -> int:
    """:func:`run_node` for several nodes in one process: the others join the first
    (:meth:`Node.join`), one spin serves all, each tick runs after it (the first exit code
    ends them all) and the shortest spin timeout is waited; clean-up in reverse order."""
    host = units[0].node
    for unit in units[1:]:
        unit.node.join(host)
    main_thread = threading.current_thread() is threading.main_thread()
    stop = _StopRequest()
    if main_thread:  # signal handlers can only be set from the main thread
        previous = signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        if not end_with_launcher():
            stop.signum = signal.SIGTERM  # started by a launcher that is gone already
    try:
        while mw.ok() and stop.signum is None:
            host.spin_once(min(unit.timeout() for unit in units))
            for unit in units:
                code = unit.tick() if unit.tick is not None and stop.signum is None else None
                if code is not None:
                    return code
    except KeyboardInterrupt:  # a second signal, or Ctrl-C off the main thread
        pass
    finally:
        mw.hold_interrupts()  # SIGINT ignored from here on
        if main_thread:
            signal.signal(signal.SIGTERM, signal.SIG_DFL if previous is None else previous)
        try:
            _close(list(reversed(units)))
        finally:
            mw.shutdown()
    return 0


def end_with_launcher() -> bool:
    """Have Linux send this node SIGTERM when the `rl-control launch` that started it dies
    (``PR_SET_PDEATHSIG``): a launcher that is SIGKILLed, and so cannot stop its nodes,
    leaves no orphans publishing on the domain (or driving a robot) unsupervised; the
    SIGTERM is the usual clean stop. Only for a node whose parent is the launcher named in
    ``RL_CONTROL_LAUNCHER_PID`` (removed from the environment, so the node's own children
    do not take it as theirs). False if that launcher has died already."""
    launcher = os.environ.pop(LAUNCHER_PID_ENV, "")
    if not launcher.isdigit() or not sys.platform.startswith("linux"):
        return True
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
        prctl(_PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0)
    except (OSError, AttributeError):  # no prctl: behave as before, orphans possible
        return True
    if os.getppid() == int(launcher):  # checked after prctl: a death just before shows here
        return True
    # Not the launcher's own child (started through another process, which may end on its
    # own): not armed; stop only if the launcher is gone already.
    prctl(_PR_SET_PDEATHSIG, 0, 0, 0, 0)
    return _alive(int(launcher))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, someone else's
        return True
    return True


def _close(units: list[Unit]) -> None:
    """Each unit's ``close`` then its node's destroy, every one even if another raised."""
    if not units:
        return
    unit = units[0]
    try:
        try:
            if unit.close is not None:
                unit.close()
        finally:
            unit.node.destroy()
    finally:
        _close(units[1:])


def main_argv(argv: list[str] | None) -> list[str]:
    """The node's command line: ``argv``, or the process's own arguments."""
    return sys.argv[1:] if argv is None else list(argv)
