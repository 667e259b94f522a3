"""Both sides of the graph throughput benchmark are timed over the same interval."""

import math

import graph_throughput
import pytest


def test_interval_starts_after_the_first_update_on_both_row_layouts() -> None:
    # in-process: a step-0 evaluation row (no rate), then one row per 512-step update
    inproc = graph_throughput.training_interval([0, 512, 1024, 1536], [math.nan, 10, 512, 256])
    # graph: no step-0 row; the first update's row holds the start-up (a slow rate)
    graph = graph_throughput.training_interval([512, 1024, 1536], [1, 512, 256])
    assert inproc == graph == (1024, 3.0)


def test_interval_needs_two_timed_rows() -> None:
    with pytest.raises(ValueError, match="at least 2 timed"):
        graph_throughput.training_interval([0, 512], [math.nan, 100])
    with pytest.raises(ValueError, match="steps_per_s"):
        graph_throughput.training_interval([0, 512], [1.0])


def test_the_workers_plot_is_written_as_a_png(tmp_path) -> None:
    import argparse

    args = argparse.Namespace(algo="ppo", task="soft_wall_cartpole")
    path = graph_throughput.plot_workers(
        {1: [30.0, 37.0], 2: [38.0, 46.0], 4: [50.0, 63.0]}, [26.0, 14.0], tmp_path / "w.png", args
    )
    assert path.read_bytes().startswith(b"\x89PNG") and not list(tmp_path.glob("*.part"))


def test_cpu_note_gives_medians_per_role_and_the_cores_kept_busy() -> None:
    one = {"trainer": 1.0, "workers": 4.0, "other": 0.5}
    cpus = {1: [one, {"trainer": 3.0, "workers": 4.0, "other": 0.5}, one],
            2: [{"trainer": 1.0, "workers": 4.0, "other": 0.0}]}  # fmt: skip
    note = graph_throughput.cpu_note(cpus, {1: [200.0, 100.0, 200.0], 2: [300.0]})
    assert "1 worker(s) 1.00 / 4.00 / 0.50 ms, 1.10 cores busy" in note  # 200 x 5.5 ms
    assert "2 worker(s) 1.00 / 4.00 / 0.00 ms, 1.50 cores busy" in note
