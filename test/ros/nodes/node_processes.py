"""Start rl_control node modules as processes of their own for a test, and stop them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterable


def start_nodes(nodes: Iterable[tuple[str, list[str]]], **env: str) -> list[subprocess.Popen]:
    """``python -m rl_control.ros.nodes.<name> <args>`` for each (name, args), each in a
    session of its own (so :func:`stop_nodes` reaches its children); ``env`` is added to
    this process's environment."""
    return [
        subprocess.Popen(
            [sys.executable, "-m", f"rl_control.ros.nodes.{name}", *args],
            env=dict(os.environ, **env),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        for name, args in nodes
    ]


def stop_nodes(procs: list[subprocess.Popen], timeout: float = 20.0) -> None:
    """Ctrl-C every node's process group still running, then wait for each."""
    for proc in procs:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGINT)
    for proc in procs:
        proc.wait(timeout)
