"""The simulator's clocks: simulated seconds since the world began.

Tests need time to move only when they say so (an hour of pipeline in milliseconds, no real sleeps), while the
``semaphore-gate simulate`` demo wants time to flow by itself, faster or slower than real time. Both are the same
interface, so the world never knows which one drives it.
"""

from __future__ import annotations

import math
import threading
import time
from typing import Protocol

__all__ = ["Clock", "ManualClock", "RealClock"]


class Clock(Protocol):
    """Simulated seconds since the world began; ``advance`` moves them forward explicitly."""

    def now(self) -> float: ...

    def advance(self, seconds: float) -> None: ...


def _check_step(seconds: float) -> None:
    """A step of simulated time must be a finite, non-negative number: ``nan`` would be silently ignored and
    ``inf`` would put every later event out of reach."""
    if not math.isfinite(seconds):
        raise ValueError(f"the simulated clock advances by a finite number of seconds, not advance({seconds!r})")
    if seconds < 0:
        raise ValueError(f"cannot move the simulated clock backwards (advance({seconds!r}))")


class ManualClock:
    """A clock that moves only when ``advance`` is called (the default for tests)."""

    def __init__(self) -> None:
        self._now = 0.0
        self._lock = threading.Lock()

    def now(self) -> float:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> None:
        _check_step(seconds)
        with self._lock:
            self._now += seconds

    def set(self, when: float) -> None:
        """Jump to ``when`` (never backwards); the world uses it to stop exactly at each event."""
        with self._lock:
            self._now = max(self._now, when)


class RealClock:
    """Real monotonic time multiplied by ``speed``; ``advance`` still jumps ahead on top of it."""

    def __init__(self, speed: float = 1.0) -> None:
        if not (math.isfinite(speed) and speed > 0):
            raise ValueError(f"speed must be a positive, finite number, not {speed!r}")
        self.speed = speed
        self._start = time.monotonic()
        self._offset = 0.0
        self._lock = threading.Lock()

    def now(self) -> float:
        with self._lock:
            return (time.monotonic() - self._start) * self.speed + self._offset

    def advance(self, seconds: float) -> None:
        _check_step(seconds)
        with self._lock:
            self._offset += seconds
