"""Soak run: the training graph with several workers for a fixed wall time, the resident
memory (RSS) of every process sampled throughout, to show whether memory stays flat.

Runs `rl-control launch launch/train.launch.xml workers:=N` over the embedded back-end with
a budget it cannot reach in ``--minutes`` (default 30), samples VmRSS of the launch and of
each process it started (found through /proc, named by the launch's `process [label]
started with pid N` lines; a respawned process continues its label) every ``--every`` s,
then stops the launch with SIGINT. Per process: RSS at the first sample after ``--warmup``
s (default 300: imports, first allocations and rollouts are not a leak), at the end, the
maximum, and the slope of a least-squares line through the samples after the
warm-up (MB/h); the total over all processes decides the verdict (``--flat`` MB/h).
Writes bench/results/NAME.md (``--name``, default soak; ``python bench/update_readme.py``
copies it) and the raw samples to bench/results/NAME_samples.csv.

    nice -n 10 python bench/soak.py [--minutes 30] [--workers 2] [--every 10] [--algo ppo]
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from results_table import RESULTS_DIR, start_run, verdict, write_markdown

ROOT = Path(__file__).resolve().parents[1]
PID_LINE = re.compile(r"process \[([\w.\-]+)\] started with pid (\d+)")
LAUNCH = "launch"  # label of the launch process itself


def rss_mb(pid: int) -> float | None:
    """VmRSS of ``pid`` in MB (None: the process is gone)."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024.0
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    return None  # a zombie has no VmRSS line


def namespaced(pid: int, label: str) -> str:
    """``label`` under the process's ROS namespace (its ``__ns:=`` argument): the workers'
    nodes share names, not namespaces."""
    for _ in range(40):  # the launch reports the pid of its fork, maybe before the exec
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                args = f.read().decode(errors="replace").split("\0")
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            return label
        if "--ros-args" in args:
            break
        time.sleep(0.05)
    ns = next((a[len("__ns:=") :] for a in args if a.startswith("__ns:=")), "")
    return f"{ns.strip('/')}/{label}" if ns.strip("/") else label


def slope_per_hour(times: Sequence[float], values: Sequence[float]) -> float:
    """Least-squares slope of ``values`` (MB) against ``times`` (s), in MB/h."""
    if len(times) != len(values):
        raise ValueError(f"{len(times)} times but {len(values)} values")
    if len(times) < 2:
        raise ValueError(f"need at least 2 samples for a slope, got {len(times)}")
    n = len(times)
    mt, mv = sum(times) / n, sum(values) / n
    var = sum((t - mt) ** 2 for t in times)
    if var == 0:
        raise ValueError("all samples at the same time: no slope")
    cov = sum((t - mt) * (v - mv) for t, v in zip(times, values, strict=True))
    return 3600.0 * cov / var


@dataclass
class Series:
    """The RSS samples of one label (over its respawns)."""

    label: str
    pids: list[int] = field(default_factory=list)
    times: list[float] = field(default_factory=list)
    values: list[float] = field(default_factory=list)

    def summary(self, warmup: float) -> tuple[float, float, float, float]:
        """(start, end, max, slope MB/h) over the samples at or after ``warmup`` s."""
        pairs = [(t, v) for t, v in zip(self.times, self.values, strict=True) if t >= warmup]
        if len(pairs) < 2:
            raise ValueError(f"{self.label}: {len(pairs)} samples after the warm-up; run longer")
        times, values = [t for t, _ in pairs], [v for _, v in pairs]
        return values[0], values[-1], max(values), slope_per_hour(times, values)


def total_series(series: Sequence[Series], times: Sequence[float]) -> Series:
    """Sum of every label's sample at each sampling time (labels sampled in the same pass)."""
    total = Series("total")
    by_time: dict[float, float] = {}
    for s in series:
        for t, v in zip(s.times, s.values, strict=True):
            by_time[t] = by_time.get(t, 0.0) + v
    for t in times:
        if t in by_time:
            total.times.append(t)
            total.values.append(by_time[t])
    return total


class Soak:
    """The launch, its output read live, and the sampler."""

    def __init__(self, args: argparse.Namespace, run_dir: Path, domain: int) -> None:
        env = dict(
            os.environ, ROS_DOMAIN_ID=str(domain), RL_CONTROL_MIDDLEWARE="embedded",
            OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1",
        )  # fmt: skip
        cmd = [
            sys.executable, "-m", "rl_control.cli.main", "launch", "launch/train.launch.xml",
            f"task:={args.task}", f"algo:={args.algo}", f"steps:={args.steps}",
            f"run_dir:={run_dir}", f"workers:={args.workers}", f"seed:={args.seed}",
        ]  # fmt: skip
        self.proc = subprocess.Popen(
            cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True, start_new_session=True,
        )  # fmt: skip
        self.lines: list[str] = []
        self.labels: dict[int, str] = {self.proc.pid: LAUNCH}
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))
            if m := PID_LINE.search(line):
                pid = int(m[2])
                self.labels[pid] = namespaced(pid, m[1])

    def sample(self, t: float, series: dict[str, Series]) -> None:
        for pid, label in list(self.labels.items()):
            mb = rss_mb(pid)
            if mb is None:
                continue
            s = series.setdefault(label, Series(label))
            if pid not in s.pids:
                s.pids.append(pid)
            s.times.append(t)
            s.values.append(mb)

    def stop(self) -> int:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGINT)
        try:
            return self.proc.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            return self.proc.wait(10)
        finally:
            self.reader.join(5)


def _env_steps(run_dir: Path) -> int:
    from rl_control.training.metrics import read_metrics

    try:
        return int(read_metrics(run_dir / "metrics.csv")["env_steps"][-1])
    except (FileNotFoundError, ValueError, IndexError):
        return 0


def _write_samples(path: Path, series: Sequence[Series]) -> None:
    from rl_control.training.io import atomic_write_text

    buf = io.StringIO()
    out = csv.writer(buf, lineterminator="\n")
    out.writerow(["label", "t_s", "rss_mb"])
    for s in series:
        out.writerows(
            [s.label, f"{t:.1f}", f"{v:.2f}"] for t, v in zip(s.times, s.values, strict=True)
        )
    atomic_write_text(path, buf.getvalue())


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=30.0, help="wall time of the soak")
    parser.add_argument("--every", type=float, default=10.0, help="seconds between samples")
    parser.add_argument("--warmup", type=float, default=300.0, help="s left out of the fit")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--task", default="soft_wall_cartpole")
    parser.add_argument("--algo", default="ppo")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--steps", type=int, default=100_000_000, help="budget (not reached)")
    parser.add_argument("--flat", type=float, default=10.0, help="total MB/h counted as flat")
    parser.add_argument("--domain", type=int, default=0, help="DDS domain; 0 = a free one")
    parser.add_argument("--out", type=Path, default=RESULTS_DIR, help="folder for the .md")
    parser.add_argument("--name", default="soak", help="result name: NAME.md, NAME_samples.csv")
    args = parser.parse_args(argv)
    if args.minutes * 60 <= args.warmup + 2 * args.every:
        raise SystemExit("--minutes too short for --warmup plus two samples")
    run = start_run(argv=None if argv is None else ["bench/soak.py", *argv])
    domain = args.domain
    if domain == 0:
        sys.path.insert(0, str(ROOT / "test"))
        import domains  # test/domains.py: a DDS domain no test process holds

        domain = domains.allocate()
    print(f"soak: {args.workers} workers, {args.algo} on {args.task}, {args.minutes} min, "
          f"domain {domain}; load average {os.getloadavg()[0]:.1f}", flush=True)  # fmt: skip
    series: dict[str, Series] = {}
    times: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        run_dir = Path(tmp) / "run"
        soak = Soak(args, run_dir, domain)
        start, code = time.monotonic(), None
        try:
            while (t := time.monotonic() - start) < 60 * args.minutes:
                if soak.proc.poll() is not None:
                    raise SystemExit(
                        f"the launch ended early (exit {soak.proc.returncode}):\n"
                        + "\n".join(soak.lines[-40:])
                    )
                soak.sample(t, series)
                times.append(t)
                if len(times) % 30 == 0:
                    total = sum(s.values[-1] for s in series.values() if s.times[-1] == t)
                    print(f"{t:6.0f} s: {total:7.1f} MB in {len(series)} processes, "
                          f"{_env_steps(run_dir)} env steps", flush=True)  # fmt: skip
                time.sleep(max(0.0, start + len(times) * args.every - time.monotonic()))
        finally:
            code = soak.stop()
        steps = _env_steps(run_dir)
    respawns = sum(len(s.pids) - 1 for s in series.values())
    ordered = sorted(series.values(), key=lambda s: (s.label != LAUNCH, s.label))
    total = total_series(ordered, times)
    rows = []
    for s in [*ordered, total]:
        first, last, peak, slope = s.summary(args.warmup)
        ok = verdict(slope < args.flat) if s is total else ""
        rows.append([s.label, f"{first:.1f}", f"{last:.1f}", f"{peak:.1f}", f"{slope:+.2f}", ok])
    _write_samples(args.out / f"{args.name}_samples.csv", [*ordered, total])
    path = write_markdown(
        args.name,
        f"Soak: {args.workers} workers training for {args.minutes:g} min, RSS of every process",
        ["process", "RSS start (MB)", "RSS end (MB)", "RSS max (MB)", "slope (MB/h)",
         f"total < {args.flat:g} MB/h"],
        rows,
        [f"{args.algo} on {args.task}, `rl-control launch launch/train.launch.xml "
         f"workers:={args.workers}` over the embedded back-end, stopped by SIGINT after "
         f"{args.minutes:g} min (exit {code}); {steps} env steps trained. VmRSS sampled every "
         f"{args.every:g} s ({len(times)} samples); start, end, max and the least-squares "
         f"slope use the samples after the first {args.warmup:g} s. Respawned processes: "
         f"{respawns}. Raw samples: "
         f"bench/results/{args.name}_samples.csv."],
        run=run,
        out_dir=args.out,
    )  # fmt: skip
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
