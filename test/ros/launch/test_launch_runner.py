"""The process runner with tiny dummy executables: output prefixes, on_exit, respawn, signals."""

import io
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rl_control.ros.launch import LaunchError, LaunchRunner, resolve_launch


def _script(tmp_path: Path, name: str, code: str) -> Path:
    path = tmp_path / name
    path.write_text(f"#!{sys.executable}\nimport os, signal, subprocess, sys, time\n{code}\n")
    path.chmod(0o755)
    return path


def _launch(tmp_path: Path, nodes: str) -> Path:
    path = tmp_path / "test.launch.xml"
    path.write_text(f"<launch>\n{nodes}\n</launch>\n")
    return path


def _run(path: Path, **kwargs) -> tuple[int, str, str, float]:
    out, err = io.StringIO(), io.StringIO()
    plan = resolve_launch(path, {})
    runner = LaunchRunner(plan, stdout=out, stderr=err, sigterm_timeout=2.0, **kwargs)
    start = time.monotonic()
    code = runner.run()
    return code, out.getvalue(), err.getvalue(), time.monotonic() - start


def _alive(pid: int) -> bool:
    """True unless the process is gone or a zombie (a container's init may not reap)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _gone(pids: list[int], timeout: float = 5.0) -> bool:
    """True once none of `pids` is alive (a signal takes effect asynchronously)."""
    deadline = time.monotonic() + timeout
    while any(_alive(pid) for pid in pids):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def _wait_for(path: Path, lines: int, timeout: float = 20.0) -> list[int]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and len(path.read_text().split()) >= lines:
            return [int(p) for p in path.read_text().split()]
        time.sleep(0.05)
    raise AssertionError(f"{path} did not get {lines} pids")


def test_output_is_prefixed_and_clean_exit_returns_zero(tmp_path: Path) -> None:
    exe = _script(tmp_path, "talk", 'print("hello"); print("oops", file=sys.stderr)')
    code, out, err, _ = _run(
        _launch(tmp_path, f'<node exec="{exe}" name="talker" output="screen"/>')
    )
    assert code == 0
    assert "[talker] hello\n" in out
    assert "[talker] oops\n" in err
    assert "process [talker] has finished cleanly" in out


def test_nodes_are_told_the_launchers_pid(tmp_path: Path) -> None:
    # what a node arms its PR_SET_PDEATHSIG with (ros/run_loop.py: end_with_launcher)
    exe = _script(tmp_path, "env", 'print("pid", os.environ["RL_CONTROL_LAUNCHER_PID"])')
    code, out, _, _ = _run(_launch(tmp_path, f'<node exec="{exe}" name="n" output="screen"/>'))
    assert code == 0 and f"[n] pid {os.getpid()}\n" in out


def test_output_log_goes_to_the_log_dir(tmp_path: Path) -> None:
    exe = _script(tmp_path, "talk", 'print("quiet"); print("loud", file=sys.stderr)')
    path = _launch(tmp_path, f'<node exec="{exe}" name="talker" output="log"/>')
    code, out, err, _ = _run(path, log_dir=tmp_path / "logs")
    assert code == 0 and "quiet" not in out and "[talker] loud" in err
    # stdout and stderr are separate pipes read concurrently: their interleaving is not defined
    lines = (tmp_path / "logs" / "talker-1.log").read_text().split()
    assert sorted(lines) == ["loud", "quiet"]


@pytest.mark.parametrize(("exit_code", "expected"), [(3, 1), (0, 0)])
def test_on_exit_shutdown_stops_the_others(tmp_path: Path, exit_code: int, expected: int) -> None:
    pids = tmp_path / "pids"
    sleeper = _script(
        tmp_path, "sleeper", f'open("{pids}", "a").write(f"{{os.getpid()}}\\n"); time.sleep(60)'
    )
    boss = _script(tmp_path, "boss", f"time.sleep(0.5); sys.exit({exit_code})")
    nodes = f'<node exec="{sleeper}"/><node exec="{boss}" name="boss" on_exit="shutdown"/>'
    code, out, err, elapsed = _run(_launch(tmp_path, nodes))
    assert code == expected
    assert elapsed < 15
    assert "process [boss] exited and has on_exit=shutdown" in out
    assert ("required node(s) failed: boss" in err) == (exit_code != 0)
    assert _gone(_wait_for(pids, 1))


def test_respawn_restarts_a_crashed_node_after_its_delay(tmp_path: Path) -> None:
    count = tmp_path / "count"
    flaky = _script(
        tmp_path, "flaky", f'open("{count}", "a").write(f"{{time.monotonic()}}\\n"); sys.exit(1)'
    )
    # ends the launch once flaky has started three times (or after 30 s, to fail clearly)
    timer = _script(
        tmp_path, "timer",
        "end = time.monotonic() + 30\n"
        f"while time.monotonic() < end and len(open('{count}').readlines() if "
        f"os.path.exists('{count}') else []) < 3:\n    time.sleep(0.05)",
    )  # fmt: skip
    nodes = (
        f'<node exec="{flaky}" name="flaky" respawn="true" respawn_delay="0.2"/>'
        f'<node exec="{timer}" name="timer" on_exit="shutdown"/>'
    )
    code, _, err, _ = _run(_launch(tmp_path, nodes))
    starts = [float(t) for t in count.read_text().split()]
    assert code == 0  # flaky has no on_exit: its failures do not fail the launch
    assert len(starts) >= 3, starts  # respawned after each crash
    gaps = [later - earlier for earlier, later in zip(starts, starts[1:], strict=False)]
    assert min(gaps) >= 0.2, gaps  # each restart waits its respawn_delay: never a busy loop
    assert err.count("process [flaky] has died (exit code 1)") >= 2


def test_a_node_with_a_configuration_error_is_not_respawned(tmp_path: Path) -> None:
    count = tmp_path / "count"
    bad = _script(tmp_path, "bad", f'open("{count}", "a").write("x\\n"); sys.exit(2)')
    sleeper = _script(tmp_path, "sleeper", "time.sleep(30)")
    nodes = (
        f'<node exec="{bad}" name="bad" respawn="true" respawn_delay="0.1"/>'
        f'<node exec="{sleeper}" name="sleeper"/>'
    )
    code, _, err, elapsed = _run(_launch(tmp_path, nodes))
    assert code == 2 and elapsed < 10  # the launch stops instead of respawning forever
    assert count.read_text() == "x\n" and "configuration error in: bad" in err


def test_children_left_behind_by_an_exited_node_are_killed(tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    spawner = _script(
        tmp_path,
        "spawner",
        f'p = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])\n'
        f'open("{pids}", "w").write(f"{{p.pid}}\\n")',
    )
    code, *_ = _run(_launch(tmp_path, f'<node exec="{spawner}" name="spawner"/>'))
    assert code == 0
    assert _gone(_wait_for(pids, 1))


def test_sigint_stops_everything_and_escalates(tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    parent = _script(
        tmp_path,
        "parent",
        f'p = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])\n'
        f'open("{pids}", "a").write(f"{{os.getpid()}}\\n{{p.pid}}\\n"); time.sleep(60)',
    )
    stubborn = _script(
        tmp_path,
        "stubborn",
        "signal.signal(signal.SIGINT, signal.SIG_IGN)\n"
        f'open("{pids}", "a").write(f"{{os.getpid()}}\\n")\n'
        "while True: time.sleep(0.1)",
    )
    path = _launch(
        tmp_path, f'<node exec="{parent}" name="parent"/><node exec="{stubborn}" name="stubborn"/>'
    )
    cmd = [
        sys.executable,
        "-m",
        "rl_control.ros.launch.cli",
        str(path),
        "--sigterm-timeout",
        "0.5",
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        started = _wait_for(pids, 3)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert "shutting down: SIGINT" in out
    assert "sending SIGTERM to process [stubborn]" in err
    assert _gone(started)


def test_missing_node_module_fails_before_anything_starts(tmp_path: Path) -> None:
    path = _launch(tmp_path, '<node pkg="rl_control" exec="no_such_node" name="n"/>')
    with pytest.raises(LaunchError, match="no module rl_control.ros.nodes.no_such_node"):
        _run(path)


def test_shutdown_action_starts_nothing_and_fails(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    exe = _script(tmp_path, "touch", f'open("{marker}", "w")')
    path = _launch(tmp_path, f'<node exec="{exe}"/><shutdown reason="not today"/>')
    code, _, err, _ = _run(path)
    assert code == 1 and "shutdown: not today" in err
    assert not marker.exists()
