"""How a wait paces itself: one frozen object for the poll schedule's numbers, the request budget, the clocks and
the patience with API outages.

Why one object: every kind of wait (one pipeline, many, a workflow, a promotion) needs the same six things, and
passing them one by one made each signature repeat them and each test invent the missing object. A :class:`Pacing`
is immutable and holds no per-wait state, so one instance serves any number of waits, on any number of threads:
each wait builds its own :class:`~pytest_semaphore.waiting.schedule.PollSchedule` from it (:meth:`Pacing.schedule`),
while the :class:`~pytest_semaphore.waiting.schedule.RequestBudget`, when given, is shared by all of them.

The clocks are injectable, so an hour of waiting runs in milliseconds against the simulator's manual clock
(``Pacing(sleep=sim.advance, monotonic=sim.monotonic)``), and :meth:`Pacing.at_speed` paces a wait against a
simulator whose clock runs at ``speed`` simulated seconds per real second. ``docs/waiting.md`` shows both.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .schedule import DEFAULT_CAP, DEFAULT_GROWTH, DEFAULT_JITTER, DEFAULT_START, PollSchedule, RequestBudget

__all__ = ["DEFAULT_PATIENCE", "Pacing"]

#: How long an API outage may last before the wait gives up with ``APIUnavailable``.
DEFAULT_PATIENCE = 300.0


@dataclass(frozen=True)
class _ScaledSleep:
    """Sleep ``seconds`` simulated seconds on a clock running ``speed`` times real time."""

    speed: float

    def __call__(self, seconds: float) -> None:
        time.sleep(seconds / self.speed)


@dataclass(frozen=True)
class _ScaledMonotonic:
    """Real monotonic time read in simulated seconds (``speed`` of them per real second)."""

    speed: float

    def __call__(self) -> float:
        return time.monotonic() * self.speed


@dataclass(frozen=True)
class Pacing:
    """The pacing and clocks of a wait; ``Pacing()`` is the default every waiting function uses.

    * ``start``, ``growth``, ``cap``, ``jitter``: the poll schedule (seconds; see ``docs/waiting.md``): about
      ``start`` after the first poll, times ``growth`` each poll up to ``cap``, each delay shortened by up to
      ``jitter`` (a fraction) so that waits started together do not poll in lockstep. ``growth=1, jitter=0`` polls
      every ``start`` seconds.
    * ``patience``: seconds of API outage (5xx, 429, connection failures) tolerated before ``APIUnavailable``.
    * ``budget``: a :class:`RequestBudget` shared by every wait using this pacing; ``None``: the process-wide budget
      on the real clock, or a budget of each wait's own on an injected clock (simulated time is not shared).
    * ``sleep``, ``monotonic``: the clocks (``time.sleep`` and ``time.monotonic``, or the simulator's
      ``advance`` and ``monotonic``).
    * ``rng``: the random source of the jitter; seed it to replay a wait exactly.

    Invalid numbers are refused here, with a ``ValueError`` that names them, before any wait sends a request.
    A subclass may override :meth:`schedule` to poll on a schedule of its own (a benchmark's comparison, say).
    """

    start: float = DEFAULT_START
    growth: float = DEFAULT_GROWTH
    cap: float = DEFAULT_CAP
    jitter: float = DEFAULT_JITTER
    patience: float = DEFAULT_PATIENCE
    budget: RequestBudget | None = None
    sleep: Callable[[float], object] = time.sleep
    monotonic: Callable[[], float] = time.monotonic
    rng: random.Random | None = None

    def __post_init__(self) -> None:
        patience = self.patience
        if isinstance(patience, bool) or not isinstance(patience, (int, float)) or not patience >= 0:
            raise ValueError(f"patience must be a number of seconds >= 0, got {patience!r}")
        PollSchedule(start=self.start, growth=self.growth, cap=self.cap, jitter=self.jitter, rng=_UNUSED)

    def schedule(self) -> PollSchedule:
        """A fresh poll schedule for one wait (a schedule holds the wait's state: it is never shared)."""
        return PollSchedule(start=self.start, growth=self.growth, cap=self.cap, jitter=self.jitter, rng=self.rng)

    def request_budget(self) -> RequestBudget:
        """The budget a wait books its requests against: ``budget`` if given, else the default (see the class)."""
        if self.budget is not None:
            return self.budget
        if self.monotonic is time.monotonic:
            return RequestBudget.for_process()
        return RequestBudget(monotonic=self.monotonic)

    @classmethod
    def at_speed(cls, speed: float, **fields: Any) -> Pacing:
        """Pacing on the real clock for a simulator running at ``speed`` simulated seconds per real second.

        Every number (the schedule, ``patience``, the waits' timeouts) stays in simulated seconds: a 30 s cap at
        ``speed=60`` is half a real second. ``fields`` set the other fields; ``speed=1`` is the real clock itself.
        """
        if isinstance(speed, bool) or not isinstance(speed, (int, float)) or not (speed > 0 and math.isfinite(speed)):
            raise ValueError(f"speed must be a positive number of simulated seconds per real second, got {speed!r}")
        if speed == 1:
            return cls(**fields)
        return cls(sleep=_ScaledSleep(float(speed)), monotonic=_ScaledMonotonic(float(speed)), **fields)


#: Validating the schedule's numbers draws nothing; a fixed source spares seeding one from the OS per ``Pacing``.
_UNUSED = random.Random(0)  # noqa: S311 - never drawn from
