"""Fixtures for middleware tests: a private ROS_DOMAIN_ID per test process (no cross-talk)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import domains  # test/domains.py: one allocator for DDS domain ids
import pytest

PEER = Path(__file__).with_name("mw_peer.py")
REPO = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def domain_env() -> Iterator[dict[str, str]]:
    """Environment with a domain id of its own (test/domains.py), shared with child processes."""
    env = dict(os.environ)
    domain = domains.allocate()
    env["ROS_DOMAIN_ID"] = str(domain)
    env["RL_CONTROL_MIDDLEWARE"] = "embedded"
    env["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    keys = ("ROS_DOMAIN_ID", "RL_CONTROL_MIDDLEWARE", "ROS_AUTOMATIC_DISCOVERY_RANGE")
    saved = {k: os.environ.get(k) for k in keys}
    os.environ.update({k: env[k] for k in saved})
    yield env
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    domains.release(domain)


@pytest.fixture(scope="module", params=["generated", "cyclonedds"])
def peer(domain_env: dict[str, str], request: pytest.FixtureRequest) -> Iterator[subprocess.Popen]:
    """The echo peer in its own process; stopped by closing its stdin. It runs once with each
    CDR codec (RL_CONTROL_CDR_CODEC), so this process's generated codec also talks to
    cyclonedds-python's own serializer."""
    proc = subprocess.Popen(
        [sys.executable, str(PEER)],
        env=dict(domain_env, RL_CONTROL_CDR_CODEC=request.param),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    line = proc.stdout.readline()
    if line.strip() != "ready":
        proc.kill()
        raise RuntimeError(f"peer failed to start: {line!r} {proc.stderr.read()}")
    yield proc
    proc.stdin.close()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
