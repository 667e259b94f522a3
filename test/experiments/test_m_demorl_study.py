"""experiments/m_demorl_study.py: same protocol for all methods, budget cuts, threshold rule."""

import json
import math
from pathlib import Path

import pytest

from experiments import m_demorl_report as report
from experiments import m_demorl_study as study


def test_every_method_gets_the_same_budget_and_evaluation_protocol():
    plan = study.Plan()
    runs = [study.settings(plan, m, t, 0) for m in study.METHODS for t in plan.tasks]
    protocol = {(s["task"], s["total_steps"], s["eval_every"], s["eval_episodes"]) for s in runs}
    assert len(protocol) == len(plan.tasks)  # one protocol per task, whatever the method
    sac_nets = {json.dumps(s["algo_config"].get("sac", s["algo_config"])["hidden"]) for s in runs}
    assert sac_nets == {"[128, 128]"}  # the budget cut applies to every method's SAC
    acts = study.settings(plan, "M-DeMoRL (mpc_acts)", study.LEG, 0)["algo_config"]
    assert acts["mpc_acts"] is True and acts["act_particles"] == 1
    full = study.settings(study.Plan(full=True), "MBPO", study.LEG, 0)["algo_config"]
    assert full["sac"]["gradient_steps"] == 20 and full["model_train_freq"] == 250


def test_ablation_shares_the_default_run_and_keys_differ_by_settings():
    plan = study.Plan()
    _, rest, ablation = study.task_jobs(plan, study.LEG)
    keys = {study.key(s) for s in rest}
    assert sum(study.key(s) in keys for s in ablation) == len(plan.ablation_seeds)  # p = 10 %
    assert len({study.key(s) for s in ablation}) == len(study.ELITE_FRACTIONS)
    assert study.task_jobs(plan, "Hopper-v5")[2] == []


def _result(runs: Path, s: dict, returns: list[float]) -> None:
    n = len(returns)
    steps = [1000.0 * i for i in range(n)]
    curve = {"env_steps": steps, "rollouts": [0.0] * n, "wall_s": [s / 100 for s in steps],
             "cpu_s": [0.0] * n, "returns": returns}  # fmt: skip
    (runs / f"{study.key(s)}.json").write_text(json.dumps({"settings": s, "curve": curve}))


def test_threshold_comes_from_the_sac_curves_and_speedup_from_epochs_to_it(tmp_path):
    plan = study.Plan(seeds=(0, 1), leg_epochs=3, tasks=(study.LEG,))
    sac, rest, _ = study.task_jobs(plan, study.LEG)
    _result(tmp_path, sac[0], [0.0, 10.0, 40.0, 100.0])
    _result(tmp_path, sac[1], [0.0, 20.0, 60.0, 80.0])
    thr = study.threshold(plan, study.LEG, tmp_path, {})
    assert thr["threshold"] == pytest.approx(0.8 * 90.0)  # R0 0, R_end 90
    curves = {"MBPO": [0.0, 10.0, 50.0, 75.0], "M-DeMoRL (paper)": [0.0, 80.0, 90.0, 95.0],
              "M-DeMoRL (mpc_acts)": [0.0, 1.0, 2.0, 3.0]}  # fmt: skip
    for s in rest:
        _result(tmp_path, s, curves[s["method"]])
    summary = report.write_results(plan, study.task_jobs, study.key, tmp_path, tmp_path / "out",
                                   1.0, {})  # fmt: skip
    ts = summary["tasks"][study.LEG]
    assert ts["groups"]["SAC"]["epochs_to_threshold"] == [3.0, 3.0]
    assert all(math.isnan(e) for e in ts["groups"]["M-DeMoRL (mpc_acts)"]["epochs_to_threshold"])
    assert ts["speedup_vs_best_baseline"] == pytest.approx(3.0)  # MBPO and SAC 3, ours 1
    assert summary["leg_ratio_to_sac"] == pytest.approx(95.0 / 90.0)
    text = (tmp_path / "out/m_demorl_study.md").read_text()
    assert "Threshold 72.0" in text and (tmp_path / "out/m_demorl_study.png").stat().st_size


def _write_all(plan: study.Plan, task: str, runs: Path, returns: list[float]) -> None:
    runs.mkdir(exist_ok=True)
    for s in (s for group in study.task_jobs(plan, task) for s in group):
        _result(runs, s, returns)


def test_a_task_without_its_records_keeps_its_earlier_summary_only_under_the_same_plan(
    tmp_path,
):
    plan = study.Plan(seeds=(0,), leg_epochs=1, mujoco_epochs=1, tasks=(study.LEG, "Hopper-v5"),
                      fractions=(0.1,))  # fmt: skip
    leg_runs, hop_runs, out = tmp_path / "leg", tmp_path / "hop", tmp_path / "out"
    _write_all(plan, study.LEG, leg_runs, [0.0, 50.0])
    _write_all(plan, "Hopper-v5", hop_runs, [0.0, 7.0])
    args = (study.task_jobs, study.key)
    report.write_results(plan, *args, leg_runs, out, 1.0, {})
    # another machine: only Hopper's records; the leg's rows are kept, marked as such
    earlier = report.earlier_summary(out / "m_demorl_study.json", plan, study.budget_cuts(plan))
    summary = report.write_results(plan, *args, hop_runs, out, 1.0, earlier)
    assert list(summary["tasks"]) == [study.LEG, "Hopper-v5"]
    leg, hop = summary["tasks"][study.LEG], summary["tasks"]["Hopper-v5"]
    assert leg["groups"]["SAC"]["kept_seeds"] == leg["ablation"]["0.1"]["kept_seeds"] == [0]
    assert hop["groups"]["SAC"]["kept_seeds"] == []
    assert leg["groups"]["SAC"]["returns"] == [[0.0, 50.0]]
    assert "From an earlier invocation" in (out / "m_demorl_study.md").read_text()
    # and again from that summary (its kept rows are kept again)
    earlier = report.earlier_summary(out / "m_demorl_study.json", plan, study.budget_cuts(plan))
    again = report.write_results(plan, *args, hop_runs, out, 1.0, earlier)
    assert again["tasks"][study.LEG]["groups"] == leg["groups"]
    # a leg summary made under other budgets is not kept
    other = study.Plan(seeds=(0,), leg_epochs=2, mujoco_epochs=1, tasks=plan.tasks,
                       fractions=(0.1,))  # fmt: skip
    earlier = report.earlier_summary(out / "m_demorl_study.json", other, study.budget_cuts(other))
    summary = report.write_results(other, *args, hop_runs, out, 1.0, earlier)
    assert list(summary["tasks"]) == ["Hopper-v5"]


def test_kept_rows_are_not_rerun_unless_a_record_of_their_seed_starts_elsewhere(tmp_path):
    plan = study.Plan(seeds=(0, 1), mujoco_epochs=2, tasks=("Hopper-v5",))
    sac, rest, _ = study.task_jobs(plan, "Hopper-v5")
    old, results, out = tmp_path / "old", tmp_path / "results", tmp_path / "out"
    old.mkdir()
    results.mkdir()
    for s in sac + rest:  # the earlier machine: SAC and MBPO; M-DeMoRL did not finish
        if s["method"] != "M-DeMoRL (paper)":
            _result(old, s, [5.0 + s["seed"], 6.0, 9.0 + s["seed"]])
    args = (study.task_jobs, study.key)
    report.write_results(plan, *args, old, out, 1.0, {})
    earlier = report.earlier_summary(out / "m_demorl_study.json", plan, study.budget_cuts(plan))
    rows, todo, dropped = report.task_rows(plan, "Hopper-v5", *args, results, earlier)
    assert {s["method"] for s in todo} == {"M-DeMoRL (paper)"} and len(todo) == 2
    assert not dropped and all(r["kept"] for r in rows[("groups", "SAC")])
    assert report.task_rows(plan, "Hopper-v5", *args, results, {})[1] == sac + rest
    # the missing runs land with the same epoch-0 returns: a table of all three methods
    for s in todo:
        _result(results, s, [5.0 + s["seed"], 9.0, 12.0])
    assert report.task_rows(plan, "Hopper-v5", *args, results, earlier)[1] == []
    assert study.threshold(plan, "Hopper-v5", results, earlier)["threshold"] == pytest.approx(
        5.5 + 0.8 * 4.0)  # SAC's kept rows: R0 5.5, R_end 9.5  # fmt: skip
    summary = report.write_results(plan, *args, results, out, 1.0, earlier)
    groups = summary["tasks"]["Hopper-v5"]["groups"]
    assert [groups[m]["kept_seeds"] for m in groups] == [[0, 1], [0, 1], []]
    assert summary["tasks"]["Hopper-v5"]["speedup_vs_best_baseline"] == pytest.approx(2.0)  # 2 / 1
    # a record of seed 1 that starts elsewhere: the kept seed-1 rows are dropped and rerun
    _result(results, todo[1], [99.0, 9.0, 12.0])
    rows, again, dropped = report.task_rows(plan, "Hopper-v5", *args, results, earlier)
    assert dropped == ["SAC seed 1", "MBPO seed 1"]
    assert again == [s for s in sac + rest if s["seed"] == 1 and s["method"] != todo[1]["method"]]
    assert [r["seed"] for r in rows[("groups", "SAC")]] == [0]


def test_a_finished_runs_record_is_committed_and_reused_by_the_next_invocation(
    tmp_path, monkeypatch
):
    tiny = study.Plan(leg_epochs=1, seeds=(0,), eval_episodes=1, epoch=100, quick=True,
                      tasks=(study.LEG,), fractions=())  # fmt: skip
    monkeypatch.setattr(study, "QUICK", tiny)
    monkeypatch.setattr(study, "METHODS", {"SAC": study.METHODS["SAC"]})
    out, runs = tmp_path / "out", tmp_path / "runs"
    argv = ["--quick", "--out", str(out), "--runs", str(runs), "--workers", "1"]
    first = study.main(argv)
    s = study.settings(tiny, "SAC", study.LEG, 0)
    record = json.loads((out / f"m_demorl_study_runs_quick/{study.key(s)}.json").read_text())
    assert record["settings"] == s and len(record["curve"]["returns"]) == 2
    assert record["settings"]["algo_config"]["hidden"] == [16, 16]  # the cuts are in the key
    assert not list(runs.glob("*/checkpoint.pt"))  # large artefacts are not kept
    assert first["tasks"][study.LEG]["groups"]["SAC"]["kept_seeds"] == []
    (out / "m_demorl_study.json").unlink()  # no earlier summary: the record alone

    def no_runs(*_: object) -> None:
        raise AssertionError("a finished run was trained again")

    monkeypatch.setattr(study, "run_all", no_runs)
    second = study.main(argv)
    assert second["tasks"] == first["tasks"]


def test_no_threshold_when_sac_did_not_improve(tmp_path):
    plan = study.Plan(seeds=(0,), mujoco_epochs=1, tasks=("Hopper-v5",))
    sac, rest, _ = study.task_jobs(plan, "Hopper-v5")
    for s in sac + rest:  # SAC ends below its start: the rule would put the bar below R0
        _result(tmp_path, s, [10.0, 5.0])
    assert math.isnan(study.threshold(plan, "Hopper-v5", tmp_path, {})["threshold"])
    summary = report.write_results(plan, study.task_jobs, study.key, tmp_path, tmp_path / "out",
                                   1.0, {})  # fmt: skip
    assert math.isnan(summary["tasks"]["Hopper-v5"]["speedup_vs_best_baseline"])
    text = (tmp_path / "out/m_demorl_study.md").read_text()
    assert "No threshold: SAC's mean return at the last epoch (5.0)" in text
    assert "Hopper-v5 n/a (no threshold: SAC did not improve)" in text
