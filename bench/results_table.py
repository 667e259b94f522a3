"""Markdown result tables for the benchmark scripts, picked up by ``bench/update_readme.py``.

A script calls :func:`start_run` first (it records the command and the load average before any
work) and :func:`write_markdown` at the end. The file holds a one-line title, the command that
produced it, the table, optional notes and a machine line; the machine is shared, so the line
says which figures can be compared across runs.
"""

from __future__ import annotations

import os
import re
import shlex
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from rl_control.training.io import atomic_write_text

ROOT = Path(__file__).resolve().parents[1]
RESULTS_DIR = ROOT / "bench" / "results"
# update_readme.py only matches blocks named like this
_NAME = re.compile(r"[\w-]+")


@dataclass(frozen=True)
class RunInfo:
    """What was run and how loaded the machine was when it started."""

    command: str
    load_start: tuple[float, float, float]
    started: datetime = field(default_factory=lambda: datetime.now().astimezone())


def command_line(argv: Sequence[str], env_vars: Sequence[str] = ()) -> str:
    """``argv`` as a shell command run from the repository root, prefixed by ``env_vars``
    that are set (e.g. OMP_NUM_THREADS, which changes the timings)."""
    if not argv:
        raise ValueError("command_line: argv is empty")
    script = Path(argv[0]).resolve()
    shown = script.relative_to(ROOT).as_posix() if script.is_relative_to(ROOT) else argv[0]
    prefix = [f"{k}={os.environ[k]}" for k in env_vars if k in os.environ]
    return " ".join(prefix + [shlex.join(["python", shown, *argv[1:]])])


def start_run(env_vars: Sequence[str] = (), argv: Sequence[str] | None = None) -> RunInfo:
    """Record the command (``sys.argv`` unless given) and the load average now."""
    return RunInfo(command_line(sys.argv if argv is None else argv, env_vars), os.getloadavg())


def verdict(ok: bool) -> str:
    """Table cell for a target check."""
    return "pass" if ok else "miss"


def _row(cells: Sequence[object]) -> str:
    return "| " + " | ".join(str(c).replace("|", "\\|") for c in cells) + " |"


def render(
    title: str,
    header: Sequence[str],
    rows: Sequence[Sequence[object]],
    notes: Sequence[str],
    run: RunInfo,
    load_end: tuple[float, float, float],
) -> str:
    """The markdown text of one result file."""
    if not title.strip() or "\n" in title:
        raise ValueError(f"title must be one non-empty line, got {title!r}")
    if not header:
        raise ValueError("header must name at least one column")
    for i, row in enumerate(rows):
        if len(row) != len(header):
            raise ValueError(f"row {i} has {len(row)} cells, header has {len(header)}")
    if not rows:
        raise ValueError("rows is empty: nothing was measured")
    start, end = (" / ".join(f"{x:.1f}" for x in load) for load in (run.load_start, load_end))
    machine = (
        f"Machine: {os.cpu_count()} cores, load average (1/5/15 min) {start} at start, {end} at "
        f"end; {run.started:%Y-%m-%d %H:%M %Z}. The machine is shared and noisy: absolute rates "
        "and latencies vary between runs; ratios measured side by side are the comparable figures."
    )
    lines = [f"# {title.strip()}", "", f"`{run.command}`", "", _row(header)]
    lines += [_row(["---"] * len(header))] + [_row(r) for r in rows]
    if notes:
        lines += [""] + [f"- {n}" for n in notes]
    return "\n".join(lines + ["", machine]) + "\n"


def write_markdown(
    name: str,
    title: str,
    header: Sequence[str],
    rows: Sequence[Sequence[object]],
    notes: Sequence[str] = (),
    *,
    run: RunInfo,
    out_dir: Path = RESULTS_DIR,
) -> Path:
    """Write ``<out_dir>/<name>.md`` atomically (a reader never sees half a table); return it."""
    if not _NAME.fullmatch(name):
        raise ValueError(f"name {name!r} must be letters, digits, '_' or '-' (a README block)")
    text = render(title, header, rows, notes, run, os.getloadavg())
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{name}.md"
    atomic_write_text(path, text)
    return path
