"""Promoting and waiting for what the promotion starts (:func:`wait_for_promotion`, :class:`PromotionResult`).

A promotion is asynchronous on Semaphore: the trigger answers at once, the promotion record is ``processing`` for a
while, and the pipeline it schedules is named in the record only later. So the wait is three polls in a row, each on
the shared deadline and request budget: the record until it is resolved, the pipeline it scheduled (as
:func:`~pytest_semaphore.waiting.wait_for_pipeline`), and with ``follow_auto_promotions`` the auto-promotions of every
pipeline in the tree.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Generic, TypeVar

from ..errors import APIUnavailable, OutcomeUnknown, PromotionFailed, SemaphoreError, WaitTimeout
from .loop import DEFAULT_TIMEOUT, Missing, OutageGuard, Poller, Round, check_timeout, run
from .observe import EPOCH
from .outcomes import Outcome, worst_outcome
from .pacing import Pacing
from .pipeline import OnChange, wait_for_pipeline
from .started import cancel, mark_started
from .workflow import DEFAULT_PROMOTION_GRACE, has_promotions

if TYPE_CHECKING:
    from ..client import SemaphoreClient
    from ..models import Pipeline, Promotion

__all__ = ["PromotionResult", "wait_for_promotion"]


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
    pacing: Pacing | None = None,
) -> PromotionResult:
    """Trigger promotion ``name`` of ``ppl_id`` and wait for the pipeline it schedules; return the whole result.

    Our promotion is the record named ``name`` that was not in the snapshot of the promotions list taken before the
    trigger (pass ``trigger=False`` and that ``snapshot`` if you triggered it yourself). It is waited for while
    ``processing``; ``failed`` raises :class:`PromotionFailed`; ``passed`` gives ``scheduled_pipeline_id`` (which
    Semaphore fills in after a delay), which is marked as started by this process and waited for like
    :func:`wait_for_pipeline`. ``follow_auto_promotions`` walks the tree: every auto-promotion of a done pipeline in
    it (looked for during ``promotion_grace`` seconds after that pipeline ended) is followed too.

    ``timeout`` bounds the whole of it; ``pacing`` paces every poll (its request budget, or one made for this call,
    is shared by all of them). The returned pipelines may have failed: :attr:`PromotionResult.outcome` is the verdict.
    """
    timeout = check_timeout("timeout", timeout)
    pacing = pacing if pacing is not None else Pacing()
    pacing = dataclasses.replace(pacing, budget=pacing.request_budget())  # one budget for every poll of this call
    guard = OutageGuard(f"promotion {name!r}", pacing)
    deadline = guard.monotonic() + timeout

    def wait_pipeline(target: str) -> Pipeline:
        return wait_for_pipeline(
            client,
            target,
            timeout=max(0.0, deadline - guard.monotonic()),
            fail_fast=fail_fast,
            cancel_on_timeout=cancel_on_timeout,
            cancel_on_interrupt=cancel_on_interrupt,
            on_change=on_change,
            pacing=pacing,
        )

    if trigger:
        if snapshot is None:
            snapshot = run(
                _Answer(guard, lambda: client.list_promotions(ppl_id, name=name)), pacing.schedule(), deadline
            )
        trigger_within_patience(client, guard, pacing, deadline, ppl_id, name, override, dict(parameters or {}))
    known = {r.identity for r in (snapshot or ()) if r.name == name}

    def ours(record: Promotion) -> bool:
        return record.name == name and record.identity not in known

    try:
        record = run(_PromotionRecord(guard, client, ppl_id, ours), pacing.schedule(), deadline)
    except KeyboardInterrupt:
        if cancel_on_interrupt and trigger:  # with trigger=False the caller cancels what it triggered (promote() does)
            cancel_triggered(client, ppl_id, ours, pacing)
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
            if not has_promotions(parent):
                continue
            children = run(_AutoPromotions(guard, client, parent, promotion_grace), pacing.schedule(), deadline)
            for child in children:
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


#: On an interrupt, how long (seconds) a promotion we triggered is given to schedule its pipeline so that the cancel
#: option can terminate it; Semaphore handles a promotion within seconds, and CI stops a job with SIGTERM some time
#: before it kills it.
INTERRUPT_SETTLE = 10.0


def cancel_triggered(
    client: SemaphoreClient,
    ppl_id: str,
    ours: Callable[[Promotion], bool],
    pacing: Pacing,
    *,
    within: float = INTERRUPT_SETTLE,
) -> None:
    """On an interrupt after we triggered a promotion: terminate the pipeline it scheduled.

    Why: the interrupt can come while Semaphore is still processing the promotion, or between it scheduling the
    pipeline and our next poll; the pipeline is ours (we triggered it) and would otherwise run on unwatched. So the
    promotion is looked at again every two seconds for at most ``within`` seconds, until Semaphore has handled it.
    Best effort: an unreadable list is tried again within that time, and a second interrupt ends the looking.
    """
    deadline = pacing.monotonic() + within
    while True:
        try:
            mine = [r for r in client.list_promotions(ppl_id) if ours(r)]
        except SemaphoreError:
            mine = None
        for record in mine or ():
            if record.scheduled_pipeline_id:
                mark_started(record.scheduled_pipeline_id)
                cancel(client, [record.scheduled_pipeline_id], cancel_foreign=False)
        if mine == [] or (mine and all(resolved(r) for r in mine)) or pacing.monotonic() >= deadline:
            return
        pacing.sleep(min(2.0, max(0.0, deadline - pacing.monotonic())))


def resolved(record: Promotion) -> bool:
    """Whether Semaphore has handled a promotion record: refused it, or scheduled its pipeline (and named it)."""
    return record.status == "failed" or (record.status == "passed" and bool(record.scheduled_pipeline_id))


def trigger_within_patience(
    client: SemaphoreClient,
    guard: OutageGuard,
    pacing: Pacing,
    deadline: float,
    ppl_id: str,
    name: str,
    override: bool,
    parameters: Mapping[str, str],
) -> None:
    """Trigger promotion ``name`` of ``ppl_id``, as an outage allows: within the patience and ``deadline``.

    The client sends a trigger again only after the promotions list shows that the previous one had not landed, and
    gives up after a few sends. When none landed, that is an outage like any other: the trigger is tried again on
    the pacing's schedule until the outage outlasts the patience (``APIUnavailable``). Every send carries the same
    request token, which Semaphore deduplicates, so a trigger that lands late is not doubled. A 500 (Semaphore's
    answer to a parameter it refuses) is raised at once.
    """
    token = str(uuid.uuid4())

    def send() -> bool:
        try:
            client.trigger_promotion(ppl_id, name, override=override, parameters=parameters, request_token=token)
        except OutcomeUnknown as unknown:
            raise APIUnavailable(unknown.method, unknown.path, unknown.reason) from unknown
        return True

    run(_Answer(guard, send), pacing.schedule(), deadline)


T = TypeVar("T")


@dataclass(eq=False)
class _Answer(Poller[T], Generic[T]):
    """A round: one call of ``ask``; over at the first answer (transient failures within patience are retried)."""

    guard: OutageGuard
    ask: Callable[[], T]

    def poll(self) -> Round[T]:
        answer = self.guard.call(self.ask)
        return Round(None if isinstance(answer, Missing) else answer)

    def timed_out(self) -> BaseException:
        return WaitTimeout(f"timed out waiting for an answer to {self.guard.what}: {self.guard.last_error}")


@dataclass(eq=False)
class _PromotionRecord(Poller["Promotion"]):
    """A round: the promotions of ``ppl_id``; over when the oldest record matching ``wanted`` is resolved (failed,
    or passed with its scheduled pipeline id)."""

    guard: OutageGuard
    client: SemaphoreClient
    ppl_id: str
    wanted: Callable[[Promotion], bool]
    last_status: str | None = field(default=None, init=False)

    def poll(self) -> Round[Promotion]:
        records = self.guard.call(self.client.list_promotions, self.ppl_id)
        if isinstance(records, Missing):
            return Round()
        ours = [r for r in records if self.wanted(r)]
        if not ours:
            return Round()
        record = min(ours, key=lambda r: r.triggered_at or EPOCH)
        if resolved(record):
            return Round(record)
        changed = record.status != self.last_status
        self.last_status = record.status
        return Round(changed=changed)

    def timed_out(self) -> BaseException:
        status = self.last_status or "not yet listed"
        return WaitTimeout(f"timed out waiting for the promotion of pipeline {self.ppl_id} (status {status})")


@dataclass(eq=False)
class _AutoPromotions(Poller[list["Promotion"]]):
    """A round: the promotions of a done pipeline; over once none of its auto-promotions is unresolved and ``grace``
    seconds have passed since the wait began (Semaphore starts auto-promotions asynchronously)."""

    guard: OutageGuard
    client: SemaphoreClient
    parent: Pipeline
    grace: float
    pending: bool = field(default=True, init=False)
    resolved: dict[tuple[object, ...], Promotion] = field(default_factory=dict, init=False)
    ended: float = field(init=False)

    def __post_init__(self) -> None:
        self.ended = self.guard.monotonic()

    def poll(self) -> Round[list[Promotion]]:
        records = self.guard.call(self.client.list_promotions, self.parent.ppl_id)
        self.pending = isinstance(records, Missing)
        if not isinstance(records, Missing):
            for record in records:
                if not record.automatic:
                    continue
                if resolved(record):
                    self.resolved[record.identity] = record
                else:
                    self.pending = True
        if not self.pending and self.guard.monotonic() - self.ended >= self.grace:
            return Round(list(self.resolved.values()))
        return Round()

    def pause_at_most(self, now: float) -> float | None:
        return None if self.pending else self.ended + self.grace - now

    def timed_out(self) -> BaseException:
        return WaitTimeout(f"timed out waiting for the auto-promotions of pipeline {self.parent.ppl_id}")
