"""End to end: train.launch.xml through the embedded back-end, as separate processes over
real topics (private ROS_DOMAIN_ID), with and without the sim bridge killed mid-run."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import domains  # test/domains.py
import pytest
import yaml
from m_demorl_cartpole import CONFIG, assert_learned, eval_return, untrained_policy

from rl_control.training.checkpoint import load_checkpoint, policy_from_record
from rl_control.training.config import load_config
from rl_control.training.metrics import read_metrics

ROOT = Path(__file__).resolve().parents[2]
PID_LINE = re.compile(r"process \[(\w+)\] started with pid (\d+)")


class Launch:
    """`rl-control launch launch/train.launch.xml ...` with its output collected live."""

    def __init__(
        self,
        run_dir: Path,
        steps: int,
        domain: int,
        algo: str = "ppo",
        seed: int = 0,
        extra: tuple[str, ...] = (),
        task: str = "soft_wall_cartpole",
    ) -> None:
        self.domain = domain
        env = dict(
            os.environ,
            ROS_DOMAIN_ID=str(domain),
            RL_CONTROL_MIDDLEWARE="embedded",
            OMP_NUM_THREADS="1",
            PYTHONUNBUFFERED="1",
        )
        cmd = [
            sys.executable,
            "-m",
            "rl_control.cli.main",
            "launch",
            "launch/train.launch.xml",
            f"task:={task}",
            f"algo:={algo}",
            f"seed:={seed}",
            f"steps:={steps}",
            f"run_dir:={run_dir}",
            *extra,
        ]
        self.proc = subprocess.Popen(
            cmd,
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    def pids(self, label: str) -> list[int]:
        return [
            int(m[2])
            for line in list(self.lines)
            if (m := PID_LINE.search(line)) and m[1] == label
        ]

    def wait_for(self, pattern: str, timeout: float) -> bool:
        end = time.monotonic() + timeout
        while time.monotonic() < end and self.proc.poll() is None:
            if any(re.search(pattern, line) for line in list(self.lines)):
                return True
            time.sleep(0.2)
        return False

    def finish(self, timeout: float) -> int:
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGINT)
            self.proc.wait(20)
            raise AssertionError("launch did not stop:\n" + "\n".join(self.lines[-40:])) from None
        finally:
            self._reader.join(5)
            domains.release(self.domain)  # the graph is gone: the id may serve another test

    def wait_for_rows(self, run_dir: Path, rows: int, timeout: float) -> bool:
        """Wait until the run's metrics.csv holds ``rows`` rows (one per update): log lines
        of updates are throttled, so on a fast machine some never appear."""
        end = time.monotonic() + timeout
        while time.monotonic() < end and self.proc.poll() is None:
            try:
                if len(read_metrics(run_dir / "metrics.csv")["env_steps"]) >= rows:
                    return True
            except ValueError:  # not written yet
                pass
            time.sleep(0.1)
        return False

    def output(self) -> str:
        return "\n".join(self.lines[-60:])


def _domain(offset: int = 0) -> int:
    """A DDS domain of this process's own (test/domains.py): parallel runs never share one.
    ``offset`` is kept for callers written when ids were derived from the pid; unused."""
    del offset
    return domains.allocate()


def test_train_launch_learns_and_writes_the_run_folder(tmp_path) -> None:
    run = tmp_path / "run"
    launch = Launch(run, steps=2560, domain=_domain(0))
    code = launch.finish(timeout=170)
    assert code == 0, launch.output()
    text = "\n".join(launch.lines)
    assert "2560/2560 steps" in text or "done: 2560 steps" in text, launch.output()
    assert re.search(r"\[trainer_node\].*steps \(\d+%\), policy v\d+, return", text)  # progress
    checkpoint = load_checkpoint(run)
    assert checkpoint["env_steps"] >= 2560 and checkpoint["algo"] == "ppo"
    metrics = read_metrics(run / "metrics.csv")
    returns = [r for r in metrics["train_return"] if r == r]
    assert len(returns) >= 4, metrics
    # learning over the graph: the untrained policy drops the pole within ~30 steps; after
    # four updates the episodes last hundreds of steps and earn several times as much.
    # Bounds from the measured spread (test/ros/learns_spread.py, 2026-12-03; a seed stands
    # for any change that redraws the random streams): seeds 0-8 give a best return of
    # the last two rollouts of 5.9x-14.5x the first rollout's (660-2080 against 87-162;
    # seed 0: 143 -> 2080, identical in a repeated run) and 3.2x-16x fewer episodes in the
    # last rollout than in the first (16 -> 5 at worst). The old bounds (5x and > 500, 4x
    # fewer episodes) failed seed 5's episodes and once 719 against 752 before the streams
    # were redrawn; these keep a >= 1.6x margin below the worst of the nine seeds
    assert max(returns[-2:]) > max(400.0, 3 * returns[0]), returns
    episodes = metrics["episodes"]
    first, last = episodes[0], episodes[-1] - episodes[-2]  # episodes ended per rollout
    assert first >= 2 * max(last, 1), episodes  # same steps, at most half the episodes
    assert (run / "learning_curve.png").stat().st_size > 0
    assert any((run / "tensorboard").iterdir())  # TensorBoard events, as in-process runs


def test_bridge_killed_mid_run_respawns_and_the_trainer_keeps_its_data(tmp_path) -> None:
    run = tmp_path / "run"
    launch = Launch(run, steps=2048, domain=_domain(1))
    try:
        assert launch.wait_for_rows(run, 2, 120), launch.output()  # two 512-step rollouts
        (bridge_pid,) = launch.pids("sim_bridge")
        os.kill(bridge_pid, signal.SIGKILL)
        # the runner respawns the bridge; the trainer carries on with its rollout buffer
        assert launch.wait_for(
            rf"process \[sim_bridge\] started with pid (?!{bridge_pid}\b)", 30
        ), launch.output()
    finally:
        code = launch.finish(timeout=150)
    assert code == 0, launch.output()
    assert len(launch.pids("sim_bridge")) == 2 and len(launch.pids("trainer_node")) == 1
    text = "\n".join(launch.lines)
    assert "done: 2048 steps" in text, launch.output()
    checkpoint = load_checkpoint(run)
    assert checkpoint["env_steps"] == 2048 and checkpoint["updates"] == 4
    rows = read_metrics(run / "metrics.csv")["env_steps"]
    assert rows == sorted(rows) and rows[-1] == 2048


def test_policy_node_and_estimator_killed_mid_run_respawn_and_the_run_completes(
    tmp_path,
) -> None:
    """Every node of the training graph respawns: SIGKILL of the policy node (it rejoins
    from the latched policy_update) and of the estimator cost no budget nor checkpoint."""
    run = tmp_path / "run"
    launch = Launch(run, steps=2048, domain=_domain())
    try:
        assert launch.wait_for_rows(run, 1, 120), launch.output()  # the first rollout
        pids = {label: launch.pids(label) for label in ("policy_node", "state_estimator")}
        for (pid,) in pids.values():
            os.kill(pid, signal.SIGKILL)
        # the rest of the budget needs both: the run only ends if the new ones take part
        for label, (pid,) in pids.items():
            pattern = rf"process \[{label}\] started with pid (?!{pid}\b)"
            assert launch.wait_for(pattern, 30), launch.output()
    finally:
        code = launch.finish(timeout=150)
    assert code == 0, launch.output()
    assert len(launch.pids("policy_node")) == 2 and len(launch.pids("state_estimator")) == 2
    assert "done: 2048 steps" in "\n".join(launch.lines), launch.output()
    checkpoint = load_checkpoint(run)
    assert checkpoint["env_steps"] == 2048 and checkpoint["updates"] == 4
    rows = read_metrics(run / "metrics.csv")["env_steps"]
    assert rows == [512, 1024, 1536, 2048], rows  # no rollout lost or repeated


def test_sac_over_the_graph_logs_its_many_updates_at_most_once_a_second(tmp_path) -> None:
    """SAC publishes an update every few steps; the policy node's `policy vN received` and
    the trainer's progress line stay at about one a second each."""
    run = tmp_path / "run"
    launch = Launch(run, steps=1600, domain=_domain(), algo="sac")
    assert launch.finish(timeout=240) == 0, launch.output()
    updates = load_checkpoint(run)["updates"]  # from step 1000 on; how many varies with speed
    assert updates >= 30, updates

    def seconds(pattern: str) -> list[float]:
        stamp = re.compile(r"\[INFO\] \[(\d+\.\d+)\]")
        return [float(stamp.search(x)[1]) for x in launch.lines if re.search(pattern, x)]

    received = seconds(r"\[policy_node\].*policy v\d+ received")
    lasted = max(received) - min(received)
    assert len(received) <= lasted + 2, (len(received), lasted, updates)
    assert 3 * len(received) <= updates + 3, (len(received), updates)  # far fewer lines
    assert len(seconds(r"\[trainer_node\].*/1600 steps")) <= lasted + 3


def test_same_seed_same_training_over_the_graph(tmp_path) -> None:
    """Lock-step + the trainer's grants + seeded sampling: two concurrent runs agree."""
    runs = [tmp_path / "a", tmp_path / "b"]
    launches = [Launch(r, steps=1024, domain=_domain(3 + i), seed=5) for i, r in enumerate(runs)]
    for launch in launches:
        assert launch.finish(timeout=170) == 0, launch.output()
    a, b = (read_metrics(r / "metrics.csv") for r in runs)
    assert a["env_steps"] == b["env_steps"] == [512, 1024]
    assert a["episodes"] == b["episodes"] and a["train_return"] == b["train_return"], (a, b)


def test_ppo_mpc_learns_over_the_graph(tmp_path) -> None:
    """The main job's path: PPO with the MPC policy; episodes go on across its short
    updates, so their returns reach the learning curve."""
    run = tmp_path / "run"
    launch = Launch(run, steps=800, domain=_domain(5), algo="ppo_mpc")
    assert launch.finish(timeout=300) == 0, launch.output()
    checkpoint = load_checkpoint(run)
    assert checkpoint["algo"] == "ppo_mpc" and checkpoint["updates"] == 4
    returns = [r for r in read_metrics(run / "metrics.csv")["train_return"] if r == r]
    assert returns and returns[0] < 1000, returns  # the perturbed model drops the pole
    assert max(returns[1:]) > returns[0] + 2000, returns  # balancing after a few updates


#: M-DeMoRL cut down to a run of well under a minute: 200-step episodes, a small ensemble
#: refit every 200 steps (at 200 and 400) and an inner loop of 16 starts x 16 particles
TINY_M_DEMORL = {
    "algo": "m_demorl", "task": "two_link_leg", "env": {"max_steps": 200}, "seed": 0,
    "total_steps": 600, "eval_every": 0, "checkpoint_every": 0,
    "algo_config": {
        "sac": {"learning_starts": 200, "batch_size": 64, "hidden": [32, 32],
                "buffer_size": 10000},
        "num_members": 3, "num_elites": 2, "model_hidden": [32, 32], "model_epochs": 5,
        "model_train_freq": 200, "num_samples": 16, "horizon_schedule": [0, 600, 3, 3],
        "starts_schedule": [0, 600, 16, 16], "plan_batch": 16, "mpc_buffer_size": 2000,
    },
}  # fmt: skip


def test_m_demorl_trains_over_the_graph(tmp_path) -> None:
    """The trainer node refits the ensemble and runs the DMD-MPC inner loop in its worker;
    the policy node acts with the SAC actor it receives."""
    config, run = tmp_path / "m_demorl.yaml", tmp_path / "run"
    config.write_text(yaml.safe_dump(TINY_M_DEMORL))
    launch = Launch(run, steps=600, domain=_domain(), algo="m_demorl", task="two_link_leg",
                    extra=(f"config:={config}",))  # fmt: skip
    assert launch.finish(timeout=120) == 0, launch.output()
    text = "\n".join(launch.lines)
    assert "done: 600 steps" in text and re.search(r"\[policy_node\].*policy v\d+ received", text)
    checkpoint = load_checkpoint(run)
    assert checkpoint["algo"] == "m_demorl" and checkpoint["env_steps"] == 600, checkpoint
    assert checkpoint["updates"] >= 2  # SAC from step 200 on; how many varies with speed
    m = read_metrics(run / "metrics.csv")
    # a row per update, and one for the steps after the last (when there are any)
    assert m["env_steps"][-1] == 600 and len(m["env_steps"]) - checkpoint["updates"] in (0, 1)
    refits = [s for s, v in zip(m["env_steps"], m["model_val_mse"], strict=True) if v == v]
    # every model_train_freq steps (the first update at or past 200 and 400 steps)
    assert len(refits) == 2 and 200 <= refits[0] < 400 <= refits[1] < 600, refits
    assert all(v > 0 for v in m["mpc_transitions"] if v == v), m["mpc_transitions"]
    assert len([r for r in m["train_return"] if r == r]) == 3  # 600 steps of 200-step episodes


def test_m_demorl_learns_over_the_graph(tmp_path) -> None:
    """`rl-control launch launch/train.launch.xml algo:=m_demorl` on the cart-pole with its
    config (config/train/m_demorl_soft_wall_cartpole.yaml, 2000 steps): the checkpoint's
    actor, evaluated with the runner's protocol, balances the pole, held to the in-process
    test's bars (test/m_demorl_cartpole.py).

    Not lock-step deterministic, unlike PPO: off-policy, the trainer grants steps without
    waiting for updates, which run beside the simulation and reach the policy node at most
    every publish period, so how many updates there are and which version acts where depend
    on timing. Measured (2026-12-07, load ~6 on 2 cores), seed 0 twice: eval 2692 after 285
    updates, 2777 after 298 (in-process, deterministic: 2850); seeds 1-4: 2669, 2850, 2610,
    2807; two graphs at once (seeds 0, 0, 5, 6): 2674 (88 updates), 2677 (87), 2791, 2790;
    untrained 134 (seed 0). 20-37 s a run."""
    run = tmp_path / "run"
    launch = Launch(run, steps=2000, domain=_domain(), algo="m_demorl")
    assert launch.finish(timeout=240) == 0, launch.output()
    checkpoint = load_checkpoint(run)
    assert checkpoint["algo"] == "m_demorl" and checkpoint["env_steps"] == 2000, checkpoint
    config = load_config(CONFIG)
    final = eval_return(policy_from_record(checkpoint["policy"]), config)
    assert_learned(eval_return(untrained_policy(config), config), final)
    m = read_metrics(run / "metrics.csv")
    # a refit about every 200 steps from 200 on (8-9 measured: an update may span two marks,
    # and on a slower machine fewer, longer updates span more)
    refits = [v for v in m["mpc_transitions"] if v == v]
    assert len(refits) >= 4 and all(v > 0 for v in refits), m["mpc_transitions"]


def test_m_demorl_learns_over_the_graph_on_the_2r_leg(tmp_path) -> None:
    """`rl-control launch launch/train.launch.xml task:=two_link_leg algo:=m_demorl` with
    config/train/m_demorl_two_link_leg_tiny.yaml (2000 steps of 100-step episodes): the
    checkpoint's actor is held to the in-process test's bars (test/m_demorl_leg.py). The
    policy node acts SAC's uniform warm-up before learning_starts (the update says so), as
    the in-process runner does; it acted the untrained actor before, which ended at 30.9,
    35.2 and 34.8 on seed 0 (in-process 56.0) and would fail the bars; with the warm-up 77.0
    (2026-12-07, seed 0, load ~3)."""
    import m_demorl_leg

    run = tmp_path / "run"
    launch = Launch(run, steps=2000, domain=_domain(), algo="m_demorl", task="two_link_leg",
                    extra=(f"config:={m_demorl_leg.CONFIG}",))  # fmt: skip
    assert launch.finish(timeout=240) == 0, launch.output()
    checkpoint = load_checkpoint(run)
    assert checkpoint["algo"] == "m_demorl" and checkpoint["env_steps"] == 2000, checkpoint
    config = load_config(m_demorl_leg.CONFIG)
    final = eval_return(policy_from_record(checkpoint["policy"]), config)
    m_demorl_leg.assert_learned(eval_return(untrained_policy(config), config), final)


def test_m_demorl_over_the_graph_drops_and_counts_exploding_rollouts(tmp_path) -> None:
    """With explode_factor ~0 every model prediction counts as exploding: the trainer node's
    inner loop drops each planned rollout, counts it in metrics.csv, and fills no D_MPC."""
    config, run = tmp_path / "m_demorl.yaml", tmp_path / "run"
    cfg = {**TINY_M_DEMORL, "total_steps": 400}
    cfg["algo_config"] = {**TINY_M_DEMORL["algo_config"], "explode_factor": 1e-12}
    config.write_text(yaml.safe_dump(cfg))
    launch = Launch(run, steps=400, domain=_domain(), algo="m_demorl", task="two_link_leg",
                    extra=(f"config:={config}",))  # fmt: skip
    assert launch.finish(timeout=120) == 0, launch.output()
    m = read_metrics(run / "metrics.csv")
    refits = [i for i, v in enumerate(m["model_val_mse"]) if v == v]
    assert refits, m
    for i in refits:  # 16 starts planned per refit, every one dropped and counted
        assert m["mpc_starts"][i] == m["mpc_dropped_rollouts"][i] == 16, m
        assert m["mpc_transitions"][i] == 0, m


def test_gi_ppo_trains_over_the_graph(tmp_path) -> None:
    """GI-PPO through the node graph on the cart-pole (config/train/gi_ppo_soft_wall_cartpole
    .yaml): the trainer node replays the graph's transitions through the task's
    differentiable step, and the policy node acts with each version it receives."""
    run = tmp_path / "run"
    launch = Launch(run, steps=400, domain=_domain(), algo="gi_ppo")
    assert launch.finish(timeout=180) == 0, launch.output()
    # the node logs receipts at most once a second, so v1 and v2 may share a line or (v2
    # arriving as the run ends) go unlogged; that the second rollout was acted on by v1 is
    # what the trainer's grants (min_policy_version) enforce, and what updates == 2 shows
    assert re.search(r"\[policy_node\].*policy v\d+ received", "\n".join(launch.lines))
    checkpoint = load_checkpoint(run)
    assert checkpoint["algo"] == "gi_ppo" and checkpoint["updates"] == 2, checkpoint
    m = read_metrics(run / "metrics.csv")
    alpha = m["alpha"]  # α starts at 1e-5 and moves by the rule's factor 1.1 per update
    assert alpha[0] == pytest.approx(1e-5) and alpha[1] / alpha[0] in (
        pytest.approx(1.1), pytest.approx(1 / 1.1)), alpha  # fmt: skip
    assert all(g > 0 for g in m["grad_norm_mean"]), m["grad_norm_mean"]


@pytest.mark.slow
def test_train_launch_reaches_a_balancing_policy(tmp_path) -> None:
    """The long version: 20k steps of PPO over the graph balance the pole most of the time."""
    run = tmp_path / "run"
    launch = Launch(run, steps=20480, domain=_domain(2))
    assert launch.finish(timeout=900) == 0, launch.output()
    returns = [r for r in read_metrics(run / "metrics.csv")["train_return"] if r == r]
    assert max(returns[-3:]) > 2500, returns  # 400 steps x ~15 per step at best


def test_quadruped12_trains_over_the_graph_at_a_small_budget(tmp_path) -> None:
    """The 12-motor quadruped through the graph (its estimate reads the generator phase off
    the episode clock): 384 steps, three PPO updates, a complete run folder. Learning is not
    checked: three 128-step rollouts are far too few for it."""
    config, run = tmp_path / "ppo_quadruped12.yaml", tmp_path / "run"
    config.write_text(yaml.safe_dump({
        "algo": "ppo", "task": "quadruped12", "env": {}, "seed": 0, "total_steps": 384,
        "eval_every": 0, "checkpoint_every": 0,
        "algo_config": {"n_steps": 128, "batch_size": 64, "n_epochs": 2, "hidden": [16, 16]},
    }))  # fmt: skip
    launch = Launch(run, steps=384, domain=_domain(), task="quadruped12",
                    extra=(f"config:={config}",))  # fmt: skip
    assert launch.finish(timeout=400) == 0, launch.output()
    assert "done: 384 steps" in "\n".join(launch.lines), launch.output()
    checkpoint = load_checkpoint(run)
    assert checkpoint["algo"] == "ppo" and checkpoint["env_steps"] == 384
    assert checkpoint["updates"] == 3, checkpoint["updates"]
    assert read_metrics(run / "metrics.csv")["env_steps"] == [128, 256, 384]
    for name in ("config.yaml", "checkpoint.pt", "learning_curve.png"):
        assert (run / name).stat().st_size > 0, name
    assert yaml.safe_load((run / "config.yaml").read_text())["task"] == "quadruped12"


def test_composed_workers_train_exactly_as_separate_processes(tmp_path) -> None:
    """compose:=true (bridge, estimator and policy node in one node_container) changes how
    messages travel, not what is simulated: same seed, same metrics as separate processes."""
    runs = [tmp_path / "separate", tmp_path / "composed"]
    launches = [
        Launch(run, steps=1024, domain=_domain(), seed=5, extra=(f"compose:={c}",))
        for run, c in zip(runs, ("false", "true"), strict=True)
    ]
    for launch in launches:
        assert launch.finish(timeout=300) == 0, launch.output()
    assert launches[1].pids("worker_container") and not launches[1].pids("sim_bridge")
    a, b = (read_metrics(r / "metrics.csv") for r in runs)
    assert a["env_steps"] == b["env_steps"] == [512, 1024]
    assert a["episodes"] == b["episodes"] and a["train_return"] == b["train_return"], (a, b)
