"""Expected network trouble is one plain line in the log; a bug keeps its traceback."""

from __future__ import annotations

import errno
import io
import logging

import pytest
from zeroconf._logger import QuietLogger

from podsync.net.trouble import is_network_trouble, quiet_network_trouble


@pytest.fixture
def zeroconf_log() -> io.StringIO:
    """What a `podsync up` log shows of the zeroconf logger."""
    quiet_network_trouble()
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    logger = logging.getLogger("zeroconf")
    logger.addHandler(handler)
    try:
        yield out
    finally:
        logger.removeHandler(handler)


def raised(exc: BaseException) -> BaseException:
    try:
        raise exc
    except BaseException as caught:  # noqa: BLE001 - we want it with its traceback
        return caught


def test_zeroconfs_network_unreachable_is_one_plain_line(zeroconf_log: io.StringIO) -> None:
    exc = raised(OSError(errno.ENETUNREACH, "Network is unreachable"))
    # Exactly the call zeroconf's listener makes when a send fails.
    QuietLogger.log_exception_once(exc, "Error with socket 7 (('10.77.0.11', 5353))): %s", exc)
    text = zeroconf_log.getvalue()
    assert "Network is unreachable" in text
    assert "Traceback" not in text and len(text.strip().splitlines()) == 1


def test_a_bug_keeps_its_traceback(zeroconf_log: io.StringIO) -> None:
    exc = raised(ValueError("a real bug"))
    QuietLogger.log_exception_once(exc, "Error with socket 8: %s", exc)
    assert "Traceback" in zeroconf_log.getvalue()


@pytest.mark.parametrize("exc, expected", [
    (OSError(errno.EADDRNOTAVAIL, "Cannot assign requested address"), True),
    (ConnectionResetError(), True),
    (TimeoutError(), True),
    (OSError(errno.ENOENT, "No such file"), False),
    (RuntimeError("bug"), False),
])
def test_what_counts_as_network_trouble(exc: BaseException, expected: bool) -> None:
    assert is_network_trouble(exc) is expected
