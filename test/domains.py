"""DDS domain ids for tests: one allocator, so parallel test processes never share a domain.

Each id in 1..232 (0 is everyone's default) has a lock file; a process owns an id while it
holds an exclusive ``flock`` on that file. The kernel drops the lock when the process ends,
however it ends, so no id stays taken by a crashed run.
"""

from __future__ import annotations

import fcntl
import os
import random
import tempfile
from pathlib import Path

#: ROS_DOMAIN_ID values rcl accepts, less the default domain 0
DOMAINS = range(1, 233)
LOCK_DIR = Path(tempfile.gettempdir()) / "rl_control_test_domains"

_held: dict[int, int] = {}  # domain -> file descriptor holding its lock


def allocate() -> int:
    """A domain id no other process (nor this one) holds; kept until :func:`release`."""
    LOCK_DIR.mkdir(exist_ok=True)
    candidates = [d for d in DOMAINS if d not in _held]
    random.shuffle(candidates)  # concurrent allocators rarely race for the same file
    for domain in candidates:
        fd = os.open(LOCK_DIR / f"{domain}.lock", os.O_CREAT | os.O_RDWR, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            continue
        _held[domain] = fd
        return domain
    raise RuntimeError(f"all DDS domains {DOMAINS.start}..{DOMAINS.stop - 1} are taken")


def release(domain: int) -> None:
    """Give ``domain`` back (it is released anyway when the process exits)."""
    fd = _held.pop(domain, None)
    if fd is not None:
        os.close(fd)  # closing the descriptor drops its flock
