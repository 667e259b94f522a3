"""Real-time scheduling for the control chain's processes, as ros2_control's controller
manager offers it (its ``thread_priority`` and ``lock_memory``).

A 500 Hz loop through three Python processes has 2 ms per step. On a shared machine another
process's time slice (several ms) or a page fault makes the chain late; ``SCHED_FIFO`` lets
the chain's processes preempt every normal one, and locked memory keeps their pages from
being paged out. Not permitted (no ``CAP_SYS_NICE``, no rtprio limit): a warning, and the node
runs with normal scheduling, as the controller manager does.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
from collections.abc import Callable

#: mlockall flags (<sys/mman.h>): the current pages, future ones, and those only once they
#: are touched (MCL_ONFAULT, Linux 4.4): torch reserves address space it never uses, which
#: plain MCL_FUTURE would make resident
MCL_CURRENT, MCL_FUTURE, MCL_ONFAULT = 1, 2, 4
PRIORITIES = range(1, 100)  # SCHED_FIFO's


def set_process_scheduling(policy: int, priority: int) -> None:
    """Every thread of this process to ``policy`` at ``priority`` (threads started later
    inherit it: the DDS stack's receive threads exist already). Raises PermissionError."""
    param = os.sched_param(priority)
    for tid in sorted(int(t) for t in os.listdir("/proc/self/task")):
        try:
            os.sched_setscheduler(tid, policy, param)
        except ProcessLookupError:  # a thread that ended since the listing
            continue


def set_fifo_priority(priority: int) -> None:
    """:func:`set_process_scheduling` with ``SCHED_FIFO``."""
    set_process_scheduling(os.SCHED_FIFO, priority)


def lock_memory() -> None:
    """``mlockall``: no page of this process is paged out. Raises OSError with the errno."""
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    if libc.mlockall(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))


def make_realtime(priority: int, lock: bool, warn: Callable[[str], None]) -> list[str]:
    """Apply the node's ``thread_priority`` (0 = normal scheduling) and ``lock_memory``;
    returns what took effect. ValueError for a priority outside 0..99."""
    if priority != 0 and priority not in PRIORITIES:
        raise ValueError(f"thread_priority {priority} is outside 1..99 (SCHED_FIFO; 0 = off)")
    done = []
    if priority:
        try:
            set_fifo_priority(priority)
            done.append(f"SCHED_FIFO priority {priority}")
        except PermissionError:
            warn(f"thread_priority {priority}: SCHED_FIFO not permitted (needs CAP_SYS_NICE or "
                 "an rtprio limit, /etc/security/limits.conf); normal scheduling")  # fmt: skip
    if lock:
        try:
            lock_memory()
            done.append("memory locked")
        except OSError as err:
            warn(f"lock_memory: mlockall failed ({err.strerror}; needs CAP_IPC_LOCK or a "
                 "memlock limit); memory not locked")  # fmt: skip
    return done


def apply_node_realtime(node: object, params: dict) -> None:
    """:func:`make_realtime` from a node's declared ``thread_priority`` and ``lock_memory``
    (:data:`rl_control.roles.params.REALTIME`), logged on the node."""
    logger = node.get_logger()
    done = make_realtime(params["thread_priority"], params["lock_memory"], logger.warn)
    if done:
        logger.info("real-time: " + ", ".join(done))
