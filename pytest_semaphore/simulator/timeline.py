"""The world's timeline: actions scheduled at simulated instants, run in time order.

Kept apart from the clock (:mod:`.clock`), which only says what time it is: the timeline is what happens when. Every
step of a pipeline is an action here, so advancing a manual clock by an hour runs an hour of pipelines in
milliseconds, each action at its own instant. Not thread-safe on its own: the world calls it under its lock.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable

__all__ = ["Timeline"]


class Timeline:
    """Pending actions in (instant, order of scheduling) order, and the instant being processed."""

    def __init__(self, now: float) -> None:
        self.now = now
        """The simulated instant: that of the action running, or the last one caught up with."""
        self._events: list[tuple[float, int, Callable[[], None]]] = []
        self._seq = itertools.count()

    def at(self, delay: float, action: Callable[[], None]) -> None:
        """Run ``action`` ``delay`` simulated seconds after :attr:`now` (ties in the order they were scheduled)."""
        heapq.heappush(self._events, (self.now + delay, next(self._seq), action))

    def run_until(self, target: float) -> None:
        """Run every action due by ``target``, each with :attr:`now` at its own instant; then stand at ``target``.

        An action may schedule more; those due by ``target`` run in the same call.
        """
        while self._events and self._events[0][0] <= target:
            at, _, action = heapq.heappop(self._events)
            self.now = max(self.now, at)
            action()
        self.now = max(self.now, target)

    def __len__(self) -> int:
        return len(self._events)
