"""The embedded back-end's console logger prints each record once, rcutils-style."""

import logging

import pytest

from rl_control.ros.middleware.logger import ConsoleLogger


def test_each_record_is_printed_once(capfd) -> None:
    log = ConsoleLogger("talker")
    log.warn("hot motor")
    log.debug("hidden at the default level")
    _, err = capfd.readouterr()
    # our rcutils-style line, once (a handler the user configured may add its own)
    assert err.count("[talker]: hot motor") == 1 and "[WARN]" in err
    assert "hidden" not in err
    # stdlib's last-resort handler (which printed warnings a second time) is never reached
    handlers = logging.getLogger("rl_control.ros").handlers
    assert any(isinstance(h, logging.NullHandler) for h in handlers)


def test_unknown_level_is_named() -> None:
    with pytest.raises(ValueError, match="unknown log level 'loud'"):
        ConsoleLogger("x", level="loud")
