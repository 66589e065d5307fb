"""Keep URL query strings out of urllib3's own log lines.

urllib3 logs every request at DEBUG level as ``GET /api/v1/logs/<id>?jwt=<signed token> ...``. A self-hosted job's
log lives behind such a signed URL, and design.md promises that no log line carries a URL's query string. The
filter rewrites those records (only urllib3's, only when they are emitted) so that ``?jwt=...`` reads ``?<query>``.
The API token itself is never logged by urllib3: it travels in a header, which urllib3 does not log.
"""

from __future__ import annotations

import logging
import re

__all__ = ["install", "strip_queries"]

_QUERY = re.compile(r"\?[^\s\"'<>]*")
_LOGGERS = ("urllib3.connectionpool", "urllib3.util.retry", "urllib3.poolmanager")


def strip_queries(text: str) -> str:
    """Replace every URL query string in ``text`` with ``?<query>``."""
    return _QUERY.sub("?<query>", text)


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
