"""Two "hosts" on one machine: the trainer and worker 0 in one network namespace, worker 1
in another, joined only by a veth pair (no loopback between them), discovery by
ROS_AUTOMATIC_DISCOVERY_RANGE=SUBNET as in the README's multi-machine recipe. Skipped with
the reason where network namespaces cannot be made (not root, no `ip`, a container without
CAP_NET_ADMIN)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys

import domains  # test/domains.py
import pytest
from test_train_graph import ROOT, _domain
from test_train_workers import _config

from rl_control.training.metrics import read_metrics


def _ip(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["ip", *args], capture_output=True, text=True, timeout=10)


@pytest.fixture
def hosts():
    """Namespaces A (10.231.0.1) and B (10.231.0.2) on one veth link, multicast routed."""
    if sys.platform != "linux" or shutil.which("ip") is None:
        pytest.skip("needs Linux with iproute2 (`ip`)")
    tag = f"{os.getpid() % 100000}"
    a, b = f"rlc_a{tag}", f"rlc_b{tag}"
    made = _ip("netns", "add", a)
    if made.returncode != 0:
        pytest.skip(f"network namespaces not permitted here: {made.stderr.strip()}")
    try:
        steps = [
            ("netns", "add", b),
            ("link", "add", f"va{tag}", "netns", a, "type", "veth", "peer", "name", f"vb{tag}",
             "netns", b),
        ]  # fmt: skip
        for ns, dev, addr in ((a, f"va{tag}", "10.231.0.1/24"), (b, f"vb{tag}", "10.231.0.2/24")):
            steps += [
                ("-n", ns, "link", "set", "lo", "up"),
                ("-n", ns, "addr", "add", addr, "dev", dev),
                ("-n", ns, "link", "set", dev, "up", "multicast", "on"),
                ("-n", ns, "route", "add", "224.0.0.0/4", "dev", dev),
            ]
        for step in steps:
            done = _ip(*step)
            if done.returncode != 0:
                pytest.skip(f"`ip {' '.join(step)}` not permitted: {done.stderr.strip()}")
        yield a, b
    finally:
        for ns in (a, b):
            _ip("netns", "del", ns)  # takes the veth pair with it


def _start(ns: str, domain: int, *args: str) -> subprocess.Popen:
    env = dict(os.environ, ROS_DOMAIN_ID=str(domain), RL_CONTROL_MIDDLEWARE="embedded",
               OMP_NUM_THREADS="1", ROS_AUTOMATIC_DISCOVERY_RANGE="SUBNET")  # fmt: skip
    cmd = ["ip", "netns", "exec", ns, sys.executable, "-m", "rl_control.cli.main", "launch",
           *args]  # fmt: skip
    return subprocess.Popen(
        cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True,
    )  # fmt: skip


def test_a_worker_in_another_network_namespace_feeds_the_trainer(hosts, tmp_path) -> None:
    a, b = hosts
    domain = _domain()
    run = tmp_path / "run"
    trainer = _start(
        a, domain, "launch/train.launch.xml", f"config:={_config(tmp_path)}", "workers:=2",
        "local_workers:=1", "seed:=3", "steps:=256", f"run_dir:={run}",
    )  # fmt: skip
    worker = _start(b, domain, "launch/worker.launch.xml", "index:=1", "workers:=2", "seed:=3",
                    f"config:={_config(tmp_path)}")  # fmt: skip
    try:
        out, _ = trainer.communicate(timeout=300)
    except subprocess.TimeoutExpired:
        os.killpg(trainer.pid, signal.SIGINT)
        out, _ = trainer.communicate(timeout=30)
        raise AssertionError("the two-namespace run did not finish:\n" + out[-4000:]) from None
    finally:
        os.killpg(worker.pid, signal.SIGINT)
        try:
            worker.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)
        domains.release(domain)
    assert trainer.returncode == 0, out[-4000:]
    assert read_metrics(run / "metrics.csv")["env_steps"] == [128, 256]
