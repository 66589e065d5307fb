"""How long one call may take in all, whatever the server does: deadlines, and the reader that keeps them.

Why: the client's ``timeout`` bounds each socket operation, so a server that answers one byte every few seconds
(under the read timeout) could hold a call, and the wait built on it, for hours. A call's deadline bounds everything
it does: its attempts, the waits between them, the status line, the headers and the body.

How: the transport starts a :class:`Deadline` for each call (:class:`applying`), in a context variable, so that the
three places that spend time find it without new parameters through requests and urllib3:

* every response is read through ``connections.DeadlineReader`` (the client's connections use it): before each
  read from the socket it checks the deadline and shortens the socket's timeout to what is left, so a trickle ends
  at the deadline, not at the read timeout;
* the retry waits (urllib3's and the client's own) refuse to sleep past it.

Past the deadline, :class:`DeadlineExceeded` is raised. It is not an ``OSError``: urllib3 would retry or wrap one,
and a deadline is not a reason to try again. The transport turns it into ``APIUnavailable``.

:func:`time_limit` is the public part: a block within which every call of every client ends by a given time (the
waiting engine bounds each poll by what is left of its own timeout with it). Nothing but the standard library's
lightest modules, so the waiting engine can import it cheaply.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable, Iterator
from contextvars import ContextVar, Token
from dataclasses import dataclass

from ..errors import ConfigurationError

__all__ = ["Deadline", "DeadlineExceeded", "applying", "current", "time_limit"]

Clock = Callable[[], float]

#: The tightest :func:`time_limit` block around this code: (its end, on its clock).
_LIMIT: ContextVar[tuple[float, Clock] | None] = ContextVar("pytest_semaphore_time_limit", default=None)
#: The deadline of the call being made.
_CALL: ContextVar[Deadline | None] = ContextVar("pytest_semaphore_call_deadline", default=None)


class DeadlineExceeded(Exception):
    """A call's deadline passed. Deliberately not an ``OSError`` (urllib3 would retry one).

    ``before_sending``: it was found in a wait before an attempt (:meth:`Deadline.check`), so that attempt was never
    sent; a write is only ever retried when its earlier attempts provably did not reach the server either.
    """

    def __init__(self, seconds: float, *, before_sending: bool = False) -> None:
        super().__init__(f"no complete answer within the deadline of {seconds:g} s")
        self.seconds = seconds
        self.before_sending = before_sending


@dataclass(frozen=True)
class Deadline:
    """The end of one call, on the client's clock; ``seconds`` is how long it was given (for messages)."""

    at: float
    seconds: float
    clock: Clock

    @classmethod
    def start(cls, seconds: float, clock: Clock) -> Deadline:
        """A deadline ``seconds`` from now, or sooner if a :func:`time_limit` block ends sooner."""
        limit = _LIMIT.get()
        if limit is not None:
            end, limit_clock = limit
            seconds = min(seconds, max(0.0, end - limit_clock()))
        return cls(clock() + seconds, seconds, clock)

    def left(self) -> float:
        return self.at - self.clock()

    def check(self, wait: float = 0.0) -> None:
        """Before an attempt: raise :class:`DeadlineExceeded` if the deadline has passed, or would pass during a wait
        of ``wait`` seconds."""
        if self.left() <= wait:
            raise DeadlineExceeded(self.seconds, before_sending=True)


def current() -> Deadline | None:
    """The deadline of the call being made in this context, if any."""
    return _CALL.get()


class applying(contextlib.AbstractContextManager[Deadline]):
    """Make the calls inside share one deadline: the one already applying (a call made of several requests, such
    as a log's redirects), else a new one ``seconds`` from now.

    A class rather than a generator: every request enters two of these (the call's, the attempt's), and this is
    the cheapest way to find the one already applying.
    """

    def __init__(self, seconds: float, clock: Clock) -> None:
        self._seconds = seconds
        self._clock = clock
        self._token: Token[Deadline | None] | None = None

    def __enter__(self) -> Deadline:
        deadline = _CALL.get()
        if deadline is None:
            deadline = Deadline.start(self._seconds, self._clock)
            self._token = _CALL.set(deadline)
        return deadline

    def __exit__(self, *exc_info: object) -> None:
        if self._token is not None:
            _CALL.reset(self._token)
            self._token = None


@contextlib.contextmanager
def time_limit(seconds: float, *, monotonic: Clock = time.monotonic) -> Iterator[None]:
    """Every call of every ``SemaphoreClient`` made inside this block (in this thread) ends within ``seconds``.

    A call that would go on past it raises ``APIUnavailable``, as if its own ``deadline`` had passed. Blocks nest;
    the one ending first wins. ``monotonic`` is the clock ``seconds`` are measured on (a waiting engine passes its
    own, so that a simulated hour stays an hour).
    """
    if (
        isinstance(seconds, bool)
        or not isinstance(seconds, (int, float))
        or not (seconds >= 0 and math.isfinite(seconds))
    ):
        raise ConfigurationError(f"a time limit must be a finite number of seconds >= 0, got {seconds!r}")
    outer = _LIMIT.get()
    if outer is not None:
        end, outer_clock = outer
        seconds = min(float(seconds), max(0.0, end - outer_clock()))
    token = _LIMIT.set((monotonic() + seconds, monotonic))
    try:
        yield
    finally:
        _LIMIT.reset(token)
