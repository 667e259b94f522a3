"""Every claim of the papers in ../shared/papers/ that the project implements, one command.

Runs each claim's experiment (each resumable: finished runs are reused) and writes one summary
table, experiments/results/reproduce.md: claim, the paper's figure, ours, seeds, verdict
(reproduced / partly / not reproduced / not run) and the command behind it. Later issues add
their claims to :data:`CLAIMS`.

    python experiments/reproduce.py                # everything, full budgets (resumable)
    python experiments/reproduce.py --quick        # smoke run on tiny budgets (CI); not results
    python experiments/reproduce.py --report-only  # the table from the results already there
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
for path in (ROOT, ROOT / "bench"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from results_table import start_run, write_markdown  # noqa: E402

from experiments import fair  # noqa: E402

HEADER = ("claim", "paper", "paper's figure", "our figure", "seeds", "verdict", "command")
VERDICTS = ("reproduced", "partly", "not reproduced", "not run")


@dataclass(frozen=True)
class Claim:
    """One claim: where it is stated, which experiment tests it, how its verdict is read."""

    claim: str
    paper: str
    paper_figure: str
    experiment: str  # experiments/<experiment>.py writes <results>/<experiment>.json
    #: summary JSON -> (our figure, verdict)
    judge: Callable[[dict[str, Any]], tuple[str, str]]


def _groups(summary: dict[str, Any], variant: str = "standard") -> dict[str, dict[str, Any]]:
    return summary["variants"][variant]["groups"]


def _pick(groups: dict[str, dict[str, Any]], text: str) -> dict[str, Any]:
    return next(g for name, g in groups.items() if text in name)


def _ratio(slow: dict, fast: dict, tag: str, what: str) -> float:
    return fair.median_ratio(slow[tag][what], fast[tag][what])


def judge_data_efficiency(summary: dict[str, Any]) -> tuple[str, str]:
    """Paper: ~15x fewer rollouts. Reproduced if the tuned PPO needs >= 10x the rollouts of
    PPO-MPC on unscreened models (within 1.5x of 15), partly if >= 1.5x, else not."""
    g = _groups(summary)
    mpc, tuned = _pick(g, "unscreened"), _pick(g, "PPO, tuned")
    screened, default = _pick(g, "PPO-MPC, screened"), _pick(g, "PPO, default")
    r = _ratio(tuned, mpc, "t90", "rollouts")
    text = (
        f"tuned PPO / PPO-MPC (unscreened), rollouts to 90 %: {r:.1f}x (env steps "
        f"{_ratio(tuned, mpc, 't90', 'env_steps'):.1f}x); screened models "
        f"{_ratio(tuned, screened, 't90', 'rollouts'):.1f}x; default PPO / PPO-MPC "
        f"{_ratio(default, mpc, 't90', 'rollouts'):.1f}x"
    )
    if math.isnan(r):
        return text, "not reproduced"
    return text, "reproduced" if r >= 10 else "partly" if r >= 1.5 else "not reproduced"


def judge_same_performance(summary: dict[str, Any]) -> tuple[str, str]:
    """Paper: both reach the same level. Reproduced if the median returns at the budget of
    PPO-MPC (unscreened) and the tuned PPO differ by at most 2 % of the exact-model MPC's
    98 % threshold, partly if by at most 10 %."""
    g = _groups(summary)
    mpc, tuned = _pick(g, "unscreened"), _pick(g, "PPO, tuned")
    scale = summary["variants"]["standard"]["thresholds"]["t98"]
    a, b = fair.censored_median(mpc["final"]), fair.censored_median(tuned["final"])
    gap = abs(a - b) / scale
    text = f"return at {summary['budget']} env steps: PPO-MPC {a:.0f}, tuned PPO {b:.0f}"
    return text, "reproduced" if gap <= 0.02 else "partly" if gap <= 0.10 else "not reproduced"


def _walk_medians(summary: dict[str, Any], row: str) -> tuple[float, float]:
    r = summary["rows"][row]
    return fair.censored_median(r["return"]), fair.censored_median(r["distance"])


def judge_ordering(better: str, worse: str) -> Callable[[dict[str, Any]], tuple[str, str]]:
    """The slides' ordering ``better`` > ``worse`` in final return. At most 'partly': ours is
    on the trajectory-generator action space at a small budget, theirs on raw motor angles
    after 4-7 M steps. Partly if the median final return of ``better`` over the seeds
    exceeds that of ``worse``, else not reproduced."""

    def judge(summary: dict[str, Any]) -> tuple[str, str]:
        done = summary["rows"]
        if better not in done or worse not in done:  # a stopped study: the row has no runs
            return f"no finished runs of {better if better not in done else worse}", "not run"
        (rb, db), (rw, dw) = _walk_medians(summary, better), _walk_medians(summary, worse)
        seeds = sorted(set(done[better]["seeds"]) & set(done[worse]["seeds"]))
        text = (
            f"minitaur_tg, {summary['budget']} env steps, seeds {seeds}: median final return "
            f"{better} {rb:.2f} vs {worse} {rw:.2f} (forward distance {db:.2f} vs {dw:.2f} m; "
            f"generator alone {summary['zero_residual']['distance']:.2f} m)"
        )
        return text, "partly" if rb > rw else "not reproduced"

    return judge


SLIDES = "trpo-ppo-quadruped-locomotion-slides (Minitaur)"
PPO_MPC_PAPER = "ppo-with-mpc-based-policy (Fig. 3)"
CLAIMS = (
    Claim(
        "PPO-MPC needs ~15x fewer rollouts than PPO (soft-wall cart-pole)",
        PPO_MPC_PAPER,
        "~40 vs ~600 rollouts: 15x",
        "ppo_mpc_vs_ppo",
        judge_data_efficiency,
    ),
    Claim(
        "PPO-MPC and PPO reach the same level of performance",
        PPO_MPC_PAPER,
        "same level",
        "ppo_mpc_vs_ppo",
        judge_same_performance,
    ),
    Claim(
        "TRPO reaches a higher return than PPO on the Minitaur",
        SLIDES,
        "TRPO 2.5 ± 1.5 vs PPO 0.5 ± 0.05 after 4 M steps",
        "minitaur_walk",
        judge_ordering("TRPO", "PPO"),
    ),
    Claim(
        "TRPO → PPO (warm start) ends above TRPO alone",
        SLIDES,
        "3 ± 1.5 after ~7 M steps vs 2.5 ± 1.5",
        "minitaur_walk",
        judge_ordering("TRPO → PPO", "TRPO"),
    ),
)


def command(experiment: str, quick: bool) -> str:
    return f"python experiments/{experiment}.py" + " --quick" * quick


def rows(results: Path, quick: bool) -> list[list[str]]:
    """One table row per claim, from the summary JSONs in ``results`` ('not run' if absent)."""
    out = []
    for c in CLAIMS:
        path = results / f"{c.experiment}.json"
        if not path.is_file():
            figure, verdict, seeds = "-", "not run", "-"
        else:
            summary = json.loads(path.read_text())
            if summary.get("quick", False) != quick:
                raise ValueError(f"{path} is from a {'quick' * summary['quick'] or 'full'} run")
            figure, verdict = c.judge(summary)
            seeds = ", ".join(map(str, summary["seeds"]))
        out.append(
            [
                c.claim,
                c.paper,
                c.paper_figure,
                figure,
                seeds,
                verdict,
                f"`{command(c.experiment, quick)}`",
            ]
        )
    return out


def run_experiments(quick: bool, out: Path | None, runs: Path | None, workers: int) -> None:
    """Run every experiment behind :data:`CLAIMS` once (in this process, resumable)."""
    import importlib

    for experiment in dict.fromkeys(c.experiment for c in CLAIMS):
        argv = ["--quick"] * quick + ["--workers", str(workers)]
        argv += ["--out", str(out)] if out else []
        argv += ["--runs", str(runs / experiment)] if runs else []
        importlib.import_module(f"experiments.{experiment}").main(argv)


def main(argv: Iterable[str] | None = None) -> Path:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny budgets (smoke run)")
    parser.add_argument("--report-only", action="store_true", help="no runs, only the table")
    parser.add_argument(
        "--out",
        type=Path,
        help="results folder (default experiments/results; runs/experiments_quick with --quick)",
    )
    parser.add_argument("--runs", type=Path, help="folder for the per-run results")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(None if argv is None else list(argv))
    run = start_run(["experiments/reproduce.py", *(argv or sys.argv[1:])])
    out = args.out or ROOT / ("runs/experiments_quick" if args.quick else "experiments/results")
    if not args.report_only:
        run_experiments(args.quick, args.out, args.runs, args.workers)
    table = rows(out, args.quick)
    notes = [
        "Verdict rules are in experiments/reproduce.py (judge_*); 'not run' means the "
        "experiment's summary JSON is not there yet.",
        "The data-efficiency row compares against a PPO tuned for sample efficiency on other "
        "seeds, on the same env-step grid and budget (experiments/ppo_mpc_vs_ppo.py).",
    ]
    title = "Paper claims reproduced by this project" + (" (QUICK: not results)" * args.quick)
    path = write_markdown("reproduce", title, HEADER, table, notes, run=run, out_dir=out)
    print(path.read_text())
    return path


if __name__ == "__main__":
    main()
