"""The one poll loop every wait runs: observe, decide, check the deadline, sleep; and the outage guard around each
request.

Why one loop: "ask, look at the answer, give up at the deadline, sleep on the schedule, ask again" is the same for
one pipeline, many, a workflow or a promotion; only what is asked and what the answer means differ. Those are a
:class:`Poller` (a strategy object, as in tenacity); :func:`run` owns the rest, so the deadline, the ``Retry-After``
floor, the schedule's reset on change and the interrupt handling are written once.

A transient API failure (an outage, 5xx, 429, a 403 from an erring auth service, an unreadable answer) is never a
verdict: the :class:`OutageGuard` turns it into "no answer this round" until the outage outlasts the pacing's
``patience``, then raises :class:`~pytest_semaphore.errors.APIUnavailable`, which no caller can mistake for a failed
pipeline.
"""

from __future__ import annotations

import contextlib
import math
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from ..client.deadline import time_limit
from ..client.metering import metered
from ..errors import APIError, APIUnavailable, AuthenticationError, NotFoundError, SemaphoreError, WaitTimeout
from .schedule import PollSchedule

if TYPE_CHECKING:
    from ..models import Pipeline
    from .pacing import Pacing

__all__ = ["DEFAULT_TIMEOUT", "MISSING", "Missing", "OutageGuard", "Poller", "Round", "check_timeout", "run"]

#: A wait is always finite: one hour unless told otherwise.
DEFAULT_TIMEOUT = 3600.0
#: Seconds a request made at (or past) a wait's deadline may still take: the last look.
LAST_LOOK = 2.0

T = TypeVar("T")


class Missing:
    """A request that did not produce an answer (a transient failure, or a 404 within the appear timeout)."""


MISSING = Missing()


def check_timeout(name: str, value: float) -> float:
    """A finite, non-negative number of seconds, or a ``ValueError`` that says so (NaN, inf, negative, not a number)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not (value >= 0 and math.isfinite(value)):
        raise ValueError(f"{name} must be a finite number of seconds >= 0, got {value!r} (a wait is never endless)")
    return float(value)


def is_transient(exc: SemaphoreError) -> bool:
    """Whether an error says nothing about the pipeline, only about the API's health right now.

    ``APIUnavailable`` (the client's retries are spent), 5xx and 429 that reached us anyway, a 403 (the ingress
    answers 403 when its auth service errs; a real lack of permission is a 404 on this API) and an unreadable body
    (status 0: a truncated answer). A 500 answering a ``POST`` is not: Semaphore refuses a promotion parameter it
    does not accept with a 500, and sending it again would get the same answer.
    """
    if isinstance(exc, APIUnavailable):
        return True
    if isinstance(exc, NotFoundError):
        return False
    if isinstance(exc, AuthenticationError):
        return exc.status == 403
    if isinstance(exc, APIError):
        if exc.status == 500 and exc.method == "POST":
            return False
        return exc.status == 0 or exc.status == 429 or exc.status >= 500
    return False


class OutageGuard:
    """Sends each request of one wait: the request budget, the outage clock (patience) and ``Retry-After``.

    ``outage_since`` is the monotonic time at which the first request of the current run of failures was sent; a
    success ends the run. ``what`` names the wait in messages ("pipeline ...", "3 pipelines").
    """

    def __init__(self, what: str, pacing: Pacing) -> None:
        self.what = what
        self.patience = pacing.patience
        self.sleep = pacing.sleep
        self.monotonic = pacing.monotonic
        self.budget = pacing.request_budget()
        self.outage_since: float | None = None
        self.last_error: SemaphoreError | None = None
        self.retry_after: float | None = None
        self.deadline: float | None = None
        """When the wait ends (monotonic): each request made through :meth:`call` ends by then too."""

    def call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T | Missing:
        """Call ``fn``; a transient failure within patience gives ``MISSING``, beyond it ``APIUnavailable``.

        Within a wait's deadline, the client's calls are bounded by what is left of it (``client.time_limit``), so
        a server trickling its answer cannot hold the wait past its timeout; the last look gets at least
        :data:`LAST_LOOK` seconds, so that a wait of timeout 0 still looks once.

        Every HTTP attempt of the call books against the request budget: the first here, before the call (its wait
        is not an outage, so it is not bounded by the call's deadline); the client's retries, further pages and
        redirects inside the call through ``client.metering``, each waiting its turn with this pacing's ``sleep``.
        """
        pause = self.budget.reserve(1)
        if pause > 0:
            self.sleep(pause)
        sent = self.monotonic()
        left = math.inf if self.deadline is None else max(self.deadline - sent, LAST_LOOK)
        try:
            with (
                metered(self.budget, sleep=self.sleep, prepaid=1),
                time_limit(left, monotonic=self.monotonic) if left < math.inf else contextlib.nullcontext(),
            ):
                result = fn(*args, **kwargs)
        except SemaphoreError as exc:
            if not is_transient(exc):
                raise
            self._failed(exc, sent)
            return MISSING
        self.outage_since = None
        self.last_error = None
        self.retry_after = None
        return result

    def _failed(self, exc: SemaphoreError, sent: float) -> None:
        if self.outage_since is None:
            self.outage_since = sent
        self.last_error = exc
        retry_after = getattr(exc, "retry_after", None)
        self.retry_after = float(retry_after) if isinstance(retry_after, (int, float)) else None
        lasted = self.monotonic() - self.outage_since
        if lasted >= self.patience:
            status = getattr(exc, "status", None) or getattr(exc, "last_status", None)
            raise APIUnavailable(
                getattr(exc, "method", "GET"),
                getattr(exc, "path", "/"),
                f"no usable answer for {lasted:.0f} s while waiting for {self.what} (patience {self.patience:.0f} s); "
                f"last error: {exc}",
                last_status=status if isinstance(status, int) else None,
            ) from exc

    @property
    def in_outage(self) -> bool:
        return self.outage_since is not None

    def timeout_error(
        self, timeout: float, last: Pipeline | None, canceled: Sequence[str] = (), *, what: str | None = None
    ) -> WaitTimeout:
        """The ``WaitTimeout`` of a wait that ran out of time: what it waited for, the last pipeline seen, whether
        the API was failing at the time, and what was terminated."""
        state = f"last seen {last.state}" if last is not None else "never seen"
        message = f"timed out after {timeout:.0f} s waiting for {what or self.what} ({state})"
        if self.in_outage and self.last_error is not None:
            message += f"; the API was failing at the time: {self.last_error}"
        if canceled:
            message += f"; terminated {', '.join(canceled)}"
        return WaitTimeout(message, last_seen=last, timeout=timeout, canceled=canceled)


@dataclass(frozen=True)
class Round(Generic[T]):
    """What one round of a wait decided: ``result`` when the wait is over (never ``None`` then), and whether what it
    observed ``changed`` (the schedule goes back to its start: changes come in bursts)."""

    result: T | None = None
    changed: bool = False


class Poller(ABC, Generic[T]):
    """One kind of wait: what a round asks and what the answers mean. :func:`run` does the rest.

    Subclasses (dataclasses, each with a ``guard`` field) implement :meth:`poll` and :meth:`timed_out`; the other
    hooks have neutral defaults. Every request goes through ``self.guard``.
    """

    guard: OutageGuard

    @abstractmethod
    def poll(self) -> Round[T]:
        """One round of requests, and the decision: over (with its result), or not yet."""

    @abstractmethod
    def timed_out(self) -> BaseException:
        """The error to raise when the deadline passes (after any cancelling the wait was asked for)."""

    def interrupted(self) -> None:
        """Called on ``KeyboardInterrupt`` before it propagates (the cancel-on-interrupt option)."""

    def age(self, now: float) -> float | None:
        """The waited pipeline's age at monotonic time ``now``, for the schedule's prediction; ``None``: unknown."""
        return None

    def pause_at_most(self, now: float) -> float | None:
        """A bound on the next pause (a grace period ending sooner than the schedule's next poll); ``None``: none."""
        return None


def run(poller: Poller[T], schedule: PollSchedule, deadline: float) -> T:
    """Poll until ``poller`` decides the wait is over or ``deadline`` (monotonic seconds) passes.

    The pause after each round is the schedule's next delay, never below the server's ``Retry-After``, never past
    the deadline (the last round is at the deadline, so a wait of timeout 0 still looks once).
    """
    guard = poller.guard
    guard.deadline = deadline
    try:
        while True:
            decided = poller.poll()
            if decided.result is not None:
                return decided.result
            if decided.changed:
                schedule.changed()
            now = guard.monotonic()
            if now >= deadline:
                raise poller.timed_out()
            delay = schedule.next_delay(elapsed=poller.age(now), retry_after=guard.retry_after)
            bound = poller.pause_at_most(now)
            if bound is not None:
                delay = min(delay, max(0.0, bound)) or delay
            guard.sleep(min(delay, deadline - now))
    except KeyboardInterrupt:
        poller.interrupted()
        raise
