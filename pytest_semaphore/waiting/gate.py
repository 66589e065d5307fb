"""Promote a pipeline, including the pipeline whose job is running this code: one function for both faces.

Why a function of its own: "trigger the promotion and wait for the promoted pipeline" is easy for a pipeline that is
done. A deployment gate usually promotes the pipeline it runs in, which is still running (this very job is part of
it), and there Semaphore's rules bite:

* Semaphore promotes a pipeline that has not passed only with ``override``; a running pipeline has not passed.
* A block that depends on this job's block runs after the promotion and could still fail: the promotion would have
  shipped a build whose pipeline ends red. Such a layout is refused
  (:class:`~pytest_semaphore.errors.ConfigurationError`).
* Parallel shards of one job all run the gate; only the last one (``SEMAPHORE_JOB_INDEX == SEMAPHORE_JOB_COUNT``)
  promotes, the others say so and do nothing.
* The gate waits for every *other* job of its pipeline to finish (a job's result is never trusted before it is
  finished) and triggers with ``override`` only if all of them passed.
* It does not wait for the promoted pipeline: Semaphore may start it only once its parent is done, and the parent
  includes this job, so the job would wait for itself.

Any other pipeline is waited for until done and promoted without override (unless asked), and the promoted pipeline
is waited for through :func:`~pytest_semaphore.waiting.wait_for_promotion` (following auto-promotions when asked).

A rerun that finds the same promotion already triggered with the same parameters reuses it instead of deploying a
second time, unless ``force``. The promotions list does not show parameters; they are read from the promoted
pipeline, where Semaphore records them (with defaults filled in, so only the parameters passed are compared).

``docs/waiting.md`` ("Promoting, including the pipeline that runs this job") is the user's guide.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from ..errors import ConfigurationError, PromotionFailed, WaitTimeout
from .loop import DEFAULT_TIMEOUT, Missing, OutageGuard, Poller, Round, check_timeout, run
from .observe import describe_checked, regressed, signature
from .outcomes import Outcome, outcome
from .pacing import Pacing
from .pipeline import OnChange, wait_for_pipeline
from .promotion import PromotionResult, cancel_triggered, resolved, trigger_within_patience, wait_for_promotion
from .started import mark_started

if TYPE_CHECKING:
    from ..client import SemaphoreClient
    from ..models import Pipeline, Promotion, TopologyBlock

__all__ = [
    "JOB_COUNT_VARIABLE",
    "JOB_ID_VARIABLE",
    "JOB_INDEX_VARIABLE",
    "SETTLE_WITHIN",
    "Blocker",
    "JobIdentity",
    "PromoteAction",
    "PromoteEvent",
    "PromoteResult",
    "promote",
]

T = TypeVar("T")

#: In the gate's own pipeline, how long an earlier promotion still ``processing`` is waited for before it counts as
#: not comparable (Semaphore may handle it only once the pipeline, which includes this job, is done).
SETTLE_WITHIN = 30.0


# --------------------------------------------------------------------------------------------- the running job

#: The job environment variables that tell which job is running, as Semaphore sets them in every job.
JOB_ID_VARIABLE = "SEMAPHORE_JOB_ID"
JOB_INDEX_VARIABLE = "SEMAPHORE_JOB_INDEX"
JOB_COUNT_VARIABLE = "SEMAPHORE_JOB_COUNT"


@dataclass(frozen=True)
class JobIdentity:
    """The Semaphore job this process runs in: its id and, for a ``parallelism`` job, which shard of how many.

    ``index`` counts from 1 to ``count``, as ``SEMAPHORE_JOB_INDEX`` does; a job without parallelism is shard 1 of 1.
    """

    job_id: str
    index: int = 1
    count: int = 1

    def __post_init__(self) -> None:
        if not self.job_id.strip():
            raise ConfigurationError(f"the running job's id ({JOB_ID_VARIABLE}) is empty")
        if not 1 <= self.index <= self.count:
            raise ConfigurationError(
                f"shard {self.index} of {self.count} is not a shard: {JOB_INDEX_VARIABLE} must be between 1 and "
                f"{JOB_COUNT_VARIABLE}"
            )

    @property
    def last_shard(self) -> bool:
        """Whether this is the shard that promotes (the last one; the only one of a job without parallelism)."""
        return self.index == self.count

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> JobIdentity | None:
        """The job described by ``environ`` (``os.environ`` in a Semaphore job); ``None`` outside a job.

        ``SEMAPHORE_JOB_INDEX``/``SEMAPHORE_JOB_COUNT`` are set only for ``parallelism`` jobs; absent, the job is
        shard 1 of 1. A value that is not a whole number is a :class:`ConfigurationError` naming the variable.
        """
        job_id = (environ.get(JOB_ID_VARIABLE) or "").strip()
        if not job_id:
            return None
        index = _shard_number(environ, JOB_INDEX_VARIABLE)
        count = _shard_number(environ, JOB_COUNT_VARIABLE)
        if index is None and count is None:
            return cls(job_id)
        if index is None or count is None:
            given, missing = (
                (JOB_INDEX_VARIABLE, JOB_COUNT_VARIABLE) if count is None else (JOB_COUNT_VARIABLE, JOB_INDEX_VARIABLE)
            )
            raise ConfigurationError(f"{given} is set but {missing} is not: set both (Semaphore sets both) or neither")
        return cls(job_id, index, count)


def _shard_number(environ: Mapping[str, str], name: str) -> int | None:
    text = (environ.get(name) or "").strip()
    if not text:
        return None
    try:
        return int(text)
    except ValueError:
        raise ConfigurationError(f"{name} must be a whole number, got {text!r}") from None


# --------------------------------------------------------------------------------------------- the result


class PromoteAction(str, enum.Enum):
    """What :func:`promote` did. A ``str`` so that it prints and serialises as its value."""

    TRIGGERED = "triggered"
    """The promotion was triggered."""
    REUSED = "reused"
    """The same promotion, with the same parameters, had already been triggered: it was reused, not repeated."""
    SKIPPED_SHARD = "skipped-shard"
    """This job is a shard other than the last of a parallel job; the last shard promotes."""
    NOT_PROMOTED = "not-promoted"
    """The pipeline (or another job of the gate's own pipeline) did not pass: nothing was triggered."""

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class Blocker:
    """A job (or a block that ran no job) that did not pass, and so kept the promotion from being triggered."""

    block: str
    job: str | None
    job_id: str | None
    result: str

    def __str__(self) -> str:
        if self.job is None:
            return f"block {self.block!r} ended {self.result}"
        return f"job {self.job!r} of block {self.block!r} ended {self.result}"


@dataclass(frozen=True)
class PromoteEvent:
    """A step of :func:`promote`, for progress output: ``kind`` is one of ``own-pipeline``, ``skipped-shard``,
    ``waiting-for-jobs``, ``not-promoted``, ``reused``, ``triggered`` and ``waiting-for-promoted``."""

    kind: str
    message: str
    promotion: Promotion | None = None


@dataclass(frozen=True)
class PromoteResult:
    """What :func:`promote` did and found, for people (``notes``) and for JSON (:meth:`to_dict`).

    ``promotion`` is the record triggered or reused (``None`` when nothing was); ``promoted`` the promotion tree,
    done, when it was waited for; ``blockers`` what did not pass when nothing was promoted, and ``source`` the
    pipeline they belong to, detailed as last seen (so that a face shows its failed jobs without asking again,
    outside the patience of the wait); ``outcome`` the verdict
    that decides an exit status: the promotion tree's when waited, the promoted pipeline's (or the failed jobs') when
    not promoted, ``None`` when there is no verdict to give (triggered without waiting, or another shard's turn).
    """

    action: PromoteAction
    ppl_id: str
    name: str
    parameters: Mapping[str, str]
    override: bool
    own_pipeline: bool
    outcome: Outcome | None = None
    promotion: Promotion | None = None
    promoted: PromotionResult | None = None
    blockers: tuple[Blocker, ...] = ()
    source: Pipeline | None = None
    notes: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """Whether the gate succeeded: promoted (or reused, or another shard's turn) and nothing waited on failed."""
        return self.action is not PromoteAction.NOT_PROMOTED and (self.outcome is None or self.outcome.ok)

    @property
    def exit_code(self) -> int:
        """``semaphore-gate``'s exit status for this result: the outcome's code, 0 when there is no verdict."""
        return 0 if self.outcome is None else self.outcome.exit_code

    @property
    def pipeline(self) -> Pipeline | None:
        """The promoted pipeline, done, when it was waited for."""
        return self.promoted.pipeline if self.promoted is not None else None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary (ids, states and words; no raw API payloads)."""
        record = self.promotion
        return {
            "action": self.action.value,
            "ppl_id": self.ppl_id,
            "name": self.name,
            "parameters": dict(self.parameters),
            "override": self.override,
            "own_pipeline": self.own_pipeline,
            "outcome": self.outcome.value if self.outcome is not None else None,
            "ok": self.ok,
            "promotion": None
            if record is None
            else {
                "status": record.status,
                "triggered_by": record.triggered_by,
                "override": record.override,
                "triggered_at": record.triggered_at.isoformat() if record.triggered_at else None,
                "scheduled_pipeline_id": record.scheduled_pipeline_id or None,
            },
            "promoted_pipelines": []
            if self.promoted is None
            else [
                {"ppl_id": p.ppl_id, "name": p.name, "result": p.result, "outcome": outcome(p).value}
                for p in self.promoted.pipelines
            ],
            "refused_auto_promotions": []
            if self.promoted is None
            else [{"ppl_id": parent, "name": r.name} for parent, r in self.promoted.failed_promotions],
            "blockers": [
                {"block": b.block, "job": b.job, "job_id": b.job_id, "result": b.result} for b in self.blockers
            ],
            "notes": list(self.notes),
        }


# --------------------------------------------------------------------------------------------- details


def describe_detailed(
    client: SemaphoreClient, pipelines: Sequence[Pipeline], *, pacing: Pacing | None = None
) -> list[Pipeline]:
    """``pipelines`` with their blocks and jobs: each itself when it has them, else described again in detail, under
    one request budget, transient failures retried within the pacing's patience like every request of a wait.

    Why: a face shows done pipelines' failed jobs after the wait, and those requests must neither turn an API hiccup
    into an error the wait itself would have ridden out, nor burst past the budget (a gate on 200 pipelines).
    """
    pacing = pacing or Pacing()
    pacing = dataclasses.replace(pacing, budget=pacing.request_budget())
    guard = OutageGuard(f"{len(pipelines)} pipelines", pacing)
    deadline = guard.monotonic() + DEFAULT_TIMEOUT
    detailed = []
    for pipeline in pipelines:
        if not pipeline.blocks:
            ppl_id = pipeline.ppl_id
            probe = _Probe(
                guard,
                lambda: guard.call(describe_checked, client, ppl_id, detailed=True),  # noqa: B023 - called at once
                f"the details of pipeline {ppl_id}",
                DEFAULT_TIMEOUT,
            )
            pipeline = run(probe, pacing.schedule(), deadline)
        detailed.append(pipeline)
    return detailed


# --------------------------------------------------------------------------------------------- promote


def promote(
    client: SemaphoreClient,
    ppl_id: str,
    name: str,
    *,
    parameters: Mapping[str, str] | None = None,
    override: bool = False,
    wait: bool = True,
    follow: bool = False,
    force: bool = False,
    job: JobIdentity | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    fail_fast: bool = False,
    cancel_on_timeout: bool = False,
    cancel_on_interrupt: bool = False,
    on_change: OnChange | None = None,
    on_event: Callable[[PromoteEvent], object] | None = None,
    pacing: Pacing | None = None,
) -> PromoteResult:
    """Promote ``ppl_id`` with promotion ``name``, by Semaphore's rules; see the module docstring for why.

    * ``job``: the job this process runs in (:meth:`JobIdentity.from_env`); when it is a job of ``ppl_id``, the
      gate's own-pipeline rules apply, and they decide ``override``, ``wait`` and ``follow``.
    * ``parameters``: the promotion's parameters; ``override``: promote even if the pipeline did not pass.
    * ``wait``: wait for the promoted pipeline; ``follow``: and for the auto-promotions below it.
    * ``force``: trigger even if the same promotion was already triggered with the same parameters.
    * ``timeout`` (finite, seconds) bounds the whole call; ``fail_fast``, ``cancel_on_timeout``,
      ``cancel_on_interrupt`` and ``on_change`` behave as in :func:`~pytest_semaphore.waiting.wait_for_pipeline`;
      ``pacing`` paces every poll, and one request budget serves them all.
    * ``on_event``: called with each :class:`PromoteEvent` (progress in words).

    Raises :class:`ConfigurationError` when a block depends on this job's block, and the waiting engine's errors
    (:class:`~pytest_semaphore.errors.WaitTimeout`, :class:`~pytest_semaphore.errors.APIUnavailable`,
    :class:`~pytest_semaphore.errors.PromotionFailed`...). A pipeline that did not pass is a result, not an error.
    """
    pacing = pacing if pacing is not None else Pacing()
    pacing = dataclasses.replace(pacing, budget=pacing.request_budget())  # one budget for every poll of this call
    call = _Call(
        client=client,
        ppl_id=ppl_id,
        name=name,
        parameters=dict(parameters or {}),
        pacing=pacing,
        timeout=check_timeout("timeout", timeout),
        on_change=on_change,
        on_event=on_event,
        fail_fast=fail_fast,
        cancel_on_timeout=cancel_on_timeout,
        cancel_on_interrupt=cancel_on_interrupt,
    )
    block = call.own_block(job) if job is not None else None
    if job is not None and block is not None:
        return call.promote_own(job, block, force=force, wait=wait, follow=follow)
    return call.promote_other(force=force, override=override, wait=wait, follow=follow)


@dataclass
class _Call:
    """One call of :func:`promote`: its inputs, deadline and the notes gathered on the way."""

    client: SemaphoreClient
    ppl_id: str
    name: str
    parameters: dict[str, str]
    pacing: Pacing
    timeout: float
    on_change: OnChange | None
    on_event: Callable[[PromoteEvent], object] | None
    fail_fast: bool
    cancel_on_timeout: bool
    cancel_on_interrupt: bool
    notes: list[str] = field(default_factory=list)
    sent_after: frozenset[tuple[object, ...]] | None = field(default=None, init=False)
    """The promotions listed just before our trigger was sent: set once it may have landed."""
    guard: OutageGuard = field(init=False)
    deadline: float = field(init=False)

    def __post_init__(self) -> None:
        self.guard = OutageGuard(f"pipeline {self.ppl_id}", self.pacing)
        self.deadline = self.guard.monotonic() + self.timeout

    # ------------------------------------------------------------------------------------ plumbing

    def remaining(self) -> float:
        return max(0.0, self.deadline - self.guard.monotonic())

    def event(self, kind: str, message: str, promotion: Promotion | None = None) -> None:
        if self.on_event is not None:
            self.on_event(PromoteEvent(kind, message, promotion))

    def note(self, kind: str, message: str, promotion: Promotion | None = None) -> None:
        """A note for the result that is also news for the progress output."""
        self.notes.append(message)
        self.event(kind, message, promotion)

    def result(self, action: PromoteAction, *, own: bool, override: bool, **fields: Any) -> PromoteResult:
        return PromoteResult(
            action=action,
            ppl_id=self.ppl_id,
            name=self.name,
            parameters=dict(self.parameters),
            override=override,
            own_pipeline=own,
            notes=tuple(self.notes),
            **fields,
        )

    def poll(self, probe: Callable[[], T | Missing | None], what: str, *, within: float | None = None) -> T:
        """Run ``probe`` on the pacing's schedule until it gives an answer (``None``: not yet), within the call's
        deadline, or within ``within`` seconds (sooner than that deadline)."""
        if within is None:
            return run(_Probe(self.guard, probe, what, self.timeout), self.pacing.schedule(), self.deadline)
        return run(_Probe(self.guard, probe, what, within), self.pacing.schedule(), self.guard.monotonic() + within)

    def ask(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """One answer from the API; transient failures are retried within the patience and the deadline."""
        return self.poll(lambda: self.guard.call(fn, *args, **kwargs), f"an answer about pipeline {self.ppl_id}")

    def promotions(self) -> list[Promotion]:
        return self.ask(self.client.list_promotions, self.ppl_id, name=self.name)

    # ------------------------------------------------------------------------------------ the gate's own pipeline

    def own_block(self, job: JobIdentity) -> str | None:
        """The name of the block of ``ppl_id`` that holds ``job``, or ``None`` if the job is not one of its jobs."""
        pipeline = self.ask(describe_checked, self.client, self.ppl_id, detailed=True)
        for block in pipeline.blocks:
            if any(j.job_id == job.job_id for j in block.jobs):
                return block.name
        return None

    def promote_own(self, job: JobIdentity, block: str, *, force: bool, wait: bool, follow: bool) -> PromoteResult:
        self.event("own-pipeline", f"pipeline {self.ppl_id} runs this job ({job.job_id}, block {block!r})")
        dependents = _dependents(self.ask(self.client.describe_topology, self.ppl_id), block)
        if dependents:
            raise ConfigurationError(
                f"refusing to promote {self.name!r} from job {job.job_id}: block(s) "
                f"{', '.join(repr(d) for d in dependents)} depend on this job's block {block!r}, run after the "
                "promotion and could still fail, leaving a promoted build whose pipeline is red. Promote from a block "
                "that no block depends on (see docs/waiting.md)"
            )
        if not job.last_shard:
            self.note(
                "skipped-shard",
                f"shard {job.index}/{job.count}: only the last shard ({job.count}/{job.count}) promotes, so that the "
                "promotion is triggered once",
            )
            return self.result(PromoteAction.SKIPPED_SHARD, own=True, override=False)
        self.event("waiting-for-jobs", f"waiting for every other job of pipeline {self.ppl_id} to finish")
        others = _OtherJobs(self.guard, self.client, self.ppl_id, job.job_id, self.on_change, self.timeout)
        blockers, count = run(others, self.pacing.schedule(), self.deadline)
        if blockers:
            self.note(
                "not-promoted",
                f"not promoted: other jobs of pipeline {self.ppl_id} did not pass: "
                + "; ".join(str(b) for b in blockers),
            )
            return self.result(
                PromoteAction.NOT_PROMOTED,
                own=True,
                override=False,
                outcome=_worst(blockers),
                blockers=blockers,
                source=others.last,
            )
        found = None if force else self.reusable(settle_within=SETTLE_WITHIN)
        if found is None:
            self.notes.append(
                f"override: pipeline {self.ppl_id} is still running (it runs this job) and Semaphore promotes a "
                f"pipeline that has not passed only with override; every other job of it passed ({count})"
            )
        record, _ = found if found is not None else self.trigger(override=True)
        if wait or follow:
            self.notes.append(
                f"not waiting for the promoted pipeline: Semaphore may start it only once pipeline {self.ppl_id} is "
                "done, and that pipeline includes this job, which would be waiting for itself"
            )
        if record.scheduled_pipeline_id:
            mark_started(record.scheduled_pipeline_id)
        action = PromoteAction.REUSED if found is not None else PromoteAction.TRIGGERED
        return self.result(action, own=True, override=record.override, promotion=record)

    # ------------------------------------------------------------------------------------ any other pipeline

    def promote_other(self, *, force: bool, override: bool, wait: bool, follow: bool) -> PromoteResult:
        done = wait_for_pipeline(
            self.client,
            self.ppl_id,
            timeout=self.remaining(),
            fail_fast=self.fail_fast,
            cancel_on_timeout=self.cancel_on_timeout,
            cancel_on_interrupt=self.cancel_on_interrupt,
            on_change=self.on_change,
            pacing=self.pacing,
        )
        verdict = outcome(done)
        if verdict is not Outcome.PASSED and not override:
            detailed = self.ask(describe_checked, self.client, self.ppl_id, detailed=True)
            self.note(
                "not-promoted",
                f"not promoted: pipeline {self.ppl_id} ended {verdict} and Semaphore promotes a pipeline that did not "
                "pass only with override",
            )
            return self.result(
                PromoteAction.NOT_PROMOTED,
                own=False,
                override=False,
                outcome=verdict,
                blockers=_blockers(detailed, exclude=None),
                source=detailed,
            )
        if override:
            self.notes.append(f"override as asked (pipeline {self.ppl_id} ended {verdict})")
        try:
            return self.promote_and_wait(force=force, override=override, wait=wait, follow=follow)
        except KeyboardInterrupt:
            if self.cancel_on_interrupt and self.sent_after is not None:
                cancel_triggered(self.client, self.ppl_id, self.ours, self.pacing)
            raise

    def ours(self, record: Promotion) -> bool:
        """Whether ``record`` is the promotion this gate triggered (a record of its name that was not there before)."""
        return record.name == self.name and self.sent_after is not None and record.identity not in self.sent_after

    def promote_and_wait(self, *, force: bool, override: bool, wait: bool, follow: bool) -> PromoteResult:
        found = None if force else self.reusable()
        record, known = found if found is not None else self.trigger(override=override)
        action = PromoteAction.REUSED if found is not None else PromoteAction.TRIGGERED
        if not wait and not follow:
            return self.result(action, own=False, override=override, promotion=self.resolve(record))
        self.event("waiting-for-promoted", f"waiting for the pipeline that promotion {self.name!r} scheduled", record)
        tree = wait_for_promotion(
            self.client,
            self.ppl_id,
            self.name,
            trigger=False,
            snapshot=known,
            follow_auto_promotions=follow,
            timeout=self.remaining(),
            on_change=self.on_change,
            fail_fast=self.fail_fast,
            cancel_on_timeout=self.cancel_on_timeout,
            cancel_on_interrupt=self.cancel_on_interrupt,
            pacing=self.pacing,
        )
        return self.result(
            action, own=False, override=override, promotion=tree.promotion, promoted=tree, outcome=tree.outcome
        )

    # ------------------------------------------------------------------------------------ triggering and reuse

    def trigger(self, *, override: bool) -> tuple[Promotion, list[Promotion]]:
        """Trigger the promotion; its record, as soon as the promotions list shows it, and the records before it."""
        before = self.promotions()  # read now: looking for a record to reuse may have taken a while
        known = {r.identity for r in before}
        self.sent_after = frozenset(known)  # from here on, an interrupt may leave a promotion of ours behind
        trigger_within_patience(
            self.client, self.guard, self.pacing, self.deadline, self.ppl_id, self.name, override, self.parameters
        )

        def probe() -> Promotion | Missing | None:
            records = self.guard.call(self.client.list_promotions, self.ppl_id, name=self.name)
            if isinstance(records, Missing):
                return records
            new = [r for r in records if r.name == self.name and r.identity not in known]
            return new[-1] if new else None  # newest first: the last new one is the oldest, ours

        record = self.poll(probe, f"the {self.name!r} promotion of pipeline {self.ppl_id} to be listed")
        self.event("triggered", f"triggered promotion {self.name!r} of pipeline {self.ppl_id}", record)
        return record, before

    def settle(self, record: Promotion, *, within: float | None = None) -> Promotion:
        """``record`` once Semaphore handled it (scheduled its pipeline, or refused to)."""

        def probe() -> Promotion | Missing | None:
            records = self.guard.call(self.client.list_promotions, self.ppl_id, name=self.name)
            if isinstance(records, Missing):
                return records
            same = [r for r in records if r.identity == record.identity]
            return same[0] if same and resolved(same[0]) else None

        return self.poll(probe, f"the {self.name!r} promotion of pipeline {self.ppl_id} to be handled", within=within)

    def resolve(self, record: Promotion) -> Promotion:
        """:meth:`settle`, a refusal raised as :class:`PromotionFailed`; the scheduled pipeline marked as ours."""
        settled = self.settle(record)
        if settled.status == "failed":
            raise PromotionFailed(
                self.ppl_id, self.name, "Semaphore refused to schedule its pipeline", promotion=settled
            )
        assert settled.scheduled_pipeline_id
        mark_started(settled.scheduled_pipeline_id)
        return settled

    def reusable(self, *, settle_within: float | None = None) -> tuple[Promotion, list[Promotion]] | None:
        """The newest record of this promotion triggered with the same parameters, if any, and the other records.

        A record still ``processing`` has no pipeline yet, so its parameters cannot be read: it is waited for until
        Semaphore handles it, for at most ``settle_within`` seconds (the gate's own pipeline, whose promotions
        Semaphore may handle only once it is done), else until the deadline. Without parameters to compare, it
        counts at once.
        """
        records = self.promotions()
        for record in records:
            if record.name != self.name or record.status == "failed":
                continue
            if not resolved(record):
                if not self.parameters:
                    return self.reuse(record, records)
                bound = settle_within if settle_within is not None and settle_within < self.remaining() else None
                try:
                    record = self.settle(record, within=bound)
                except WaitTimeout:
                    if bound is None:  # the call's own deadline: a timeout like any other
                        raise
                    self.notes.append(
                        f"an earlier {self.name!r} promotion was still processing after {bound:.0f} s, so "
                        "its parameters could not be compared: triggered anew"
                    )
                    continue
                if record.status == "failed":
                    continue
            assert record.scheduled_pipeline_id
            promoted = self.ask(self.client.describe_pipeline, record.scheduled_pipeline_id)
            recorded = {v.name: v.value for v in promoted.env_vars}  # where Semaphore records the parameters
            if all(recorded.get(k) == v for k, v in self.parameters.items()):
                return self.reuse(record, records)
        return None

    def reuse(self, record: Promotion, records: list[Promotion]) -> tuple[Promotion, list[Promotion]]:
        by = "Semaphore's auto-promotion" if record.automatic else "an earlier run"
        when = record.triggered_at.isoformat() if record.triggered_at else "earlier"
        self.note(
            "reused",
            f"reused: promotion {self.name!r} of pipeline {self.ppl_id} was already triggered by {by} ({when}) with "
            "the same parameters; pass force to trigger it again",
            record,
        )
        return record, [r for r in records if r.identity != record.identity]


# --------------------------------------------------------------------------------------------- polls


@dataclass(eq=False)
class _Probe(Poller[T]):
    """A round: one call of ``probe``; over at its first answer (``None`` or a missing answer: not yet)."""

    guard: OutageGuard
    probe: Callable[[], T | Missing | None]
    what: str
    timeout: float

    def poll(self) -> Round[T]:
        answer = self.probe()
        return Round(None if isinstance(answer, Missing) else answer)

    def timed_out(self) -> BaseException:
        return WaitTimeout(f"timed out after {self.timeout:.0f} s waiting for {self.what}", timeout=self.timeout)


@dataclass(eq=False)
class _OtherJobs(Poller[tuple[tuple["Blocker", ...], int]]):
    """A round: the gate's own pipeline, detailed; over when every job but ``job_id`` finished, or at once when one
    of them (or a block that ran none) did not pass. The result: what did not pass, and how many other jobs there are.
    """

    guard: OutageGuard
    client: SemaphoreClient
    ppl_id: str
    job_id: str
    on_change: OnChange | None
    timeout: float
    last: Pipeline | None = field(default=None, init=False)

    def poll(self) -> Round[tuple[tuple[Blocker, ...], int]]:
        seen = self.guard.call(describe_checked, self.client, self.ppl_id, detailed=True)
        if isinstance(seen, Missing) or regressed(self.last, seen):
            return Round()
        changed = self.last is None or signature(self.last) != signature(seen)
        self.last = seen
        if changed and self.on_change is not None:
            self.on_change(seen)
        blockers, pending, count = _judge_others(seen, self.job_id)
        if blockers or not pending:
            return Round((blockers, count))
        return Round(changed=changed)

    def timed_out(self) -> BaseException:
        return self.guard.timeout_error(self.timeout, self.last, what=f"the other jobs of pipeline {self.ppl_id}")


# --------------------------------------------------------------------------------------------- pure helpers


def _dependents(topology: Sequence[TopologyBlock], block: str) -> list[str]:
    """Every block that depends on ``block``, directly or through others, in topology order."""
    below: set[str] = {block}
    changed = True
    while changed:
        changed = False
        for item in topology:
            if item.name not in below and any(d in below for d in item.dependencies):
                below.add(item.name)
                changed = True
    return [item.name for item in topology if item.name in below and item.name != block]


def _judge_others(pipeline: Pipeline, job_id: str) -> tuple[tuple[Blocker, ...], bool, int]:
    """(what did not pass, whether anything is still to finish, how many other jobs there are), ``job_id`` aside."""
    blockers = _blockers(pipeline, exclude=job_id)
    pending = False
    count = 0
    for block in pipeline.blocks:
        others = [j for j in block.jobs if j.job_id != job_id]
        count += len(others)
        mine = len(others) != len(block.jobs)
        if any(not j.finished for j in others) or (not mine and not block.done):
            pending = True
    return blockers, pending, count


def _blockers(pipeline: Pipeline, *, exclude: str | None) -> tuple[Blocker, ...]:
    """Finished jobs that did not pass, and done blocks that did not pass without such a job (canceled ones)."""
    found: list[Blocker] = []
    for block in pipeline.blocks:
        jobs = [
            Blocker(block.name, j.name, j.job_id, j.result or "unknown")
            for j in block.jobs
            if j.job_id != exclude and j.finished and j.result != "passed"
        ]
        found.extend(jobs)
        if not jobs and block.done and block.result != "passed" and not any(j.job_id == exclude for j in block.jobs):
            found.append(Blocker(block.name, None, None, block.result or "unknown"))
    return tuple(found)


def _worst(blockers: tuple[Blocker, ...]) -> Outcome:
    """The verdict that other jobs' results amount to: failed beats stopped beats canceled."""
    results = {b.result for b in blockers}
    if "failed" in results:
        return Outcome.FAILED
    if "stopped" in results:
        return Outcome.STOPPED
    if results <= {"canceled"}:
        return Outcome.CANCELED
    return Outcome.ERROR
