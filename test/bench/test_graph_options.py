"""graph_options: per-round ratios against the in-process runner and the reference variant,
medians over the rounds, rounds without both sides left out."""

import graph_options


def test_summary_takes_ratios_within_each_round() -> None:
    ref, other = list(graph_options.VARIANTS)[:2]
    local = graph_options.IN_PROCESS
    runs = {
        f"0/{local}": {"rate": 100.0}, f"0/{ref}": {"rate": 30.0}, f"0/{other}": {"rate": 60.0},
        f"1/{local}": {"rate": 50.0}, f"1/{ref}": {"rate": 20.0, "cpu_ms_per_step": 4.0},
        f"1/{other}": {"rate": 30.0, "cpu_ms_per_step": 2.0},
        f"2/{other}": {"rate": 999.0, "cpu_ms_per_step": 3.0},  # round 2 alone: no ratio
    }  # fmt: skip
    rows = {r[0]: r for r in graph_options.summary(runs, [local, ref, other], [0, 1, 2])}
    assert rows[local][1:6] == ["100", "50", "", "100.0 %", "2.92x"]  # of 3.33x and 2.5x
    assert rows[ref][1:6] == ["30", "20", "", "35.0 %", "1.00x"]  # median of 30 % and 40 %
    assert rows[other][1:6] == ["60", "30", "999", "60.0 %", "1.75x"]  # of 2.0x and 1.5x
    assert [rows[n][6] for n in (local, ref, other)] == ["", "4.00", "2.50"]  # CPU medians
    assert rows[local][7] == "" and rows[other][7] != rows[ref][7]  # pass against miss
