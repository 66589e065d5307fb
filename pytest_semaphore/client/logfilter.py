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

#: A candidate URL query: a "?" and the run of non-space characters after it. A run is a query when it holds an
#: "=" (so a question mark in the server's prose, "Why? Because", is left alone); it is dropped up to the next
#: whitespace, not up to a quote or bracket: a query may hold ``'``, ``)`` and ``"`` (urllib3's request lines quote
#: the URL as it was sent), and a ``jwt=`` after one of them must not survive. Only closing punctuation that ends the
#: run is kept, so "(see /x?a=b)" still reads "(see /x)". One pass, no lookahead: linear in the text's length
#: (a lookahead scanning each "?"'s run to its end was quadratic over a body of question marks).
_RUN = re.compile(r"\?\S*")
_CLOSING = "'\")>].,;:!"
_LOGGERS = ("urllib3.connectionpool", "urllib3.util.retry", "urllib3.poolmanager")


def strip_queries(text: str) -> str:
    """Drop every URL query string from ``text`` (``/logs/x?jwt=abc`` -> ``/logs/x``)."""
    return _RUN.sub(_drop_query, text) if "?" in text else text


def _drop_query(match: re.Match[str]) -> str:
    run = match.group()
    if "=" not in run:
        return run
    return run[len(run.rstrip(_CLOSING)) :]


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
