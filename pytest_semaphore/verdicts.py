"""How the end of a wait is stated: which verdicts a caller expects, the failure message, and the kind of an error.

Why here and not in a face: the pytest plugin fails a test with these messages and ``semaphore-gate`` prints them, and
both name the same kinds in their last line (failed, stopped, error, timeout, API unavailable). A timeout or an API
outage is *not* a verdict on the pipeline, and its message says so first, so nobody reads "the API was down" as
"the deploy failed".
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

from .errors import (
    APIUnavailable,
    AuthenticationError,
    NotFoundError,
    PipelineFailed,
    PromotionFailed,
    WaitTimeout,
)
from .waiting import Outcome, outcome

if TYPE_CHECKING:
    from .logs import Excerpt
    from .models import Pipeline

__all__ = [
    "ERROR_KINDS",
    "NOT_A_VERDICT",
    "REFUSALS",
    "error_kind",
    "error_message",
    "expected_outcomes",
    "failure_message",
    "verdict_error",
]

#: The kinds a failed gate is reported as, in the last line of both faces.
ERROR_KINDS = ("failed", "stopped", "error", "timeout", "API unavailable")
#: How every message about a wait that ended without a verdict begins.
NOT_A_VERDICT = "not a pipeline verdict: "
#: What an API refusal means for the user, before the error's own words (a 404 also answers "not yours to see").
REFUSALS: tuple[tuple[type[BaseException], str], ...] = (
    (NotFoundError, "not found (the id does not exist, or this token may not see it): "),
    (AuthenticationError, "authentication or permission refused: "),
)


def expected_outcomes(expect: str | Outcome | Iterable[str | Outcome] | None) -> frozenset[Outcome] | None:
    """``expect`` as a set of outcomes: one name, several, or ``None`` (any verdict is fine).

    ``ValueError`` names the accepted values for anything else, including an empty set (nothing could satisfy it).
    """
    if expect is None:
        return None
    names = [expect] if isinstance(expect, str) else list(expect)
    accepted = ", ".join(o.value for o in Outcome)
    chosen = set()
    for name in names:
        try:
            chosen.add(Outcome(str(name).strip().lower()))
        except ValueError:
            raise ValueError(
                f"expect: {name!r} is not an outcome; accepted: {accepted}, a set of them, or None"
            ) from None
    if not chosen:
        raise ValueError(f"expect: an empty set can never be met; accepted: {accepted}, a set of them, or None")
    return frozenset(chosen)


def failure_message(
    pipeline: Pipeline, excerpts: Mapping[str, Excerpt] | Iterable[Excerpt] = (), expected: Iterable[Outcome] = ()
) -> str:
    """``pipeline P (name) failed, expected passed: <job summaries>``: each failed job, its command and exit code.

    ``excerpts`` (keyed by job id, or a sequence) supply the commands; a failed job without one is named alone.
    """
    verdict = outcome(pipeline)
    shown = sorted(o.value for o in expected)
    head = f"pipeline {pipeline.ppl_id}"
    if pipeline.name:
        head += f" ({pipeline.name})"
    head += f" {verdict.value}"
    if pipeline.result_reason and pipeline.result_reason != "test" and verdict is not Outcome.PASSED:
        head += f" ({pipeline.result_reason})"
    if shown and shown != ["passed"]:
        head += f", expected {' or '.join(shown)}"
    items = list(excerpts.values()) if isinstance(excerpts, Mapping) else list(excerpts)
    details = [e.summary() for e in items]
    named = {e.job_id for e in items}
    details += [
        f'Semaphore job "{job.name}" ({job.job_id}) failed' for job in pipeline.failed_jobs if job.job_id not in named
    ]
    if pipeline.error_description:
        details.append(pipeline.error_description.strip())
    return head + (": " + "; ".join(details) if details else "")


def verdict_error(
    pipeline: Pipeline,
    expected: frozenset[Outcome] | None = frozenset({Outcome.PASSED}),
    excerpts: Mapping[str, Excerpt] | Iterable[Excerpt] = (),
) -> PipelineFailed | None:
    """``None`` when the done pipeline's outcome is expected (``expected=None``: any), else the
    :class:`~pytest_semaphore.errors.PipelineFailed` to raise, its message from :func:`failure_message`."""
    if expected is None or outcome(pipeline) in expected:
        return None
    return PipelineFailed(
        failure_message(pipeline, excerpts, expected), pipeline=pipeline, failed_jobs=pipeline.failed_jobs
    )


def error_kind(exc: BaseException) -> str:
    """One of :data:`ERROR_KINDS` for an error that ended a gate (``error`` for anything unforeseen)."""
    if isinstance(exc, WaitTimeout):
        return "timeout"
    if isinstance(exc, APIUnavailable):
        return "API unavailable"
    if isinstance(exc, PipelineFailed) and exc.pipeline.done:
        verdict = outcome(exc.pipeline)
        if verdict in (Outcome.STOPPED, Outcome.CANCELED):
            return "stopped"
        return "failed" if verdict in (Outcome.FAILED, Outcome.PASSED) else "error"
    if isinstance(exc, PipelineFailed):  # failed fast, while the pipeline was still running
        return "failed"
    if isinstance(exc, PromotionFailed):
        return "error"
    return "error"


def error_message(exc: BaseException) -> str:
    """The error in words, as both faces show it: a timeout or an outage begins with :data:`NOT_A_VERDICT`, an API
    refusal with what it means (:data:`REFUSALS`). Idempotent: an error already worded keeps its words."""
    text = str(exc) or type(exc).__name__
    if error_kind(exc) in ("timeout", "API unavailable"):
        prefix = NOT_A_VERDICT
    else:
        prefix = next((words for kind, words in REFUSALS if isinstance(exc, kind)), "")
    return text if text.startswith(prefix) else prefix + text
