"""experiments/gi_ppo_table.py: one real tiny run, resume by JSON, the table and its verdicts."""

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))

from results_table import start_run  # noqa: E402

from experiments import gi_ppo_table as table  # noqa: E402
from experiments import reproduce  # noqa: E402
from rl_control.algorithms.gi_ppo import FALLBACKS  # noqa: E402


def _fake(results: Path, task: str, algo: str, seed: int, best: float, **extra) -> None:
    s = {"task": task, "algo": algo, "seed": seed, "updates": 2}
    payload = {"settings": s, "train_return": [best - 1.0, best], "alpha": [1e-5, 1.1e-5],
               "final_eval": best, "wall_s": 1.0, "cpu_s": 1.0, **extra}  # fmt: skip
    (results / f"{table.key(s)}.json").write_text(json.dumps(payload))


def test_one_run_then_resume(tmp_path: Path) -> None:
    s = {"task": "dejong_1", "algo": "gi_ppo", "seed": 0, "updates": 2}
    job = (s, str(tmp_path), str(tmp_path / "runs"))
    assert table.run_job(job) == table.key(s)
    out = json.loads((tmp_path / f"{table.key(s)}.json").read_text())
    assert len(out["train_return"]) == 2 and len(out["alpha"]) == 2 and out["wall_s"] > 0
    assert set(out["fallbacks"]) == set(FALLBACKS) and sum(out["fallbacks"].values()) <= 2 * 7
    (tmp_path / f"{table.key(s)}.json").write_text(json.dumps({**out, "wall_s": -1.0}))
    table.run_job(job)  # finished: not rerun
    assert json.loads((tmp_path / f"{table.key(s)}.json").read_text())["wall_s"] == -1.0


def test_report_lists_the_slides_numbers_and_where_gi_ppo_loses(tmp_path: Path) -> None:
    results = tmp_path / "r"
    results.mkdir()
    for task in table.PROBLEMS:
        for algo in table.METHODS:
            best = -1.0 if algo == "gi_ppo" else -2.0
            if task == "ackley_64" and algo == "rp":
                best = -0.5  # RP wins here
            counts = {"regression_retry": 2.0, "alpha_oorr": 1.0, "plain_ppo": 0.0}
            extra = {"fallbacks": counts} if task == "dejong_64" and algo == "gi_ppo" else {}
            _fake(results, task, algo, 0, best, **extra)  # the other runs: before the counters
    run = start_run(argv=["experiments/gi_ppo_table.py"])
    path = table.report(results, tmp_path, 2, (0,), run)
    text = path.read_text()
    assert "| dejong_64 | GI-PPO | -1.04e-06 | -1 ± 0 |" in text
    assert "GI-PPO not best on (methods with a higher mean): ackley_64: RP" in text
    assert ("GI-PPO fall-backs per run, mean over seeds (updates of 2 where each happened; "
            "gi_ppo.py: FALLBACKS): dejong_64 (1 runs): regression_retry 2.0, alpha_oorr 1.0\n"
            in text)  # fmt: skip
    summary = json.loads((tmp_path / "gi_ppo_table.json").read_text())
    assert reproduce.judge_gi_ppo_best(summary)[1] == "partly"
    assert reproduce.judge_gi_ppo_vs_ppo(summary)[1] == "reproduced"
    assert (tmp_path / "gi_ppo_table.png").stat().st_size > 0


def test_problems_subset_runs_only_those_and_keeps_the_other_rows(tmp_path, monkeypatch) -> None:
    name = table.output_name(2, None)
    assert name == "gi_ppo_table_u2"  # not the default budget: its own files
    (tmp_path / name).mkdir()
    for algo in table.METHODS:  # an earlier run of another problem, same budget
        _fake(tmp_path / name, "ackley_64", algo, 0, -3.0)
    ran = []

    def fake_job(job):
        s, results, _ = job
        ran.append((s["task"], s["algo"]))
        _fake(Path(results), s["task"], s["algo"], s["seed"], -1.0)
        return table.key(s)

    monkeypatch.setattr(table, "run_job", fake_job)
    argv = ["--updates", "2", "--seeds", "1", "--problems", "dejong_1", "--workers", "1",
            "--out", str(tmp_path), "--runs", str(tmp_path / "runs")]  # fmt: skip
    path = table.main(argv)
    assert path == tmp_path / f"{name}.md" and not (tmp_path / "gi_ppo_table.md").exists()
    assert ran == [("dejong_1", a) for a in table.METHODS]
    text = path.read_text()
    assert "| ackley_64 | GI-PPO | -0.0036 | -3 ± 0 |" in text  # kept, not rerun
    assert "| dejong_1 | GI-PPO | -3.84e-10 | -1 ± 0 |" in text
    assert "| dejong_64 | GI-PPO | -1.04e-06 | not run |" in text
    summary = json.loads((tmp_path / f"{name}.json").read_text())
    assert set(summary["problems"]["ackley_64"]) == set(table.METHODS)


def test_problems_and_tag_are_validated(capsys) -> None:
    for argv, message in ((["--problems", "dejong_1,rosenbrock_2"], "unknown problem(s) "
                           "rosenbrock_2; choose from dejong_1, dejong_64, ackley_1, ackley_64"),
                          (["--problems", ","], "unknown problem(s) ','"),
                          (["--tag", "../u300"], "tag must be letters, digits")):  # fmt: skip
        try:
            table.main([*argv, "--report-only"])
        except SystemExit as exc:
            assert exc.code == 2
        else:
            raise AssertionError(f"{argv} was accepted")
        assert message in capsys.readouterr().err
    assert table.parse_problems("ackley_64, dejong_64") == ("dejong_64", "ackley_64")
    assert table.output_name(table.DEFAULT_UPDATES, None) == "gi_ppo_table"
    assert table.output_name(300, "u300") == table.output_name(300, None) == "gi_ppo_table_u300"
    assert table.output_name(table.DEFAULT_UPDATES, "rerun") == "gi_ppo_table_rerun"
