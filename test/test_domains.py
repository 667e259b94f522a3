"""The DDS domain allocator of the tests: ids are exclusive across processes while held."""

import subprocess
import sys

import domains

PROBE = """
import fcntl, os, sys
fd = os.open(sys.argv[1], os.O_CREAT | os.O_RDWR)
try:
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    print("free")
except BlockingIOError:
    print("taken")
"""


def _seen_by_another_process(domain: int) -> str:
    lock = str(domains.LOCK_DIR / f"{domain}.lock")
    return subprocess.run(
        [sys.executable, "-c", PROBE, lock], capture_output=True, text=True, check=True
    ).stdout.strip()


def test_an_allocated_domain_is_taken_for_other_processes() -> None:
    a, b = domains.allocate(), domains.allocate()
    assert a != b and all(d in domains.DOMAINS for d in (a, b)) and 0 not in (a, b)
    assert _seen_by_another_process(a) == "taken"
    domains.release(b)
    assert _seen_by_another_process(a) == "taken"  # releasing another id changes nothing
    domains.release(a)
    domains.release(a)  # twice: harmless
