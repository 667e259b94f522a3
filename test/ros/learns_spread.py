"""The spread behind the bounds of test_train_launch_learns_and_writes_the_run_folder: the
same launch (2560 PPO steps over the graph) for several seeds, one JSON line per run with
its metrics rows. A seed stands for any change that redraws the random streams (as the
per-step noise hash of issue 14 did); a repeated seed shows the run-to-run spread.

    PYTHONPATH=$PWD python test/ros/learns_spread.py OUT.jsonl 0,1,2,3,4,0
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

sys.path[:0] = [str(Path(__file__).parent), str(Path(__file__).parents[1])]
from test_train_graph import Launch, _domain  # noqa: E402

from rl_control.training.metrics import read_metrics  # noqa: E402


def main(out: Path, seeds: list[int]) -> None:
    for seed in seeds:
        with tempfile.TemporaryDirectory() as tmp:
            run = Path(tmp) / "run"
            code = Launch(run, steps=2560, domain=_domain(), seed=seed).finish(timeout=900)
            m = read_metrics(run / "metrics.csv")
            record = {"seed": seed, "code": code, "train_return": m["train_return"],
                      "episodes": m["episodes"], "env_steps": m["env_steps"]}  # fmt: skip
        with out.open("a") as f:
            f.write(json.dumps(record) + "\n")
        print(record, flush=True)


if __name__ == "__main__":
    main(Path(sys.argv[1]), [int(s) for s in sys.argv[2].split(",")])
