"""The ``rl-control`` command: train, eval, plot, export, launch, record, replay,
monitor.

Every user error (bad names, malformed YAML, missing files, NaN actions...) ends with one line
``rl-control: error: ...`` on stderr and exit status 2; set ``RL_CONTROL_DEBUG=1`` to get the
traceback instead.
"""

from __future__ import annotations

import argparse
import os
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn, TextIO

#: how far `rl-control monitor` lowers its CPU priority by default (--nice): 0, because a
#: niced monitor measured no better (bench/monitor_overhead.py, README), and with reliable
#: counting readers it was far worse (+31 %: writers throttled on its late acknowledgements)
MONITOR_NICENESS = 0

PROG = "rl-control"
USAGE_ERROR = 2


class UsageError(Exception):
    """A problem with the user's input, reported as one line."""


class _Parser(argparse.ArgumentParser):
    """argparse that reports errors as one ``rl-control: error:`` line (no usage dump)."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see '{self.prog} --help')")


def _build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog=PROG, description="Train, evaluate and deploy learned robot policies.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    train = sub.add_parser("train", help="train a policy and write a run folder")
    train.add_argument("--config", help="training YAML (e.g. config/train/ppo_*.yaml)")
    train.add_argument("--algo", help="algorithm name (ppo, trpo, sac, ...)")
    train.add_argument("--task", help="task name (soft_wall_cartpole, two_link_leg, minitaur)")
    train.add_argument("--steps", type=int, dest="total_steps", help="total env steps")
    train.add_argument(
        "--seed", type=int,
        help="seeds the envs, the networks and sampling; evaluation uses seed+10000 onwards",
    )  # fmt: skip
    train.add_argument(
        "--num-envs", type=int, dest="num_envs", help="environments stepped side by side"
    )
    train.add_argument(
        "--num-threads", type=int, dest="num_threads",
        help="torch threads while training (default 1: fastest for these small networks, "
        "and more threads stall when other work shares the cores)",
    )  # fmt: skip
    train.add_argument(
        "--run-dir", dest="run_dir",
        help="run folder to create (default runs/<label or algo>_<task>_seed<seed>, "
        "suffixed _2, _3, ... when that one exists and is not empty)",
    )  # fmt: skip
    train.add_argument("--resume", metavar="RUN_DIR", help="continue the run in RUN_DIR")
    train.add_argument(
        "--init-from", dest="init_from", metavar="RUN_DIR",
        help="warm-start from another on-policy run's checkpoint (e.g. TRPO -> PPO)",
    )  # fmt: skip
    train.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE", dest="sets",
        help="override a config value: algo.learning_rate=3e-4, env.latency=0.002, seed=3",
    )  # fmt: skip
    train.add_argument("--no-progress", action="store_true", help="hide the progress bar")

    ev = sub.add_parser("eval", help="replay a run's policy deterministically")
    ev.add_argument("run", metavar="RUN_DIR", help="run folder or checkpoint file")
    ev.add_argument("--episodes", type=int, default=10, help="episodes to run (default 10)")
    ev.add_argument("--seed", type=int, help="first episode seed (default: the run's eval seed)")
    ev.add_argument(
        "--env", action="append", default=[], metavar="KEY=VALUE", dest="env_sets",
        help="override an env parameter of the run's task (e.g. slopes=[0.17], slope=0.1)",
    )  # fmt: skip
    ev.add_argument(
        "--record", metavar="OUT.gif",
        help="also record the first episode: a GIF from PyBullet's software renderer "
        "(headless) and, for legged robots, a foot-contact diagram OUT_gait.png",
    )  # fmt: skip
    ev.add_argument(
        "--record-seconds", type=float, default=4.0, dest="record_seconds",
        help="seconds of the episode in the GIF (default 4)",
    )  # fmt: skip

    plot = sub.add_parser("plot", help="overlay learning curves (mean and spread over seeds)")
    plot.add_argument(
        "runs", nargs="+", metavar="RUN_DIR",
        help="run folders; runs of one label (config label, else algorithm) with different "
        "seeds make one curve; their eval return, or training-episode return if never "
        "evaluated (graph runs)",
    )  # fmt: skip
    plot.add_argument(
        "--out", default="learning_curves.png",
        help="PNG to write (default learning_curves.png); its folder must exist",
    )  # fmt: skip
    plot.add_argument(
        "--band", choices=("minmax", "std"), default="minmax",
        help="spread over seeds: min to max (default) or mean ± one std",
    )  # fmt: skip
    plot.add_argument("--title", help="figure title")

    export = sub.add_parser("export", help="write a run's deterministic policy for deployment")
    export.add_argument("run", metavar="RUN_DIR", help="run folder or checkpoint file")
    what = export.add_mutually_exclusive_group(required=True)
    what.add_argument("--format", choices=("onnx", "torchscript"), help="the actor as a graph")
    planner = "an m_demorl run's planner as a checkpoint of this policy kind"
    what.add_argument("--kind", choices=("dmd_mpc",), help=planner)
    export.add_argument("--out", help="output file (default: policy.onnx/.pt, dmd_mpc.pt "
                        "beside the run's checkpoint)")  # fmt: skip
    export.add_argument("--robot", help="config/robots name or YAML for the sidecar")
    export.add_argument("--horizon", type=int, help="--kind dmd_mpc: planning horizon "
                        "(default: where the run's horizon schedule stands)")  # fmt: skip

    tune = sub.add_parser("tune", help="Optuna hyperparameter search, resumable (SQLite)")
    tune.add_argument("config", metavar="CONFIG", help="training YAML the trials start from")
    tune.add_argument("--space", required=True, help="search space YAML (config/tune/*.yaml)")
    tune.add_argument("--trials", type=int, required=True, help="finished trials to reach")
    tune.add_argument("--out", help="study folder (default runs/tune_<CONFIG name>); the same "
                      "command on it again continues the study")  # fmt: skip
    tune.add_argument("--steps", type=int, dest="total_steps", help="env steps per trial")
    tune.add_argument("--seed", type=int, help="training seed of every trial (a space's "
                      "train_seeds: several, the objective their mean)")  # fmt: skip
    tune.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", dest="sets",
                      help="fixed override for every trial, as in train")  # fmt: skip

    sub.add_parser(
        "launch", help="run a *.launch.xml graph: launch FILE [arg:=value ...]", add_help=False
    )

    record = sub.add_parser("record", help="record the graph's topics to an MCAP bag")
    record.add_argument(
        "topics",
        nargs="*",
        metavar="TOPIC",
        help="name or name:pkg/msg/Type (default: every topic of the graph)",
    )
    record.add_argument("-o", "--output", default="", help="the .mcap bag to write")
    record.add_argument(
        "--duration", type=float, default=0.0, help="s to record (default: until Ctrl-C)"
    )
    replay = sub.add_parser("replay", help="republish an MCAP bag's messages")
    replay.add_argument("bag", metavar="BAG", help="the .mcap bag")
    replay.add_argument(
        "--rate", type=float, default=1.0, help="x the recorded pace; 0 = as fast as possible"
    )
    replay.add_argument(
        "--topics",
        nargs="*",
        default=[],
        metavar="TOPIC",
        help="only these topics (full names, as recorded)",
    )
    replay.add_argument("--delay", type=float, default=1.0,
                        help="s to wait for subscribers before the first message")  # fmt: skip
    monitor = sub.add_parser("monitor", help="watch the graph over DDS: browser page or --tui")
    monitor.add_argument("--tui", action="store_true", help="plain-text table in the terminal")
    monitor.add_argument("--host", default="127.0.0.1", help="address the page is served on")
    monitor.add_argument("--port", type=int, default=8080, help="port of the page")
    monitor.add_argument("--period", type=float, default=1.0, help="s between table redraws")
    monitor.add_argument("--pose-period", type=float, default=0.1,
                         help="s between robot poses on an open page (0: every take)")  # fmt: skip
    monitor.add_argument("--window", type=float, default=5.0, help="s over which rates count")
    monitor.add_argument("--duration", type=float, default=0.0, help="s to run (0 = until Ctrl-C)")
    monitor.add_argument(
        "--light",
        action="store_true",
        help="leave the per-step topics uncounted (low overhead on the graph)",
    )
    monitor.add_argument(
        "--nice",
        type=int,
        default=MONITOR_NICENESS,
        help="lower the monitor's CPU priority by this much (0..19; 0: the shell's)",
    )
    return parser


def _train(args: argparse.Namespace) -> int:
    from rl_control.training.config import load_config
    from rl_control.training.io import RunPaths
    from rl_control.training.runner import Runner

    names = ("algo", "task", "total_steps", "seed", "num_envs", "num_threads", "run_dir")
    overrides = {k: getattr(args, k) for k in (*names, "init_from")}
    if args.resume:
        if args.config:
            raise UsageError("--resume uses the run's own config.yaml; drop --config")
        if args.run_dir or args.init_from:
            raise UsageError("--resume cannot be combined with --run-dir or --init-from")
        overrides["run_dir"] = args.resume
        paths = RunPaths(args.resume)
        if not paths.config.is_file():
            raise UsageError(f"not a run folder (no {paths.config.name}): {args.resume}")
        config = load_config(paths.config, overrides, args.sets)
    else:
        if args.config is None and (args.algo is None or args.task is None):
            raise UsageError("train needs --config FILE, or both --algo and --task")
        config = load_config(args.config, overrides, args.sets)
    runner = Runner(config, resume=bool(args.resume), progress=not args.no_progress)
    try:
        summary = runner.train()
    except KeyboardInterrupt:
        print(
            f"{PROG}: interrupted; checkpoint saved, continue with "
            f"'{PROG} train --resume {config.run_dir}'",
            file=sys.stderr,
        )
        return 130
    print(
        f"run {summary['run_dir']}: {summary['env_steps']} env steps, "
        f"{summary['episodes']} episodes, eval return "
        f"{summary['eval_return_mean']:.3f} ± {summary['eval_return_std']:.3f}"
    )
    return 0


def _eval(args: argparse.Namespace) -> int:
    from rl_control.training.checkpoint import load_checkpoint, policy_from_record
    from rl_control.training.evaluation import EVAL_SEED_OFFSET, evaluate

    if args.episodes < 1:
        raise UsageError(f"--episodes must be at least 1, got {args.episodes}")
    checkpoint = load_checkpoint(args.run)
    checkpoint["env"] = _env_overrides(checkpoint.get("env", {}), args.env_sets)
    policy = policy_from_record(checkpoint["policy"])
    seed = args.seed if args.seed is not None else checkpoint.get("seed", 0) + EVAL_SEED_OFFSET
    from rl_control.envs.registration import make_env

    env = make_env(checkpoint["task"], **checkpoint.get("env", {}))
    try:
        result = evaluate(policy, env, args.episodes, seed)
    finally:
        env.close()
    print(
        f"{checkpoint['algo']} on {checkpoint['task']} ({checkpoint.get('env_steps', '?')} "
        f"env steps): return {result.mean:.3f} ± {result.std:.3f} over {args.episodes} "
        f"episodes (seeds {seed}..{seed + args.episodes - 1}), mean length "
        f"{result.lengths.mean():.1f}"
    )
    if args.record:
        _record(args, checkpoint, policy, seed)
    return 0


def _env_overrides(env: dict, sets: list[str]) -> dict:
    """The run's env parameters with ``eval --env key=value`` applied."""
    from rl_control.training.config import apply_set

    data = {"env": dict(env)}
    for assignment in sets:
        if "." in assignment.partition("=")[0]:
            raise UsageError(f"--env expects key=value (a task parameter), got {assignment!r}")
        apply_set(data, f"env.{assignment}")
    return data["env"]


def _record(args: argparse.Namespace, checkpoint: dict, policy: object, seed: int) -> None:
    """The first episode again, as a GIF (and a gait diagram where the env has feet)."""
    from pathlib import Path

    from rl_control.envs.registration import make_env
    from rl_control.training import recording

    out = Path(args.record)
    if out.suffix.lower() != ".gif":
        raise UsageError(f"--record needs a .gif file name, got {args.record}")
    if not out.parent.is_dir():
        raise UsageError(f"--record: folder {out.parent} does not exist")
    if not args.record_seconds > 0:
        raise UsageError(f"--record-seconds must be > 0, got {args.record_seconds}")
    env = make_env(checkpoint["task"], **checkpoint.get("env", {}))
    try:
        if not hasattr(env.unwrapped, "physics_handles"):
            raise UsageError(f"--record needs a PyBullet task, not {checkpoint['task']!r}")
        dt = float(getattr(env.unwrapped.params, "control_dt", 0.01))
        every = max(int(round(1 / (recording.GIF_FPS * dt))), 1)
        trace = recording.rollout(
            policy, env, seed, every, frame_steps=int(args.record_seconds / dt)
        )
    finally:
        env.close()
    written = [recording.save_gif(trace.frames, out, fps=1 / (every * dt))]
    if trace.contacts.size:
        gait = out.with_name(f"{out.stem}_gait.png")
        written.append(recording.save_gait_diagram(trace, gait, title=f"{checkpoint['task']}"))
    m = recording.walk_metrics(trace)
    print(
        f"recorded seed {seed}: {trace.steps} steps, forward {m['distance']:.3f} m at "
        f"{m['speed']:.3f} m/s, cost of transport {m['cost_of_transport']:.2f}; wrote "
        + " and ".join(map(str, written))
    )


def _plot(args: argparse.Namespace) -> int:
    from rl_control.training.plotting import plot_runs

    out = plot_runs(args.runs, args.out, band=args.band, title=args.title)
    print(f"wrote {out}")
    return 0


def _export(args: argparse.Namespace) -> int:
    if args.kind is not None:
        if args.robot:
            raise UsageError("--robot applies to --format exports only")
        from rl_control.training.planner_export import export_planner

        print(f"wrote {export_planner(args.run, args.kind, args.out, args.horizon)}")
        return 0
    if args.horizon is not None:
        raise UsageError("--horizon applies to --kind dmd_mpc only")
    from rl_control.training.export import export_policy

    model, side = export_policy(args.run, args.format, args.out, args.robot)
    print(f"wrote {model} and {side}")
    return 0


def _tune(args: argparse.Namespace) -> int:
    from rl_control.training.config import load_config
    from rl_control.training.tune import load_space, tune

    overrides = {"total_steps": args.total_steps, "seed": args.seed}
    config = load_config(args.config, overrides, args.sets)
    space = load_space(args.space)
    if args.seed is not None and space.train_seeds is not None:
        seeds = list(space.train_seeds)
        raise ValueError(f"--seed {args.seed} and {args.space}'s train_seeds {seeds} both "
                         "set the training seeds: drop one")  # fmt: skip
    out = args.out or str(Path("runs") / f"tune_{Path(args.config).stem}")
    result = tune(config, space, out, args.trials)
    best = "none completed" if result["best_value"] is None else (
        f"best return {result['best_value']:.6g} with {result['best_params']}")  # fmt: skip
    print(f"tune {out}: {result['trials']} trials finished, {best}; see {out}/summary.md")
    return 0


def _launch(argv: Sequence[str]) -> int:
    try:
        # imported here so the ROS-free core never loads the launch runner (or ROS)
        from rl_control.ros.launch.cli import main as launch_main
    except ModuleNotFoundError as err:
        if err.name and err.name.startswith("rl_control"):
            raise UsageError("launch support is not available (rl_control.ros.launch)") from None
        raise
    result = launch_main(list(argv))
    return int(result or 0)


def _record_bag(args: argparse.Namespace) -> int:
    from rl_control.ros.nodes import bag_recorder

    ros = ["-p", f"duration:={args.duration}"]
    if args.output:
        ros += ["-p", f"output:={args.output}"]
    if args.topics:
        ros += ["-p", f"topics:={' '.join(args.topics)}"]
    return bag_recorder.main(["--ros-args", *ros])


def _replay(args: argparse.Namespace) -> int:
    from rl_control.ros import bag
    from rl_control.ros import middleware as mw

    node = mw.create_node("bag_replay")
    try:
        count = bag.replay(node, args.bag, args.rate, topics=args.topics, delay=args.delay)
        mw.spin_for(node, 0.5)  # let the last messages leave before the writers go
    finally:
        node.destroy()
        mw.shutdown()
    print(f"replayed {count} messages from {args.bag}")
    return 0


def _monitor(args: argparse.Namespace) -> int:
    from rl_control.ros.monitor.run import run_monitor

    return run_monitor(args.tui, args.host, args.port, args.period, args.window, args.duration,
                       args.light, args.nice, args.pose_period)  # fmt: skip


def _run(argv: list[str]) -> int:
    if argv and argv[0] == "launch":  # the launch runner parses its own arguments
        return _launch(argv[1:])
    args = _build_parser().parse_args(argv)
    handler = {"train": _train, "eval": _eval, "plot": _plot, "export": _export,
               "record": _record_bag, "replay": _replay, "tune": _tune,
               "monitor": _monitor}[args.command]  # fmt: skip
    return handler(args)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the process exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = os.environ.get("RL_CONTROL_DEBUG", "") not in ("", "0")
    with warnings.catch_warnings():
        # config notes (e.g. ignored algo_config after --algo) as one plain line, not a trace
        warnings.showwarning = _show_warning
        try:
            return _run(argv)
        except (UsageError, ValueError, TypeError, FileNotFoundError) as err:
            if debug:
                raise
            message = str(err).strip().splitlines()[0] if str(err).strip() else repr(err)
            print(f"{PROG}: error: {message}", file=sys.stderr)
            return USAGE_ERROR


def _show_warning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: TextIO | None = None,
    line: str | None = None,
) -> None:
    print(f"{PROG}: note: {message}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
