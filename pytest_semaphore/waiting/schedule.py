"""When to poll next: the poll schedule, the expected-duration prediction and the request budget. Pure, no I/O.

Why a module of its own: the waiting engine (``waiting.py``) decides *what* to ask the API, this module decides
*when*, and the two are tested apart (``tests/unit/test_schedule.py`` runs an hour of schedule in microseconds).

The anchors poll a fixed 3 s (``gh run watch``, ``sem get ppl --follow``): 1,200 requests for an hour-long pipeline.
CircleCI grows 5 s by 5 s to 30 s. Users of those tools ask for fewer requests and a prompt end; we:

* start at about 2 s (a pipeline that fails at once is noticed at once), grow geometrically (x1.5) to a cap of
  about 30 s (an hour costs about 130 requests and the end is noticed within 30 s);
* jitter *downward* only (each delay is drawn in ``[d * (1 - jitter), d]``), so that release jobs started together
  do not poll in lockstep, while the cap stays a hard bound on detection latency;
* back to the start whenever something observed changed (a block started, a job finished): changes come in bursts;
* never sooner than the server's ``Retry-After``;
* with a history of the same pipeline's durations, sparse before the expected end and dense around it
  (:class:`Prediction`); once the pipeline outlives the prediction, the ordinary schedule again.

Every random draw goes through an injected :class:`random.Random`, so tests and benchmarks replay exactly.
"""

from __future__ import annotations

import math
import random
import statistics
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

__all__ = [
    "DEFAULT_CAP",
    "DEFAULT_GROWTH",
    "DEFAULT_JITTER",
    "DEFAULT_START",
    "DENSE_MAX",
    "SPARSE_CAP",
    "PollSchedule",
    "Prediction",
    "RequestBudget",
]

DEFAULT_START = 2.0
DEFAULT_GROWTH = 1.5
DEFAULT_CAP = 30.0
DEFAULT_JITTER = 0.2
#: The longest pause before a predicted window. Why not longer: the prediction learns from runs that passed, and a run
#: that fails (or is stopped) ends early, before the window; it is noticed at most this late. 120 s is what the bench's
#: 60-minute budget (60 requests with history) affords; 300 s saved 15 requests but noticed an early end 5 minutes late.
SPARSE_CAP = 120.0
#: The longest interval between polls inside the window: about 7-8 s median detection latency.
DENSE_MAX = 17.0


@dataclass(frozen=True)
class Prediction:
    """Where a pipeline's end is likely, in seconds since the pipeline was created, learnt from its history.

    ``window_start``/``window_end`` bound the likely end (the spread of past durations plus a margin). Before the
    window the schedule is sparse (no more than ``sparse_cap`` between polls, landing on ``window_start``); inside
    it the schedule polls every ``dense_interval`` (jittered downward); after it, the ordinary schedule resumes.
    """

    expected: float
    window_start: float
    window_end: float
    dense_interval: float
    sparse_cap: float = SPARSE_CAP
    sparse_fraction: float = 0.5
    """Before the window, a delay is at most this fraction of the time left to the window (zooming in on it)."""
    probe: float | None = None
    """An age to poll at before the window, to learn what narrows it (the block-level model's probes of when the
    last block starts); ``None``: none. Landed on exactly, within ``sparse_cap``."""

    @classmethod
    def from_durations(
        cls,
        durations: Sequence[float],
        *,
        min_samples: int = 3,
        dense_polls: float = 40.0,
        dense_min: float = DEFAULT_START,
        dense_max: float = DENSE_MAX,
        sparse_cap: float = SPARSE_CAP,
    ) -> Prediction | None:
        """Build a prediction from past durations (seconds), or ``None`` when they are too few to trust.

        The window spans the history from its shortest to its longest duration, widened on each side by the mean gap
        between neighbouring samples (where the next run falls outside the history's range), and is at least
        ``2 * dense_min`` wide. The dense interval divides the window into about ``dense_polls`` polls, kept between
        ``dense_min`` and ``dense_max``: a narrow history (a 1-minute pipeline) polls every 2 s around its end, a wide
        one (an hour +-10%) every ``DENSE_MAX`` (17 s), so the median latency stays under 10 s.  At most ``dense_polls``
        across the window: each one spent there is taken from the sparse part, whose cap bounds how late an early end
        (a failure) is noticed.

        One more bound keeps a wrong history cheap: the sparse polls before the window plus the dense polls inside it
        never cost more than the ordinary schedule would have spent until the window's end, so a pipeline that
        outlives the prediction costs no more than it would have without one (plus the one history request).
        """
        clean = sorted(d for d in durations if d > 0 and math.isfinite(d))
        if len(clean) < min_samples:
            return None
        expected = statistics.median(clean)
        margin = (clean[-1] - clean[0]) / len(clean)  # the expected gap between neighbouring samples
        start = max(0.0, clean[0] - margin)
        end = clean[-1] + margin
        if end - start < 2 * dense_min:
            pad = (2 * dense_min - (end - start)) / 2
            start, end = max(0.0, start - pad), end + pad
        width = end - start
        dense = min(dense_max, max(dense_min, width / dense_polls))
        draft = cls(expected=expected, window_start=start, window_end=end, dense_interval=dense, sparse_cap=sparse_cap)
        budget = _ordinary_polls(end) - _polls_until(PollSchedule(jitter=0.0, prediction=draft), start)
        if budget >= 1 and width / budget > dense:
            dense = width / budget
        return cls(expected=expected, window_start=start, window_end=end, dense_interval=dense, sparse_cap=sparse_cap)


def _polls_until(schedule: PollSchedule, until: float) -> int:
    """How many polls ``schedule`` makes in ``[0, until)`` from a pipeline's creation."""
    t, polls = 0.0, 0
    while t < until:
        t += schedule.next_delay(elapsed=t)
        polls += 1
    return polls


def _ordinary_polls(until: float) -> int:
    """Polls of the default schedule in ``[0, until)``, its jitter replaced by its mean (a 10% shorter delay)."""
    mean = 1.0 - DEFAULT_JITTER / 2
    return _polls_until(
        PollSchedule(start=DEFAULT_START * mean, growth=DEFAULT_GROWTH, cap=DEFAULT_CAP * mean, jitter=0.0), until
    )


class PollSchedule:
    """Delays between polls: start, grow, cap, jitter, reset on change, ``Retry-After``, optional prediction.

    One schedule serves one wait (one pipeline, or many under one schedule). It is not thread-safe: each wait owns
    its schedule. Call :meth:`next_delay` after each poll; call :meth:`changed` when the poll observed a change.
    """

    def __init__(
        self,
        *,
        start: float = DEFAULT_START,
        growth: float = DEFAULT_GROWTH,
        cap: float = DEFAULT_CAP,
        jitter: float = DEFAULT_JITTER,
        rng: random.Random | None = None,
        prediction: Prediction | None = None,
    ) -> None:
        if not (start > 0 and math.isfinite(start)):
            raise ValueError(f"poll schedule: start must be a positive number of seconds, got {start!r}")
        if not (cap >= start and math.isfinite(cap)):
            raise ValueError(f"poll schedule: cap ({cap!r}) must be a number of seconds at least start ({start!r})")
        if not growth >= 1:
            raise ValueError(f"poll schedule: growth must be at least 1 (1 = fixed interval), got {growth!r}")
        if not 0 <= jitter < 1:
            raise ValueError(f"poll schedule: jitter must be a fraction in [0, 1), got {jitter!r}")
        self.start = float(start)
        self.growth = float(growth)
        self.cap = float(cap)
        self.jitter = float(jitter)
        self.rng = rng if rng is not None else random.Random()  # noqa: S311 - jitter, not cryptography
        self.prediction = prediction
        self._base = self.start

    @classmethod
    def fixed(cls, interval: float, *, rng: random.Random | None = None) -> PollSchedule:
        """The anchors' way (``gh run watch``: 3 s): a constant interval without jitter. For comparisons."""
        return cls(start=interval, growth=1.0, cap=interval, jitter=0.0, rng=rng)

    @property
    def base(self) -> float:
        """The un-jittered delay the ordinary schedule would use next."""
        return self._base

    def changed(self) -> None:
        """Something observed changed: back to the start interval (changes come in bursts)."""
        self._base = self.start

    def _ordinary(self) -> float:
        base = self._base
        self._base = min(self.cap, self._base * self.growth)
        return self._jittered(base)

    def _jittered(self, delay: float) -> float:
        if self.jitter == 0:
            return delay
        return delay * (1.0 - self.jitter * self.rng.random())

    def next_delay(self, *, elapsed: float | None = None, retry_after: float | None = None) -> float:
        """Seconds to sleep before the next poll.

        ``elapsed`` is the pipeline's age in seconds (since its creation) when a :class:`Prediction` is set;
        ``retry_after`` the server's ``Retry-After`` from the last answer, a floor on the delay.
        """
        delay = self._ordinary()
        prediction = self.prediction
        if prediction is not None and elapsed is not None and elapsed < prediction.window_end:
            to_window = prediction.window_start - elapsed
            if prediction.probe is not None and elapsed < prediction.probe < prediction.window_start:
                delay = max(DEFAULT_START, min(prediction.sparse_cap, prediction.probe - elapsed))
            elif to_window <= prediction.dense_interval / 2:  # inside (or at the edge of) the window
                delay = self._jittered(prediction.dense_interval)
            else:
                sparse = min(prediction.sparse_cap, to_window * prediction.sparse_fraction)
                delay = max(delay, sparse)
                if to_window - delay < prediction.dense_interval:
                    delay = to_window  # land on the window's start rather than just before it
        if retry_after is not None and retry_after > delay:
            delay = float(retry_after)
        return delay


class RequestBudget:
    """A token bucket of requests per minute, shared by every wait that is handed the same instance.

    Why: a gate that waits on 100 pipelines, or ten xdist workers each waiting on a few, must not add up to a burst
    that earns 429s. :meth:`reserve` books ``n`` requests and returns how long to wait before sending them; the bucket
    holds ``burst`` requests so that a single wait is never slowed down by it. :meth:`for_process` is the instance
    shared by every wait of this process on the real clock.
    """

    _process: RequestBudget | None = None
    _process_lock = threading.Lock()

    def __init__(
        self, per_minute: float = 120.0, *, burst: float | None = None, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        if not (per_minute > 0 and math.isfinite(per_minute)):
            raise ValueError(f"request budget: per_minute must be a positive number, got {per_minute!r}")
        self.per_minute = float(per_minute)
        self.burst = float(burst) if burst is not None else max(1.0, self.per_minute / 6)
        self._monotonic = monotonic
        self._tokens = self.burst
        self._stamp: float | None = None
        self._lock = threading.Lock()

    @classmethod
    def for_process(cls) -> RequestBudget:
        """The budget shared by every wait in this process that runs on the real clock."""
        with cls._process_lock:
            if cls._process is None:
                cls._process = cls()
            return cls._process

    @property
    def rate(self) -> float:
        """Requests per second."""
        return self.per_minute / 60.0

    def reserve(self, n: float = 1.0) -> float:
        """Book ``n`` requests; return the seconds to wait before sending them (0 when within the budget)."""
        with self._lock:
            now = self._monotonic()
            if self._stamp is not None:
                # max(0, ...): an injected clock that steps back must not drain the bucket (an hour back would
                # otherwise mean an hour's pause)
                self._tokens = min(self.burst, self._tokens + max(0.0, now - self._stamp) * self.rate)
            self._stamp = now
            self._tokens -= n
            if self._tokens >= 0:
                return 0.0
            return -self._tokens / self.rate
