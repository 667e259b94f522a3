"""Optuna studies of PPO and TRPO on minitaur_tg with equal effort (issue 12's tuned configs).

Each algorithm's study is ``rl-control tune`` (rl_control/training/tune.py) on its base config
(config/train/{ppo,trpo}_minitaur_tg.yaml: the slides' settings) over its search space
(config/tune/{ppo,trpo}_minitaur_tg.yaml: five entries each, four of them alike). Both get the
same effort: ``TRIALS`` finished trials of ``STEPS`` env steps on each of the same training
seeds (the spaces' ``train_seeds``, 100 and 101), the same sampler seed, median pruner and
objective: the mean over the training seeds of the final deterministic evaluation return
(rl_control/training/tune_objective.py: the seeds run one after the other, and the pruner reads
that mean during the last seed's run). experiments/minitaur_walk.py never reports the training
seeds (its seeds are 0-4), so the tuned variant there is judged on seeds the tune never saw.

Resumable: a study folder (``study_dir(algo)``, SQLite) continues where it stopped.
After the studies, each study's ``summary.md`` is copied to
experiments/results/minitaur_tune_<algo>.md and its ``best_config.yaml`` (whose first line
names the study) to config/train/<algo>_minitaur_tg_tuned.yaml, which minitaur_walk.py's
``tuned`` variant reads.

The first studies (runs/tune/minitaur_tg_<algo>: 16 trials x 20k steps on seed 100 alone; their
tables and tuned configs are in git before this objective) ran on the tune as it was before
commits ccf5642 and 4ce7d3d: evaluations were reported at their own env steps (which differ
with ``n_steps``) and at step 0, so the median pruner stopped no trial early in either study.
Selecting on one seed suited PPO's pick to that seed (1/5 seeds of minitaur_walk past the
generator); the studies here (``study_dir``) use the fixed pruner and two seeds.

    OMP_NUM_THREADS=1 nice -n 19 python experiments/minitaur_tune.py        # both studies
    python experiments/minitaur_tune.py --trials 24      # continue both studies further
    python experiments/minitaur_tune.py --copy-only     # copy finished studies' files only
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from collections.abc import Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

ALGOS = ("ppo", "trpo")
#: 16: Optuna's TPE samples from its 11th trial on (the first 10 are random start-up draws);
#: the studies ran 8 first, then were continued to 16 (``--trials``)
TRIALS = 16
STEPS = 15_000
#: study folders, relative to the repository root (the summaries name them)
STUDY_DIR = Path("runs/tune")


def study_dir(algo: str) -> Path:
    """``algo``'s study folder, relative to the root: the 2-seed objective's, not the first's."""
    return STUDY_DIR / f"minitaur_tg_{algo}_2seeds"


def base_config(algo: str) -> Path:
    return ROOT / "config" / "train" / f"{algo}_minitaur_tg.yaml"


def space_file(algo: str) -> Path:
    return ROOT / "config" / "tune" / f"{algo}_minitaur_tg.yaml"


def tuned_config(algo: str) -> Path:
    """The best config of ``algo``'s study, as minitaur_walk.py's ``tuned`` variant reads it."""
    return ROOT / "config" / "train" / f"{algo}_minitaur_tg_tuned.yaml"


def summary_file(algo: str) -> Path:
    return ROOT / "experiments" / "results" / f"minitaur_tune_{algo}.md"


def run_study(algo: str, trials: int, steps: int) -> dict:
    """Run or continue ``algo``'s study up to ``trials`` finished trials."""
    from rl_control.training.config import load_config
    from rl_control.training.tune import load_space, tune

    config = load_config(base_config(algo), {"total_steps": steps}, [])
    return tune(config, load_space(space_file(algo)), study_dir(algo), trials)


def copy_results(algo: str) -> None:
    """The study's summary and best config to their committed places (byte for byte)."""
    out = ROOT / study_dir(algo)
    files = {"summary.md": summary_file(algo), "best_config.yaml": tuned_config(algo)}
    for name, dest in files.items():
        if not (out / name).is_file():
            raise FileNotFoundError(f"{out / name} is missing: run the {algo} study first")
        shutil.copyfile(out / name, dest)
        print(f"{out / name} -> {dest.relative_to(ROOT)}")


def main(argv: Iterable[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--algos", default=",".join(ALGOS), help="studies to run, in order")
    parser.add_argument("--copy-only", action="store_true", help="no trials: copy the files")
    parser.add_argument("--trials", type=int, default=TRIALS,
                        help=f"finished trials per study (default {TRIALS}; give both studies "
                        "the same: equal effort)")  # fmt: skip
    args = parser.parse_args(None if argv is None else list(argv))
    algos = [a for a in args.algos.split(",") if a]
    if unknown := set(algos) - set(ALGOS):
        raise ValueError(f"unknown algorithm(s) {sorted(unknown)}; known: {', '.join(ALGOS)}")
    os.chdir(ROOT)  # the study folders are named relative to the root in their summaries
    for algo in algos:
        if not args.copy_only:
            result = run_study(algo, args.trials, STEPS)
            print(f"{algo}: {result['trials']} trials, best {result['best_value']}", flush=True)
        copy_results(algo)
    return 0


if __name__ == "__main__":
    sys.exit(main())
