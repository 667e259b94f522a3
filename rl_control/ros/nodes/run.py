"""The one run loop of every node: spin, tick the role, shut down cleanly on SIGINT/SIGTERM."""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Callable
from typing import Any

from rl_control.ros import middleware as mw


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


def run_node(
    node: mw.Node,
    tick: Callable[[], int | None] | None = None,
    spin_timeout: float | Callable[[], float] = 0.1,
    close: Callable[[], None] | None = None,
) -> int:
    """Spin ``node`` and call ``tick`` after each spin until it returns an exit code, the
    middleware shuts down, or SIGINT/SIGTERM arrives (a normal way to stop: 0).

    Clean-up runs with further interrupts held (``close``, then the node and the middleware),
    so a checkpoint is not cut in half; a SIGTERM then is no longer caught, which lets the
    launch's escalation still end a node that hangs there.
    """
    timeout = spin_timeout if callable(spin_timeout) else (lambda: spin_timeout)
    main_thread = threading.current_thread() is threading.main_thread()
    stop = _StopRequest()
    if main_thread:  # signal handlers can only be set from the main thread
        previous = signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
    try:
        while mw.ok() and stop.signum is None:
            node.spin_once(timeout())
            code = tick() if tick is not None and stop.signum is None else None
            if code is not None:
                return code
    except KeyboardInterrupt:  # a second signal, or Ctrl-C off the main thread
        pass
    finally:
        mw.hold_interrupts()  # SIGINT ignored from here on
        if main_thread:
            signal.signal(signal.SIGTERM, signal.SIG_DFL if previous is None else previous)
        try:
            if close is not None:
                close()
        finally:
            node.destroy()
            mw.shutdown()
    return 0


def main_argv(argv: list[str] | None) -> list[str]:
    """The node's command line: ``argv``, or the process's own arguments."""
    return sys.argv[1:] if argv is None else list(argv)
