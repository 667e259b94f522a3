"""The soak benchmark's arithmetic: RSS read from /proc, the least-squares slope in MB/h,
the warm-up left out, per-label series summed into the total."""

import os

import pytest
import soak


def test_slope_is_mb_per_hour_of_a_least_squares_line() -> None:
    times = [0.0, 900.0, 1800.0, 2700.0]
    assert soak.slope_per_hour(times, [100.0, 101.0, 102.0, 103.0]) == pytest.approx(4.0)
    noisy = [100.0, 102.0, 102.0, 100.0]  # up and back down: no trend
    assert soak.slope_per_hour(times, noisy) == pytest.approx(0.0, abs=1e-9)
    with pytest.raises(ValueError, match="at least 2"):
        soak.slope_per_hour([0.0], [1.0])
    with pytest.raises(ValueError, match="same time"):
        soak.slope_per_hour([5.0, 5.0], [1.0, 2.0])


def test_summary_leaves_the_warm_up_out() -> None:
    s = soak.Series("trainer_node", times=[0.0, 10.0, 20.0, 30.0], values=[5.0, 50.0, 60.0, 55.0])
    first, last, peak, slope = s.summary(warmup=10.0)
    assert (first, last, peak) == (50.0, 55.0, 60.0)
    assert slope == pytest.approx(3600 * 0.25)  # 50, 60, 55 over 20 s: 0.25 MB/s
    with pytest.raises(ValueError, match="run longer"):
        s.summary(warmup=30.0)


def test_total_sums_the_labels_sampled_in_each_pass() -> None:
    a = soak.Series("a", times=[0.0, 10.0], values=[1.0, 2.0])
    b = soak.Series("b", times=[10.0], values=[5.0])  # started later (or respawned)
    total = soak.total_series([a, b], [0.0, 10.0])
    assert (total.times, total.values) == ([0.0, 10.0], [1.0, 7.0])


def test_rss_and_namespace_of_live_and_gone_processes() -> None:
    assert soak.rss_mb(os.getpid()) > 1.0
    assert soak.rss_mb(2**22 + 12345) is None  # above pid_max: no such process
    assert soak.namespaced(os.getpid(), "pytest") == "pytest"  # no __ns:= argument
