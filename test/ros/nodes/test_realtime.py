"""Real-time scheduling of a node's process: SCHED_FIFO on every thread (those started
later inherit it), locked memory, a warning (never a failure) where it is not permitted,
and a clear error for a priority out of range."""

import os
import subprocess
import sys
import textwrap

import pytest

from rl_control.ros.nodes import realtime

CHILD = textwrap.dedent("""
    import os, threading
    from rl_control.ros.nodes.realtime import make_realtime
    warnings = []
    before = threading.Thread(target=threading.Event().wait, daemon=True)  # like DDS's
    before.start()
    done = make_realtime(7, True, warnings.append)
    after = threading.Thread(target=threading.Event().wait, daemon=True)
    after.start()
    tids = sorted(int(t) for t in os.listdir("/proc/self/task"))
    fifo = [os.sched_getscheduler(t) == os.SCHED_FIFO and os.sched_getparam(t).sched_priority
            for t in tids]
    locked = [line for line in open("/proc/self/status") if line.startswith("VmLck")]
    print(repr((done, warnings, len(tids), fifo, locked)))
""")


def test_every_thread_runs_sched_fifo_or_a_warning_says_why() -> None:
    """In a child process (this one stays normal): where permitted, all its threads, also
    one started afterwards, run SCHED_FIFO at the priority and memory is locked; where not,
    each part warns and the process goes on."""
    out = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True,
                         check=True, timeout=60).stdout  # fmt: skip
    done, warnings, threads, fifo, locked = eval(out)  # noqa: S307 (our own child's repr)
    assert threads >= 3
    if "SCHED_FIFO priority 7" in done:
        assert fifo == [7] * threads
    else:
        assert any("SCHED_FIFO not permitted" in w for w in warnings) and not any(fifo)
    if "memory locked" in done:
        assert int(locked[0].split()[1]) > 0  # kB locked
    else:
        assert any(w.startswith("lock_memory: mlockall failed") for w in warnings)
    assert len(done) + len(warnings) == 2


def test_not_permitted_is_a_warning_and_normal_scheduling(monkeypatch) -> None:
    def refuse(*args):
        raise PermissionError(1, "Operation not permitted")

    def no_lock():
        raise OSError(12, os.strerror(12))

    monkeypatch.setattr(os, "sched_setscheduler", refuse)
    monkeypatch.setattr(realtime, "lock_memory", no_lock)
    warnings = []
    assert realtime.make_realtime(50, True, warnings.append) == []
    assert "thread_priority 50: SCHED_FIFO not permitted" in warnings[0]
    assert "CAP_SYS_NICE" in warnings[0]
    assert warnings[1].startswith("lock_memory: mlockall failed (Cannot allocate memory")


def test_zero_and_false_change_nothing(monkeypatch) -> None:
    monkeypatch.setattr(os, "sched_setscheduler", lambda *a: pytest.fail("scheduler changed"))
    monkeypatch.setattr(realtime, "lock_memory", lambda: pytest.fail("memory locked"))
    warnings = []
    assert realtime.make_realtime(0, False, warnings.append) == [] and warnings == []


@pytest.mark.parametrize("priority", [-1, 100, 1000])
def test_a_priority_outside_1_to_99_is_refused_by_name(priority) -> None:
    with pytest.raises(ValueError, match=f"thread_priority {priority} is outside 1..99"):
        realtime.make_realtime(priority, False, print)


CPU_LATENCY_CHILD = textwrap.dedent("""
    import struct
    from rl_control.ros.nodes.realtime import make_realtime
    warnings = []
    done = make_realtime(0, False, warnings.append, cpu_latency_us=0)
    try:  # the kernel's aggregate request: 0 while this process holds its own
        with open("/dev/cpu_dma_latency", "rb") as f:
            now = struct.unpack("i", f.read(4))[0]
    except OSError:
        now = None
    print(repr((done, warnings, now)))
""")


def test_cpu_dma_latency_holds_the_kernels_request_while_the_process_lives() -> None:
    """Where /dev/cpu_dma_latency is writable, the aggregate request reads 0 while the
    child holds it; elsewhere a warning says why and nothing else changes."""
    out = subprocess.run([sys.executable, "-c", CPU_LATENCY_CHILD], capture_output=True,
                         text=True, check=True, timeout=60).stdout  # fmt: skip
    done, warnings, now = eval(out)  # noqa: S307 (our own child's repr)
    if done:
        assert done == ["CPU wake-up latency <= 0 us"] and now == 0 and not warnings
    else:
        assert warnings[0].startswith("cpu_dma_latency 0: /dev/cpu_dma_latency not writable")


def test_cpu_dma_latency_not_permitted_is_a_warning(monkeypatch) -> None:
    def refuse(*args):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(realtime, "request_cpu_latency", refuse)
    warnings = []
    assert realtime.make_realtime(0, False, warnings.append, cpu_latency_us=0) == []
    assert "needs root or a udev rule" in warnings[0]


def test_a_failed_cpu_latency_write_closes_its_descriptor(monkeypatch, tmp_path) -> None:
    """A request whose write fails was never made: its descriptor is closed, not held."""
    opened, real_open = [], os.open

    def open_file(path, flags):
        opened.append(real_open(tmp_path / "dev", os.O_WRONLY | os.O_CREAT))
        return opened[-1]

    def refuse(fd, data):
        raise OSError(22, "Invalid argument")

    monkeypatch.setattr(realtime.os, "open", open_file)
    monkeypatch.setattr(realtime.os, "write", refuse)
    held = list(realtime._latency_request)
    with pytest.raises(OSError, match="Invalid argument"):
        realtime.request_cpu_latency(0)
    monkeypatch.undo()
    assert realtime._latency_request == held
    with pytest.raises(OSError):  # closed
        os.fstat(opened[0])
