"""The exception hierarchy shared by the client, the waiting engine and both faces.

Every class here is something a caller may want to tell apart: a gate must never confuse "the API is down"
(:class:`APIUnavailable`) with "the build failed" (:class:`PipelineFailed`), nor "we do not know whether the
workflow was created" (:class:`OutcomeUnknown`) with "it was not created" (:class:`APIError`).

No message, ``repr`` or attribute built here may contain the API token or a URL's query string (loghub's signed
``?jwt=``): callers pass paths, never full URLs, and :func:`safe_path` strips what must not be shown.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from .models import BlockJob, Pipeline, Promotion

__all__ = [
    "APIError",
    "APIUnavailable",
    "AuthenticationError",
    "ConfigurationError",
    "NotFoundError",
    "OutcomeUnknown",
    "PipelineFailed",
    "PromotionFailed",
    "ReportError",
    "SemaphoreError",
    "WaitTimeout",
    "safe_path",
]

#: How much of the server's own words an error message quotes.
SERVER_MESSAGE_LIMIT = 200


def safe_path(url_or_path: str) -> str:
    """Return the path of ``url_or_path`` without scheme, host, userinfo, query or fragment.

    Messages name the path (``/api/v1alpha/pipelines/abc``) and never the query string: loghub's redirect carries
    a signed ``?jwt=`` and the token must not leak through a URL either.
    """
    parts = urlsplit(url_or_path)
    return parts.path or "/"


def _quote_server(message: str | None) -> str:
    if not message:
        return ""
    text = " ".join(message.split())
    if len(text) > SERVER_MESSAGE_LIMIT:
        text = text[:SERVER_MESSAGE_LIMIT] + "..."
    return text


class SemaphoreError(Exception):
    """Root of every error raised by pytest-semaphore.

    Every error pickles with its message and attributes (pytest-xdist sends errors between processes):
    the default would call ``cls(*args)`` and fail on keyword-only arguments or lose attributes.
    """

    def __reduce__(self) -> tuple[object, ...]:
        return (_restore, (type(self), self.args), self.__dict__)


def _restore(cls: type[SemaphoreError], args: tuple[object, ...]) -> SemaphoreError:
    """An error with ``args`` (its message) and no ``__init__`` run: pickle then sets its attributes back."""
    error = cls.__new__(cls)
    error.args = args
    return error


class ConfigurationError(SemaphoreError, ValueError):
    """Bad settings: an unusable base URL, plain http to a remote host, a missing token, an unknown option value."""


class APIError(SemaphoreError):
    """The server answered a request with an error status (or with a body we cannot read).

    ``status`` is the HTTP status (``0`` when the problem was the body of a 2xx answer), ``method`` and ``path`` say
    which request, ``server_message`` is the server's own words, cut to 200 characters.
    """

    def __init__(
        self,
        method: str,
        path: str,
        status: int,
        server_message: str | None = None,
        *,
        detail: str | None = None,
    ) -> None:
        self.method = method.upper()
        self.path = safe_path(path)
        self.status = status
        self.server_message = _quote_server(server_message)
        self.detail = detail
        super().__init__(self._render())

    def _render(self) -> str:
        head = f"{self.method} {self.path}"
        if self.status:
            head += f" -> HTTP {self.status}"
        if self.detail:
            head += f": {self.detail}"
        if self.server_message:
            head += f" (server said: {self.server_message!r})"
        return head


class AuthenticationError(APIError):
    """401, or 403 once retries are spent: the token is missing, wrong, or lacks a permission.

    The ingress also answers 403 when its auth service errs, so a 403 is first retried like a 5xx.
    """


class NotFoundError(APIError):
    """404: the resource does not exist *or* the token may not see it (the server hides which)."""


class APIUnavailable(SemaphoreError):
    """The API could not be reached or kept failing after every retry: an outage, never a pipeline verdict."""

    def __init__(
        self,
        method: str,
        path: str,
        reason: str,
        *,
        last_status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        self.method = method.upper()
        self.path = safe_path(path)
        self.reason = reason
        self.last_status = last_status
        self.retry_after = retry_after
        """Seconds the server asked us to wait (its last ``Retry-After``), when it said; the waiting engine uses it."""
        super().__init__(f"{self.method} {self.path}: Semaphore API unavailable: {reason}")


class OutcomeUnknown(SemaphoreError):
    """A request that is not safe to repeat failed after it may have reached the server.

    ``run_workflow`` raises it after a dropped connection, a read timeout or a 502/504: the workflow may or may not
    exist. Resending could create a duplicate; reconcile instead (``run_workflow(..., reconcile=True)``).
    """

    def __init__(self, method: str, path: str, reason: str, *, sent: int = 1) -> None:
        self.method = method.upper()
        self.path = safe_path(path)
        self.reason = reason
        self.sent = sent
        """How many times the request was sent (a promotion trigger is resent after checking it had not landed)."""
        if sent > 1:
            how = f"it was sent {sent} times, each time only after checking that the previous one had not landed"
        else:
            how = "it was not resent because it is not idempotent"
        super().__init__(f"{self.method} {self.path}: the request may or may not have taken effect ({reason}); {how}")


class WaitTimeout(SemaphoreError):
    """The wait ran out of time; ``last_seen`` is the last pipeline observed (``None`` if it never appeared).

    ``canceled`` holds the ids of the pipelines terminated because of the timeout (``cancel_on_timeout``).
    """

    def __init__(
        self,
        message: str,
        *,
        last_seen: Pipeline | None = None,
        timeout: float | None = None,
        canceled: Sequence[str] = (),
    ) -> None:
        self.last_seen = last_seen
        self.timeout = timeout
        self.canceled = tuple(canceled)
        super().__init__(message)


class PipelineFailed(SemaphoreError):
    """A pipeline did not pass: ``pipeline`` is the last observation, ``failed_jobs`` the jobs that failed."""

    def __init__(self, message: str, *, pipeline: Pipeline, failed_jobs: Sequence[BlockJob] = ()) -> None:
        self.pipeline = pipeline
        self.failed_jobs = tuple(failed_jobs)
        super().__init__(message)


class PromotionFailed(SemaphoreError):
    """A promotion ended ``failed``: Semaphore refused to schedule its pipeline.

    ``ppl_id`` is the promoted pipeline, ``name`` the promotion, ``promotion`` the record seen (``None`` if
    the failure was not read from a record), ``reason`` why, in words.
    """

    def __init__(self, ppl_id: str, name: str, reason: str, *, promotion: Promotion | None = None) -> None:
        self.ppl_id = ppl_id
        self.name = name
        self.reason = reason
        self.promotion = promotion
        super().__init__(f"promotion {name!r} of pipeline {ppl_id} failed: {reason}")


class ReportError(SemaphoreError, ValueError):
    """A report input or output is unusable: not XML, not JUnit, an XML bomb, an unreadable or broken template.

    The message names the file and what to do; the file given is never modified when this is raised.
    """
