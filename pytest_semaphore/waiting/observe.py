"""Reading a pipeline while waiting: the checked describe, what counts as a change, stale answers, its age.

Why apart from the waits: waiting for one pipeline and waiting for many read pipelines the same way, and must agree
on what is news and what is a stale replica's answer.
"""

from __future__ import annotations

import datetime as _dt
from typing import TYPE_CHECKING

from ..client.baseurl import API_PREFIX
from ..errors import APIError, PipelineFailed

if TYPE_CHECKING:
    from ..client import SemaphoreClient
    from ..models import Pipeline

#: The order of pipeline states: an answer that goes back in it is a stale replica's, not news.
_STATE_RANK = {"initializing": 0, "pending": 1, "queuing": 2, "running": 3, "stopping": 4, "done": 5}


def regressed(previous: Pipeline | None, seen: Pipeline) -> bool:
    """Whether ``seen`` is older than ``previous`` (its state earlier in the pipeline's life).

    Why: behind a load balancer two describes can be served by replicas that are not in step; a pipeline that was
    ``stopping`` and is then reported ``running`` did not go back in time. Such an answer is ignored (no
    ``on_change``, no schedule reset) rather than reported as a change. Unknown states are never compared.
    """
    if previous is None:
        return False
    before = _STATE_RANK.get(previous.state or "")
    now = _STATE_RANK.get(seen.state or "")
    return before is not None and now is not None and now < before


def describe_checked(client: SemaphoreClient, ppl_id: str, *, detailed: bool) -> Pipeline:
    """Describe ``ppl_id``; an answer about another pipeline is an unusable answer (``APIError`` with status 0).

    Why: a misrouted or mis-cached answer must never stand for our pipeline (its verdict would be someone else's).
    Status 0 makes it transient: the wait asks again, within ``patience``.
    """
    seen = client.describe_pipeline(ppl_id, detailed=detailed)
    if seen.ppl_id and seen.ppl_id.lower() != ppl_id.strip().lower():  # a UUID typed in capitals is the same one
        raise APIError(
            "GET",
            f"{API_PREFIX}/pipelines/{ppl_id}",
            0,
            detail=f"the answer describes another pipeline ({seen.ppl_id}), not the one asked for",
        )
    return seen


def signature(pipeline: Pipeline) -> tuple[object, ...]:
    """What counts as a change: the pipeline's state and result, every block's, every job's."""
    return (
        pipeline.state,
        pipeline.result,
        pipeline.result_reason,
        tuple(
            (b.name, b.state, b.result, tuple((j.job_id, j.index, j.status, j.result) for j in b.jobs))
            for b in pipeline.blocks
        ),
    )


def listed_state(pipeline: Pipeline) -> tuple[str | None, str | None, str | None]:
    """The part of a pipeline that the list shows: a change here is worth a describe."""
    return (pipeline.state, pipeline.result, pipeline.result_reason)


def age_of(pipeline: Pipeline) -> float:
    """A lower bound of the pipeline's age: from its creation to its latest recorded transition.

    The server's clock is not ours (and the simulator's is simulated), so the age is read from the pipeline's own
    timestamps; for a pipeline this process just started it is about 0, which is the case that matters.
    """
    stamps = [
        t
        for t in (
            pipeline.created_at,
            pipeline.pending_at,
            pipeline.queuing_at,
            pipeline.running_at,
            pipeline.stopping_at,
            pipeline.done_at,
        )
        if t is not None
    ]
    if pipeline.created_at is None or not stamps:
        return 0.0
    return max(0.0, (max(stamps) - pipeline.created_at).total_seconds())


def failed_jobs_error(pipeline: Pipeline) -> PipelineFailed:
    """The ``PipelineFailed`` of fail-fast on one pipeline: its failed jobs, noticed while running or at its end."""
    jobs = pipeline.failed_jobs
    names = ", ".join(repr(j.name) for j in jobs) or "none reported"
    where = "while the pipeline was still running" if not pipeline.done else f"pipeline {pipeline.result}"
    return PipelineFailed(
        f"pipeline {pipeline.ppl_id} failed fast: failed job(s) {names} ({where})",
        pipeline=pipeline,
        failed_jobs=jobs,
    )


#: The earliest time, for sorting pipelines or promotions whose timestamp is missing first.
EPOCH = _dt.datetime.min.replace(tzinfo=_dt.timezone.utc)
