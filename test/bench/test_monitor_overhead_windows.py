"""The windowed monitor-overhead bench's bookkeeping: rows seen as they are appended, a
window's rate from its rows, the rotation of the arms and the interval verdict."""

import math
import sys
from pathlib import Path

import monitor_overhead_windows as windows


def test_rows_are_stamped_when_first_seen_and_read_once(tmp_path: Path) -> None:
    metrics, rows = tmp_path / "metrics.csv", windows.Rows()
    rows.poll(metrics, 0.0)  # not written yet
    metrics.write_text("env_steps,steps_per_s\n256,128\n")
    rows.poll(metrics, 1.0)
    with metrics.open("a") as f:
        f.write("512,256\n768,\n1024,512\n")
    rows.poll(metrics, 2.0)
    rows.poll(metrics, 3.0)
    # each row: (seen, new steps, its seconds); the row without a rate is skipped
    assert rows.seen == [(1.0, 256, 2.0), (2.0, 256, 1.0), (2.0, 256, 0.5)]


def test_a_windows_rate_leaves_out_its_first_row() -> None:
    seen = [(0.5, 100, 1.0), (1.5, 100, 0.5), (2.5, 300, 1.0), (3.5, 100, 1.0)]
    assert windows.window_rate(seen, 1.0, 3.0) == 300.0  # (1.5, ...) began before 1.0
    assert math.isnan(windows.window_rate(seen, 1.0, 2.0))


def test_arms_rotate_so_each_goes_first_in_turn() -> None:
    order = windows.rotation(3)
    assert order[:3] == ["without", "full", "light"]
    assert [order[3 * r] for r in range(3)] == ["without", "full", "light"]
    assert sorted(order) == sorted(windows.ARMS * 3)


def test_the_verdict_needs_the_whole_interval_on_one_side() -> None:
    low = [0.01, 0.02, 0.0, 0.015, 0.01, 0.02, 0.005, 0.01]
    med, lo, hi = windows.median_interval(low)
    assert lo <= med <= hi < 0.05 and windows.decide(lo, hi, len(low)) == "pass"
    high = [v + 0.1 for v in low]
    assert windows.decide(*windows.median_interval(high)[1:], len(high)) == "miss"
    spread = [-0.2, 0.3, -0.1, 0.25, 0.0, 0.2, -0.15, 0.1]
    assert windows.decide(*windows.median_interval(spread)[1:], 8).startswith("undecided")
    assert windows.decide(lo, hi, 3).startswith("undecided (fewer than 8")


def test_rows_carry_the_cpu_clock_and_a_window_gives_cpu_per_step(tmp_path: Path) -> None:
    metrics, rows, clock = tmp_path / "metrics.csv", windows.Rows(), iter([1.0, 3.0, 7.0])
    metrics.write_text("env_steps,steps_per_s\n100,100\n")
    rows.poll(metrics, 1.0, lambda: next(clock))
    with metrics.open("a") as f:
        f.write("300,100\n")
    rows.poll(metrics, 2.0, lambda: next(clock))
    with metrics.open("a") as f:
        f.write("400,100\n")
    rows.poll(metrics, 3.0, lambda: next(clock))
    assert rows.cpu == [1.0, 3.0, 7.0]
    # first row in the window is the baseline: (7 - 1) CPU-s over the 300 steps after it
    assert windows.window_cpu_per_step(rows, 0.5, 3.5) == 6.0 / 300
    assert windows.window_cpu_per_step(rows, 1.5, 3.5) == 4.0 / 100
    assert math.isnan(windows.window_cpu_per_step(rows, 2.5, 3.5))


def test_tree_cpu_counts_the_descendants() -> None:
    import os
    import subprocess
    import time

    # a child that burns CPU: the tree's seconds must exceed the test process's own
    burn = "import time\nt = time.process_time()\nwhile time.process_time() - t < 0.3: pass\n"
    child = subprocess.Popen([sys.executable, "-c", burn + "time.sleep(30)"])
    try:
        deadline = time.monotonic() + 20
        while windows.tree_cpu_s(os.getpid()) - windows.cpu_s(os.getpid()) < 0.25:
            assert time.monotonic() < deadline, "the child's CPU never showed in the tree"
            time.sleep(0.05)
    finally:
        child.kill()
        child.wait()
