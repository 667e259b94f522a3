"""Real-time scheduling for the control chain's processes, as ros2_control's controller
manager offers it (its ``thread_priority`` and ``lock_memory``).

A 500 Hz loop through three Python processes has 2 ms per step. On a shared machine another
process's time slice (several ms) or a page fault makes the chain late; ``SCHED_FIFO`` lets
the chain's processes preempt every normal one, and locked memory keeps their pages from
being paged out. Not permitted (no ``CAP_SYS_NICE``, no rtprio limit): a warning, and the node
runs with normal scheduling, as the controller manager does.

``cpu_dma_latency`` (PM QoS) keeps idle CPUs from halting, as cyclictest does: on this
project's VM, FIFO alone made an idle machine's loop worse (a woken FIFO task is pushed to
the idle vCPU, which the hypervisor takes milliseconds to run again); with 0 µs requested the
500 Hz chain had 6 late answers of 7500 against ~1500 without (bench/control_latency.py).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import struct
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


#: the PM QoS request of this process (kept open: the kernel drops it when it is closed)
_latency_request: list[int] = []


def request_cpu_latency(microseconds: int) -> None:
    """Ask the kernel (PM QoS, /dev/cpu_dma_latency) to keep every CPU's wake-up latency
    under ``microseconds`` while this process lives: 0 keeps idle CPUs polling instead of
    halting. On a VM a halted vCPU takes the hypervisor milliseconds to run a woken task
    again. Raises OSError (e.g. permission)."""
    fd = os.open("/dev/cpu_dma_latency", os.O_WRONLY)
    try:
        os.write(fd, struct.pack("i", microseconds))
    except OSError:
        os.close(fd)  # no request was made: nothing to hold open
        raise
    _latency_request.append(fd)


def make_realtime(
    priority: int, lock: bool, warn: Callable[[str], None], cpu_latency_us: int = -1
) -> list[str]:
    """Apply the node's ``thread_priority`` (0 = normal scheduling), ``lock_memory`` and
    ``cpu_dma_latency`` (< 0 = not requested); returns what took effect. ValueError for a
    priority outside 0..99."""
    if priority != 0 and priority not in PRIORITIES:
        raise ValueError(f"thread_priority {priority} is outside 1..99 (SCHED_FIFO; 0 = off)")
    done = []
    if cpu_latency_us >= 0:
        try:
            request_cpu_latency(cpu_latency_us)
            done.append(f"CPU wake-up latency <= {cpu_latency_us} us")
        except OSError as err:
            warn(f"cpu_dma_latency {cpu_latency_us}: /dev/cpu_dma_latency not writable "
                 f"({err.strerror}; needs root or a udev rule); CPUs may halt")  # fmt: skip
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
    """:func:`make_realtime` from a node's declared ``thread_priority``, ``lock_memory`` and
    ``cpu_dma_latency`` (:data:`rl_control.roles.params.REALTIME`), logged on the node."""
    logger = node.get_logger()
    done = make_realtime(params["thread_priority"], params["lock_memory"], logger.warn,
                         params["cpu_dma_latency"])  # fmt: skip
    if done:
        logger.info("real-time: " + ", ".join(done))
