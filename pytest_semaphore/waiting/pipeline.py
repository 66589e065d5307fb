"""Waiting for one pipeline (:func:`wait_for_pipeline`), and finding one that a push or another job started
(:func:`find_pipeline`).

One describe per poll; the end is noticed within the schedule's cap (30 s by default), or sooner around the end the
pipeline's history predicts: from whole runs (:func:`predict_duration`, one request) or, for a file of several blocks,
block by block (:mod:`.blocks`, a history shared by the session's waits). A job's result is never trusted before the job
is finished, a stale replica's answer never counts as news, and a just-created id may answer 404 for a while.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..errors import NotFoundError, SemaphoreError
from .blocks import BlockTracker, list_history, passed_durations, shared_history
from .loop import DEFAULT_TIMEOUT, Missing, OutageGuard, Poller, Round, check_timeout, run
from .observe import EPOCH, age_of, describe_checked, failed_jobs_error, regressed, signature
from .pacing import Pacing
from .schedule import PollSchedule, Prediction
from .started import CancelOptions

if TYPE_CHECKING:
    from ..client import SemaphoreClient
    from ..models import Pipeline

__all__ = ["DEFAULT_APPEAR_TIMEOUT", "HISTORY_SIZE", "find_pipeline", "predict_duration", "wait_for_pipeline"]

#: How long a just-created pipeline id may answer 404 before it counts as missing.
DEFAULT_APPEAR_TIMEOUT = 60.0
#: Past pipelines read for the expected-duration prediction (one request).
HISTORY_SIZE = 30

OnChange = Callable[["Pipeline"], object]


def predict_duration(
    client: SemaphoreClient, pipeline: Pipeline, *, size: int = HISTORY_SIZE, min_samples: int = 3
) -> Prediction | None:
    """Learn when ``pipeline`` will likely end from its recent history, at the cost of exactly one request.

    The history is the newest ``size`` pipelines of the same project, branch and pipeline file; the durations
    (creation to done) of those that passed make the prediction. Failed ones are left out: they end early and would
    pull the window forward. ``None`` when the history is too short (fewer than ``min_samples``).
    """
    durations = passed_durations(list_history(client, pipeline, size), pipeline)
    return Prediction.from_durations(durations, min_samples=min_samples)


def wait_for_pipeline(
    client: SemaphoreClient,
    ppl_id: str,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    fail_fast: bool = False,
    cancel_on_timeout: bool = False,
    cancel_on_interrupt: bool = False,
    cancel_foreign: bool = False,
    on_change: OnChange | None = None,
    detailed: bool | None = None,
    appear_timeout: float = DEFAULT_APPEAR_TIMEOUT,
    expected_duration: bool | Prediction | None = None,
    pacing: Pacing | None = None,
) -> Pipeline:
    """Poll ``ppl_id`` until it is done and return the done pipeline, whatever its result.

    * ``timeout``: seconds (finite) before :class:`WaitTimeout`, which carries the last pipeline seen.
    * ``fail_fast``: raise :class:`PipelineFailed` at the first *finished* failed job, even while the pipeline runs
      (describes with ``detailed=true``; a job's result is never trusted before it is finished).
    * ``cancel_on_timeout`` / ``cancel_on_interrupt``: terminate the pipeline on timeout / on ``KeyboardInterrupt``
      (re-raised) if this process started it (:func:`mark_started`) or ``cancel_foreign`` is true.
    * ``on_change``: called with the first observation and with each one that differs (state, blocks, jobs).
    * ``detailed``: describe with blocks and jobs; default: only when ``fail_fast`` needs them.
    * ``appear_timeout``: a just-created id may answer 404 for a while; after this many seconds a 404 is final.
    * ``expected_duration``: poll sparsely before the expected end and densely around it; ``True`` learns it from
      the history (one ``list_pipelines`` request; for a file of several blocks, each block's durations, read once
      per client and shared, with detailed polls while the run follows them), a :class:`Prediction` is used as
      given, ``False`` disables it; default: on, unless ``fail_fast`` (sparse polls would notice a failed job late).
    * ``pacing``: the schedule, request budget, clocks, rng and patience (:class:`Pacing`; default ``Pacing()``).
    """
    timeout = check_timeout("timeout", timeout)
    appear_timeout = check_timeout("appear_timeout", appear_timeout)
    pacing = pacing if pacing is not None else Pacing()
    schedule = pacing.schedule()
    if detailed is None:
        detailed = fail_fast
    if expected_duration is None:
        expected_duration = not fail_fast
    if isinstance(expected_duration, Prediction):
        schedule.prediction = expected_duration
    waiter = _PipelineWait(
        OutageGuard(f"pipeline {ppl_id}", pacing),
        client,
        ppl_id,
        schedule,
        timeout=timeout,
        appear_timeout=appear_timeout,
        fail_fast=fail_fast,
        detailed=detailed,
        learn_duration=expected_duration is True,
        on_change=on_change,
        cancelling=CancelOptions(cancel_on_timeout, cancel_on_interrupt, cancel_foreign),
    )
    return run(waiter, schedule, waiter.started + timeout)


@dataclass(eq=False)
class _PipelineWait(Poller["Pipeline"]):
    """A round: one describe; over when the pipeline is done (or, with fail-fast, has a finished failed job)."""

    guard: OutageGuard
    client: SemaphoreClient
    ppl_id: str
    schedule: PollSchedule
    timeout: float
    appear_timeout: float
    fail_fast: bool
    detailed: bool
    learn_duration: bool
    on_change: OnChange | None
    cancelling: CancelOptions
    last: Pipeline | None = field(default=None, init=False)
    signature: tuple[object, ...] | None = field(default=None, init=False)
    age_at: tuple[float, float] | None = field(default=None, init=False)  # (monotonic, age) at the first observation
    tracker: BlockTracker | None = field(default=None, init=False)  # the block-level model, when history has one
    started: float = field(init=False)
    asked_detailed: bool = field(init=False)

    def __post_init__(self) -> None:
        self.started = self.guard.monotonic()
        self.asked_detailed = self.detailed

    def poll(self) -> Round[Pipeline]:
        try:
            # the first describe is detailed when the history is to be learnt: its blocks start the block model
            detailed = self.detailed or (self.learn_duration and self.age_at is None)
            seen = self.guard.call(describe_checked, self.client, self.ppl_id, detailed=detailed)
        except NotFoundError:
            if self.last is not None or self.guard.monotonic() - self.started >= self.appear_timeout:
                raise
            return Round()
        if isinstance(seen, Missing) or regressed(self.last, seen):
            return Round()
        self.last = seen
        previous, self.signature = self.signature, signature(seen)
        if self.signature != previous and self.on_change is not None:
            self.on_change(seen)
        if self.age_at is None:
            self.age_at = (self.guard.monotonic(), age_of(seen))
            if self.learn_duration and not seen.done:
                self._learn_duration(seen)
        elif self.tracker is not None and not seen.done:
            self._follow(seen, self.age(self.guard.monotonic()) or 0.0)
        if self.fail_fast and seen.failed_jobs:
            raise failed_jobs_error(seen)
        return Round(seen if seen.done else None, changed=previous is not None and self.signature != previous)

    def _learn_duration(self, seen: Pipeline) -> None:
        """Read the history (shared by the session's waits, see :mod:`.blocks`): with blocks, follow them (detailed
        polls from now on); otherwise predict from whole runs."""
        try:
            history = self.guard.call(shared_history, self.client, seen, self.guard.monotonic())
        except SemaphoreError:  # no history is no reason to stop waiting
            return
        if isinstance(history, Missing):
            return
        if history.blocks is None:
            self.schedule.prediction = Prediction.from_durations(history.durations)
        else:
            self.tracker = BlockTracker(history.blocks)
            self.detailed = True
            self._follow(seen, self.age_at[1] if self.age_at else 0.0)

    def _follow(self, seen: Pipeline, age: float) -> None:
        """Poll by what the block model predicts from ``seen``; once the run is off the history's path, for good by
        the ordinary schedule and the describe that was asked for."""
        assert self.tracker is not None
        self.schedule.prediction = self.tracker.observe(seen, age)
        if self.schedule.prediction is None:
            self.tracker, self.detailed = None, self.asked_detailed

    def age(self, now: float) -> float | None:
        return None if self.age_at is None else self.age_at[1] + (now - self.age_at[0])

    def timed_out(self) -> BaseException:
        canceled = self.cancelling.at_timeout(self.client, [self.ppl_id])
        return self.guard.timeout_error(self.timeout, self.last, canceled)

    def interrupted(self) -> None:
        self.cancelling.at_interrupt(self.client, [self.ppl_id])


# --------------------------------------------------------------------------------------------- finding one


def _matches_commit(pipeline: Pipeline, commit_sha: str | None) -> bool:
    if not commit_sha:
        return True
    want = commit_sha.strip().lower()
    have = pipeline.commit_sha.strip().lower()
    if len(want) < 40:  # an abbreviated sha, as git prints it
        return have.startswith(want)
    return have == want


def find_pipeline(
    client: SemaphoreClient,
    project: str,
    *,
    commit_sha: str | None = None,
    branch: str | None = None,
    yml_file_path: str | None = None,
    created_after: _dt.datetime | float | None = None,
    appear_timeout: float = 120.0,
    page_size: int = 30,
    pacing: Pacing | None = None,
) -> Pipeline:
    """Find the newest pipeline of ``project`` matching the filters, waiting until it appears.

    For a pipeline started by a push or by another job: ``gh run watch`` exits when the run does not exist yet
    (cli/cli#5637); we poll ``list_pipelines`` (one request per poll) until a match appears or ``appear_timeout``
    seconds pass (:class:`WaitTimeout` with ``last_seen=None``). ``commit_sha`` may be abbreviated.
    """
    appear_timeout = check_timeout("appear_timeout", appear_timeout)
    pacing = pacing if pacing is not None else Pacing()
    what = (
        f"a pipeline of {project}" + (f" at {commit_sha}" if commit_sha else "") + (f" on {branch}" if branch else "")
    )
    guard = OutageGuard(what, pacing)
    deadline = guard.monotonic() + appear_timeout

    def listed() -> list[Pipeline] | Missing:
        return guard.call(
            client.list_pipelines,
            project,
            branch_name=branch,
            yml_file_path=yml_file_path,
            created_after=created_after,
            page_size=page_size,
            limit=page_size,
        )

    return run(_Find(guard, listed, commit_sha, appear_timeout), pacing.schedule(), deadline)


@dataclass(eq=False)
class _Find(Poller["Pipeline"]):
    """A round: one page of the project's pipelines; over when one of them matches the commit."""

    guard: OutageGuard
    listed: Callable[[], list[Pipeline] | Missing]
    commit_sha: str | None
    appear_timeout: float

    def poll(self) -> Round[Pipeline]:
        listed = self.listed()
        if isinstance(listed, Missing):
            return Round()
        found = [p for p in listed if _matches_commit(p, self.commit_sha)]
        return Round(max(found, key=lambda p: p.created_at or EPOCH) if found else None)

    def timed_out(self) -> BaseException:
        return self.guard.timeout_error(self.appear_timeout, None)
