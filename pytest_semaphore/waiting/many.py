"""Waiting for many pipelines at once (:func:`wait_for_pipelines`): one list request per project per round instead of
one describe per pipeline.

Why a wait of its own: a gate on 100 pipelines that described each of them every round would spend 100 requests a
round; the list of a project's pipelines shows every one's state, so a describe is needed only when a listed state
changed and the describe adds something (the jobs, for ``detailed`` or ``fail_fast``).
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..errors import NotFoundError, PipelineFailed
from .loop import DEFAULT_TIMEOUT, MISSING, Missing, OutageGuard, Poller, Round, check_timeout, run
from .observe import describe_checked, listed_state, regressed, signature
from .outcomes import Outcome, outcome
from .pacing import Pacing
from .pipeline import DEFAULT_APPEAR_TIMEOUT, OnChange
from .started import CancelOptions, cancel

if TYPE_CHECKING:
    from ..client import SemaphoreClient
    from ..models import Pipeline

__all__ = ["wait_for_pipelines"]


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
    pacing: Pacing | None = None,
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
    Timeout, interrupt, ``on_change`` and ``pacing`` behave as in :func:`wait_for_pipeline`.
    """
    timeout = check_timeout("timeout", timeout)
    appear_timeout = check_timeout("appear_timeout", appear_timeout)
    pacing = pacing if pacing is not None else Pacing()
    order = list(dict.fromkeys(ppl_ids))
    waiter = _ManyWait(
        OutageGuard(f"{len(order)} pipelines", pacing),
        client,
        order,
        timeout=timeout,
        appear_timeout=appear_timeout,
        fail_fast=fail_fast,
        detailed=detailed,
        first_project=project,
        on_change=on_change,
        cancelling=CancelOptions(cancel_on_timeout, cancel_on_interrupt, cancel_foreign),
        cancel_rest_on_failure=cancel_rest_on_failure,
    )
    return run(waiter, pacing.schedule(), waiter.started + timeout)


@dataclass(eq=False)
class _ManyWait(Poller[dict[str, "Pipeline"]]):
    """A round: a describe of each pipeline whose project is not known yet, then one list per project and a
    describe of each listed pipeline whose state changed, when that adds something."""

    guard: OutageGuard
    client: SemaphoreClient
    order: list[str]
    timeout: float
    appear_timeout: float
    fail_fast: bool
    detailed: bool
    first_project: str | None  # the first round lists its newest pipelines (later rounds list per known project)
    on_change: OnChange | None
    cancelling: CancelOptions
    cancel_rest_on_failure: bool
    known: dict[str, Pipeline] = field(default_factory=dict, init=False)
    done: dict[str, Pipeline] = field(default_factory=dict, init=False)
    # per project: pipelines not ours on the last page (the next page makes room for them)
    foreign: dict[str, int] = field(default_factory=dict, init=False)
    wanted: set[str] = field(init=False)
    started: float = field(init=False)

    def __post_init__(self) -> None:
        self.wanted = set(self.order)
        self.started = self.guard.monotonic()

    # ------------------------------------------------------------------------------------------------- the round

    def poll(self) -> Round[dict[str, Pipeline]]:
        changed = False
        if self.first_project is not None:
            self._list_given_project(self.first_project)
            self.first_project = None
        for ppl_id in self.pending():
            if ppl_id not in self.known:
                seen = self._look_up(ppl_id, detail=self.detailed or self.fail_fast)
                if not isinstance(seen, Missing):
                    changed |= self._observe(seen, None)
        by_project: dict[str, list[Pipeline]] = {}
        for ppl_id in self.pending():
            if ppl_id in self.known:
                by_project.setdefault(self.known[ppl_id].project_id, []).append(self.known[ppl_id])
        for project_id, waiting in by_project.items():
            changed |= self._list_project(project_id, waiting)
        if not self.pending():
            return Round({p: self.done[p] for p in self.order})
        return Round(changed=changed)

    def _list_given_project(self, project: str) -> None:
        """The first round with ``project``: one page of its newest pipelines stands for the initial describes."""
        if not self.order:
            return
        first = self.guard.call(self.client.list_pipelines, project, page_size=len(self.order), limit=len(self.order))
        if isinstance(first, Missing):
            return
        if first:
            ours = sum(1 for p in first if p.ppl_id in self.wanted)
            self.foreign[first[0].project_id] = (len(first) - ours) + (len(self.order) - ours)
        for listed in first:
            if listed.ppl_id not in self.wanted:
                continue
            if self.detailed or (self.fail_fast and listed.done):
                described = self._look_up(listed.ppl_id, detail=True)
                if not isinstance(described, Missing):
                    listed = described
            self._observe(listed, None)

    def _list_project(self, project_id: str, waiting: list[Pipeline]) -> bool:
        """One page of ``project_id``'s pipelines created since the oldest of ``waiting``; whether any changed."""
        stamps = [p.created_at for p in waiting if p.created_at is not None]
        since = min(stamps) - _dt.timedelta(seconds=1) if stamps else None
        # the page lists every pipeline created since the oldest one still waited on, ours that are done and other
        # people's included: it must hold all of them, or some of ours would be pushed off it
        size = (
            len(waiting)
            + self.foreign.get(project_id, 0)
            + sum(
                1
                for p in self.done.values()
                if p.project_id == project_id and (since is None or (p.created_at is not None and p.created_at > since))
            )
        )
        listed = self.guard.call(
            self.client.list_pipelines, project_id, created_after=since, page_size=size, limit=size
        )
        if isinstance(listed, Missing):
            return False
        by_id = {p.ppl_id: p for p in listed}
        missing = sum(1 for p in waiting if p.ppl_id not in by_id)
        self.foreign[project_id] = sum(1 for p in listed if p.ppl_id not in self.wanted) + missing
        changed = False
        for previous in waiting:
            fresh = by_id.get(previous.ppl_id)
            if fresh is None:  # pushed off the page by newer pipelines: ask for it alone
                again = self._look_up(previous.ppl_id, detail=self.detailed or self.fail_fast)
                if not isinstance(again, Missing):
                    changed |= self._observe(again, previous)
                continue
            if listed_state(fresh) == listed_state(previous):
                continue
            if self.detailed or (self.fail_fast and fresh.done):
                described = self._look_up(previous.ppl_id, detail=True)
                if not isinstance(described, Missing):
                    fresh = described
            changed |= self._observe(fresh, previous)
        return changed

    # ------------------------------------------------------------------------------------------------- pieces

    def pending(self) -> list[str]:
        return [p for p in self.order if p not in self.done]

    def _look_up(self, ppl_id: str, *, detail: bool) -> Pipeline | Missing:
        """Describe one of ours; a 404 is no answer while the id may still be appearing."""
        try:
            return self.guard.call(describe_checked, self.client, ppl_id, detailed=detail)
        except NotFoundError:
            if ppl_id in self.known or self.guard.monotonic() - self.started >= self.appear_timeout:
                raise
            return MISSING

    def _observe(self, pipeline: Pipeline, previous: Pipeline | None) -> bool:
        """Take in one answer about ``pipeline``; whether it changed. Fail-fast raises on a done one not passed."""
        if regressed(previous, pipeline):
            return False
        self.known[pipeline.ppl_id] = pipeline
        changed = previous is None or signature(previous) != signature(pipeline)
        if changed and self.on_change is not None:
            self.on_change(pipeline)
        if pipeline.done:
            self.done[pipeline.ppl_id] = pipeline
            if self.fail_fast and outcome(pipeline) is not Outcome.PASSED:
                if self.cancel_rest_on_failure:
                    cancel(self.client, self.pending(), cancel_foreign=self.cancelling.foreign)
                names = ", ".join(repr(j.name) for j in pipeline.failed_jobs) or "none reported"
                raise PipelineFailed(
                    f"pipeline {pipeline.ppl_id} ended {outcome(pipeline)} ({pipeline.result}/"
                    f"{pipeline.result_reason}); failed job(s): {names}",
                    pipeline=pipeline,
                    failed_jobs=pipeline.failed_jobs,
                )
        return changed

    # ------------------------------------------------------------------------------------------------- endings

    def timed_out(self) -> BaseException:
        waiting_ids = self.pending()
        canceled = self.cancelling.at_timeout(self.client, waiting_ids)
        last = self.known.get(waiting_ids[0]) if waiting_ids else None
        return self.guard.timeout_error(
            self.timeout, last, canceled, what=f"{len(waiting_ids)} of {len(self.order)} pipelines"
        )

    def interrupted(self) -> None:
        self.cancelling.at_interrupt(self.client, self.pending())
