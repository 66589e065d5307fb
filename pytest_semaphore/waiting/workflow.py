"""Waiting for a whole workflow (:func:`wait_for_workflow`): every pipeline of it, optionally with the pipelines its
promotions schedule while we wait.

One ``list_pipelines(wf_id=...)`` per round shows every pipeline of the workflow; the promotions lists are read only
once everything listed is done.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .loop import DEFAULT_TIMEOUT, Missing, OutageGuard, Poller, Round, check_timeout, run
from .observe import EPOCH, signature
from .pacing import Pacing
from .pipeline import OnChange
from .started import CancelOptions

if TYPE_CHECKING:
    from ..client import SemaphoreClient
    from ..models import Pipeline, Promotion

__all__ = ["DEFAULT_PROMOTION_GRACE", "has_promotions", "wait_for_workflow"]

#: How long after a pipeline is done its auto-promotions are looked for (Semaphore starts them asynchronously).
DEFAULT_PROMOTION_GRACE = 20.0


def has_promotions(pipeline: Pipeline) -> bool:
    """Whether a pipeline can have promotions (listing those of one without any answers 500 on Semaphore)."""
    return bool(pipeline.switch_id)


def wait_for_workflow(
    client: SemaphoreClient,
    wf_id: str,
    *,
    include_promotions: bool = False,
    promotion_grace: float = DEFAULT_PROMOTION_GRACE,
    timeout: float = DEFAULT_TIMEOUT,
    cancel_on_timeout: bool = False,
    cancel_on_interrupt: bool = False,
    cancel_foreign: bool = False,
    on_change: OnChange | None = None,
    pacing: Pacing | None = None,
) -> list[Pipeline]:
    """Wait until every pipeline of workflow ``wf_id`` is done; return them, oldest first.

    One ``list_pipelines(wf_id=...)`` per poll. With ``include_promotions`` the pipelines that promotions schedule
    during the wait count too: the wait goes on while a promotion of a done pipeline is ``processing`` or has
    scheduled a pipeline not yet seen, and for ``promotion_grace`` seconds after the last pipeline ended (Semaphore
    starts auto-promotions asynchronously, so "no promotion yet" right after the end proves nothing).

    ``cancel_on_timeout`` / ``cancel_on_interrupt`` terminate the workflow's unfinished pipelines on timeout / on
    ``KeyboardInterrupt`` (re-raised), those this process started (:func:`mark_started`), or all of them with
    ``cancel_foreign`` (a workflow named by the user is theirs to stop).
    """
    timeout = check_timeout("timeout", timeout)
    pacing = pacing if pacing is not None else Pacing()
    guard = OutageGuard(f"workflow {wf_id}", pacing)
    deadline = guard.monotonic() + timeout
    cancelling = CancelOptions(cancel_on_timeout, cancel_on_interrupt, cancel_foreign)
    waiter = _WorkflowWait(guard, client, wf_id, timeout, include_promotions, promotion_grace, on_change, cancelling)
    return run(waiter, pacing.schedule(), deadline)


@dataclass(eq=False)
class _WorkflowWait(Poller[list["Pipeline"]]):
    """A round: the workflow's pipelines, then (once all are done) their promotions; over after the grace period."""

    guard: OutageGuard
    client: SemaphoreClient
    wf_id: str
    timeout: float
    include_promotions: bool
    promotion_grace: float
    on_change: OnChange | None
    cancelling: CancelOptions
    seen: dict[str, Pipeline] = field(default_factory=dict, init=False)
    all_done_since: float | None = field(default=None, init=False)

    def poll(self) -> Round[list[Pipeline]]:
        listed = self.guard.call(self.client.list_pipelines, None, wf_id=self.wf_id)
        if isinstance(listed, Missing):
            return Round()
        changed = False
        for pipeline in listed:
            previous = self.seen.get(pipeline.ppl_id)
            if previous is None or signature(previous) != signature(pipeline):
                changed = True
                self.seen[pipeline.ppl_id] = pipeline
                if self.on_change is not None:
                    self.on_change(pipeline)
        everything_done = bool(self.seen) and all(p.done for p in self.seen.values())
        if everything_done and self.include_promotions:
            everything_done = self._promotions_settled()
        if not everything_done:
            self.all_done_since = None
            return Round(changed=changed)
        now = self.guard.monotonic()
        if changed or self.all_done_since is None:
            self.all_done_since = now
        if not self.include_promotions or now - self.all_done_since >= self.promotion_grace:
            return Round(sorted(self.seen.values(), key=lambda p: p.created_at or EPOCH))
        return Round(changed=changed)

    def _promotions_settled(self) -> bool:
        """Whether no promotion of a seen pipeline is processing or has scheduled a pipeline not yet seen."""
        settled = True
        for pipeline in list(self.seen.values()):
            if not has_promotions(pipeline):
                continue
            records = self.guard.call(self.client.list_promotions, pipeline.ppl_id)
            if isinstance(records, Missing) or any(self._unresolved(r) for r in records):
                settled = False
        return settled

    def _unresolved(self, record: Promotion) -> bool:
        return record.status == "processing" or (
            record.status == "passed"
            and (not record.scheduled_pipeline_id or record.scheduled_pipeline_id not in self.seen)
        )

    def pause_at_most(self, now: float) -> float | None:
        if self.all_done_since is None:
            return None
        return self.all_done_since + self.promotion_grace - now

    def unfinished(self) -> list[str]:
        return [p.ppl_id for p in self.seen.values() if not p.done]

    def timed_out(self) -> BaseException:
        unfinished = self.unfinished()
        canceled = self.cancelling.at_timeout(self.client, unfinished)
        return self.guard.timeout_error(self.timeout, self.seen[unfinished[0]] if unfinished else None, canceled)

    def interrupted(self) -> None:
        self.cancelling.at_interrupt(self.client, self.unfinished())
