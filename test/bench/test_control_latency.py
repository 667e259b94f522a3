"""The control-latency bench's bookkeeping: which joint states were answered in time, the
latencies to the Action and to the next command, and what counts as a held rate."""

import control_latency
import numpy as np
import pytest


def _record(answers: dict[int, float], misses: list[int]) -> object:
    """Joint states every 2 ms from t = 100 s; ``answers``: index -> latency (s)."""
    stamps = [100.0 + 0.002 * i for i in range(10)]
    rec = control_latency.Record(sent=stamps, misses=misses)
    # stamps come back through float seconds: off by less than a microsecond
    rec.actions = [(stamps[i] + 3e-7, stamps[i] + lat) for i, lat in answers.items()]
    rec.commands = [s + 0.0015 for s in stamps]
    return rec


def test_all_answered_in_time_is_held_with_latencies() -> None:
    rec = _record({i: 0.001 for i in range(10)}, [4, 4])
    out = control_latency.summarise("neural", 500.0, rec)
    assert out["held"] == 1.0 and out["unanswered_or_late"] == 0 and out["sent"] == 10
    assert out["action_p50"] == pytest.approx(1.0)
    assert out["command_p50"] == pytest.approx(1.5, abs=1e-3)


def test_late_dropped_or_deadline_misses_are_not_held() -> None:
    late = control_latency.summarise("neural", 500.0, _record({0: 0.005, 1: 0.001}, [0]))
    assert late["unanswered_or_late"] == 9 and not late["held"]  # 8 dropped, 1 past 2 periods
    missed = control_latency.summarise("mpc", 500.0, _record({i: 0.001 for i in range(10)},
                                                             [2, 3]))  # fmt: skip
    assert missed["deadline_misses"] == 1 and not missed["held"]
    assert "command_p50" not in missed  # the graph case has no bridge commands
    none = control_latency.summarise("mpc", 500.0, _record({}, []))
    assert not none["held"] and np.isnan(none["action_p50"])


def test_the_niceness_note_says_what_the_run_did() -> None:
    assert control_latency.niceness_note(10).startswith("Run under `nice -n 10`")
    assert control_latency.niceness_note(3).startswith("Run under `nice -n 3`")
    assert "not under `nice`" in control_latency.niceness_note(0)


def test_sweep_runs_both_bridges_at_each_rate_until_both_held(monkeypatch) -> None:
    calls = []
    held_from = {"neural": 500.0, "neural_tick": 50.0}

    def fake_run(case, rate, seconds, warmup, work):
        calls.append((case, rate))
        return {"rate": rate, "held": float(rate <= held_from[case]), "action_p50": 1.0}

    monkeypatch.setattr(control_latency, "run_case", fake_run)
    out = control_latency.sweep(["neural", "neural_tick"], [100, 500, 50, 20, 250], 1, 0, None)
    assert calls == [("neural", 500), ("neural_tick", 500), ("neural_tick", 250),
                     ("neural", 250), ("neural", 100), ("neural_tick", 100),
                     ("neural_tick", 50), ("neural", 50)]  # fmt: skip
    assert [r["rate"] for r in out["neural_tick"]] == [500, 250, 100, 50]
    notes = control_latency.ab_notes({k: [dict(r, command_p50=2.0) for r in v]
                                      for k, v in out.items()})  # fmt: skip
    assert notes[0].count("1.00 vs 1.00 ms -> Action") == 4


def test_only_the_real_time_cases_raise_their_nodes(tmp_path) -> None:
    """neural_rt and mpc_rt start every node at SCHED_FIFO 80 with locked memory; the
    others leave the scheduling alone (the A/B differs in that only)."""
    for case in control_latency.CASES:
        commands = control_latency.graph_commands(case, 500.0, tmp_path / "p.pt", tmp_path)
        for command in commands:
            wanted = {"thread_priority:=80", "lock_memory:=true", "cpu_dma_latency:=0"}
            rt = wanted & set(command)
            assert rt == (wanted if case.endswith("_rt") else set()), (case, command)
    plain = control_latency.graph_commands("neural", 500.0, tmp_path / "p.pt", tmp_path)
    rt = control_latency.graph_commands("neural_rt", 500.0, tmp_path / "p.pt", tmp_path)
    extra = " -p thread_priority:=80 -p lock_memory:=true -p cpu_dma_latency:=0"
    assert [" ".join(c).replace(extra, "") for c in rt] == [" ".join(c) for c in plain]
