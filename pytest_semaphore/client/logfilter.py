"""Keep URL query strings out of our error messages and out of urllib3's own log lines.

A self-hosted job's log lives behind a signed URL (loghub's ``?jwt=...``), and we promise (docs/client.md) that no
message or log line carries a URL's query string. :func:`strip_queries` is the one rule for both: the client applies it
to every server text it quotes, and :func:`install` attaches a filter that applies it to urllib3's DEBUG request lines
(``GET /api/v1/logs/<id>?jwt=<signed token> ...``). The API token itself is never logged by urllib3: it travels in a
header, which urllib3 does not log.
"""

from __future__ import annotations

import logging
import re

__all__ = ["install", "strip_queries"]

#: A URL query inside free text: a "?" followed by a run (up to a space, quote, ")" or ">") that contains "=", so
#: that a question mark in the server's prose ("Why? Because") is left alone.
_QUERY = re.compile(r"\?(?=[^\s'\")>]*=)[^\s'\")>]*")
_LOGGERS = ("urllib3.connectionpool", "urllib3.util.retry", "urllib3.poolmanager")


def strip_queries(text: str) -> str:
    """Drop every URL query string from ``text`` (``/logs/x?jwt=abc`` -> ``/logs/x``)."""
    return _QUERY.sub("", text)


class _DropQueries(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "?" in message:
            record.msg = strip_queries(message)
            record.args = ()
        return True


_FILTER = _DropQueries()


def install() -> None:
    """Attach the filter to urllib3's loggers (idempotent)."""
    for name in _LOGGERS:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
