"""Control-loop latency and the highest rate held, on the embedded back-end.

Run: nice -n 10 python bench/control_latency.py [--seconds 60] [--neural-rates 500,...]
     [--mpc-rates 100,...]      (--seconds 5: a quick check, printed, no table written)

This process plays the robot and times the real nodes, each its own process:

- neural (2R leg, ``hardware``): sensor_msgs/JointState in the robot's order on
  /joint_states -> hardware_bridge -> state_estimator -> policy_node (a PPO MLP) -> Action ->
  hardware_bridge -> std_msgs/Float64MultiArray on the effort controller's topic. Latency:
  joint-state stamp -> the Action for it, and -> the first command after that Action. Two
  bridges side by side, interleaved at each rate: ``neural`` answers on arrival (the
  default: the joint state is relayed and the action commanded as they arrive) and
  ``neural_tick`` (``answer_on_arrival:=false``) relays and commands on its control-period
  timer, as before: each waits up to a period for the tick. ``neural_rt`` is ``neural``
  with the control chain real-time: the three nodes at ``thread_priority`` 80 with
  ``lock_memory`` and ``cpu_dma_latency`` 0 (SCHED_FIFO, idle CPUs polling, as a deployment
  on legs runs them) and this process, the robot's driver, raised the same for that case.
- LCS-MPC (soft-wall cart-pole, ``graph``): the cart-pole has an unactuated joint, which the
  hardware bridge (one command per joint) does not drive, so this process stands in for the
  bridge: JointState -> state_estimator -> policy_node (LCS-MPC, H = 10) -> Action.
  ``mpc_rt``: the same real-time.

At each rate (descending) the nodes start afresh (bridge period and policy deadline = 1/rate)
and run ``--seconds`` after warm-up; a rate is held when the policy node counted no deadline
miss and every joint state got its Action within two periods (hardware, both bridges: the
tick bridge's relay wait + solve) or one period (graph). The neural pair is swept until both
hold a rate, so each rate down to there has both rows. Untrained policies: timing does not
depend on the weights.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import yaml
from results_table import RunInfo, start_run, verdict, write_markdown

from rl_control.ros.nodes.realtime import set_process_scheduling

ROOT = Path(__file__).resolve().parents[1]
NEURAL = ("two_link_leg", "config/train/ppo_two_link_leg.yaml", "hardware")
MPC = ("soft_wall_cartpole", "config/train/ppo_mpc_soft_wall_cartpole.yaml", "graph")
CASES = {"neural": NEURAL, "neural_tick": NEURAL, "neural_rt": NEURAL, "mpc": MPC,
         "mpc_rt": MPC}  # name -> (task, train config, mode)  # fmt: skip
TARGETS = {case: 500.0 if spec is NEURAL else 100.0 for case, spec in CASES.items()}
#: the hardware bridge's answer_on_arrival per hardware case (the A/B)
ON_ARRIVAL = {"neural": True, "neural_tick": False, "neural_rt": True}
#: SCHED_FIFO priority of the real-time cases' processes (nodes and this driver)
RT_PRIORITY = {"neural_rt": 80, "mpc_rt": 80}


def make_checkpoint(case: str, folder: Path) -> Path:
    """An untrained policy of the case's algorithm, saved as a deployable checkpoint."""
    from rl_control.algorithms.registry import make_algorithm
    from rl_control.algorithms.spec import AlgorithmSpec
    from rl_control.tasks.registry import make_task
    from rl_control.training.checkpoint import save_checkpoint
    from rl_control.training.config import load_config

    task_name, config_path, _ = CASES[case]
    config = load_config(ROOT / config_path)
    task = make_task(task_name, dict(config.env))
    spec = AlgorithmSpec(task.obs_dim, task.action_low, task.action_high, num_envs=1, task=task)
    algorithm = make_algorithm(config.algo, spec, dict(config.algo_config), 0)
    path = folder / f"{case}.pt"
    save_checkpoint(path, algorithm, {"task": task_name, "env": dict(config.env)})
    return path


def robot_yaml(rate: float, folder: Path) -> Path:
    """The 2R leg's robot config at ``rate``: generous sensor/command timeouts (the bench
    counts misses itself; a fault would stop the policy's commands) and a short homing."""
    config = yaml.safe_load((ROOT / "config/robots/two_link_leg.yaml").read_text())
    config.update(control_period=1.0 / rate, homing_time=0.2)
    config["timeouts"] = {"joint_states": 0.1, "imu": 0.1, "command": 0.1}
    path = folder / f"leg_{rate:g}.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def node(module: str, params: dict[str, object], remaps: dict[str, str] = {}) -> list[str]:  # noqa: B006
    args = [f"{k}:={v}" for k, v in params.items()]
    return [sys.executable, "-m", f"rl_control.ros.nodes.{module}", "--ros-args",
            *(a for p in args for a in ("-p", p)),
            *(a for k, v in remaps.items() for a in ("-r", f"{k}:={v}"))]  # fmt: skip


def graph_commands(case: str, rate: float, checkpoint: Path, folder: Path) -> list[list[str]]:
    task, _, mode = CASES[case]
    rt = (
        {"thread_priority": RT_PRIORITY[case], "lock_memory": "true", "cpu_dma_latency": 0}
        if case in RT_PRIORITY
        else {}
    )
    policy = node("policy_node", {"checkpoint": checkpoint, "deterministic": "true",
                                  "deadline": 1.0 / rate, "status_period": 0.0,
                                  "publish_markers": "false", **rt})  # fmt: skip
    if mode == "graph":
        return [node("state_estimator", {"task": task, "publish_tf": "false", **rt}), policy]
    arrival = "true" if ON_ARRIVAL[case] else "false"
    bridge = node("hardware_bridge", {"robot": robot_yaml(rate, folder), "task": task,
                                      "auto_home": "true", "auto_activate": "true",
                                      "answer_on_arrival": arrival, **rt})  # fmt: skip
    estimator = node("state_estimator", {"task": task, "base_source": "legs", "publish_tf":
                                         "false", **rt}, {"joint_states": "policy_joint_states",
                                                          "imu": "policy_imu"})  # fmt: skip
    return [bridge, estimator, policy]


class DriverScheduling:
    """This process (the robot's driver) at a case's SCHED_FIFO priority while it runs, then
    back to normal scheduling; a real-time loop whose sensor side is late proves nothing."""

    def __init__(self, case: str) -> None:
        self.priority = RT_PRIORITY.get(case, 0)

    def __enter__(self) -> None:
        if self.priority:  # PermissionError: the rt case cannot run here
            set_process_scheduling(os.SCHED_FIFO, self.priority)

    def __exit__(self, *exc: object) -> None:
        if self.priority:
            set_process_scheduling(os.SCHED_OTHER, 0)


@dataclass
class Record:
    """What this process saw: joint states sent, Actions and commands received (seconds)."""

    sent: list[float] = field(default_factory=list)  # stamps (= publish times)
    actions: list[tuple[float, float]] = field(default_factory=list)  # (stamp, receipt)
    commands: list[float] = field(default_factory=list)  # receipt times
    misses: list[int] = field(default_factory=list)  # policy_node's deadline-miss counter


def drive(case: str, rate: float, seconds: float, warmup: float) -> Record:
    """Publish joint states at ``rate`` and record the graph's answers."""
    from rl_control.ros import middleware as mw
    from rl_control.tasks.registry import make_task

    task, _, mode = CASES[case]
    me = mw.create_node(f"bench_robot_{os.getpid()}")
    js_cls = mw.message_class("sensor_msgs/msg/JointState")
    stamp_cls = mw.message_class("builtin_interfaces/msg/Time")
    if mode == "hardware":
        config = yaml.safe_load((ROOT / "config/robots/two_link_leg.yaml").read_text())
        names, topic = list(config["controller_joints"]), "/joint_states"
        home = [j["home"] for j in config["joints"]]  # policy order = controller order here
        me.create_subscription("std_msgs/msg/Float64MultiArray", config["topics"]["command"],
                               lambda _: rec.commands.append(time.time()), 100)  # fmt: skip
    else:
        names, topic, home = list(make_task(task).joint_names), "joint_states", [0.0, 0.0]
    pub = me.create_publisher("sensor_msgs/msg/JointState", topic, 100)
    rec, live = Record(), Record()

    def on_action(msg: object) -> None:
        live.actions.append((mw.stamp_to_seconds(msg.header.stamp), time.time()))

    me.create_subscription("rl_control_msgs/msg/Action", "action", on_action, 100)
    me.create_subscription("std_msgs/msg/UInt32", "deadline_misses",
                           lambda m: rec.misses.append(int(m.data)), 100)  # fmt: skip
    period, start = 1.0 / rate, time.time()
    end = start + 120.0  # start-up (torch import, discovery) plus warm-up, at most
    measuring_from = None
    k = 0
    while time.time() < end:
        k += 1
        now = time.time()
        if measuring_from is None and live.actions:
            measuring_from, end = now + warmup, now + warmup + seconds
        msg = js_cls(name=names, position=[h + 0.01 * np.sin(0.01 * k) for h in home],
                     velocity=[0.0] * len(names), effort=[0.0] * len(names))  # fmt: skip
        msg.header.stamp = mw.seconds_to_stamp(now, stamp_cls)
        pub.publish(msg)
        if measuring_from is not None and now >= measuring_from:
            rec.sent.append(now)
        next_at = start + k * period
        while (left := next_at - time.time()) > 0:
            mw.spin_once(me, left)
    mw.spin_once(me, 0.2)  # the last answers
    first = min(rec.sent, default=np.inf)
    rec.actions = [(s, t) for s, t in live.actions if s >= first - 1e-4]
    rec.commands = [t for t in rec.commands if t >= first]  # hardware: from the window on
    me.destroy()
    if measuring_from is None:
        raise RuntimeError(f"{case} at {rate:g} Hz: no Action within 120 s of start-up")
    return rec


def summarise(case: str, rate: float, rec: Record) -> dict[str, float]:
    """Latencies (ms) and misses of one run."""
    mode, period = CASES[case][2], 1.0 / rate
    stamps = np.array(sorted(rec.sent))
    # an Action's stamp is its joint state's, through float seconds (sub-µs rounding)
    first_answer: dict[int, float] = {}
    for stamp, received in rec.actions:
        i = int(np.argmin(np.abs(stamps - stamp)))
        if abs(stamps[i] - stamp) < 1e-5:
            first_answer.setdefault(i, received - stamps[i])
    answered = np.array(list(first_answer.values()))
    allowed = (2 if mode == "hardware" else 1) * period
    late = int(len(stamps) - np.sum(answered <= allowed))
    ms = {q: np.percentile(answered, q) * 1e3 if len(answered) else np.nan for q in (50, 99)}
    out = {"rate": rate, "sent": len(stamps), "unanswered_or_late": late,
           "deadline_misses": (max(rec.misses) - min(rec.misses)) if rec.misses else 0,
           "action_p50": ms[50], "action_p99": ms[99]}  # fmt: skip
    if mode == "hardware" and rec.commands:
        commands = np.array(sorted(rec.commands))
        e2e = []
        for stamp, received in rec.actions:
            i = np.searchsorted(commands, received)
            if i < len(commands):
                e2e.append(commands[i] - stamp)
        out["command_p50"] = np.percentile(e2e, 50) * 1e3
        out["command_p99"] = np.percentile(e2e, 99) * 1e3
    out["held"] = float(out["deadline_misses"] == 0 and late == 0 and len(answered) > 0)
    return out


def run_case(case: str, rate: float, seconds: float, warmup: float, work: Path) -> dict:
    checkpoint = work / f"{case}.pt"
    if not checkpoint.exists():
        make_checkpoint(case, work)  # the same seed: the A/B pair's policies are identical
    env = dict(os.environ, RL_CONTROL_MIDDLEWARE="embedded", OMP_NUM_THREADS="1")
    log = open(work / f"{case}_{rate:g}.log", "w")  # noqa: SIM115 (closed below)
    procs = [
        subprocess.Popen(c, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
        for c in graph_commands(case, rate, checkpoint, work)
    ]  # a full pipe would block
    try:
        with DriverScheduling(case):
            record = drive(case, rate, seconds, warmup)
        result = summarise(case, rate, record)
    except RuntimeError:
        log.flush()
        print((work / f"{case}_{rate:g}.log").read_text()[-3000:], file=sys.stderr)
        raise
    finally:
        log.close()
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(20)
            except subprocess.TimeoutExpired:
                p.kill()
    print(f"{case} {rate:g} Hz: " + ", ".join(f"{k} {v:.3g}" for k, v in result.items()),
          flush=True)  # fmt: skip
    return result


def sweep(
    cases: list[str], rates: list[float], seconds: float, warmup: float, work: Path
) -> dict[str, list]:
    """Rates in descending order until every case held one (the rest would be held too);
    at each rate all ``cases`` run, back to back, their order alternating between rates."""
    results: dict[str, list] = {case: [] for case in cases}
    for i, rate in enumerate(sorted(rates, reverse=True)):
        for case in cases if i % 2 == 0 else cases[::-1]:
            results[case].append(run_case(case, rate, seconds, warmup, work))
        if all(any(r["held"] for r in runs) for runs in results.values()):
            break
    return results


#: what should bound each case on an idle machine (not isolated by this bench: see the notes)
LIMITS = {
    "neural": "the three nodes' Python callbacks and the three DDS hops of each step (joint "
    "state relay, observation, action; a PPO MLP forward pass is ~0.1 ms)",
    "neural_tick": "the same plus a wait of up to a period for the bridge's tick at the "
    "relay and again at the command",
    "mpc": "the LCS-MPC solve, whose p99 must fit the period (bench/mpc_latency.py: p50 "
    "~0.5 ms, p99 4.6-23 ms)",
    "neural_rt": "the same as neural, less the other processes' time slices (SCHED_FIFO "
    "preempts them)",
    "mpc_rt": "the LCS-MPC solve as mpc, less the other processes' time slices",
}


def ab_notes(results: dict[str, list[dict]]) -> list[str]:
    """The A/B at each rate both bridges ran: Action and command p50, on arrival vs tick."""
    tick = {r["rate"]: r for r in results.get("neural_tick", [])}
    pairs = [(r, tick[r["rate"]]) for r in results.get("neural", []) if r["rate"] in tick]
    if not pairs:
        return []
    parts = [f"{a['rate']:g} Hz {a['action_p50']:.2f} vs {b['action_p50']:.2f} ms -> Action, "
             f"{a.get('command_p50', np.nan):.2f} vs {b.get('command_p50', np.nan):.2f} ms "
             "-> command" for a, b in pairs]  # fmt: skip
    return ["A/B, p50 on arrival (neural) vs on the tick (neural_tick), run back to back at "
            "each rate: " + "; ".join(parts) + "."]  # fmt: skip


def niceness_note(nice: int) -> str:
    """What this run's scheduling priority was (the bench's own, not the advice)."""
    if nice > 0:
        return f"Run under `nice -n {nice}` (the machine is shared with other jobs)."
    return (f"Run at niceness {nice}, not under `nice`: on a machine shared with other jobs "
            "it took CPU from them.")  # fmt: skip


def write_table(results: dict[str, list[dict]], args: argparse.Namespace, run: RunInfo) -> Path:
    header = ["policy", "rate (Hz)", "held", "joint state -> Action p50 / p99 (ms)",
              "-> command p50 / p99 (ms)", "deadline misses", "late or unanswered",
              "sent"]  # fmt: skip
    rows = []
    for case, runs in results.items():
        for r in runs:
            cmd = (f"{r['command_p50']:.2f} / {r['command_p99']:.2f}" if "command_p50" in r
                   else "n/a (bench is the bridge)")  # fmt: skip
            rows.append([case, f"{r['rate']:g}", "yes" if r["held"] else "no",
                         f"{r['action_p50']:.2f} / {r['action_p99']:.2f}", cmd,
                         int(r["deadline_misses"]), int(r["unanswered_or_late"]),
                         int(r["sent"])])  # fmt: skip
    notes = [f"{args.seconds:g} s per rate after {args.warmup:g} s of warm-up; rates tried in "
             "descending order until one is held (zero policy deadline misses, every joint "
             "state answered in time)."]  # fmt: skip
    for case, runs in results.items():
        held = [r["rate"] for r in runs if r["held"]]
        best = f"{max(held):g} Hz" if held else "none of the rates tried"
        target = TARGETS[case]
        notes.append(f"{case}: highest rate held {best} (target {target:g} Hz: "
                     f"{verdict(bool(held) and max(held) >= target)}); on an idle machine "
                     f"expected to be limited by {LIMITS[case]}.")  # fmt: skip
    notes.extend(ab_notes(results))
    load, cores = os.getloadavg()[0], os.cpu_count() or 1
    if load > cores:
        notes.append(f"This run: load average {load:.1f} on {cores} cores from other jobs, so "
                     "the node processes waited for CPU and the queues behind them grew: the "
                     "machine, not the stack, set these rates and latencies. Rerun on an idle "
                     "machine for the stack's figures.")  # fmt: skip
    notes.append(niceness_note(os.nice(0)))
    title = "Control loop: joint state in to command out, embedded back-end"
    return write_markdown("control_latency", title, header, rows, notes, run=run)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=60.0, help="per rate (60: the table)")
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--neural-rates", default="500,250,100,50,20")
    parser.add_argument("--mpc-rates", default="100,50,20,10,5")
    parser.add_argument("--cases", default=",".join(CASES), help="a subset of " + ", ".join(CASES))
    args = parser.parse_args()
    if not args.seconds > 0:
        parser.error("--seconds must be > 0")
    chosen = args.cases.split(",")
    if unknown := sorted(set(chosen) - set(CASES)):
        parser.error(f"--cases: unknown {unknown}; known: {', '.join(CASES)}")
    run = start_run(["OMP_NUM_THREADS"])
    os.environ.update(RL_CONTROL_MIDDLEWARE="embedded")
    os.environ.setdefault("ROS_DOMAIN_ID", str(10 + os.getpid() % 220))
    results = {}
    with tempfile.TemporaryDirectory() as work:
        pairs = ((["neural", "neural_tick", "neural_rt"], args.neural_rates, "neural"),
                 (["mpc", "mpc_rt"], args.mpc_rates, "mpc"))  # fmt: skip
        for cases, rates, flag in pairs:
            if not (cases := [c for c in cases if c in chosen]):
                continue
            try:
                values = [float(r) for r in rates.split(",")]
            except ValueError:
                parser.error(f"--{flag}-rates must be comma-separated numbers, got {rates!r}")
            results.update(sweep(cases, values, args.seconds, args.warmup, Path(work)))
    from rl_control.ros import middleware as mw

    mw.shutdown()
    print(niceness_note(os.nice(0)))
    if args.seconds >= 60:
        print(f"wrote {write_table(results, args, run)}")
    else:
        print("short mode (--seconds < 60): bench/results/control_latency.md not written")


if __name__ == "__main__":
    main()
