"""Entry of `rl-control monitor`: one node on the DDS domain, a browser page or the TUI."""

from __future__ import annotations

import os
import sys
import time

from rl_control.ros import middleware as mw
from rl_control.ros.monitor.state import GraphMonitor


def _check(period: float, window: float, duration: float, nice: int, pose_period: float) -> None:
    for name, value in (("period", period), ("window", window)):
        if value <= 0:
            raise SystemExit(f"rl-control monitor: --{name} must be > 0, got {value}")
    if not pose_period >= 0:
        raise SystemExit(f"rl-control monitor: --pose-period must be >= 0, got {pose_period}")
    if duration < 0:
        raise SystemExit(f"rl-control monitor: --duration must be >= 0, got {duration}")
    if not 0 <= nice <= 19:
        raise SystemExit(f"rl-control monitor: --nice must be in 0..19, got {nice}")


def run_monitor(
    tui: bool, host: str, port: int, period: float, window: float, duration: float,
    light: bool, nice: int, pose_period: float,
) -> int:  # fmt: skip
    """Watch the graph until Ctrl-C or ``duration`` s, ``nice`` steps below the caller's
    CPU priority; returns the exit status."""
    _check(period, window, duration, nice, pose_period)
    if nice:
        os.nice(nice)
    if not tui:
        from rl_control.ros.monitor.web import require_viser

        require_viser()
    node = mw.create_node("rl_control_monitor")
    monitor = GraphMonitor(node, window, light=light)
    try:
        if tui:
            from rl_control.ros.monitor.tui import run_tui

            run_tui(node, monitor, sys.stdout, period, duration, clear=sys.stdout.isatty())
            return 0
        return _serve(node, monitor, host, port, period, duration, pose_period)
    finally:
        node.destroy()
        mw.shutdown()


def _serve(
    node: mw.Node, monitor: GraphMonitor, host: str, port: int, period: float, duration: float,
    pose_period: float,
) -> int:  # fmt: skip
    from rl_control.ros.monitor.web import WebView

    view = WebView(monitor, host, port, table_period=period, pose_period=pose_period)
    print(f"rl-control monitor: http://{host}:{view.port}", flush=True)
    end = time.monotonic() + duration if duration > 0 else float("inf")
    try:
        while mw.ok() and time.monotonic() < end:
            monitor.spin(0.05)  # joints at up to 20 Hz; the table every `period`
            view.update()
    except KeyboardInterrupt:
        pass
    finally:
        view.close()
    return 0
