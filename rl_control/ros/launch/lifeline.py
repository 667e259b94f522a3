"""The launcher's lifeline to its nodes: a node started by `rl-control launch` asks Linux for a
SIGTERM when that launcher dies (``PR_SET_PDEATHSIG``), so a SIGKILLed launcher, which
cannot stop its nodes, leaves no orphans publishing on the domain or driving a robot
unsupervised. The launcher names itself in the nodes' environment (``LAUNCHER_PID_ENV``)."""

from __future__ import annotations

import ctypes
import os
import signal
import sys

#: set in every node's environment by the launch runner: the launcher's pid
LAUNCHER_PID_ENV = "RL_CONTROL_LAUNCHER_PID"
_PR_SET_PDEATHSIG = 1  # linux/prctl.h


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
