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
    thr = study.threshold(plan, study.LEG, tmp_path)
    assert thr["threshold"] == pytest.approx(0.8 * 90.0)  # R0 0, R_end 90
    curves = {"MBPO": [0.0, 10.0, 50.0, 75.0], "M-DeMoRL (paper)": [0.0, 80.0, 90.0, 95.0],
              "M-DeMoRL (mpc_acts)": [0.0, 1.0, 2.0, 3.0]}  # fmt: skip
    for s in rest:
        _result(tmp_path, s, curves[s["method"]])
    summary = report.write_results(plan, [study.LEG], study.task_jobs, study.key, tmp_path,
                                   tmp_path / "out", 1.0)  # fmt: skip
    ts = summary["tasks"][study.LEG]
    assert ts["groups"]["SAC"]["epochs_to_threshold"] == [3.0, 3.0]
    assert all(math.isnan(e) for e in ts["groups"]["M-DeMoRL (mpc_acts)"]["epochs_to_threshold"])
    assert ts["speedup_vs_best_baseline"] == pytest.approx(3.0)  # MBPO and SAC 3, ours 1
    assert summary["leg_ratio_to_sac"] == pytest.approx(95.0 / 90.0)
    text = (tmp_path / "out/m_demorl_study.md").read_text()
    assert "Threshold 72.0" in text and (tmp_path / "out/m_demorl_study.png").stat().st_size


def test_a_task_without_its_run_files_keeps_its_earlier_summary_only_under_the_same_plan(
    tmp_path,
):
    plan = study.Plan(seeds=(0,), leg_epochs=1, mujoco_epochs=1, tasks=(study.LEG, "Hopper-v5"),
                      fractions=(0.1,))  # fmt: skip
    leg_runs, hop_runs, out = tmp_path / "leg", tmp_path / "hop", tmp_path / "out"
    for runs, task, ret in ((leg_runs, study.LEG, 50.0), (hop_runs, "Hopper-v5", 7.0)):
        runs.mkdir()
        for s in (s for group in study.task_jobs(plan, task) for s in group):
            _result(runs, s, [0.0, ret])
        study.threshold(plan, task, runs)
    args = (study.task_jobs, study.key)
    report.write_results(plan, [study.LEG], *args, leg_runs, out, 1.0)
    # another machine: only Hopper's run files; the leg's summary is kept, marked as such
    summary = report.write_results(plan, ["Hopper-v5"], *args, hop_runs, out, 1.0)
    assert list(summary["tasks"]) == [study.LEG, "Hopper-v5"]
    assert summary["tasks"][study.LEG]["kept"] and "kept" not in summary["tasks"]["Hopper-v5"]
    assert summary["tasks"][study.LEG]["groups"]["SAC"]["returns"] == [[0.0, 50.0]]
    assert "From an earlier invocation" in (out / "m_demorl_study.md").read_text()
    # a leg summary made under other budgets is not kept
    other = study.Plan(seeds=(0,), leg_epochs=2, mujoco_epochs=1, tasks=plan.tasks,
                       fractions=(0.1,))  # fmt: skip
    summary = report.write_results(other, ["Hopper-v5"], *args, hop_runs, out, 1.0)
    assert list(summary["tasks"]) == ["Hopper-v5"]


def test_no_threshold_when_sac_did_not_improve(tmp_path):
    plan = study.Plan(seeds=(0,), mujoco_epochs=1, tasks=("Hopper-v5",))
    sac, rest, _ = study.task_jobs(plan, "Hopper-v5")
    for s in sac + rest:  # SAC ends below its start: the rule would put the bar below R0
        _result(tmp_path, s, [10.0, 5.0])
    assert math.isnan(study.threshold(plan, "Hopper-v5", tmp_path)["threshold"])
    summary = report.write_results(plan, ["Hopper-v5"], study.task_jobs, study.key, tmp_path,
                                   tmp_path / "out", 1.0)  # fmt: skip
    assert math.isnan(summary["tasks"]["Hopper-v5"]["speedup_vs_best_baseline"])
    text = (tmp_path / "out/m_demorl_study.md").read_text()
    assert "No threshold: SAC's mean return at the last epoch (5.0)" in text
    assert "Hopper-v5 n/a (no threshold: SAC did not improve)" in text
