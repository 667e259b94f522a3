"""What `rl-control monitor` costs a training graph, in alternating windows of ONE graph run.

bench/monitor_overhead.py compares separate graph runs, and this VM's speed drifts by more
than the 5 % target between runs a minute apart. Here one long lock-step graph training runs
throughout, and the monitor is started and stopped under it: windows without it, with the
full monitor and with `monitor --light` follow each other in rotating order, so neighbouring
windows see the same machine. A window opens ``--settle`` s after its monitor drew its first
output (start-up and discovery done), or after the monitor exited, and lasts ``--window`` s.
Its rate is the sum of new env steps over the sum of seconds of the metrics rows that
appeared inside it (each row's own timing, evaluation and checkpoint time taken out), the
first row of a window left out since its interval began before the window.

Per round: slowdown = 1 − rate with the monitor / rate without it. Verdict on the median over
rounds, with a 90 % bootstrap interval of that median (seeded): met when the whole interval
is below the target, missed when it is above, undecided when it straddles it (or with fewer
than 8 rounds).

The same windows also give the CPU cost per env step: the user + system seconds of every
process of the graph (the launch and its descendants) plus the monitor's, between the first
and the last metrics row of the window, over the env steps in between. It does not see the
hypervisor taking the VM's cores away (that stops the steps and the CPU clocks alike), so it
drifts far less than the rate; its extra cost with the monitor is the second verdict. It
bounds what the monitor takes from a CPU-bound graph; a pure latency cost on the lock-step
path that burns no CPU would show in the rate only.

With ``--page`` a page is open on the monitor for its windows (bench/viser_page.py: a
websocket client that reads everything and draws nothing, as a browser on another machine
would): the monitor then poses the robot for it. Without a page it does not.

    python bench/monitor_overhead_windows.py [--rounds 12] [--window 10] [--settle 2] [--page]
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from graph_throughput import graph_launch
from monitor_overhead import ROOT, TARGET, _monitor_cmd, _start_monitor
from proc_cpu import cpu_s, tree_cpu_s
from results_table import start_run, write_markdown
from viser_page import open_page

ARMS = ("without", "full", "light")


@dataclass
class Rows:
    """Metrics rows as they appear: (time seen, new env steps, seconds of those steps), and
    the CPU seconds of the watched processes when each was seen."""

    seen: list[tuple[float, float, float]] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    _last_steps: float = 0.0
    _count: int = 0
    _size: int = -1  # the file's size at the last read: unchanged, nothing new to parse

    def poll(self, metrics: Path, now: float, cpu: Callable[[], float] = lambda: 0.0) -> None:
        """Record the rows written since the last poll, stamped ``now`` and ``cpu()``."""
        from rl_control.training.metrics import read_metrics

        if not metrics.is_file() or (size := metrics.stat().st_size) == self._size:
            return
        self._size = size
        try:
            cols = read_metrics(metrics)
        except ValueError:
            return  # header not written yet
        fresh = list(zip(cols["env_steps"], cols["steps_per_s"], strict=True))[self._count :]
        cpu_now = cpu() if fresh else 0.0
        for steps, rate in fresh:
            new, self._last_steps = steps - self._last_steps, steps
            self._count += 1
            if new > 0 and np.isfinite(rate) and rate > 0:
                self.seen.append((now, new, new / rate))
                self.cpu.append(cpu_now)


def window_rate(rows: Sequence[tuple[float, float, float]], start: float, end: float) -> float:
    """Env steps/s of the rows seen in [start, end), the first of them left out (its steps
    began before the window); NaN with fewer than two rows inside."""
    inside = [(n, s) for t, n, s in rows if start <= t < end][1:]
    if not inside:
        return float("nan")
    return sum(n for n, _ in inside) / sum(s for _, s in inside)


def median_interval(values: Sequence[float], seed: int = 0, draws: int = 10_000,
                    level: float = 0.9) -> tuple[float, float, float]:  # fmt: skip
    """(median, low, high): the median and a ``level`` bootstrap interval of it."""
    v = np.asarray(values, dtype=float)
    rng = np.random.default_rng(seed)
    meds = np.median(v[rng.integers(0, len(v), (draws, len(v)))], axis=1)
    tail = (1 - level) / 2
    return float(np.median(v)), float(np.quantile(meds, tail)), float(np.quantile(meds, 1 - tail))


def window_cpu_per_step(rows: Rows, start: float, end: float) -> float:
    """CPU seconds per env step between the first and the last row seen in [start, end);
    NaN with fewer than two rows inside."""
    inside = [i for i, (t, _, _) in enumerate(rows.seen) if start <= t < end]
    if len(inside) < 2:
        return float("nan")
    steps = sum(rows.seen[i][1] for i in inside[1:])
    return (rows.cpu[inside[-1]] - rows.cpu[inside[0]]) / steps


MIN_ROUNDS = 8  # fewer: a bootstrap of a handful of values is too narrow to trust


def decide(low: float, high: float, rounds: int, target: float = TARGET) -> str:
    """The verdict of a slowdown interval over ``rounds`` rounds against the target."""
    if rounds < MIN_ROUNDS:
        return f"undecided (fewer than {MIN_ROUNDS} rounds)"
    if high < target:
        return "pass"
    if low > target:
        return "miss"
    return "undecided (the interval straddles the target)"


def rotation(rounds: int) -> list[str]:
    """The arms in rotating order, round after round."""
    return [ARMS[(r + i) % len(ARMS)] for r in range(rounds) for i in range(len(ARMS))]


def run(args: argparse.Namespace, work: Path) -> list[dict]:
    """One long graph run with the arms' windows under it; each window's rate and monitor CPU."""
    cmd, env, run_dir = graph_launch(args.task, args.algo, 10**8, work, args.domain,
                                     n_steps=args.n_steps)  # fmt: skip
    graph = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)  # fmt: skip
    rows, metrics, windows = Rows(), run_dir / "metrics.csv", []
    monitor: subprocess.Popen | None = None

    def cpu() -> float:  # the graph's processes and the monitor's, if one runs
        return tree_cpu_s(graph.pid) + (tree_cpu_s(monitor.pid) if monitor else 0.0)

    def wait(seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            if graph.poll() is not None:
                raise RuntimeError(f"the graph run ended (exit {graph.returncode})")
            rows.poll(metrics, time.monotonic(), cpu)
            time.sleep(0.05)

    try:
        while len(rows.seen) < 3:  # training under way (its first updates done)
            wait(0.5)
        for arm in rotation(args.rounds):
            page = contextlib.ExitStack()
            if arm != "without":
                port = 8700 + args.domain % 200
                monitor_cmd = [*_monitor_cmd(port), *(["--light"] if arm == "light" else [])]
                monitor = _start_monitor(
                    [sys.executable, "-m", "rl_control.cli.main", *monitor_cmd], env
                )
                if args.page:
                    page.enter_context(open_page(port))
            wait(args.settle)
            monitor_s = -cpu_s(monitor.pid) if monitor else 0.0
            start = time.monotonic()
            wait(args.window)
            end = time.monotonic()
            if monitor is not None:
                monitor_s += cpu_s(monitor.pid)
                page.close()
                monitor.terminate()
                monitor.wait(30)
            windows.append({"arm": arm, "rate": window_rate(rows.seen, start, end),
                            "monitor_cpu": monitor_s / (end - start),
                            "cpu_per_step": window_cpu_per_step(rows, start, end)})  # fmt: skip
            monitor = None
            print(f"{arm}: {windows[-1]['rate']:.1f} env steps/s, "
                  f"{1e3 * windows[-1]['cpu_per_step']:.3f} CPU-ms/step", flush=True)  # fmt: skip
    finally:
        if monitor is not None:
            monitor.terminate()
            monitor.wait(30)
        graph.terminate()
        graph.wait(60)
    return windows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", default="soft_wall_cartpole")
    parser.add_argument("--algo", default="ppo")
    parser.add_argument("--n-steps", type=int, default=256, help="PPO n_steps: a row per update")
    parser.add_argument("--rounds", type=int, default=12)
    parser.add_argument("--window", type=float, default=10.0, help="s per window")
    parser.add_argument("--settle", type=float, default=2.0, help="s before a window opens")
    parser.add_argument("--domain", type=int, default=93)
    parser.add_argument("--page", action="store_true",
                        help="a page open on the monitor (it poses the robot for it)")  # fmt: skip
    args = parser.parse_args()
    if args.rounds < 2 or args.window <= 0 or args.settle < 0:
        parser.error("need --rounds >= 2, --window > 0 and --settle >= 0")
    if args.page and _monitor_cmd(0)[1] == "--tui":
        parser.error("--page needs the browser view (viser and yourdfpy)")
    meta = start_run()
    # a SIGTERM (kill) unwinds like Ctrl-C, so the graph run and the monitor are stopped too
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    with tempfile.TemporaryDirectory() as tmp:
        windows = run(args, Path(tmp))
    per_round = [windows[i : i + len(ARMS)] for i in range(0, len(windows), len(ARMS))]
    rows, slow, extra = [], {"full": [], "light": []}, {"full": [], "light": []}
    for r, group in enumerate(per_round):
        by = {w["arm"]: w for w in group}
        cells = [f"round {r}", *(f"{by[a]['rate']:.1f}" for a in ARMS)]
        for arm in slow:
            slow[arm].append(1 - by[arm]["rate"] / by["without"]["rate"])
            cells.append(f"{100 * slow[arm][-1]:+.1f} %")
        cells += [f"{1e3 * by[a]['cpu_per_step']:.3f}" for a in ARMS]
        for arm in extra:
            extra[arm].append(by[arm]["cpu_per_step"] / by["without"]["cpu_per_step"] - 1)
            cells.append(f"{100 * extra[arm][-1]:+.1f} %")
        cells += [f"{by[a]['monitor_cpu']:.1%}" for a in slow]
        rows.append(cells)
    verdicts = {}
    for what, values_by_arm in (("slowdown", slow), ("CPU per step", extra)):
        for arm, values in values_by_arm.items():
            med, low, high = median_interval(values)
            verdict = decide(low, high, len(values))
            verdicts[what, arm] = (f"{what}, {arm}: {100 * med:+.1f} % "
                                   f"[{100 * low:+.1f}, {100 * high:+.1f}] {verdict}")  # fmt: skip
    rows.append(["median [90 % interval]", "", "", "", verdicts["slowdown", "full"],
                 verdicts["slowdown", "light"], "", "", "", verdicts["CPU per step", "full"],
                 verdicts["CPU per step", "light"], "", ""])  # fmt: skip
    print("; ".join(verdicts.values()))
    order = " → ".join(ARMS)
    path = write_markdown(
        "monitor_overhead_windows" + ("_page" if args.page else ""),
        "Graph training without `rl-control monitor`, with it and with `--light`: windows of "
        "one run" + (", a page open on the monitor" if args.page else ""),
        ["round", "without: env steps/s", "full: env steps/s", "light: env steps/s",
         "slowdown full", "slowdown light", "without: CPU-ms/step", "full: CPU-ms/step",
         "light: CPU-ms/step", "CPU/step full", "CPU/step light", "monitor CPU full",
         "monitor CPU light"],
        rows,
        [f"{args.algo} on {args.task} (n_steps {args.n_steps}), one lock-step graph run "
         "over the embedded back-end; the monitor started and stopped under it "
         f"({' '.join(_monitor_cmd(0)[:2])}, and with --light), "
         + ("a page open on it (bench/viser_page.py: reads, draws nothing). " if args.page
            else "no page open (the robot is not posed). ")
         + f"{args.rounds} rounds of "
         f"{args.window:g} s windows ({order}, rotating), each opening {args.settle:g} s "
         "after the monitor's first output or exit. Window rate: new env steps over the "
         "seconds of the metrics rows seen inside it. CPU-ms/step: user + system time of "
         "the graph's processes and the monitor's between the window's first and last "
         "metrics row, over the env steps in between; CPU/step full, light: its increase "
         "over the round's window without the monitor. Monitor CPU: the monitor's own user "
         "+ system time over the window. Verdicts: the median's 90 % bootstrap interval "
         f"against the {100 * TARGET:.0f} % target (pass: all of it below)."],
        run=meta,
    )  # fmt: skip
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
