"""The shared run loop: an exit code from the tick, SIGTERM and Ctrl-C all end it cleanly
(the role's close, then the node), and the SIGTERM handler is put back afterwards."""

import gc
import os
import signal
import time

import pytest

from rl_control.ros import middleware as mw
from rl_control.ros.run_loop import run_node


@pytest.fixture
def node(monkeypatch, ros_domain):
    monkeypatch.setenv("RL_CONTROL_MIDDLEWARE", "embedded")
    previous = signal.getsignal(signal.SIGINT)
    yield mw.create_node("run_loop_test")
    signal.signal(signal.SIGINT, previous)  # hold_interrupts() ignores SIGINT from then on


def test_the_ticks_exit_code_ends_the_loop_and_closes(node) -> None:
    ticks, closed = [], []

    def tick():
        ticks.append(1)
        return 3 if len(ticks) == 2 else None

    assert run_node(node, tick, 0.0, lambda: closed.append(mw.ok())) == 3
    assert len(ticks) == 2 and closed == [True]  # closed before the middleware shut down
    assert not mw.ok()


def test_the_start_up_objects_are_frozen_while_the_loop_runs(node) -> None:
    """The collector's full passes skip what the node built before its loop (a full pass
    over a torch process's ~170k objects takes ~30 ms: 15 periods at 500 Hz)."""
    frozen = []

    def tick():
        frozen.append(gc.get_freeze_count())
        return 0

    assert run_node(node, tick, 0.0) == 0
    assert frozen[0] > 1000  # this test process's modules, at least
    assert gc.get_freeze_count() == 0  # and given back once the loop is over


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_is_a_clean_stop(node, signum) -> None:
    closed, before = [], signal.getsignal(signal.SIGTERM)

    def tick():
        os.kill(os.getpid(), signum)  # as the launch does when it shuts the graph down
        return None

    assert run_node(node, tick, 0.0, lambda: closed.append(True)) == 0
    assert closed == [True] and not mw.ok()
    assert signal.getsignal(signal.SIGTERM) is before  # a hung clean-up can still be ended


def test_a_failing_tick_still_closes_and_shuts_down(node) -> None:
    closed = []

    def tick():
        raise RuntimeError("worker failed")

    with pytest.raises(RuntimeError, match="worker failed"):
        run_node(node, tick, 0.0, lambda: closed.append(True))
    assert closed == [True] and not mw.ok()


def test_sigint_during_a_call_that_swallows_exceptions_still_stops_the_loop(node) -> None:
    """As in a deployed MPC solve: casadi catches the KeyboardInterrupt raised inside IPOPT
    and returns as if nothing happened; the signal must not be lost."""
    ticks = []

    def solve() -> None:
        try:
            os.kill(os.getpid(), signal.SIGINT)  # arrives inside the "solve"
            time.sleep(0.01)
        except (RuntimeError, KeyboardInterrupt):
            pass  # what casadi does with it

    def tick():
        ticks.append(1)
        solve()
        return 7 if len(ticks) == 20 else None  # the loop ignored the signal

    assert run_node(node, tick, 0.0) == 0
    assert ticks == [1]  # stopped right after the solve returned


def test_a_second_signal_interrupts_at_once(node) -> None:
    """A tick that hangs is still ended by the next signal (the launch escalates)."""

    def tick():
        os.kill(os.getpid(), signal.SIGTERM)  # the first asks to stop after this tick
        os.kill(os.getpid(), signal.SIGTERM)  # the second raises here
        raise AssertionError("not interrupted")

    assert run_node(node, tick, 0.0) == 0


_LAUNCHER = """
import os, subprocess, sys, time
env = dict(os.environ, RL_CONTROL_LAUNCHER_PID=str(os.getpid()))
child = subprocess.Popen([sys.executable, "-c", sys.argv[1], sys.argv[2]], env=env)
print(child.pid, flush=True)
time.sleep(60)
"""
_NODE = """
import os, signal, sys, time
from rl_control.ros.launch.lifeline import LAUNCHER_PID_ENV, end_with_launcher
out = sys.argv[1]
signal.signal(signal.SIGTERM, lambda *a: (open(out, "w").write("SIGTERM"), os._exit(0)))
ok = end_with_launcher()
open(out + ".ready", "w").write(f"{ok} {os.environ.get(LAUNCHER_PID_ENV)}")
time.sleep(60)
"""


@pytest.mark.skipif(not os.uname().sysname == "Linux", reason="PR_SET_PDEATHSIG is Linux's")
def test_a_node_gets_sigterm_when_its_launcher_is_killed(tmp_path) -> None:
    """A SIGKILLed `rl-control launch` cannot stop its nodes: they must not live on as
    orphans (an orphan bridge kept publishing a latched robot_description into later tests'
    DDS domains once)."""
    import subprocess
    import sys

    out = tmp_path / "node"
    launcher = subprocess.Popen([sys.executable, "-c", _LAUNCHER, _NODE, str(out)],
                                stdout=subprocess.PIPE, text=True)  # fmt: skip
    child = int(launcher.stdout.readline())
    deadline = time.monotonic() + 30
    while not (tmp_path / "node.ready").exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    # the node armed itself and took the variable out of its environment
    assert (tmp_path / "node.ready").read_text() == "True None"
    try:
        launcher.kill()
        launcher.wait()
        while not out.exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        assert out.exists() and out.read_text() == "SIGTERM"
    finally:
        try:
            os.kill(child, signal.SIGKILL)  # only if the test failed: no orphan either way
        except ProcessLookupError:
            pass


def test_a_node_not_started_by_the_launcher_itself_is_not_armed(monkeypatch) -> None:
    # e.g. through a wrapper process: the wrapper may end on its own, the node must not
    from rl_control.ros.launch import lifeline

    monkeypatch.setenv(lifeline.LAUNCHER_PID_ENV, "1")  # alive (init), but not our parent
    assert lifeline.end_with_launcher() is True
    monkeypatch.setenv(lifeline.LAUNCHER_PID_ENV, str(2**22 + 12345))  # no such process
    assert lifeline.end_with_launcher() is False
