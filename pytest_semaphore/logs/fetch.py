"""Excerpts through a client: describe the job, stream its log, build the excerpt; or all failed jobs of a pipeline.

The client is anything with the three methods of :class:`LogSource` (``SemaphoreClient`` has them); the excerpt
code reads nothing else from it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, Protocol

from ..errors import SemaphoreError
from ..models import ModelError
from .clean import clean_line
from .excerpt import DEFAULT_OPTIONS, Excerpt, ExcerptOptions, excerpt_from_events
from .redact import Redactor

if TYPE_CHECKING:
    from ..models import Job, Pipeline

__all__ = ["LogSource", "fetch_excerpt", "fetch_failed_excerpts"]


class LogSource(Protocol):
    """What fetching an excerpt reads from a client: the job, its log events, and the values to hide."""

    def describe_job(self, job_id: str) -> Job:
        """The job (its name, result and ``spec.env_vars``, whose secret-looking values are redacted)."""
        ...

    def job_log_events_raw(self, job_id: str) -> Iterable[Mapping[str, Any]]:
        """The job's log events as plain mappings, streamed (``GET /logs/:job_id``); closed early if closable."""
        ...

    def redaction_values(self) -> Iterable[str]:
        """Values every log must hide (the API token)."""
        ...


def _standard_redactor(client: LogSource, options: ExcerptOptions, job: Job | None) -> Redactor:
    """The client's values to hide (the token), secret-looking variables of this process and of ``job``, and the
    options' patterns and hook."""
    secrets = tuple(value for value in client.redaction_values() if value)
    return Redactor.for_job(extra_secrets=secrets, job=job, patterns=options.patterns, hook=options.hook)


def fetch_excerpt(
    client: LogSource,
    job_id: str,
    *,
    job: Job | None = None,
    job_name: str | None = None,
    redactor: Redactor | None = None,
    options: ExcerptOptions | None = None,
) -> Excerpt:
    """Convenience for the plugin and the CLI: describe the job (unless ``job`` is given), stream its log, build
    the excerpt.

    Unless a ``redactor`` is given, the standard one is built: the client's ``redaction_values()`` (the token),
    secret-looking variables of this process and of the job's ``spec.env_vars``, and ``options``' patterns and hook.
    The log is read as raw events (plain dicts, no model per event): the excerpt builder validates what it reads,
    so the result is the one the models would give, in about a third less time for a large log
    (bench/logs_excerpt.py).
    """
    options = options if options is not None else DEFAULT_OPTIONS
    if job is None:
        job = client.describe_job(job_id)
    if redactor is None:
        redactor = _standard_redactor(client, options, job)
    events = client.job_log_events_raw(job_id)
    try:
        return excerpt_from_events(
            events,
            job_name=job_name or job.name or job_id,
            job_id=job_id,
            job_result=job.result,
            redactor=redactor,
            options=options,
        )
    except SemaphoreError:
        raise  # already one of ours (a ReportError, an APIError from the stream); several are ValueErrors too
    except (ValueError, RecursionError) as exc:
        # A malformed log: an event the builder cannot read (ModelError), a number too long for int() or JSON
        # nested past the recursion limit where the stream decodes it. The same error ``client.job_log`` raises for
        # a malformed body (an APIError naming the request), so callers such as fetch_failed_excerpts need not
        # know which path ran, and one bad log costs its own excerpt only.
        from ..client.baseurl import API_PREFIX
        from ..errors import APIError

        what = str(exc) if isinstance(exc, ModelError) else f"{type(exc).__name__}: {str(exc)[:200]}"
        detail = f"the log could not be read: {redactor(clean_line(what))}"
        raise APIError("GET", f"{API_PREFIX}/logs/{job_id}", 0, detail=detail) from None
    finally:
        # The stream holds the HTTP response: close it now, not whenever the abandoned generator is collected.
        close = getattr(events, "close", None)
        if callable(close):
            close()


def fetch_failed_excerpts(
    client: LogSource,
    pipeline: Pipeline,
    *,
    options: ExcerptOptions | None = None,
    include_stopped: bool = True,
) -> dict[str, Excerpt]:
    """Excerpts of every job of ``pipeline`` (a detailed describe) that failed (or was stopped), keyed by job id.

    A job whose log cannot be had (never started, no permission, the API down) still gets an :class:`Excerpt`, with
    no lines and the reason in words: a gate report must not lose the failure because a log was missing.
    """
    wanted = ("failed", "stopped") if include_stopped else ("failed",)
    excerpts: dict[str, Excerpt] = {}
    fallback_redactor: Redactor | None = None
    for job in pipeline.jobs:
        if not job.finished or job.result not in wanted:
            continue
        try:
            excerpts[job.job_id] = fetch_excerpt(client, job.job_id, job_name=job.name, options=options)
        except SemaphoreError as exc:
            if fallback_redactor is None:  # the job's own variables are unknown here: the token, env and patterns
                fallback_redactor = _standard_redactor(client, options or DEFAULT_OPTIONS, None)
            excerpts[job.job_id] = Excerpt(
                job_name=fallback_redactor(clean_line(job.name)),
                job_id=job.job_id,
                directive=None,
                exit_code=None,
                job_result=job.result,
                lines=(),
                total_lines=0,
                reason=f"log unavailable: {fallback_redactor(clean_line(str(exc)))[:300]}",
            )
    return excerpts
