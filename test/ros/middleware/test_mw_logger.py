"""The embedded back-end's console logger prints each record once, rcutils-style."""

import logging

import pytest

from rl_control.ros.middleware.logger import ConsoleLogger


def test_each_record_is_printed_once(capfd, caplog) -> None:
    log = ConsoleLogger("talker")
    with caplog.at_level(logging.INFO, logger="rl_control.ros"):
        log.warn("hot motor")
        log.debug("hidden at the default level")
    _, err = capfd.readouterr()
    assert err.count("hot motor") == 1 and "[WARN]" in err and "[talker]" in err
    assert "hidden" not in err
    assert [r.getMessage() for r in caplog.records] == ["hot motor"]


def test_unknown_level_is_named() -> None:
    with pytest.raises(ValueError, match="unknown log level 'loud'"):
        ConsoleLogger("x", level="loud")
