"""`rl-control monitor` watching a real training graph (train.launch.xml, embedded back-end,
its own DDS domain): the TUI's table fills with rates, and where viser and Chromium are
installed the browser page shows the robot and a learning curve that moves."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from ports import free_port  # test/ports.py
from test_train_graph import ROOT, Launch, _domain  # test/ros: the graph tests' launch helper

SHOT = ROOT / "docs" / "monitor.png"


class Monitor:
    """`rl-control monitor ARGS` on ``domain``, its output collected live."""

    def __init__(self, domain: int, *args: str) -> None:
        env = dict(os.environ, ROS_DOMAIN_ID=str(domain), RL_CONTROL_MIDDLEWARE="embedded",
                   PYTHONUNBUFFERED="1", OMP_NUM_THREADS="1")  # fmt: skip
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "rl_control.cli.main", "monitor", *args], cwd=ROOT,
            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
        self.lines: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def _browser_ready() -> str:
    """Why the browser part cannot run here ('' = it can)."""
    from headless_chromium import CHROMIUM  # test/ros/headless_chromium.py

    for module in ("viser", "yourdfpy", "websockets"):
        try:
            __import__(module)
        except ImportError:
            return f"{module} not installed (pip install rl_control[monitor])"
    return "" if CHROMIUM else "Chromium not installed (apt-get install chromium)"


def test_monitor_watches_a_training_graph(tmp_path: Path) -> None:
    domain = _domain()
    # long enough that training is still going when the page first reads its statistics (with
    # 1536 steps one CI run had finished, at 1536, before the page's first read, so the
    # second read could never see a larger value)
    launch = Launch(tmp_path / "run", steps=4096, domain=domain)
    tui = Monitor(domain, "--tui", "--period", "1")
    no_browser = _browser_ready()
    port = free_port()
    web = None if no_browser else Monitor(domain, "--port", str(port), "--period", "0.5")
    try:
        if web is not None:
            _check_page(web, port, launch)
        else:
            assert launch.wait_for(r"\[trainer_node\].*steps \(\d+%\)", 240), launch.output()
            time.sleep(2)
    finally:
        tui.stop()
        if web is not None:
            web.stop()
        code = launch.finish(timeout=240)
    assert code == 0, launch.output()
    text = "\n".join(tui.lines)
    rates = [float(m[1]) for m in re.finditer(r"^/joint_states +~?([\d.]+) ", text, re.M)]
    assert max(rates) > 0, text[-3000:]  # the lock-step bridge's joint states, counted
    assert re.search(r"^/robot_description +[\d.]+ +1 ", text, re.M), text[-3000:]  # latched
    assert re.search(r"^  env_steps +\d+", text, re.M), text[-3000:]  # training_stats
    # publishers as discovery sees them: the node that really writes the topic, by full name
    assert re.search(r"^/training_stats +.*  /trainer_node$", text, re.M), text[-3000:]
    if no_browser:
        pytest.skip(f"browser part skipped: {no_browser}")


def _check_page(web: Monitor, port: int, launch: Launch) -> None:
    from headless_chromium import Page

    end = time.monotonic() + 180  # viser + yourdfpy import in ~10 s alone, much more under load
    while not any(f":{port}" in line for line in web.lines):
        assert time.monotonic() < end and web.proc.poll() is None, "\n".join(web.lines)
        time.sleep(0.2)
    page = Page(f"http://127.0.0.1:{port}")
    try:
        first = _read_steps(page, launch, minimum=1)
        assert "moving joints" in page.text(), page.text()  # the robot model was loaded
        assert page.evaluate("document.querySelectorAll('canvas').length") >= 2  # 3-D, plot
        second = _read_steps(page, launch, minimum=first + 1)
        assert second > first
        if SHOT.parent.is_dir():
            page.screenshot(SHOT)
    finally:
        page.close()


def _read_steps(page, launch: Launch, minimum: int, timeout: float = 240.0) -> int:
    """env_steps shown on the page once it is at least ``minimum``."""
    end = time.monotonic() + timeout
    while time.monotonic() < end and launch.proc.poll() is None:
        m = re.search(r"^\s*env_steps\s+(\d+)", page.text(), re.M)
        if m and int(m[1]) >= minimum:
            return int(m[1])
        time.sleep(0.5)
    raise AssertionError(f"env_steps >= {minimum} not on the page:\n{page.text()}\n"
                         + launch.output())  # fmt: skip
