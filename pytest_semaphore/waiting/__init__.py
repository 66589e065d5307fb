"""Block until pipelines finish: few requests, fast detection of the end, and never a false verdict.

Why this module exists: "wait until the pipeline is done" is the heart of every gate, and the anchors get it wrong in
known ways in the tools release engineers use today: fixed 3 s polling that burns the API, no timeout, one 502 ending
the wait, exiting before the run exists, trusting a job's result before it finished. Here:

* *when* to poll is :mod:`pytest_semaphore.schedule` (start 2 s, x1.5 to 30 s, jitter, reset on change,
  ``Retry-After``, a prediction from history); *what* a done pipeline means is :mod:`pytest_semaphore.outcomes`;
* a transient API failure (an outage, 5xx, 429, a 403 from an erring auth service, a connection reset) is never a
  verdict: the wait goes on until the outage outlasts ``patience`` seconds, then raises
  :class:`~pytest_semaphore.errors.APIUnavailable`, which no caller can mistake for a failed pipeline;
* every wait has a finite timeout (:class:`~pytest_semaphore.errors.WaitTimeout` carries the last pipeline seen);
* cancel-on-timeout and cancel-on-interrupt terminate only pipelines this process started or triggered
  (:func:`mark_started`) unless told otherwise (``cancel_foreign=True``);
* every function takes ``sleep`` and ``monotonic`` (the simulator's ``advance``/``monotonic`` plug in directly) and a
  seedable ``rng`` for the jitter, so an hour of waiting runs in milliseconds and replays exactly.

``docs/waiting.md`` is the user's guide to the options and the exceptions.
"""

from __future__ import annotations

import datetime as _dt
import math
import random
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from ..errors import (
    APIError,
    APIUnavailable,
    AuthenticationError,
    NotFoundError,
    PipelineFailed,
    PromotionFailed,
    SemaphoreError,
    WaitTimeout,
)
from .outcomes import Outcome, outcome, worst_outcome
from .pacing import Pacing
from .schedule import PollSchedule, Prediction, RequestBudget

if TYPE_CHECKING:
    from ..client import SemaphoreClient
    from ..models import Pipeline, Promotion

__all__ = [
    "DEFAULT_PATIENCE",
    "DEFAULT_TIMEOUT",
    "Outcome",
    "Pacing",
    "PromotionResult",
    "find_pipeline",
    "mark_started",
    "outcome",
    "predict_duration",
    "started_here",
    "wait_for_pipeline",
    "wait_for_pipelines",
    "wait_for_promotion",
    "wait_for_workflow",
    "worst_outcome",
]

#: A wait is always finite: one hour unless told otherwise.
DEFAULT_TIMEOUT = 3600.0
#: How long an API outage may last before the wait gives up with ``APIUnavailable``.
DEFAULT_PATIENCE = 300.0
#: How long a just-created pipeline id may answer 404 before it counts as missing.
DEFAULT_APPEAR_TIMEOUT = 60.0
#: How long after a pipeline is done its auto-promotions are looked for (Semaphore starts them asynchronously).
DEFAULT_PROMOTION_GRACE = 20.0
#: Past pipelines read for the expected-duration prediction (one request).
HISTORY_SIZE = 30

Sleep = Callable[[float], object]
Monotonic = Callable[[], float]
OnChange = Callable[["Pipeline"], object]
T = TypeVar("T")

# --------------------------------------------------------------------------------------------- what we started

#: How many started ids are remembered: a long-lived process (an xdist controller, a daemon) triggers pipelines for
#: days; the oldest ids are forgotten first (a wait on a pipeline started that long ago is long over).
STARTED_MEMORY = 10_000

_started: OrderedDict[str, None] = OrderedDict()
_started_lock = threading.Lock()


def mark_started(ppl_id: str) -> None:
    """Record that this process started or triggered ``ppl_id``, so that cancel options may terminate it.

    Why a process-wide registry rather than an argument: the pipeline is started in one place (a fixture, a CLI
    command, a promotion) and waited for in another, possibly on another thread; what matters for "may I terminate
    it" is whether *this process* caused it. Thread-safe; bounded (the newest :data:`STARTED_MEMORY` ids).

    The faces call it with the first pipeline id of every ``run_workflow`` they make, before waiting;
    :func:`wait_for_promotion` calls it itself for every pipeline its promotions schedule.
    """
    with _started_lock:
        _started[ppl_id] = None
        _started.move_to_end(ppl_id)
        while len(_started) > STARTED_MEMORY:
            _started.popitem(last=False)


def started_here(ppl_id: str) -> bool:
    """Whether this process started or triggered ``ppl_id`` (see :func:`mark_started`)."""
    with _started_lock:
        return ppl_id in _started


# --------------------------------------------------------------------------------------------- transient failures


class _Missing:
    """A poll that did not produce an answer (a transient failure, or a 404 within the appear timeout)."""


_MISSING = _Missing()


def _is_transient(exc: SemaphoreError) -> bool:
    """Whether an error says nothing about the pipeline, only about the API's health right now.

    ``APIUnavailable`` (the client's retries are spent), 5xx and 429 that reached us anyway, a 403 (the ingress
    answers 403 when its auth service errs; a real lack of permission is a 404 on this API) and an unreadable body
    (status 0: a truncated answer).
    """
    if isinstance(exc, APIUnavailable):
        return True
    if isinstance(exc, NotFoundError):
        return False
    if isinstance(exc, AuthenticationError):
        return exc.status == 403
    if isinstance(exc, APIError):
        return exc.status == 0 or exc.status == 429 or exc.status >= 500
    return False


class _Guard:
    """Runs each poll request: the request budget, the outage clock (patience) and ``Retry-After``.

    One guard serves one wait. ``outage_since`` is the monotonic time at which the first request of the current run
    of failures was sent; a success ends the run.
    """

    def __init__(
        self,
        what: str,
        *,
        patience: float,
        sleep: Sleep,
        monotonic: Monotonic,
        budget: RequestBudget | None,
    ) -> None:
        if isinstance(patience, bool) or not isinstance(patience, (int, float)) or not patience >= 0:
            raise ValueError(f"patience must be a number of seconds >= 0, got {patience!r}")
        self.patience = patience
        self.sleep = sleep
        self.monotonic = monotonic
        self.budget = _budget_for(budget, monotonic)
        self.what = what
        self.outage_since: float | None = None
        self.last_error: SemaphoreError | None = None
        self.retry_after: float | None = None

    def call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T | _Missing:
        """Call ``fn``; a transient failure within patience gives ``_MISSING``, beyond it ``APIUnavailable``."""
        pause = self.budget.reserve(1)
        if pause > 0:
            self.sleep(pause)
        sent = self.monotonic()
        try:
            result = fn(*args, **kwargs)
        except SemaphoreError as exc:
            if not _is_transient(exc):
                raise
            self._failed(exc, sent)
            return _MISSING
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


# --------------------------------------------------------------------------------------------- shared plumbing


def _budget_for(budget: RequestBudget | None, monotonic: Monotonic) -> RequestBudget:
    if budget is not None:
        return budget
    if monotonic is time.monotonic:
        return RequestBudget.for_process()
    return RequestBudget(monotonic=monotonic)


def _schedule_for(schedule: PollSchedule | None, rng: random.Random | None) -> PollSchedule:
    return schedule if schedule is not None else PollSchedule(rng=rng)


def _check_timeout(name: str, value: float) -> float:
    """A finite, non-negative number of seconds, or a ``ValueError`` that says so (NaN, inf, negative, not a number)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not (value >= 0 and math.isfinite(value)):
        raise ValueError(f"{name} must be a finite number of seconds >= 0, got {value!r} (a wait is never endless)")
    return float(value)


#: The order of pipeline states: an answer that goes back in it is a stale replica's, not news.
_STATE_RANK = {"initializing": 0, "pending": 1, "queuing": 2, "running": 3, "stopping": 4, "done": 5}


def _regressed(previous: Pipeline | None, seen: Pipeline) -> bool:
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


def _describe(client: SemaphoreClient, ppl_id: str, *, detailed: bool) -> Pipeline:
    """Describe ``ppl_id``; an answer about another pipeline is an unusable answer (``APIError`` with status 0).

    Why: a misrouted or mis-cached answer must never stand for our pipeline (its verdict would be someone else's).
    Status 0 makes it transient: the wait asks again, within ``patience``.
    """
    seen = client.describe_pipeline(ppl_id, detailed=detailed)
    if seen.ppl_id and seen.ppl_id.lower() != ppl_id.strip().lower():  # a UUID typed in capitals is the same one
        raise APIError(
            "GET",
            f"/api/v1alpha/pipelines/{ppl_id}",
            0,
            detail=f"the answer describes another pipeline ({seen.ppl_id}), not the one asked for",
        )
    return seen


def _signature(pipeline: Pipeline) -> tuple[object, ...]:
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


def _state_of(pipeline: Pipeline) -> tuple[str | None, str | None, str | None]:
    """The part of a pipeline that the list shows: a change here is worth a describe."""
    return (pipeline.state, pipeline.result, pipeline.result_reason)


def _latest_timestamp(pipeline: Pipeline) -> _dt.datetime | None:
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
    return max(stamps) if stamps else None


def _age(pipeline: Pipeline) -> float:
    """A lower bound of the pipeline's age: from its creation to its latest recorded transition.

    The server's clock is not ours (and the simulator's is simulated), so the age is read from the pipeline's own
    timestamps; for a pipeline this process just started it is about 0, which is the case that matters.
    """
    latest = _latest_timestamp(pipeline)
    if pipeline.created_at is None or latest is None:
        return 0.0
    return max(0.0, (latest - pipeline.created_at).total_seconds())


def _cancel(client: SemaphoreClient, ppl_ids: Iterable[str], *, cancel_foreign: bool) -> list[str]:
    """Terminate the pipelines this process started (all of them with ``cancel_foreign``); best effort."""
    canceled = []
    for ppl_id in ppl_ids:
        if not (cancel_foreign or started_here(ppl_id)):
            continue
        try:
            client.terminate_pipeline(ppl_id)
        except SemaphoreError:
            continue
        canceled.append(ppl_id)
    return canceled


def _timeout_error(
    what: str, timeout: float, last: Pipeline | None, guard: _Guard, canceled: Sequence[str]
) -> WaitTimeout:
    state = f"last seen {last.state}" if last is not None else "never seen"
    message = f"timed out after {timeout:.0f} s waiting for {what} ({state})"
    if guard.in_outage and guard.last_error is not None:
        message += f"; the API was failing at the time: {guard.last_error}"
    if canceled:
        message += f"; terminated {', '.join(canceled)}"
    return WaitTimeout(message, last_seen=last, timeout=timeout, canceled=canceled)


def _failed_fast(pipeline: Pipeline) -> PipelineFailed:
    jobs = pipeline.failed_jobs
    names = ", ".join(repr(j.name) for j in jobs) or "none reported"
    where = "while the pipeline was still running" if not pipeline.done else f"pipeline {pipeline.result}"
    return PipelineFailed(
        f"pipeline {pipeline.ppl_id} failed fast: failed job(s) {names} ({where})",
        pipeline=pipeline,
        failed_jobs=jobs,
    )


# --------------------------------------------------------------------------------------------- prediction


def predict_duration(
    client: SemaphoreClient, pipeline: Pipeline, *, size: int = HISTORY_SIZE, min_samples: int = 3
) -> Prediction | None:
    """Learn when ``pipeline`` will likely end from its recent history, at the cost of exactly one request.

    The history is the newest ``size`` pipelines of the same project, branch and pipeline file; the durations
    (creation to done) of those that passed make the prediction. Failed ones are left out: they end early and would
    pull the window forward. ``None`` when the history is too short (fewer than ``min_samples``).
    """
    history = client.list_pipelines(
        pipeline.project_id,
        branch_name=pipeline.branch_name or None,
        yml_file_path=pipeline.yml_file_path or None,
        page_size=size,
        limit=size,
    )
    durations = [
        (p.done_at - p.created_at).total_seconds()
        for p in history
        if p.ppl_id != pipeline.ppl_id
        and p.done
        and p.result == "passed"
        and p.done_at is not None
        and p.created_at is not None
    ]
    return Prediction.from_durations(durations, min_samples=min_samples)


# --------------------------------------------------------------------------------------------- one pipeline


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
    patience: float = DEFAULT_PATIENCE,
    expected_duration: bool | Prediction | None = None,
    schedule: PollSchedule | None = None,
    budget: RequestBudget | None = None,
    sleep: Sleep = time.sleep,
    monotonic: Monotonic = time.monotonic,
    rng: random.Random | None = None,
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
    * ``patience``: seconds of API outage tolerated before :class:`APIUnavailable`.
    * ``expected_duration``: poll sparsely before the expected end and densely around it; ``True`` learns it with
      one ``list_pipelines`` request, a :class:`Prediction` is used as given, ``False`` disables it; default: on,
      unless ``fail_fast`` (sparse polls would notice a failed job late).
    * ``schedule``, ``budget``, ``sleep``, ``monotonic``, ``rng``: the pacing and clocks (see module docstring).
    """
    timeout = _check_timeout("timeout", timeout)
    appear_timeout = _check_timeout("appear_timeout", appear_timeout)
    if detailed is None:
        detailed = fail_fast
    if expected_duration is None:
        expected_duration = not fail_fast
    plan = _schedule_for(schedule, rng)
    if isinstance(expected_duration, Prediction):
        plan.prediction = expected_duration
    guard = _Guard(f"pipeline {ppl_id}", patience=patience, sleep=sleep, monotonic=monotonic, budget=budget)
    started = monotonic()
    deadline = started + timeout
    last: Pipeline | None = None
    signature: tuple[object, ...] | None = None
    age_at: tuple[float, float] | None = None  # (monotonic, pipeline age) at the first observation
    try:
        while True:
            try:
                seen = guard.call(_describe, client, ppl_id, detailed=detailed)
            except NotFoundError:
                if last is not None or monotonic() - started >= appear_timeout:
                    raise
                seen = _MISSING
            if not isinstance(seen, _Missing) and not _regressed(last, seen):
                last = seen
                current = _signature(seen)
                if current != signature:
                    if signature is not None:
                        plan.changed()
                    signature = current
                    if on_change is not None:
                        on_change(seen)
                if age_at is None:
                    age_at = (monotonic(), _age(seen))
                    if expected_duration is True and not seen.done:
                        try:
                            learnt = guard.call(predict_duration, client, seen)
                        except SemaphoreError:  # no history is no reason to stop waiting
                            learnt = _MISSING
                        if isinstance(learnt, Prediction):
                            plan.prediction = learnt
                if fail_fast and seen.failed_jobs:
                    raise _failed_fast(seen)
                if seen.done:
                    return seen
            now = monotonic()
            if now >= deadline:
                canceled = _cancel(client, [ppl_id], cancel_foreign=cancel_foreign) if cancel_on_timeout else []
                raise _timeout_error(f"pipeline {ppl_id}", timeout, last, guard, canceled)
            elapsed = None if age_at is None else age_at[1] + (now - age_at[0])
            delay = plan.next_delay(elapsed=elapsed, retry_after=guard.retry_after)
            sleep(min(delay, deadline - now))
    except KeyboardInterrupt:
        if cancel_on_interrupt:
            _cancel(client, [ppl_id], cancel_foreign=cancel_foreign)
        raise


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
    patience: float = DEFAULT_PATIENCE,
    page_size: int = 30,
    schedule: PollSchedule | None = None,
    budget: RequestBudget | None = None,
    sleep: Sleep = time.sleep,
    monotonic: Monotonic = time.monotonic,
    rng: random.Random | None = None,
) -> Pipeline:
    """Find the newest pipeline of ``project`` matching the filters, waiting until it appears.

    For a pipeline started by a push or by another job: ``gh run watch`` exits when the run does not exist yet
    (cli/cli#5637); we poll ``list_pipelines`` (one request per poll) until a match appears or ``appear_timeout``
    seconds pass (:class:`WaitTimeout` with ``last_seen=None``). ``commit_sha`` may be abbreviated.
    """
    appear_timeout = _check_timeout("appear_timeout", appear_timeout)
    plan = _schedule_for(schedule, rng)
    what = (
        f"a pipeline of {project}" + (f" at {commit_sha}" if commit_sha else "") + (f" on {branch}" if branch else "")
    )
    guard = _Guard(what, patience=patience, sleep=sleep, monotonic=monotonic, budget=budget)
    deadline = monotonic() + appear_timeout
    while True:
        listed = guard.call(
            client.list_pipelines,
            project,
            branch_name=branch,
            yml_file_path=yml_file_path,
            created_after=created_after,
            page_size=page_size,
            limit=page_size,
        )
        if not isinstance(listed, _Missing):
            found = [p for p in listed if _matches_commit(p, commit_sha)]
            if found:
                epoch = _dt.datetime.min.replace(tzinfo=_dt.timezone.utc)
                return max(found, key=lambda p: p.created_at or epoch)
        now = monotonic()
        if now >= deadline:
            raise _timeout_error(what, appear_timeout, None, guard, ())
        sleep(min(plan.next_delay(retry_after=guard.retry_after), deadline - now))


# --------------------------------------------------------------------------------------------- many at once


def wait_for_pipelines(
    client: SemaphoreClient,
    ppl_ids: Sequence[str],
    *,
    timeout: float = DEFAULT_TIMEOUT,
    fail_fast: bool = False,
    cancel_on_timeout: bool = False,
    cancel_on_interrupt: bool = False,
    cancel_rest_on_failure: bool = False,
    cancel_foreign: bool = False,
    on_change: OnChange | None = None,
    detailed: bool = False,
    project: str | None = None,
    appear_timeout: float = DEFAULT_APPEAR_TIMEOUT,
    patience: float = DEFAULT_PATIENCE,
    schedule: PollSchedule | None = None,
    budget: RequestBudget | None = None,
    sleep: Sleep = time.sleep,
    monotonic: Monotonic = time.monotonic,
    rng: random.Random | None = None,
) -> dict[str, Pipeline]:
    """Wait for many pipelines under one schedule and one request budget; return them done, in the given order.

    A round costs one ``list_pipelines`` page per project (created since the oldest of its pipelines still waited on;
    page size: the number of ours created since then) plus one describe per pipeline whose listed state changed, and
    only when the describe adds something (``detailed``, or the failed jobs for ``fail_fast``). 100 pipelines of one
    project cost one request per round instead of 100. Each is described once at the start (to learn its project),
    unless ``project`` names the project they (mostly) belong to: then the first round is one list of the newest
    pipelines of that project, and only those not on it are described.

    ``fail_fast`` raises :class:`PipelineFailed` as soon as one pipeline is done without passing, and with
    ``cancel_rest_on_failure`` terminates the others (those this process started, or all with ``cancel_foreign``).
    Timeout, interrupt, patience and ``on_change`` behave as in :func:`wait_for_pipeline`.
    """
    timeout = _check_timeout("timeout", timeout)
    appear_timeout = _check_timeout("appear_timeout", appear_timeout)
    order = list(dict.fromkeys(ppl_ids))
    plan = _schedule_for(schedule, rng)
    guard = _Guard(f"{len(order)} pipelines", patience=patience, sleep=sleep, monotonic=monotonic, budget=budget)
    started = monotonic()
    deadline = started + timeout
    known: dict[str, Pipeline] = {}
    done: dict[str, Pipeline] = {}
    wanted = set(order)
    foreign: dict[str, int] = {}  # per project: pipelines not ours on the last page (the next page makes room)

    def pending() -> list[str]:
        return [p for p in order if p not in done]

    def observe(pipeline: Pipeline, previous: Pipeline | None) -> bool:
        if _regressed(previous, pipeline):
            return False
        known[pipeline.ppl_id] = pipeline
        changed = previous is None or _signature(previous) != _signature(pipeline)
        if changed and on_change is not None:
            on_change(pipeline)
        if pipeline.done:
            done[pipeline.ppl_id] = pipeline
            if fail_fast and outcome(pipeline) is not Outcome.PASSED:
                if cancel_rest_on_failure:
                    _cancel(client, pending(), cancel_foreign=cancel_foreign)
                names = ", ".join(repr(j.name) for j in pipeline.failed_jobs) or "none reported"
                raise PipelineFailed(
                    f"pipeline {pipeline.ppl_id} ended {outcome(pipeline)} ({pipeline.result}/"
                    f"{pipeline.result_reason}); failed job(s): {names}",
                    pipeline=pipeline,
                    failed_jobs=pipeline.failed_jobs,
                )
        return changed

    def describe(ppl_id: str, *, detail: bool) -> Pipeline | _Missing:
        try:
            return guard.call(_describe, client, ppl_id, detailed=detail)
        except NotFoundError:
            if ppl_id in known or monotonic() - started >= appear_timeout:
                raise
            return _MISSING

    try:
        if project is not None and order:
            first = guard.call(client.list_pipelines, project, page_size=len(order), limit=len(order))
            if not isinstance(first, _Missing):
                if first:
                    ours = sum(1 for p in first if p.ppl_id in wanted)
                    foreign[first[0].project_id] = (len(first) - ours) + (len(order) - ours)
                for listed_one in first:
                    if listed_one.ppl_id not in wanted:
                        continue
                    if detailed or (fail_fast and listed_one.done):
                        described = describe(listed_one.ppl_id, detail=True)
                        if not isinstance(described, _Missing):
                            listed_one = described
                    observe(listed_one, None)
        while True:
            changed_any = False
            for ppl_id in pending():
                if ppl_id in known:
                    continue
                seen = describe(ppl_id, detail=detailed or fail_fast)
                if not isinstance(seen, _Missing):
                    changed_any |= observe(seen, None)
            by_project: dict[str, list[Pipeline]] = {}
            for ppl_id in pending():
                if ppl_id in known:
                    by_project.setdefault(known[ppl_id].project_id, []).append(known[ppl_id])
            for project, waiting in by_project.items():
                stamps = [p.created_at for p in waiting if p.created_at is not None]
                since = min(stamps) - _dt.timedelta(seconds=1) if stamps else None
                # the page lists every pipeline created since the oldest one still waited on, ours that are done
                # and other people's included: it must hold all of them, or some of ours would be pushed off it
                size = (
                    len(waiting)
                    + foreign.get(project, 0)
                    + sum(
                        1
                        for p in done.values()
                        if p.project_id == project
                        and (since is None or (p.created_at is not None and p.created_at > since))
                    )
                )
                listed = guard.call(
                    client.list_pipelines,
                    project,
                    created_after=since,
                    page_size=size,
                    limit=size,
                )
                if isinstance(listed, _Missing):
                    continue
                by_id = {p.ppl_id: p for p in listed}
                missing = sum(1 for p in waiting if p.ppl_id not in by_id)
                foreign[project] = sum(1 for p in listed if p.ppl_id not in wanted) + missing
                for previous in waiting:
                    fresh = by_id.get(previous.ppl_id)
                    if fresh is None:  # pushed off the page by newer pipelines: ask for it alone
                        again = describe(previous.ppl_id, detail=detailed or fail_fast)
                        if not isinstance(again, _Missing):
                            changed_any |= observe(again, previous)
                        continue
                    if _state_of(fresh) == _state_of(previous):
                        continue
                    if detailed or (fail_fast and fresh.done):
                        detail = describe(previous.ppl_id, detail=True)
                        if not isinstance(detail, _Missing):
                            fresh = detail
                    changed_any |= observe(fresh, previous)
            if not pending():
                return {p: done[p] for p in order}
            if changed_any:
                plan.changed()
            now = monotonic()
            if now >= deadline:
                waiting_ids = pending()
                canceled = _cancel(client, waiting_ids, cancel_foreign=cancel_foreign) if cancel_on_timeout else []
                last = known.get(waiting_ids[0]) if waiting_ids else None
                raise _timeout_error(f"{len(waiting_ids)} of {len(order)} pipelines", timeout, last, guard, canceled)
            sleep(min(plan.next_delay(retry_after=guard.retry_after), deadline - now))
    except KeyboardInterrupt:
        if cancel_on_interrupt:
            _cancel(client, pending(), cancel_foreign=cancel_foreign)
        raise


# --------------------------------------------------------------------------------------------- workflows


def _has_promotions(pipeline: Pipeline) -> bool:
    """Whether a pipeline can have promotions (listing those of one without any answers 500 on Semaphore)."""
    return bool(pipeline.switch_id)


def wait_for_workflow(
    client: SemaphoreClient,
    wf_id: str,
    *,
    include_promotions: bool = False,
    promotion_grace: float = DEFAULT_PROMOTION_GRACE,
    timeout: float = DEFAULT_TIMEOUT,
    on_change: OnChange | None = None,
    patience: float = DEFAULT_PATIENCE,
    schedule: PollSchedule | None = None,
    budget: RequestBudget | None = None,
    sleep: Sleep = time.sleep,
    monotonic: Monotonic = time.monotonic,
    rng: random.Random | None = None,
) -> list[Pipeline]:
    """Wait until every pipeline of workflow ``wf_id`` is done; return them, oldest first.

    One ``list_pipelines(wf_id=...)`` per poll. With ``include_promotions`` the pipelines that promotions schedule
    during the wait count too: the wait goes on while a promotion of a done pipeline is ``processing`` or has
    scheduled a pipeline not yet seen, and for ``promotion_grace`` seconds after the last pipeline ended (Semaphore
    starts auto-promotions asynchronously, so "no promotion yet" right after the end proves nothing).
    """
    timeout = _check_timeout("timeout", timeout)
    plan = _schedule_for(schedule, rng)
    guard = _Guard(f"workflow {wf_id}", patience=patience, sleep=sleep, monotonic=monotonic, budget=budget)
    deadline = monotonic() + timeout
    seen: dict[str, Pipeline] = {}
    all_done_since: float | None = None
    epoch = _dt.datetime.min.replace(tzinfo=_dt.timezone.utc)
    while True:
        listed = guard.call(client.list_pipelines, None, wf_id=wf_id)
        changed = False
        if not isinstance(listed, _Missing):
            for pipeline in listed:
                previous = seen.get(pipeline.ppl_id)
                if previous is None or _signature(previous) != _signature(pipeline):
                    changed = True
                    seen[pipeline.ppl_id] = pipeline
                    if on_change is not None:
                        on_change(pipeline)
            everything_done = bool(seen) and all(p.done for p in seen.values())
            if everything_done and include_promotions:
                for pipeline in list(seen.values()):
                    if not _has_promotions(pipeline):
                        continue
                    records = guard.call(client.list_promotions, pipeline.ppl_id)
                    if isinstance(records, _Missing):
                        everything_done = False
                        continue
                    unresolved = [
                        r
                        for r in records
                        if r.status == "processing"
                        or (
                            r.status == "passed"
                            and (not r.scheduled_pipeline_id or r.scheduled_pipeline_id not in seen)
                        )
                    ]
                    if unresolved:
                        everything_done = False
            if everything_done:
                now = monotonic()
                if changed or all_done_since is None:
                    all_done_since = now
                if not include_promotions or now - all_done_since >= promotion_grace:
                    return sorted(seen.values(), key=lambda p: p.created_at or epoch)
            else:
                all_done_since = None
        if changed:
            plan.changed()
        now = monotonic()
        if now >= deadline:
            unfinished = [p for p in seen.values() if not p.done]
            raise _timeout_error(f"workflow {wf_id}", timeout, unfinished[0] if unfinished else None, guard, ())
        delay = plan.next_delay(retry_after=guard.retry_after)
        if all_done_since is not None:
            delay = min(delay, max(0.0, all_done_since + promotion_grace - now)) or delay
        sleep(min(delay, deadline - now))


# --------------------------------------------------------------------------------------------- promotions


def _promotion_key(record: Promotion) -> tuple[object, ...]:
    """What tells two records of the same promotion apart (``scheduled_pipeline_id`` fills in later)."""
    return (record.name, record.triggered_at, record.triggered_by, record.override)


@dataclass(frozen=True)
class PromotionResult:
    """What :func:`wait_for_promotion` found: our promotion record, the pipeline it scheduled (done), and the tree.

    ``pipelines`` is every pipeline of the promotion tree, the promoted one first, then (with
    ``follow_auto_promotions``) each pipeline auto-promotions scheduled below it, breadth first. ``failed_promotions``
    are ``(ppl_id, record)`` pairs of auto-promotions in the tree that Semaphore refused.
    """

    promotion: Promotion
    pipeline: Pipeline
    pipelines: tuple[Pipeline, ...]
    failed_promotions: tuple[tuple[str, Promotion], ...] = field(default=())

    @property
    def outcome(self) -> Outcome:
        """The worst outcome in the tree (error > failed > stopped > canceled > passed); a refused auto-promotion
        counts as an error."""
        if self.failed_promotions:
            return Outcome.ERROR
        return worst_outcome(self.pipelines)


_REFUSED = (
    "Semaphore marked the promotion 'failed' without scheduling a pipeline: usually a required parameter is "
    "missing or not among its options, the deployment target refused the promoter, or the promoted pipeline file "
    "cannot be read"
)


def wait_for_promotion(
    client: SemaphoreClient,
    ppl_id: str,
    name: str,
    *,
    override: bool = False,
    parameters: Mapping[str, str] | None = None,
    trigger: bool = True,
    snapshot: Sequence[Promotion] | None = None,
    follow_auto_promotions: bool = False,
    promotion_grace: float = DEFAULT_PROMOTION_GRACE,
    timeout: float = DEFAULT_TIMEOUT,
    fail_fast: bool = False,
    cancel_on_timeout: bool = False,
    cancel_on_interrupt: bool = False,
    on_change: OnChange | None = None,
    patience: float = DEFAULT_PATIENCE,
    budget: RequestBudget | None = None,
    sleep: Sleep = time.sleep,
    monotonic: Monotonic = time.monotonic,
    rng: random.Random | None = None,
) -> PromotionResult:
    """Trigger promotion ``name`` of ``ppl_id`` and wait for the pipeline it schedules; return the whole result.

    Our promotion is the record named ``name`` that was not in the snapshot of the promotions list taken before the
    trigger (pass ``trigger=False`` and that ``snapshot`` if you triggered it yourself). It is waited for while
    ``processing``; ``failed`` raises :class:`PromotionFailed`; ``passed`` gives ``scheduled_pipeline_id`` (which
    Semaphore fills in after a delay), which is marked as started by this process and waited for like
    :func:`wait_for_pipeline`. ``follow_auto_promotions`` walks the tree: every auto-promotion of a done pipeline in
    it (looked for during ``promotion_grace`` seconds after that pipeline ended) is followed too.

    The returned pipelines may have failed: :attr:`PromotionResult.outcome` is the verdict.
    """
    timeout = _check_timeout("timeout", timeout)
    rng = rng if rng is not None else random.Random()  # noqa: S311 - jitter, not cryptography
    shared_budget = _budget_for(budget, monotonic)
    guard = _Guard(f"promotion {name!r}", patience=patience, sleep=sleep, monotonic=monotonic, budget=shared_budget)
    deadline = monotonic() + timeout

    def remaining() -> float:
        return max(0.0, deadline - monotonic())

    def wait_pipeline(target: str) -> Pipeline:
        return wait_for_pipeline(
            client,
            target,
            timeout=remaining(),
            fail_fast=fail_fast,
            cancel_on_timeout=cancel_on_timeout,
            cancel_on_interrupt=cancel_on_interrupt,
            on_change=on_change,
            patience=patience,
            budget=shared_budget,
            sleep=sleep,
            monotonic=monotonic,
            rng=rng,
        )

    if trigger:
        if snapshot is None:
            before = _retry_until_answer(
                guard, deadline, sleep, monotonic, rng, client.list_promotions, ppl_id, name=name
            )
            snapshot = before
        client.trigger_promotion(ppl_id, name, override=override, parameters=dict(parameters or {}))
    known = {_promotion_key(r) for r in (snapshot or ()) if r.name == name}

    def ours(record: Promotion) -> bool:
        return record.name == name and _promotion_key(record) not in known

    try:
        record = _await_promotion(client, ppl_id, ours, guard, deadline, sleep, monotonic, rng)
    except KeyboardInterrupt:
        if cancel_on_interrupt and trigger:
            _cancel_scheduled(client, ppl_id, ours)
        raise
    if record.status == "failed":
        raise PromotionFailed(ppl_id, name, _REFUSED, promotion=record)
    assert record.scheduled_pipeline_id is not None
    mark_started(record.scheduled_pipeline_id)
    promoted = wait_pipeline(record.scheduled_pipeline_id)
    tree = [promoted]
    refused: list[tuple[str, Promotion]] = []
    if follow_auto_promotions:
        queue = [promoted]
        visited = {promoted.ppl_id}  # a pipeline reached twice (a cycle in what the API reports) is walked once
        while queue:
            parent = queue.pop(0)
            for child in _auto_promotions(client, parent, guard, deadline, promotion_grace, sleep, monotonic, rng):
                if child.status == "failed":
                    refused.append((parent.ppl_id, child))
                    continue
                assert child.scheduled_pipeline_id is not None
                if child.scheduled_pipeline_id in visited:
                    continue
                visited.add(child.scheduled_pipeline_id)
                mark_started(child.scheduled_pipeline_id)
                done = wait_pipeline(child.scheduled_pipeline_id)
                tree.append(done)
                queue.append(done)
    return PromotionResult(promotion=record, pipeline=promoted, pipelines=tuple(tree), failed_promotions=tuple(refused))


def _cancel_scheduled(client: SemaphoreClient, ppl_id: str, ours: Callable[[Promotion], bool]) -> None:
    """On an interrupt before our promotion was seen resolved: terminate the pipeline it scheduled, if it already did.

    Why: the interrupt can come between Semaphore scheduling the pipeline and our next poll; the pipeline is ours (we
    triggered it) and would otherwise run on unwatched. One request, best effort: a promotion still ``processing``
    schedules its pipeline after we are gone, and nothing can be done about that here.
    """
    try:
        records = client.list_promotions(ppl_id)
    except SemaphoreError:
        return
    for record in records:
        if ours(record) and record.scheduled_pipeline_id:
            mark_started(record.scheduled_pipeline_id)
            _cancel(client, [record.scheduled_pipeline_id], cancel_foreign=False)


def _retry_until_answer(
    guard: _Guard,
    deadline: float,
    sleep: Sleep,
    monotonic: Monotonic,
    rng: random.Random,
    fn: Callable[..., T],
    *args: Any,
    **kwargs: Any,
) -> T:
    """Call ``fn`` until it answers (transient failures within patience are retried on the schedule)."""
    plan = PollSchedule(rng=rng)
    while True:
        answer = guard.call(fn, *args, **kwargs)
        if not isinstance(answer, _Missing):
            return answer
        now = monotonic()
        if now >= deadline:
            raise WaitTimeout(f"timed out waiting for an answer to {guard.what}: {guard.last_error}")
        sleep(min(plan.next_delay(retry_after=guard.retry_after), deadline - now))


def _resolved(record: Promotion) -> bool:
    return record.status == "failed" or (record.status == "passed" and bool(record.scheduled_pipeline_id))


def _await_promotion(
    client: SemaphoreClient,
    ppl_id: str,
    wanted: Callable[[Promotion], bool],
    guard: _Guard,
    deadline: float,
    sleep: Sleep,
    monotonic: Monotonic,
    rng: random.Random,
) -> Promotion:
    """Poll the promotions of ``ppl_id`` until a record matching ``wanted`` is resolved (failed, or passed with its
    scheduled pipeline id); the oldest such record if several appeared."""
    plan = PollSchedule(rng=rng)
    last_status: str | None = None
    while True:
        records = guard.call(client.list_promotions, ppl_id)
        if not isinstance(records, _Missing):
            ours = [r for r in records if wanted(r)]
            if ours:
                epoch = _dt.datetime.min.replace(tzinfo=_dt.timezone.utc)
                record = min(ours, key=lambda r: r.triggered_at or epoch)
                if _resolved(record):
                    return record
                if record.status != last_status:
                    last_status = record.status
                    plan.changed()
        now = monotonic()
        if now >= deadline:
            raise WaitTimeout(
                f"timed out waiting for the promotion of pipeline {ppl_id} (status {last_status or 'not yet listed'})"
            )
        sleep(min(plan.next_delay(retry_after=guard.retry_after), deadline - now))


def _auto_promotions(
    client: SemaphoreClient,
    parent: Pipeline,
    guard: _Guard,
    deadline: float,
    grace: float,
    sleep: Sleep,
    monotonic: Monotonic,
    rng: random.Random,
) -> list[Promotion]:
    """The auto-promotions of a done pipeline, each resolved; looked for until ``grace`` seconds after it ended."""
    if not _has_promotions(parent):
        return []
    plan = PollSchedule(rng=rng)
    ended = monotonic()
    resolved: dict[tuple[object, ...], Promotion] = {}
    while True:
        records = guard.call(client.list_promotions, parent.ppl_id)
        pending = False
        if not isinstance(records, _Missing):
            for record in records:
                if not record.automatic:
                    continue
                if _resolved(record):
                    resolved[_promotion_key(record)] = record
                else:
                    pending = True
        else:
            pending = True
        now = monotonic()
        if not pending and now - ended >= grace:
            return list(resolved.values())
        if now >= deadline:
            raise WaitTimeout(f"timed out waiting for the auto-promotions of pipeline {parent.ppl_id}")
        delay = plan.next_delay(retry_after=guard.retry_after)
        if not pending:
            delay = min(delay, max(0.0, ended + grace - now)) or delay
        sleep(min(delay, deadline - now))
