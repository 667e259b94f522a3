"""CPU seconds of processes and process trees from Linux /proc, for the graph benches."""

from __future__ import annotations

import os
from pathlib import Path

#: graph roles by what a node process's command line names
WORKER_NODES = ("node_container", "sim_bridge", "state_estimator", "policy_node",
                "hardware_bridge")  # fmt: skip


def cpu_s(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def role_of(cmdline: str) -> str:
    """``trainer``, ``workers`` (a worker's bridge, estimator, policy node or their
    container) or ``other`` (the launch itself, robot publishers, ...)."""
    words = [os.path.basename(w) for w in cmdline.split()[:3]]
    if "trainer_node" in words:
        return "trainer"
    return "workers" if any(w in WORKER_NODES for w in words) else "other"


def tree_cpu_by_role(root: int) -> dict[str, float]:
    """CPU seconds so far of ``root`` and its live descendants, summed per :func:`role_of`."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            pid, ppid = int(stat.parent.name), int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue  # the process ended while we looked
        children.setdefault(ppid, []).append(pid)
    totals = {"trainer": 0.0, "workers": 0.0, "other": 0.0}
    todo = [root]
    while todo:
        pid = todo.pop()
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
            totals[role_of(cmdline)] += cpu_s(pid)
        except (OSError, ValueError, IndexError):
            continue
        todo += children.get(pid, [])
    return totals


def tree_cpu_s(root: int) -> float:
    """CPU seconds so far of ``root`` and all its live descendants."""
    return sum(tree_cpu_by_role(root).values())
