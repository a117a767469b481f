"""Expected network trouble is one plain line in the log, never a traceback.

Wi-Fi goes off, a cable comes out, an interface disappears, a peer's laptop
sleeps mid-write: these are everyday events for a node, not bugs. The libraries
underneath (zeroconf, asyncio, aiohttp) log some of them with a traceback
(zeroconf's "Error with socket ...: Network is unreachable"), which a member
reading the log takes for a crash. :func:`quiet_network_trouble` adds a filter
to those libraries' loggers that keeps the line and drops the traceback when the
exception is one of these; anything else keeps its traceback, so a traceback in
the log always means a bug.
"""

from __future__ import annotations

import errno
import logging
import ssl

#: errno values that mean "the network is not there right now", not "a bug".
NETWORK_TROUBLE_ERRNOS = frozenset({
    errno.ENETUNREACH, errno.ENETDOWN, errno.ENETRESET, errno.EHOSTUNREACH, errno.EHOSTDOWN,
    errno.EADDRNOTAVAIL, errno.ENODEV, errno.ENXIO, errno.ECONNREFUSED, errno.ECONNRESET,
    errno.ECONNABORTED, errno.EPIPE, errno.ETIMEDOUT, errno.ENOBUFS,
})
#: The libraries that log such trouble themselves.
LIBRARY_LOGGERS = ("zeroconf", "asyncio", "aiohttp.server", "aiohttp.client", "aiohttp.internal",
                   "aiohttp.web", "aiohttp.websocket")


def is_network_trouble(exc: BaseException | None) -> bool:
    """Whether ``exc`` is the network going away rather than a fault of ours."""
    while exc is not None:
        if isinstance(exc, (ConnectionError, TimeoutError, ssl.SSLEOFError)):
            return True
        if isinstance(exc, OSError) and exc.errno in NETWORK_TROUBLE_ERRNOS:
            return True
        exc = exc.__cause__ or exc.__context__
    return False


class NetworkTroubleFilter(logging.Filter):
    """Turns a record about expected network trouble into one plain line."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if exc is not None and is_network_trouble(exc):
            message = record.getMessage()
            detail = f"{type(exc).__name__}: {exc}"
            record.msg = message if detail in message or str(exc) in message else f"{message} ({detail})"
            record.args = ()
            record.exc_info = None
            record.exc_text = None
        return True


_FILTER = NetworkTroubleFilter()


def quiet_network_trouble() -> None:
    """Install the filter on the libraries' loggers (idempotent)."""
    for name in LIBRARY_LOGGERS:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
