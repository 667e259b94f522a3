"""The one run loop of every node: spin, tick the role, shut down cleanly on SIGINT/SIGTERM.

A node module's ``compose(argv)`` builds its node and returns a :class:`Unit` (node, tick,
spin timeout, clean-up); its ``main`` runs that one unit, and the node container
(:mod:`rl_control.ros.nodes.node_container`) runs several in one process and one loop."""

from __future__ import annotations

import gc
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from rl_control.ros import middleware as mw
from rl_control.ros.launch.lifeline import end_with_launcher


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
    ends them all) and the shortest spin timeout is waited; clean-up in reverse order.
    ``units`` may grow inside a spin (a container's loaded nodes, joined by their loader)."""
    host = units[0].node
    for unit in units[1:]:
        unit.node.join(host)
    main_thread = threading.current_thread() is threading.main_thread()
    stop = _StopRequest()
    if main_thread:  # signal handlers can only be set from the main thread
        previous = signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        stop.signum = None if end_with_launcher() else signal.SIGTERM  # launcher gone: stop
    # start-up objects (modules, torch, message classes) stay for the node's life: frozen,
    # the collector's full passes skip them (~170k objects, ~30 ms: 15 periods at 500 Hz)
    gc.freeze()
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
        gc.unfreeze()  # the loop is over: nothing left to pause (a test process goes on)
        mw.hold_interrupts()  # SIGINT ignored from here on
        if main_thread:
            signal.signal(signal.SIGTERM, signal.SIG_DFL if previous is None else previous)
        try:
            _close(list(reversed(units)))
        finally:
            mw.shutdown()
    return 0


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
