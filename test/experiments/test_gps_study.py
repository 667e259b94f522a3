"""gps_study's carried rows: a rerun of some methods keeps the others' rows, dated."""

import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))

from experiments import gps_study  # noqa: E402


def summary(tag: float, seeds: list[int]) -> dict:
    groups = {name: {"train": [tag], "wide": [tag + 1]} for name, _, _ in gps_study.GROUPS}
    return {"methods": ["gps", "ppo"], "seeds": seeds, "carried": {},
            "curves": {m: [[tag]] for m in ("gps", "ppo")}, "groups": groups,
            "seconds": {m: [tag] for m in ("gps", "ppo", "ilqr_mpc")},
            "gps_counts": [tag], "gps_minus_guide": [(tag, tag)]}  # fmt: skip


def test_carry_copies_only_the_absent_methods_rows_and_dates_them() -> None:
    new, old = summary(2.0, []), summary(1.0, [0, 1, 2])
    old["carried"] = {"ppo": "2026-11-30 10:00 UTC"}  # carried once already: keeps its date
    rows = gps_study.carry(new, old, ["gps", "ppo"], "2026-12-02 07:50 UTC")
    assert rows == ["GPS", "PPO", "iLQR guide law (no re-planning)"]
    assert new["groups"]["iLQR as MPC (re-planning)"]["train"] == [2.0]  # the rerun row stays
    assert new["groups"]["GPS"]["train"] == [1.0] and new["curves"]["ppo"] == [[1.0]]
    assert new["seconds"]["ilqr_mpc"] == [2.0] and new["gps_minus_guide"] == [(1.0, 1.0)]
    assert new["carried"] == {"gps": "2026-12-02 07:50 UTC", "ppo": "2026-11-30 10:00 UTC"}
    assert new["seeds"] == [0, 1, 2]


def test_carried_seeds_are_those_every_learner_has() -> None:
    new, old = summary(2.0, [0, 1]), summary(1.0, [0, 1, 2])
    gps_study.carry(new, old, ["gps"], "d")
    assert new["seeds"] == [0, 1] and new["groups"]["PPO"]["train"] == [2.0]


def test_previous_summary_reads_its_date_and_refuses_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no previous summary"):
        gps_study.previous_summary(tmp_path, "gps_study")
    (tmp_path / "gps_study.json").write_text(json.dumps({"seeds": [0]}))
    assert gps_study.previous_summary(tmp_path, "gps_study")[1] == "an earlier run"
    (tmp_path / "gps_study.md").write_text("Machine: 2 cores, load ...; 2026-12-02 07:50 UTC. "
                                           "The machine is shared")  # fmt: skip
    assert gps_study.previous_summary(tmp_path, "gps_study") == (
        {"seeds": [0]},
        "2026-12-02 07:50 UTC",
    )


def test_a_partial_rerun_reports_the_seeds_every_learner_has() -> None:
    plan = {**gps_study.LEG_FULL, "seeds": [0, 1, 2]}
    runs = [{"method": "gps", "seed": s, "steps": [0.0, 2000.0], "returns": [1.0, 2.0],
             "train": [3.0], "wide": [4.0], "guide_train": [2.0], "guide_wide": [2.0],
             "counts": {}, "seconds": 1.0} for s in (0, 1)]  # fmt: skip
    new = gps_study.summarise(plan, runs, quick=False)
    assert new["seeds"] == [0, 1] and new["groups"]["GPS"]["train"] == [3.0, 3.0]
    old = summary(1.0, [0, 1, 2, 3, 4])
    old["methods"] = new["methods"]  # the leg: gps and ppo
    assert gps_study.carry(new, old, ["ppo", "ilqr_mpc"], "d") == [
        "PPO",
        "iLQR as MPC (re-planning)",
    ]
    assert new["seeds"] == [0, 1] and new["carried"] == {"ppo": "d", "ilqr_mpc": "d"}


def test_every_plan_tunes_both_learners_alike_on_seeds_never_reported() -> None:
    for plan in (gps_study.FULL, gps_study.LEG_FULL, gps_study.QUICK, gps_study.LEG_QUICK):
        gps_study.fair.check_disjoint(plan["tuning_seeds"], plan["seeds"])
        sizes = {m: len(gps_study.fair.grid_points(plan["tune"][m])) for m in ("gps", "ppo")}
        assert sizes["gps"] == sizes["ppo"] > 1, sizes


def fake_train(calls: list) -> object:
    """A stand-in for a training run: return = 10 x the tuned value on the tuning seed (so the
    largest value wins), flat over the grid; records what was trained."""

    def train(plan: dict, method: str, seed: int, run_dir: Path, overrides: dict | None = None,
              tuning: bool = False) -> dict:  # fmt: skip
        calls.append((method, seed, dict(overrides or {}), tuning))
        if method == "ilqr_mpc":
            return {"method": method, "seed": seed, "train": [5.0], "wide": [4.0],
                    "solves": 1, "failed_solves": 0, "seconds": 0.0}  # fmt: skip
        value = 10 * next(iter(overrides.values())) * (1 if seed >= 100 else -1)
        out = {"method": method, "seed": seed, "steps": [0.0, 60.0, 120.0],
               "returns": [value] * 3, "train": [value], "seconds": 0.0}  # fmt: skip
        if not tuning:
            out["wide"] = [value - 1]
            if method == "gps":
                out.update(guide_train=[1.0], guide_wide=[1.0], counts={}, w_r=0.1,
                           iterations=1)  # fmt: skip
        return out

    return train


@pytest.fixture
def quick_study(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[list, list[str]]:
    """gps_study --quick with a fake trainer: the list of its training calls, and its argv."""
    calls: list = []
    monkeypatch.setattr(gps_study, "_train", fake_train(calls))
    argv = ["--quick", "--workers", "1", "--out", str(tmp_path / "out"),
            "--runs", str(tmp_path / "runs")]  # fmt: skip
    return calls, argv


def test_the_tuning_stage_picks_the_best_point_runs_it_on_the_reported_seeds_and_resumes(
    tmp_path: Path, quick_study: tuple[list, list[str]]
) -> None:
    calls, argv = quick_study
    summary = gps_study.main(argv)
    tuned = [c for c in calls if c[3]]
    # every grid point of both learners, on tuning seed 100 only, before any reported run
    assert sorted((m, s, tuple(o.values())) for m, s, o, _ in tuned) == [
        ("gps", 100, (1e-3,)), ("gps", 100, (3e-3,)),
        ("ppo", 100, (1e-3,)), ("ppo", 100, (3e-3,)),
    ]  # fmt: skip
    assert calls[: len(tuned)] == tuned
    reported = [c for c in calls if not c[3] and c[0] != "ilqr_mpc"]
    assert sorted(reported) == [("gps", 0, {"phi_lr": 3e-3}, False),
                                ("ppo", 0, {"learning_rate": 3e-3}, False)]  # fmt: skip
    assert summary["tuning"]["gps"]["pick"] == 1 and summary["tuning"]["ppo"]["pick"] == 1
    assert summary["tuning"]["ppo"]["points"][0]["scores"] == [pytest.approx(1e-2)]
    md = (tmp_path / "out" / "gps_study.md").read_text()
    for row in ("tuning, GPS phi_lr 0.001, seeds [100] |",
                "tuning, GPS phi_lr 0.003, seeds [100] (picked) |",
                "tuning, PPO learning_rate 0.001, seeds [100] |",
                "tuning, PPO learning_rate 0.003, seeds [100] (picked) |",
                "GPS (phi_lr 0.003: tuning's pick) |"):  # fmt: skip
        assert row in md
    # resumable: the per-run JSON files are kept and reused, nothing is trained again
    assert len(list((tmp_path / "runs").glob("*.json"))) == 4 + 2 + 1
    calls.clear()
    again = gps_study.main(argv)
    assert calls == [] and again["groups"] == summary["groups"]


def test_an_unfinished_tuning_stage_holds_back_that_learners_reported_runs(
    tmp_path: Path, quick_study: tuple[list, list[str]]
) -> None:
    calls, argv = quick_study
    gps_study.main(argv)
    (tmp_path / "runs" / "tune_ppo_1_100.json").unlink()  # one tuning run lost
    calls.clear()
    summary = gps_study.main([*argv, "--report-only"])
    assert calls == [] and summary["tuning"]["ppo"]["pick"] is None
    assert summary["tuning"]["gps"]["pick"] == 1
    assert "tuning ppo learning_rate 0.003 seed 100" in summary["missing"]
    assert "evaluation ppo (its tuning is unfinished)" in summary["missing"]
    assert summary["groups"]["PPO"]["train"] == [] and summary["groups"]["GPS"]["train"]
