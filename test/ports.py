"""A free loopback TCP port for tests that start a server (the monitor's web page)."""

import socket


def free_port() -> int:
    """A port the OS just handed out on 127.0.0.1 (free unless something takes it first)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
