"""A request budget that every HTTP attempt of a call books against: the caller's, installed for a block of calls.

Why: a caller pacing its requests (the waiting engine's request budget, a token bucket shared by all its waits)
books one request per call; but one call may send several: the client's retries (urllib3's, after a 5xx, a 429 or a
reset; its own, after a body cut off in transfer), the pages of a list, a log's redirects. With 25% of the answers
503, 200 waits booking one request per call sent 167 requests in their busiest minute, on a budget of 120 a minute
(bursts of 20). The client cannot book against the waiting engine's budget itself (the client never imports the
waiting engine), so it names what it needs, :class:`Budget` ("before an attempt, how long to wait"), and a caller
installs one around its calls with :func:`metered`, in a context variable, as
:func:`~pytest_semaphore.client.time_limit` scopes a deadline.

How: the transport calls :func:`admit` before each attempt it sends and the retry policy after each backoff, just
before urllib3 sends again. Each attempt books one unit and sleeps what the budget answers, on the caller's ``sleep``
(the budget's answer is in the caller's seconds, which on a simulated clock are not the client's); the first
``prepaid`` attempts are free (the caller booked them before the call). A wait that would outlast the call's deadline
raises ``DeadlineExceeded`` (the transport's ``APIUnavailable``) instead: the budget never holds a call past it.
Outside :func:`metered`, :func:`admit` does nothing. Standard library only, so the waiting engine imports it cheaply.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Protocol

from .deadline import current as current_deadline

__all__ = ["Budget", "admit", "metered"]


class Budget(Protocol):
    """Something that, before each attempt, may delay it (``waiting.RequestBudget`` is one)."""

    def reserve(self, n: float) -> float:
        """Book ``n`` requests; return the seconds to wait before sending them (0: at once)."""


@dataclass
class _Meter:
    budget: Budget
    sleep: Callable[[float], object]
    prepaid: int


#: The innermost :func:`metered` block around this code.
_METER: ContextVar[_Meter | None] = ContextVar("pytest_semaphore_request_meter", default=None)


@contextlib.contextmanager
def metered(budget: Budget, *, sleep: Callable[[float], object], prepaid: int = 0) -> Iterator[None]:
    """Every HTTP attempt of every ``SemaphoreClient`` call made inside this block (in this thread) books one unit
    of ``budget`` and first sleeps, with ``sleep``, the seconds it answers; the first ``prepaid`` attempts excepted.

    A block inside another replaces it until it ends. A wait past the call's deadline is an ``APIUnavailable``.
    """
    if prepaid < 0:
        raise ValueError(f"prepaid must be a number of attempts >= 0, got {prepaid!r}")
    token = _METER.set(_Meter(budget, sleep, prepaid))
    try:
        yield
    finally:
        _METER.reset(token)


def admit() -> None:
    """Called just before each attempt: book it against the current :func:`metered` budget and wait its turn.

    Raises ``DeadlineExceeded`` when the turn comes after the call's deadline (the unit stays booked: a budget only
    ever hands out later turns, never takes one back).
    """
    meter = _METER.get()
    if meter is None:
        return
    if meter.prepaid:
        meter.prepaid -= 1
        return
    wait = meter.budget.reserve(1)
    if wait > 0:
        deadline = current_deadline()
        if deadline is not None:
            deadline.check(wait)
        meter.sleep(wait)
