"""experiments/gi_ppo_cartpole.py: one real tiny run and its reuse, the learning-rate pick,
the table naming where GI-PPO does not win, and the reproduction verdict."""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))

from results_table import start_run  # noqa: E402

from experiments import gi_ppo_cartpole as exp  # noqa: E402
from experiments import reproduce  # noqa: E402

PLAN = exp.QUICK


def _fake(results: Path, plan: exp.Plan, algo: str, seed: int, lr: float, level: float) -> None:
    s = exp.settings(plan, algo, "standard", seed, lr)
    steps = [0.0, 50.0, 100.0]
    curve = {"env_steps": steps, "rollouts": [0.0, 1.0, 2.0], "wall_s": [0.0, 1.0, 2.0],
             "cpu_s": [0.0, 1.0, 2.0], "returns": [100.0, level, level]}  # fmt: skip
    payload = {"settings": s, "curve": curve, "process_wall_s": 3.0, "process_cpu_s": 2.0,
               "alpha": [1e-5, 1.1e-5] if algo in exp.GI else []}  # fmt: skip
    (results / f"{exp.fair.settings_key(s)}.json").write_text(json.dumps(payload))


def test_one_real_run_then_reuse(tmp_path: Path) -> None:
    s = exp.settings(PLAN, "gi_ppo", "standard", 0, 1e-3)
    job = (s, str(tmp_path / "r"), str(tmp_path / "runs"))
    name, seconds = exp.run_job(job)
    assert seconds > 0 and not (tmp_path / "runs" / name).exists()  # the folder is gone
    out = exp.load(tmp_path / "r", s)
    assert out is not None and len(out["alpha"]) == 2 and out["process_cpu_s"] > 0
    assert len(exp.grid_returns(PLAN, out)) == 3  # every grid point evaluated (checked)
    assert exp.run_job(job) == (name, 0.0)  # finished: reused, not rerun


def test_pick_table_misses_and_verdict(tmp_path: Path) -> None:
    results = tmp_path / "r"
    results.mkdir()
    plan = exp.Plan(100, 50, 1, 50, (0, 1), (100,), (1e-3, 3e-3), ("standard",))
    for algo in exp.METHODS:  # tuning: 3e-3 is better for every method but PPO
        for lr in plan.learning_rates:
            good = lr == (1e-3 if algo == "ppo" else 3e-3)
            _fake(results, plan, algo, 100, lr, 900.0 if good else 500.0)
    picks = exp.choose(plan, results)
    assert picks["ppo"] == 1e-3 and picks["gi_ppo"] == 3e-3
    levels = {"lr": 300.0, "rp": 2000.0, "ppo": 800.0, "lr_rp": 400.0, "gi_ppo": 1000.0,
              "gi_ppo_slides": 850.0}  # fmt: skip
    for algo, level in levels.items():
        for seed in plan.report_seeds:
            _fake(results, plan, algo, seed, picks[algo], level + seed)
    run = start_run(argv=["experiments/gi_ppo_cartpole.py"])
    text = exp.report(plan, results, tmp_path, picks, run, quick=False).read_text()
    assert "| standard | GI-PPO, code's α rule | 0.003 | 2 | 1000 [1000, 1001] |" in text
    assert "| standard | GI-PPO, slides' α rule | 0.003 | 2 | 850 [850, 851] |" in text
    assert "(baselines at or above it): standard, GI-PPO, code's α rule: RP; " in text
    summary = json.loads((tmp_path / "gi_ppo_cartpole.json").read_text())
    assert summary["gi_ppo_not_best"] == ["standard, GI-PPO, code's α rule: RP",
                                          "standard, GI-PPO, slides' α rule: RP"]  # fmt: skip
    figure, verdict = reproduce.judge_gi_ppo_cartpole(summary)
    assert verdict == "reproduced" and "above on 2/2 seeds" in figure
    assert "(slides' α rule: median 600, above PPO on 2/2)" in figure
    summary["variants"]["standard"]["gi_ppo"]["grid_mean"] = [1.0, 1e9]  # 1 of 2 seeds
    assert reproduce.judge_gi_ppo_cartpole(summary)[1] == "partly"
    (tmp_path / "gi_ppo_cartpole.png").stat()  # the plot was written


def test_slides_rule_is_its_own_method_on_the_gi_ppo_config() -> None:
    code = exp.settings(PLAN, "gi_ppo", "standard", 0, 1e-3)
    slides = exp.settings(PLAN, "gi_ppo_slides", "standard", 0, 1e-3)
    assert "alpha_rule" not in code["algo_config"]  # the code-rule runs keep their settings
    assert slides["algo_config"]["alpha_rule"] == "slides"
    assert exp.fair.settings_key(code) != exp.fair.settings_key(slides)
    assert exp.CONFIG_FILE["gi_ppo_slides"] == "gi_ppo"
