"""`rl-control monitor --tui`: the topic table and the latest training statistics as plain
text, redrawn every ``period`` s (no curses: it also works in a log or a pipe)."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TextIO

from rl_control.roles.topic_rates import RateRow
from rl_control.ros import middleware as mw
from rl_control.ros.monitor.state import STAT_FIELDS, GraphMonitor, GraphState

CLEAR = "\x1b[H\x1b[2J"


def rate_text(row: RateRow) -> str:
    """The Hz cell: ``~`` marks a rate sampled in the rotation (see :data:`SAMPLED_NOTE`)."""
    return f"~{row.rate_hz:.1f}" if row.sampled else f"{row.rate_hz:.1f}"


#: what the ``~`` of a sampled rate means (under the table)
SAMPLED_NOTE = ("~ sampled: per-step topics no view draws are counted one at a time, 1 s "
                "each (fewer readers for the graph's writers to send to)")  # fmt: skip


def topic_table(rows: list[RateRow]) -> str:
    """Fixed-width table: topic, rate, count, last message age, publishers."""
    lines = [f"{'topic':<22} {'Hz':>7} {'count':>7} {'age s':>6}  publishers"]
    for r in rows:
        age = "-" if r.age_s is None else f"{r.age_s:.1f}"
        lines.append(f"{r.name:<22} {rate_text(r):>7} {r.count:>7d} {age:>6}  {r.publishers}")
    if any(r.sampled for r in rows):
        lines.append(SAMPLED_NOTE)
    return "\n".join(lines)


def stats_text(state: GraphState) -> str:
    """The latest training_stats, one `name value` per line (or a waiting line)."""
    if not state.stats:
        return "training_stats: none yet"
    extra = [k for k in state.stats if k not in STAT_FIELDS]
    lines = ["training_stats:"]
    for name in (*STAT_FIELDS, *extra):
        value = state.stats[name]
        if not math.isnan(value):
            lines.append(f"  {name:<18} {value:.6g}")
    return "\n".join(lines)


def unwatched_note(monitor: GraphMonitor) -> str:
    """The light mode's line under the table ('' when every topic is counted)."""
    if not monitor.unwatched:
        return ""
    why = "type unknown here"
    if monitor.light:
        why = "per-step under --light, or " + why
    return f"not counted ({why}): {' '.join(monitor.unwatched)}"


def screen(monitor: GraphMonitor) -> str:
    """One redraw: the topic table, then the statistics."""
    table = "\n".join(filter(None, (topic_table(monitor.rates.rows()), unwatched_note(monitor))))
    return f"{table}\n\n{stats_text(monitor.state)}\n"


def run_tui(
    node: mw.Node, monitor: GraphMonitor, out: TextIO, period: float = 1.0,
    duration: float = 0.0, clock: Callable[[], float] | None = None, clear: bool = True,
) -> int:  # fmt: skip
    """Spin ``node`` and print :func:`screen` every ``period`` s until Ctrl-C or
    ``duration`` s (0 = forever); returns the number of screens printed."""
    import time

    clock = clock or time.monotonic
    start, shown = clock(), 0
    try:
        while mw.ok() and not (duration > 0 and clock() - start >= duration):
            monitor.spin(period)
            out.write((CLEAR if clear else "") + screen(monitor))
            out.flush()
            shown += 1
    except KeyboardInterrupt:
        pass
    return shown
