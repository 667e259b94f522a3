"""Training metrics: one CSV row per logged update, mirrored to TensorBoard.

The CSV always starts with :data:`BASE_COLUMNS`; algorithm statistics (losses, KL, entropy
coefficient, ...) follow in the order they first appear. Empty cells mean "not measured at
this row" (e.g. no evaluation, no finished episode).
"""

from __future__ import annotations

import csv
import io
import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from rl_control.training.io import atomic_write_text

BASE_COLUMNS = (
    "env_steps",
    "episodes",
    "updates",
    "wall_time",
    "steps_per_s",
    "train_return",
    "eval_return_mean",
    "eval_return_std",
)
_TB_TAGS = {
    "train_return": "train/return",
    "eval_return_mean": "eval/return_mean",
    "eval_return_std": "eval/return_std",
    "steps_per_s": "time/steps_per_s",
    "episodes": "train/episodes",
}


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and math.isnan(value):
        return ""
    return repr(float(value)) if isinstance(value, float) else str(value)


def read_metrics(path: str | os.PathLike[str]) -> dict[str, list[float]]:
    """Columns of a metrics CSV as float lists (NaN for empty cells); torn last lines skipped."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"metrics file not found: {path}")
    with path.open(newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    if not rows:
        raise ValueError(f"metrics file {path} is empty")
    header, columns = rows[0], {name: [] for name in rows[0]}
    for row in rows[1:]:
        if len(row) != len(header):
            continue  # a line torn by a crash mid-append
        try:
            values = [float(v) if v else math.nan for v in row]
        except ValueError:
            continue
        for name, value in zip(header, values, strict=True):
            columns[name].append(value)
    return columns


class MetricsLogger:
    """Appends rows to ``metrics.csv`` and writes the same scalars as TensorBoard events.

    ``resume_step``: when continuing a run, rows logged after that many env steps (work the
    resumed checkpoint does not contain) are dropped first, so the CSV never holds a step twice.
    """

    def __init__(
        self,
        csv_path: str | os.PathLike[str],
        tensorboard_dir: str | os.PathLike[str] | None = None,
        resume_step: int | None = None,
    ) -> None:
        self.csv_path = Path(csv_path)
        self.columns: list[str] = list(BASE_COLUMNS)
        # Rows live in the file only (a long SAC run logs many): a new column rewrites the
        # file from disk, so memory stays flat however long the run.
        kept: list[dict[str, str]] = []
        if resume_step is not None and self.csv_path.is_file():
            kept = self._load_existing(resume_step)
        self._rewrite(kept)
        self._writer = None
        if tensorboard_dir is not None:
            from torch.utils.tensorboard import SummaryWriter  # slow import, only when used

            self._writer = SummaryWriter(str(tensorboard_dir), purge_step=resume_step)

    def _load_existing(self, resume_step: int) -> list[dict[str, str]]:
        kept = []
        with self.csv_path.open(newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f)
            header = reader.fieldnames or []
            self.columns += [c for c in header if c not in self.columns]
            for row in reader:
                try:
                    keep = None not in row.values() and float(row["env_steps"]) <= resume_step
                except (KeyError, TypeError, ValueError):
                    keep = False
                if keep:
                    kept.append(row)
        return kept

    def _rewrite(self, rows: list[dict[str, str]]) -> None:
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, self.columns, restval="", lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        atomic_write_text(self.csv_path, buffer.getvalue())

    def _logged_rows(self) -> list[dict[str, str]]:
        """The rows written so far, read back (torn lines were never written: appends are
        whole lines from this process)."""
        with self.csv_path.open(newline="", encoding="utf-8") as f:
            return [row for row in csv.DictReader(f) if None not in row.values()]

    def log(self, row: Mapping[str, Any]) -> None:
        """Append one row; keys not seen before extend the header (the file is rewritten)."""
        if "env_steps" not in row:
            raise ValueError("a metrics row needs 'env_steps'")
        cells = {str(k): _cell(v) for k, v in row.items()}
        new = [k for k in cells if k not in self.columns]
        if new:
            rows = self._logged_rows()
            self.columns += new
            self._rewrite([*rows, cells])
        else:
            with self.csv_path.open("a", newline="", encoding="utf-8") as f:
                csv.DictWriter(f, self.columns, restval="", lineterminator="\n").writerow(cells)
        if self._writer is not None:
            step = int(row["env_steps"])
            for key, value in row.items():
                if key in ("env_steps", "updates", "wall_time") or value is None:
                    continue
                value = float(value)
                if not math.isnan(value):
                    tag = _TB_TAGS.get(key, f"algo/{key}")
                    self._writer.add_scalar(tag, value, step, walltime=None)
            self._writer.flush()

    def close(self) -> None:
        """Flush and close the TensorBoard writer."""
        if self._writer is not None:
            self._writer.close()
            self._writer = None
