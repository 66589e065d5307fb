"""The request log: every request the simulator received, oldest first, for tests to inspect.

One object owns the records and their lock, so that the serving layer appends, the simulator's face reads and clears,
and neither reaches into the other. The token is never kept: ``authorization`` is recorded as ``<redacted>``.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass

from .messages import Received

__all__ = ["RequestLog", "RequestRecord"]


@dataclass
class RequestRecord(Received):
    """One request as the simulator saw it. The token is never kept: ``authorization`` is ``<redacted>``."""

    time: float
    server: str = "api"
    status: int | None = None
    fault: str | None = None
    error: str | None = None
    """A simulator bug met while answering (the client got ``500 Something went wrong``)."""


class RequestLog:
    """Thread-safe and optionally bounded: ``limit`` keeps only the latest records (long-running servers)."""

    def __init__(self, limit: int | None = None) -> None:
        self._records: deque[RequestRecord] = deque(maxlen=limit)
        self._lock = threading.Lock()

    def append(self, record: RequestRecord) -> None:
        with self._lock:
            self._records.append(record)

    def snapshot(self) -> list[RequestRecord]:
        """The records so far, oldest first (a copy: later requests do not change it)."""
        with self._lock:
            return list(self._records)

    def clear(self) -> None:
        with self._lock:
            self._records.clear()
