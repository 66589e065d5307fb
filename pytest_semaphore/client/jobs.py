"""Jobs and their logs: describe, stop, list by state, and the log as events, raw events or text.

Logs are streamed (``logstream.py`` parses the body as it arrives), so memory stays at one chunk plus the largest
event whatever the log's size, and may be some redirects away (``redirects.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

from ..errors import APIError, AuthenticationError, ConfigurationError, SemaphoreError
from ..models import Job, LogEvent, ModelError
from .baseurl import API_PREFIX
from .logstream import iter_events, iter_raw_events
from .pagination import TokenPages, paginate
from .params import limit_value, segment
from .redirects import open_following
from .replies import html_title, looks_like_html
from .resource import Resource
from .retry import Policy

__all__ = ["JobEndpoints"]

T = TypeVar("T")


class JobEndpoints(Resource):
    def describe_job(self, job_id: str) -> Job:
        return self._http.get(_job_path(job_id)).decode(Job.from_api)

    def stop_job(self, job_id: str) -> None:
        """``POST /jobs/:id/stop``; asynchronous, and harmless to repeat (a finished job answers 200 too)."""
        self._http.call("POST", f"{_job_path(job_id)}/stop", body={})

    def list_jobs(self, states: Iterable[str], *, limit: int | None = None) -> list[Job]:
        """Jobs in the given states (``RUNNING``, ``QUEUED``, ``PENDING``, ``FINISHED``), newest first.

        ``states`` is required: without it the server returns an empty list, which would read as "nothing runs".
        """
        wanted = [s.strip().upper() for s in ([states] if isinstance(states, str) else list(states)) if s.strip()]
        if not wanted:
            raise ConfigurationError("list_jobs needs at least one state, e.g. ['RUNNING', 'QUEUED']")
        cap = limit_value(limit)
        params = [("states", s) for s in wanted] + [("page_size", "30")]
        return paginate(self._http, f"{API_PREFIX}/jobs", params, Job.from_api, TokenPages("jobs"), limit=cap)

    def job_log(self, job_id: str) -> Iterator[LogEvent]:
        """The job's log events, streamed from ``GET /logs/:id`` (the request starts when iteration starts).

        A self-hosted job's log answers with a redirect to loghub2 carrying a signed ``?jwt=``: it is followed
        without our token. Memory stays bounded by one chunk plus the largest event, whatever the log's size.
        """
        return self._stream_log(_log_path(job_id), iter_events)

    def job_log_events_raw(self, job_id: str) -> Iterator[dict[str, Any]]:
        """:meth:`job_log` without the models: each event as the plain ``dict`` the JSON decoder built.

        Same request, redirects, retries, streaming and errors as :meth:`job_log`; every item is a JSON object, but
        its fields are not validated (``LogEvent.from_api(event)`` does that). It exists for consumers of millions
        of ``cmd_output`` events, for which a model per event cost more than parsing the log:
        ``logs.fetch_excerpt`` uses it, and ``logs.excerpt_from_events`` validates what it reads.
        """
        return self._stream_log(_log_path(job_id), iter_raw_events)

    def job_log_text(self, job_id: str) -> str:
        """The log as the UI's plain text: each command's directive on its own line, then its raw output."""
        parts: list[str] = []
        for event in self.job_log(job_id):
            if event.event == "cmd_started" and event.directive is not None:
                parts.append(event.directive + "\n")
            elif event.event == "cmd_output" and event.output:
                parts.append(event.output)
        return "".join(parts)

    def job_log_plain(self, job_id: str) -> str:
        """The reference's ``/jobs/:id/plain_logs.json`` (a UI path, plain text despite its name).

        UI paths refuse API tokens unless the organisation enabled it, and answer with a redirect to a login page:
        that is raised as :class:`~errors.AuthenticationError`, never returned as if it were the log.
        """
        path = f"/jobs/{segment(job_id, 'job id')}/plain_logs.json"
        http = self._http
        with http.deadline(http.limits.log_deadline):
            response = open_following(http, path, policy=Policy.IDEMPOTENT, what="plain log", accept="text/plain")
        text = b"".join(http.body(response, "GET", path, http.limits.max_log_bytes)).decode("utf-8", errors="replace")
        if looks_like_html(text) or "text/html" in response.headers.get("content-type", "").lower():
            raise AuthenticationError(
                "GET",
                path,
                response.status_code,
                self._http.redact(html_title(text)),
                detail="got an HTML page instead of the log (UI paths refuse API tokens unless the organisation "
                "allows them; use job_log_text())",
            )
        return text

    def _stream_log(self, path: str, parse: Callable[[Iterable[bytes]], Iterator[T]]) -> Iterator[T]:
        http = self._http
        # The log's own deadline covers its redirects and its whole body (the response keeps it for its reads); it
        # is not left applying while events are yielded to the caller.
        with http.deadline(http.limits.log_deadline):
            response = open_following(http, path, policy=Policy.LOGS, what="log")
        failure: SemaphoreError | None = None
        try:
            yield from parse(http.body(response, "GET", path, http.limits.max_log_bytes))
        except ModelError as exc:
            failure = APIError("GET", path, 0, detail=f"the log could not be read: {http.redact(str(exc))}")
        finally:
            response.close()
        if failure is not None:
            raise failure


def _job_path(job_id: str) -> str:
    return f"{API_PREFIX}/jobs/{segment(job_id, 'job id')}"


def _log_path(job_id: str) -> str:
    return f"{API_PREFIX}/logs/{segment(job_id, 'job id')}"
