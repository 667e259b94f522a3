"""Shared test set-up: one torch thread per test process (CI has 2 cores), headless PyBullet,
and a DDS domain of its own for each test that talks over DDS."""

import os
from collections.abc import Iterator

import domains  # test/domains.py (this directory is on sys.path for every test)
import pytest
from clocks import FakeClock

os.environ.setdefault("OMP_NUM_THREADS", "1")

try:
    import torch

    torch.set_num_threads(1)
except ImportError:  # the ROS-free import test runs without torch too
    pass


@pytest.fixture
def ros_domain(monkeypatch: pytest.MonkeyPatch) -> Iterator[int]:
    """ROS_DOMAIN_ID set to a domain no other test process uses (test/domains.py)."""
    domain = domains.allocate()
    monkeypatch.setenv("ROS_DOMAIN_ID", str(domain))
    yield domain
    domains.release(domain)


@pytest.fixture
def fake_clock() -> FakeClock:
    """A :class:`FakeClock` at t = 0, for the roles' injected ``clock``."""
    return FakeClock()
