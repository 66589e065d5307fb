"""The client's retry policy, as a urllib3 ``Retry`` subclass, and the few policies the endpoints need.

Why urllib3's ``Retry`` and not a loop of our own: it is the one place that sees every attempt, including those that
failed before any response existed (refused connections, resets, read timeouts), and it already knows which of
those happened before the request could have been sent. Why a subclass: the stock class sleeps with
``time.sleep``; ours sleeps through the client's injectable ``sleep`` so that tests (and the waiting engine's
simulated hour) never wait for real, and it adds what the Semaphore API needs (``docs/semaphore-api.md``, sections
0 and 4; docs/client.md, "Retries"):

* exponential backoff with jitter (``base * 2**(n-1)``, capped, times a random factor in ``[0.5, 1]``), or the
  server's ``Retry-After`` when it sends one; a ``Retry-After`` longer than ``max_retry_after`` ends the retries at
  once, so the caller (the waiting engine) can decide, instead of the client blocking for an hour;
* a per-status cap (``status_caps``): a 504 on ``/logs`` (the ingress gives that route 5 s, a big log always times
  out there) is retried at most once;
* only ``status_forcelist`` statuses are retried: urllib3's own "retry a 503 that has a Retry-After whatever the
  list says" would resend a ``run_workflow``.

The policies (:func:`policy_for`) decide, per kind of request, what may be resent. A request that may have reached
the server is resent only when repeating it is harmless.
"""

from __future__ import annotations

import enum
import random
import re
import time
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from urllib3.exceptions import MaxRetryError, ResponseError
from urllib3.util.retry import Retry

from .deadline import current as current_deadline
from .metering import admit

if TYPE_CHECKING:
    from typing_extensions import Self
    from urllib3.connectionpool import ConnectionPool
    from urllib3.response import BaseHTTPResponse

__all__ = [
    "BACKOFF_BASE",
    "BACKOFF_MAX",
    "MAX_RETRY_AFTER",
    "RETRYABLE_STATUSES",
    "Backoff",
    "Policy",
    "SemaphoreRetry",
    "backoff_delay",
    "policy_for",
]

#: Statuses that mean "try again": the ingress answers 403 when its auth service errs, 429 is a rate limit, and the
#: API "often gives HTTP 5XX errors" (Semaphore's own VS Code extension retries them).
RETRYABLE_STATUSES = frozenset({403, 429, 500, 502, 503, 504})
#: First backoff, in seconds, and its cap: 1, 2, 4, 8, 16 (each times a jitter factor in [0.5, 1]).
BACKOFF_BASE = 1.0
BACKOFF_MAX = 16.0
#: A Retry-After longer than this is not waited for inside the client: the error carries it to the caller instead.
MAX_RETRY_AFTER = 120.0


class Policy(enum.Enum):
    """What may be resent, by kind of request."""

    IDEMPOTENT = "idempotent"
    """GET, PATCH, and POSTs that are harmless to repeat (a ``request_token``, a stop): every failure is retried."""
    LOGS = "logs"
    """GET ``/logs``: like IDEMPOTENT, but a 504 (the ingress' 5 s limit) at most once."""
    PROMOTIONS_LIST = "promotions_list"
    """GET ``/promotions``: a 500 is the server's answer to a bad parameter or a pipeline without promotions."""
    NOT_IDEMPOTENT = "not_idempotent"
    """``run_workflow`` and a promotion trigger: resent only when the request provably did not reach the server
    (no connection, or a 429/403 that the ingress answers before any backend sees the request)."""


class SemaphoreRetry(Retry):
    """urllib3 ``Retry`` whose sleeps go through an injected function, with jitter, Retry-After and status caps."""

    def __init__(
        self,
        *args: Any,
        sleep: Callable[[float], None] | None = None,
        rng: random.Random | None = None,
        status_caps: Mapping[int, int] | None = None,
        max_retry_after: float = MAX_RETRY_AFTER,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.sleep_function: Callable[[float], None] = sleep if sleep is not None else time.sleep
        self.rng = rng if rng is not None else random.Random()  # noqa: S311 - jitter, not cryptography
        self.status_caps: Mapping[int, int] = dict(status_caps or {})
        self.max_retry_after = max_retry_after

    def new(self, **kw: Any) -> Self:
        retry = super().new(**kw)
        retry.sleep_function = self.sleep_function
        retry.rng = self.rng
        retry.status_caps = self.status_caps
        retry.max_retry_after = self.max_retry_after
        return retry

    # ---------------------------------------------------------------------------------------------- decisions

    def is_retry(self, method: str, status_code: int, has_retry_after: bool = False) -> bool:
        """Only the statuses of the policy's list, never "any 503 with a Retry-After" (see the module docstring)."""
        if not self._is_method_retryable(method):
            return False
        return status_code in self.status_forcelist

    def increment(
        self,
        method: str | None = None,
        url: str | None = None,
        response: BaseHTTPResponse | None = None,
        error: Exception | None = None,
        _pool: ConnectionPool | None = None,
        _stacktrace: Any = None,
    ) -> Self:
        if response is not None and error is None and response.status:
            status = response.status
            cap = self.status_caps.get(status)
            if cap is not None and sum(1 for h in self.history if h.status == status) >= cap:
                raise MaxRetryError(_pool, url or "", ResponseError(f"{status} retried {cap} time(s) already"))  # type: ignore[arg-type]
            wait = self.requested_wait(response)
            deadline = current_deadline()
            if wait is not None and (wait > self.max_retry_after or (deadline is not None and deadline.left() <= wait)):
                # The answer itself comes back (raise_on_status=False), so its Retry-After reaches the caller.
                raise MaxRetryError(_pool, url or "", ResponseError(f"Retry-After {wait:.0f}s is too long to wait"))  # type: ignore[arg-type]
        return super().increment(method, url, response, error, _pool, _stacktrace)

    # ---------------------------------------------------------------------------------------------- waiting

    def requested_wait(self, response: BaseHTTPResponse) -> float | None:
        """The server's ``Retry-After`` in seconds (delta or HTTP date), uncapped; ``None`` if absent or unreadable."""
        return parse_retry_after(response.headers.get("Retry-After"))

    def get_backoff_time(self) -> float:
        """``base * 2**(n-1)`` capped, times a jitter factor in ``[0.5, 1]`` (n = attempts failed so far)."""
        return backoff_delay(len(self.history), self.rng, base=self.backoff_factor, cap=self.backoff_max)

    def sleep(self, response: BaseHTTPResponse | None = None) -> None:
        delay = None
        if response is not None and self.respect_retry_after_header:
            delay = self.requested_wait(response)
        if delay is None:
            delay = self.get_backoff_time()
        _within_deadline(delay)
        if delay > 0:
            self.sleep_function(delay)
        admit()  # urllib3 sends the retry next: it books against the caller's request budget (metering.py)


def backoff_delay(attempt: int, rng: random.Random, *, base: float = BACKOFF_BASE, cap: float = BACKOFF_MAX) -> float:
    """The wait before retry number ``attempt`` (1-based): ``base * 2**(attempt-1)``, capped, times ``[0.5, 1]``.

    One function for every retry the client makes, urllib3's (status, connection) and its own (a body cut off in
    transfer, a promotion resent after reconciling), so that ``backoff_base`` means the same thing everywhere.
    """
    if attempt <= 0:
        return 0.0
    delay = min(float(cap), float(base) * (2.0 ** (attempt - 1)))
    return delay * (0.5 + 0.5 * rng.random())


@dataclass(frozen=True)
class Backoff:
    """The client's own waits between attempts, for the retries urllib3 cannot make.

    urllib3 retries what it sees (statuses, connections); two retries happen after it has returned: a body cut off in
    transfer (the transport repeats the request) and a promotion trigger resent after reconciling. Both wait through
    this object, so they use the same ``sleep``, jitter and ``backoff_base`` as urllib3's retries.
    """

    sleep: Callable[[float], None]
    rng: random.Random
    base: float = BACKOFF_BASE

    def pause(self, attempt: int) -> None:
        """Wait before retry number ``attempt`` (1-based); ``DeadlineExceeded`` instead if the wait would outlast
        the call's deadline."""
        delay = backoff_delay(attempt, self.rng, base=self.base)
        _within_deadline(delay)
        self.sleep(delay)

    def attempts(self, count: int) -> Iterator[int]:
        """``0 .. count-1``, pausing before every attempt but the first: ``for attempt in backoff.attempts(n)``."""
        for attempt in range(count):
            if attempt:
                self.pause(attempt)
            yield attempt


def _within_deadline(wait: float) -> None:
    """Waiting past the call's deadline (``deadline.py``) is pointless: give up now instead."""
    deadline = current_deadline()
    if deadline is not None:
        deadline.check(wait)


def parse_retry_after(value: str | None, *, now: Callable[[], float] = time.time) -> float | None:
    """Seconds from a ``Retry-After`` value (``"120"`` or an HTTP date); ``None`` when absent or unreadable.

    Unreadable includes what ``str.isdigit()`` accepts but ``int()`` does not (superscript digits), thousands of
    digits (``int()`` refuses more than 4300, ``float()`` overflows long before), and dates outside what the
    platform's time functions handle (year 99999): a server's header must never become a ``ValueError``.
    """
    if value is None:
        return None
    text = value.strip()
    if _DELTA_SECONDS.fullmatch(text):
        return float(int(text))
    import email.utils

    try:
        parsed = email.utils.parsedate_tz(text)
        return None if parsed is None else max(0.0, email.utils.mktime_tz(parsed) - now())
    except (TypeError, ValueError, OverflowError, OSError):
        return None


#: A ``Retry-After`` in seconds: ASCII digits, at most 12 of them (over 30,000 years; any more is not a delay).
_DELTA_SECONDS = re.compile(r"[0-9]{1,12}")


def policy_for(
    policy: Policy,
    *,
    retries: int,
    sleep: Callable[[float], None] | None,
    rng: random.Random | None = None,
    backoff_base: float = BACKOFF_BASE,
    backoff_max: float = BACKOFF_MAX,
    max_retry_after: float = MAX_RETRY_AFTER,
) -> SemaphoreRetry:
    """The ``SemaphoreRetry`` for one kind of request; ``retries`` is one budget shared by every kind of failure."""
    statuses: Collection[int] = RETRYABLE_STATUSES
    caps: dict[int, int] = {}
    read: int | bool = retries
    if policy is Policy.LOGS:
        caps[504] = 1
    elif policy is Policy.PROMOTIONS_LIST:
        statuses = RETRYABLE_STATUSES - {500}
    elif policy is Policy.NOT_IDEMPOTENT:
        statuses = frozenset({403, 429})
        read = False  # a reset or read timeout after sending: the request may have been processed
    return SemaphoreRetry(
        total=retries,
        connect=retries,
        read=read,
        status=retries,
        other=0,
        redirect=False,
        allowed_methods=None,  # the policy, not the method, decides
        status_forcelist=statuses,
        backoff_factor=backoff_base,
        backoff_max=backoff_max,
        raise_on_status=False,  # the exhausted response comes back, so its status and Retry-After can be reported
        respect_retry_after_header=True,
        sleep=sleep,
        rng=rng,
        status_caps=caps,
        max_retry_after=max_retry_after,
    )
