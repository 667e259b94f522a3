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
    return {"methods": ["gps", "ppo", "ppo_tuned"], "seeds": seeds, "carried": {},
            "curves": {m: [[tag]] for m in ("gps", "ppo", "ppo_tuned")}, "groups": groups,
            "seconds": {m: [tag] for m in ("gps", "ppo", "ppo_tuned", "ilqr_mpc")},
            "gps_counts": [tag], "gps_minus_guide": [(tag, tag)]}  # fmt: skip


def test_carry_copies_only_the_absent_methods_rows_and_dates_them() -> None:
    new, old = summary(2.0, []), summary(1.0, [0, 1, 2])
    old["carried"] = {"ppo": "2026-11-30 10:00 UTC"}  # carried once already: keeps its date
    rows = gps_study.carry(new, old, ["gps", "ppo", "ppo_tuned"], "2026-12-02 07:50 UTC")
    assert rows == ["GPS", "PPO, default (SB3-style)", "PPO, tuned (ppo_mpc_vs_ppo)",
                    "iLQR guide law (no re-planning)"]  # fmt: skip
    assert new["groups"]["iLQR as MPC (re-planning)"]["train"] == [2.0]  # the rerun row stays
    assert new["groups"]["GPS"]["train"] == [1.0] and new["curves"]["ppo"] == [[1.0]]
    assert new["seconds"]["ilqr_mpc"] == [2.0] and new["gps_minus_guide"] == [(1.0, 1.0)]
    assert new["carried"] == {"gps": "2026-12-02 07:50 UTC", "ppo": "2026-11-30 10:00 UTC",
                              "ppo_tuned": "2026-12-02 07:50 UTC"}  # fmt: skip
    assert new["seeds"] == [0, 1, 2]


def test_carried_seeds_are_those_every_learner_has() -> None:
    new, old = summary(2.0, [0, 1]), summary(1.0, [0, 1, 2])
    gps_study.carry(new, old, ["gps"], "d")
    assert new["seeds"] == [0, 1] and new["groups"]["PPO, default (SB3-style)"]["train"] == [2.0]


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
        "PPO, default (SB3-style)",
        "iLQR as MPC (re-planning)",
    ]
    assert new["seeds"] == [0, 1] and new["carried"] == {"ppo": "d", "ilqr_mpc": "d"}
