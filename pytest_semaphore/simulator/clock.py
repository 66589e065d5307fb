"""The simulator's clocks: simulated seconds since the world began.

Tests need time to move only when they say so (an hour of pipeline in milliseconds, no real sleeps), while the
``semaphore-gate simulate`` demo wants time to flow by itself, faster or slower than real time. Both are the same
interface, so the world never knows which one drives it.
"""

from __future__ import annotations

import threading
import time
from typing import Protocol

__all__ = ["Clock", "ManualClock", "RealClock"]


class Clock(Protocol):
    """Simulated seconds since the world began; ``advance`` moves them forward explicitly."""

    def now(self) -> float: ...

    def advance(self, seconds: float) -> None: ...


class ManualClock:
    """A clock that moves only when ``advance`` is called (the default for tests)."""

    def __init__(self) -> None:
        self._now = 0.0
        self._lock = threading.Lock()

    def now(self) -> float:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError(f"cannot move the simulated clock backwards (advance({seconds!r}))")
        with self._lock:
            self._now += seconds

    def set(self, when: float) -> None:
        """Jump to ``when`` (never backwards); the world uses it to stop exactly at each event."""
        with self._lock:
            self._now = max(self._now, when)


class RealClock:
    """Real monotonic time multiplied by ``speed``; ``advance`` still jumps ahead on top of it."""

    def __init__(self, speed: float = 1.0) -> None:
        if not speed > 0:
            raise ValueError(f"speed must be a positive number, not {speed!r}")
        self.speed = speed
        self._start = time.monotonic()
        self._offset = 0.0
        self._lock = threading.Lock()

    def now(self) -> float:
        with self._lock:
            return (time.monotonic() - self._start) * self.speed + self._offset

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError(f"cannot move the simulated clock backwards (advance({seconds!r}))")
        with self._lock:
            self._offset += seconds
