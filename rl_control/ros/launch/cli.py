"""`rl-control launch FILE [name:=value ...]`: run a launch XML file without ROS 2.

Exit codes: 0 success, 1 a node with on_exit="shutdown" failed or a `<shutdown>` was reached,
2 the launch file, its arguments (an undeclared name included) or a node's configuration
(algo, task, config, checkpoint: checked before any node starts) is invalid.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from collections.abc import Mapping
from pathlib import Path

from rl_control.ros.launch.checks import check_plan
from rl_control.ros.launch.model import LaunchError, LaunchPlan
from rl_control.ros.launch.packages import PACKAGE, find_package_share
from rl_control.ros.launch.resolver import declared_arguments, resolve_launch
from rl_control.ros.launch.runner import LaunchRunner


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rl-control launch",
        description="Run a launch XML file (the subset rl_control's files use) without ROS 2.",
    )
    parser.add_argument(
        "file", help="launch file path, a file name in rl_control's launch/, or a package name"
    )
    parser.add_argument(
        "arguments", nargs="*", help="launch arguments name:=value (after FILE, or PACKAGE FILE)"
    )
    parser.add_argument(
        "-p",
        "--print",
        dest="print_only",
        action="store_true",
        help="print the resolved node commands instead of running them",
    )
    parser.add_argument(
        "-s", "--show-args", action="store_true", help="list the file's launch arguments"
    )
    parser.add_argument(
        "--sigterm-timeout",
        type=float,
        default=5.0,
        metavar="S",
        help="seconds from SIGINT to SIGTERM when stopping (default 5)",
    )
    parser.add_argument(
        "--sigkill-timeout",
        type=float,
        default=5.0,
        metavar="S",
        help="seconds from SIGTERM to SIGKILL when stopping (default 5)",
    )
    parser.add_argument(
        "--log-dir",
        type=Path,
        default=None,
        help='directory for the stdout of nodes with output="log"/"both"',
    )
    return parser


def locate(first: str, rest: list[str], environ: Mapping[str, str]) -> tuple[Path, list[str]]:
    """Find the launch file from `FILE` or `PACKAGE FILE`; return it and the remaining args."""
    path = Path(first)
    if not path.is_file() and os.sep not in first:
        candidate = find_package_share(PACKAGE, environ) / "launch" / first
        path = candidate if candidate.is_file() else path
    if path.is_file():
        return path, rest
    if rest and ":=" not in rest[0]:  # `PACKAGE FILE`, as ros2 launch
        share = find_package_share(first, environ)
        matches = [share / "launch" / rest[0], *sorted(share.rglob(rest[0]))]
        found = [m for m in matches if m.is_file()]
        if not found:
            raise LaunchError(f"file '{rest[0]}' not found in package '{first}' ({share})")
        return found[0], rest[1:]
    raise LaunchError(f"launch file not found: {first}")


def parse_arguments(items: list[str]) -> dict[str, str]:
    """`name:=value` strings to a dict (later wins, as ros2 launch)."""
    result: dict[str, str] = {}
    for item in items:
        name, sep, value = item.partition(":=")
        if not sep or not name:
            raise LaunchError(f"invalid launch argument '{item}': expected name:=value")
        result[name] = value
    return result


def check_arguments(arguments: Mapping[str, str], plan: LaunchPlan) -> None:
    """A misspelt argument would silently run with the default: refuse names no file of the
    launch declares (ros2 launch ignores them), listing the declared ones."""
    declared = sorted({a.name for a in plan.arguments})
    unknown = sorted(set(arguments) - set(declared))
    if unknown:
        names = ", ".join(f"'{n}'" for n in unknown)
        raise LaunchError(
            f"argument(s) {names} not declared by {plan.file.name}; declared: "
            f"{', '.join(declared)}"
        )


def _show_args(path: Path, environ: Mapping[str, str]) -> None:
    print("Arguments (pass arguments as '<name>:=<value>'):\n")
    for arg in declared_arguments(path, environ):
        print(f"    '{arg.name}':")
        text = arg.description or "no description given"
        if arg.choices:
            text += f" Valid choices are: {list(arg.choices)}"
        print(f"        {text}")
        print(
            f"        (default: '{arg.default}')"
            if arg.default is not None
            else "        (required)"
        )


def main(argv: list[str]) -> int:
    """Entry point of `rl-control launch`; returns the exit code."""
    try:
        opts = _parser().parse_intermixed_args(argv)
    except SystemExit as exc:  # --help or a usage error: argparse has printed it
        return int(exc.code or 0)
    environ = dict(os.environ)
    try:
        path, rest = locate(opts.file, opts.arguments, environ)
        if opts.show_args:
            _show_args(path, environ)
            return 0
        arguments = parse_arguments(rest)
        plan = resolve_launch(path, arguments, environ)
        check_arguments(arguments, plan)
        if not opts.print_only and plan.shutdown_reason is None:
            check_plan(plan)  # algo, task, config, checkpoint: before any node starts
    except ValueError as exc:  # LaunchError included
        print(f"rl-control launch: error: {exc}", file=sys.stderr)
        return 2
    if opts.print_only:
        for message in plan.messages:
            print(f"[launch] {message}")
        if plan.shutdown_reason is not None:
            print(f"[launch] shutdown: {plan.shutdown_reason}")
            return 1
        for node in plan.nodes:
            print(node.describe())
        return 0
    runner = LaunchRunner(
        plan,
        sigterm_timeout=opts.sigterm_timeout,
        sigkill_timeout=opts.sigkill_timeout,
        environ=environ,
        log_dir=opts.log_dir,
    )
    return _run_with_signals(runner)


def _run_with_signals(runner: LaunchRunner) -> int:
    """Run, turning SIGINT/SIGTERM into an orderly shutdown of every node."""
    handled = (signal.SIGINT, signal.SIGTERM)
    previous = {}
    if threading.current_thread() is threading.main_thread():
        for sig in handled:
            previous[sig] = signal.signal(
                sig, lambda num, _frame: runner.request_shutdown(f"{signal.Signals(num).name}")
            )
    try:
        return runner.run()
    except LaunchError as exc:
        print(f"rl-control launch: error: {exc}", file=sys.stderr)
        return 2
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
