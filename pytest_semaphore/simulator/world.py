"""The simulated world: projects, workflows, pipelines, blocks, jobs and promotions moving on a clock.

This is the truth the HTTP layer formats, and the truth tests may read directly when they must not ask through the
client they are testing. Everything moves by scheduled events processed in time order, so a manual clock advanced
by an hour runs an hour of pipelines in milliseconds, with every timestamp exactly where the real server would put
it. States and result pairs follow docs/semaphore-api.md section 2 (lowercase here; the formatter upper-cases where the
server does).

One re-entrant lock guards the world: the HTTP threads, ``advance`` and tests may call in from any thread.
"""

from __future__ import annotations

import functools
import heapq
import itertools
import random
import threading
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from . import logevents
from .clock import Clock, ManualClock
from .definitions import (
    AFTER_PIPELINE,
    DEFAULT_PIPELINE_FILE,
    EARLY_PROMOTIONS,
    PARAMETER_EXPRESSION,
    BlockDef,
    CommandDef,
    JobDef,
    PipelineDef,
    ProjectDef,
    PromotionDef,
)
from .when import CHANGED_FILES

__all__ = [
    "DEFAULT_EPOCH",
    "BadRequest",
    "BlockRecord",
    "InternalError",
    "JobRecord",
    "NotFound",
    "PipelineRecord",
    "ProjectRecord",
    "PromotionRecord",
    "Refused",
    "Timings",
    "WorkflowRecord",
    "World",
    "WorldError",
]

#: 2026-01-01T00:00:00Z: simulated time zero, so that timestamps are reproducible from run to run.
DEFAULT_EPOCH = 1767225600.0

TRIGGERS = ("hook", "schedule", "api", "manual_run")


class WorldError(Exception):
    """A request the world refuses; the HTTP layer turns each subclass into the server's answer."""

    def __init__(self, message: str = "") -> None:
        super().__init__(message)
        self.message = message


class NotFound(WorldError):
    """Missing (or, on the real server, not visible): plain ``404 Not Found``."""


class BadRequest(WorldError):
    """A user error: ``400`` with the message as a JSON string."""


class Refused(BadRequest):
    """gofer's REFUSED: ``400`` with the message (the doc's server), or ``409 {code, message}`` (newer servers)."""


class InternalError(WorldError):
    """What the server reports as ``500 "Internal error"`` (e.g. a promotion parameter gofer rejects)."""


@dataclass
class Timings:
    """How long each step takes, in simulated seconds (the real server's are of the same order)."""

    initializing: float = 1.0
    pending: float = 0.5
    queuing: float = 0.5
    job_pending: float = 0.25
    job_queued: float = 0.75
    stopping: float = 1.0
    promotion: float = 2.0


@dataclass
class ProjectRecord:
    project_id: str
    name: str
    definition: ProjectDef
    repository_id: str
    created_at: float


@dataclass
class JobRecord:
    job_id: str
    name: str
    index: int
    definition: JobDef
    block: BlockRecord
    created_at: float
    state: str = "pending"  # pending, queued, running, finished
    result: str | None = None  # passed, failed, stopped
    enqueued_at: float | None = None
    started_at: float | None = None
    finished_at: float | None = None
    stopped_before_start: bool = False
    log: list[logevents.LogLine] = field(default_factory=list)
    env_vars: list[tuple[str, str]] = field(default_factory=list)

    @property
    def pipeline(self) -> PipelineRecord:
        return self.block.pipeline

    @property
    def self_hosted(self) -> bool:
        return self.definition.machine_type.startswith("s1-")

    @property
    def commands(self) -> list[str]:
        return [c.directive for c in self.definition.commands]


@dataclass
class BlockRecord:
    name: str
    index: int
    definition: BlockDef
    dependencies: tuple[str, ...]
    pipeline: PipelineRecord
    block_id: str = ""
    build_req_id: str = ""
    state: str = "waiting"  # waiting, running, stopping, done
    result: str | None = None
    result_reason: str | None = None
    error_description: str = ""
    jobs: list[JobRecord] = field(default_factory=list)
    reused: bool = False

    @property
    def done(self) -> bool:
        return self.state == "done"


@dataclass
class PromotionRecord:
    name: str
    pipeline_id: str
    triggered_by: str
    override: bool
    triggered_at: float
    parameters: dict[str, str]
    auto: bool = False
    status: str = "processing"  # processing, passed, failed
    scheduled_at: float | None = None
    scheduled_pipeline_id: str = ""
    request_token: str | None = None


@dataclass
class PipelineRecord:
    ppl_id: str
    wf_id: str
    project_id: str
    name: str
    yaml_file: str
    definition: PipelineDef | None
    branch_name: str
    commit_sha: str
    hook_id: str
    branch_id: str
    created_at: float
    organization_id: str
    repository_id: str
    queue_id: str
    tag: str | None = None
    pull_request: str | None = None
    pending_at: float | None = None
    queuing_at: float | None = None
    running_at: float | None = None
    stopping_at: float | None = None
    done_at: float | None = None
    state: str = "initializing"
    result: str | None = None
    result_reason: str | None = None
    terminate_request: str = ""
    terminated_by: str = ""
    error_description: str = ""
    switch_id: str = ""
    promotion_of: str = ""
    partial_rerun_of: str = ""
    partially_rerun_by: str = ""
    ppl_triggered_by: str = "workflow"  # workflow, promotion, auto_promotion, partial_re_run
    ppl_triggerer_id: str = ""
    wf_triggered_by: str = "hook"
    env_vars: list[tuple[str, str]] = field(default_factory=list)
    blocks: list[BlockRecord] = field(default_factory=list)
    promotions: list[PromotionRecord] = field(default_factory=list)
    rebuild_tokens: dict[str, str] = field(default_factory=dict)
    promotion_tokens: set[str] = field(default_factory=set)
    stop_reason: str = "user"  # why a terminate ends it: "user", or "strategy" for an auto-cancel
    fail_fast: str | None = None  # "stop" or "cancel" when the file's fail_fast condition held at the start
    after_task: BlockRecord | None = None
    """The ``after_pipeline`` jobs, once the pipeline is done; not one of ``blocks`` (the API does not list it)."""
    deferred_promotions: list[Callable[[], None]] = field(default_factory=list)

    @property
    def done(self) -> bool:
        return self.state == "done"

    @property
    def jobs(self) -> list[JobRecord]:
        return [job for block in self.blocks for job in block.jobs]

    @property
    def working_directory(self) -> str:
        head, _, _ = self.yaml_file.rpartition("/")
        return head

    @property
    def yaml_file_name(self) -> str:
        return self.yaml_file.rpartition("/")[2]


@dataclass
class WorkflowRecord:
    wf_id: str
    project_id: str
    initial_ppl_id: str
    hook_id: str
    requester_id: str
    branch_id: str
    branch_name: str
    commit_sha: str
    created_at: float
    triggered_by: str
    organization_id: str
    repository_id: str
    pipeline_file: str
    rerun_of: str = ""
    tag: str | None = None
    pull_request: str | None = None
    pipeline_ids: list[str] = field(default_factory=list)
    reschedule_tokens: dict[str, tuple[str, str]] = field(default_factory=dict)
    parameters: dict[str, str] = field(default_factory=dict)
    number: int = 0
    """``SEMAPHORE_WORKFLOW_NUMBER``: the workflow's position in its project, from 1."""
    changed_files: tuple[str, ...] | None = None
    """What ``change_in`` sees: the files the push changed; ``None``: everything changed."""


def _split_reference(reference: str) -> tuple[str, str | None, str | None]:
    """``reference`` as run-workflow reads it -> (branch_name, tag, pull_request)."""
    if reference.startswith("refs/tags/"):
        return reference, reference[len("refs/tags/") :], None
    if reference.startswith("refs/pull/"):
        number = reference[len("refs/pull/") :]
        return f"pull-request-{number}", None, number
    if reference.startswith("refs/heads/"):
        return reference[len("refs/heads/") :], None, None
    return reference, None, None


class World:
    """The state machine. Every public method takes the lock and first catches up with the clock."""

    def __init__(
        self,
        *,
        clock: Clock | None = None,
        seed: int = 0,
        epoch: float = DEFAULT_EPOCH,
        organization: str = "simulated-org",
        timings: Timings | None = None,
        early_promotions: str = "defer",
        agent_preamble: bool = True,
    ) -> None:
        if early_promotions not in EARLY_PROMOTIONS:
            raise ValueError(f"early_promotions must be one of {', '.join(EARLY_PROMOTIONS)}, not {early_promotions!r}")
        self.early_promotions = early_promotions
        self.agent_preamble = agent_preamble
        self.clock: Clock = clock if clock is not None else ManualClock()
        self.epoch = epoch
        self.organization = organization
        self.timings = timings if timings is not None else Timings()
        self.lock = threading.RLock()
        self._rng = random.Random(seed)  # noqa: S311 - reproducible ids, not secrets
        self._events: list[tuple[float, int, Callable[[], None]]] = []
        self._seq = itertools.count()
        self._now = self.clock.now()
        self.organization_id = self.new_id()
        self.user_id = self.new_id()
        self._projects: dict[str, ProjectRecord] = {}
        self._workflows: dict[str, WorkflowRecord] = {}
        self._pipelines: dict[str, PipelineRecord] = {}
        self._jobs: dict[str, JobRecord] = {}
        self._branch_ids: dict[tuple[str, str], str] = {}
        self._queue_ids: dict[tuple[str, str, str], str] = {}

    # ---------------------------------------------------------------- time

    def new_id(self) -> str:
        """A UUID4 from the seeded generator, so a seeded world has the same ids every run."""
        return str(uuid.UUID(int=self._rng.getrandbits(128), version=4))

    def now(self) -> float:
        """Simulated seconds, caught up with the clock."""
        with self.lock:
            self.sync()
            return self._now

    def timestamp(self, sim_seconds: float) -> float:
        """Unix time of a simulated instant."""
        return self.epoch + sim_seconds

    def advance(self, seconds: float) -> None:
        """Move the clock forward and process every event on the way, each at its own instant."""
        with self.lock:
            self.clock.advance(seconds)
            self.sync()

    def sync(self) -> None:
        """Process all events due by the clock's current time."""
        with self.lock:
            target = self.clock.now()
            while self._events and self._events[0][0] <= target:
                at, _, action = heapq.heappop(self._events)
                self._now = max(self._now, at)
                action()
            self._now = max(self._now, target)

    def _at(self, delay: float, action: Callable[[], None]) -> None:
        heapq.heappush(self._events, (self._now + delay, next(self._seq), action))

    def pending_events(self) -> int:
        with self.lock:
            return len(self._events)

    # ------------------------------------------------------------- lookups

    def add_project(self, project: ProjectDef) -> str:
        with self.lock:
            self.sync()
            if any(p.name == project.name for p in self._projects.values()):
                raise ValueError(f"a project named {project.name!r} already exists in the simulated world")
            project_id = project.project_id or self.new_id()
            self._projects[project_id] = ProjectRecord(project_id, project.name, project, self.new_id(), self._now)
            return project_id

    def project(self, name_or_id: str) -> ProjectRecord:
        with self.lock:
            record = self._projects.get(name_or_id)
            if record is None:
                record = next((p for p in self._projects.values() if p.name == name_or_id), None)
            if record is None:
                raise NotFound(f"project {name_or_id!r}")
            return record

    def projects(self) -> list[ProjectRecord]:
        with self.lock:
            return list(self._projects.values())

    def workflow(self, wf_id: str) -> WorkflowRecord:
        with self.lock:
            self.sync()
            try:
                return self._workflows[wf_id]
            except KeyError:
                raise NotFound(f"workflow {wf_id!r}") from None

    def workflows(self, project_id: str) -> list[WorkflowRecord]:
        """The project's workflows, newest first (``order_by desc inserted_at``)."""
        with self.lock:
            self.sync()
            found = [w for w in self._workflows.values() if w.project_id == project_id]
            return found[::-1]

    def pipeline(self, ppl_id: str) -> PipelineRecord:
        with self.lock:
            self.sync()
            try:
                return self._pipelines[ppl_id]
            except KeyError:
                raise NotFound(f"pipeline {ppl_id!r}") from None

    def pipelines(self, *, project_id: str | None = None, wf_id: str | None = None) -> list[PipelineRecord]:
        """Pipelines matching both filters, newest first."""
        with self.lock:
            self.sync()
            found = [
                p
                for p in self._pipelines.values()
                if (project_id is None or p.project_id == project_id) and (wf_id is None or p.wf_id == wf_id)
            ]
            return found[::-1]

    def promotions(self, ppl_id: str) -> list[PromotionRecord]:
        """The pipeline's promotion triggers, newest first."""
        with self.lock:
            return self.pipeline(ppl_id).promotions[::-1]

    def job(self, job_id: str) -> JobRecord:
        with self.lock:
            self.sync()
            try:
                return self._jobs[job_id]
            except KeyError:
                raise NotFound(f"job {job_id!r}") from None

    def jobs(self) -> list[JobRecord]:
        """All jobs, newest first (create time descending)."""
        with self.lock:
            self.sync()
            return list(self._jobs.values())[::-1]

    def visible_log(self, job: JobRecord) -> list[logevents.LogLine]:
        """The log lines written so far: all of them once finished, a growing prefix while running."""
        with self.lock:
            self.sync()
            if job.started_at is None:
                return []
            if job.state == "finished":
                return list(job.log)
            elapsed = self._now - job.started_at
            return [line for line in job.log if line.offset <= elapsed]

    # ----------------------------------------------------------- workflows

    def _branch_id(self, project_id: str, branch: str) -> str:
        key = (project_id, branch)
        if key not in self._branch_ids:
            self._branch_ids[key] = self.new_id()
        return self._branch_ids[key]

    def _queue_id(self, project_id: str, branch: str, yaml_file: str) -> str:
        key = (project_id, branch, yaml_file)
        if key not in self._queue_ids:
            self._queue_ids[key] = self.new_id()
        return self._queue_ids[key]

    def start_workflow(
        self,
        project_name_or_id: str,
        *,
        branch: str = "master",
        commit_sha: str | None = None,
        pipeline_file: str | None = None,
        triggered_by: str = "hook",
        tag: str | None = None,
        pull_request: str | None = None,
        parameters: Mapping[str, str] | None = None,
        changed_files: Iterable[str] | None = None,
    ) -> tuple[str, str]:
        """Start a workflow as a push (or schedule, API call, manual run) would; returns (wf_id, ppl_id).

        ``tag`` makes the branch name ``refs/tags/<tag>``; ``pull_request`` makes it ``pull-request-<n>``.
        ``changed_files`` (repository paths) is what ``change_in`` conditions see; ``None``: everything changed.
        """
        if triggered_by not in TRIGGERS:
            raise ValueError(f"triggered_by must be one of {', '.join(TRIGGERS)}, not {triggered_by!r}")
        with self.lock:
            self.sync()
            project = self.project(project_name_or_id)
            if tag is not None:
                branch = f"refs/tags/{tag}"
            elif pull_request is not None:
                branch = f"pull-request-{pull_request}"
            return self._new_workflow(
                project,
                branch_name=branch,
                commit_sha=commit_sha or self._rng.getrandbits(160).to_bytes(20, "big").hex(),
                pipeline_file=pipeline_file or project.definition.initial_pipeline_file,
                triggered_by=triggered_by,
                tag=tag,
                pull_request=pull_request,
                parameters=dict(parameters or {}),
                changed_files=None if changed_files is None else tuple(changed_files),
            )

    def run_workflow(
        self,
        project_id: str,
        reference: str,
        *,
        commit_sha: str | None = None,
        pipeline_file: str | None = None,
        parameters: Mapping[str, str] | None = None,
    ) -> tuple[str, str]:
        """``POST /plumber-workflows``: a reference as the API takes it, ``triggered_by`` API."""
        branch, tag, pull_request = _split_reference(reference or "master")
        with self.lock:
            self.sync()
            project = self.project(project_id)
            return self._new_workflow(
                project,
                branch_name=branch,
                commit_sha=commit_sha or self._rng.getrandbits(160).to_bytes(20, "big").hex(),
                pipeline_file=pipeline_file or DEFAULT_PIPELINE_FILE,
                triggered_by="api",
                tag=tag,
                pull_request=pull_request,
                parameters=dict(parameters or {}),
            )

    def _new_workflow(
        self,
        project: ProjectRecord,
        *,
        branch_name: str,
        commit_sha: str,
        pipeline_file: str,
        triggered_by: str,
        tag: str | None,
        pull_request: str | None,
        parameters: dict[str, str],
        rerun_of: str = "",
        changed_files: tuple[str, ...] | None = None,
    ) -> tuple[str, str]:
        workflow = WorkflowRecord(
            wf_id=self.new_id(),
            project_id=project.project_id,
            initial_ppl_id="",
            hook_id=self.new_id(),
            requester_id=self.user_id,
            branch_id=self._branch_id(project.project_id, branch_name),
            branch_name=branch_name,
            commit_sha=commit_sha,
            created_at=self._now,
            triggered_by=triggered_by,
            organization_id=self.organization_id,
            repository_id=project.repository_id,
            pipeline_file=pipeline_file,
            rerun_of=rerun_of,
            tag=tag,
            pull_request=pull_request,
            parameters=parameters,
            changed_files=changed_files,
        )
        workflow.number = 1 + sum(1 for w in self._workflows.values() if w.project_id == project.project_id)
        self._workflows[workflow.wf_id] = workflow
        pipeline = self._new_pipeline(workflow, pipeline_file, env_vars=list(parameters.items()))
        workflow.initial_ppl_id = pipeline.ppl_id
        return workflow.wf_id, pipeline.ppl_id

    def reschedule_workflow(self, wf_id: str, request_token: str) -> tuple[str, str]:
        """Rerun a workflow (a new one with ``rerun_of``); the same ``request_token`` gives the same answer."""
        with self.lock:
            self.sync()
            original = self.workflow(wf_id)
            if not request_token:
                raise BadRequest("Missing required post parameter request_token.")
            if request_token in original.reschedule_tokens:
                return original.reschedule_tokens[request_token]
            project = self.project(original.project_id)
            ids = self._new_workflow(
                project,
                branch_name=original.branch_name,
                commit_sha=original.commit_sha,
                pipeline_file=original.pipeline_file,
                triggered_by=original.triggered_by,
                tag=original.tag,
                pull_request=original.pull_request,
                parameters=dict(original.parameters),
                rerun_of=original.wf_id,
                changed_files=original.changed_files,
            )
            original.reschedule_tokens[request_token] = ids
            return ids

    def terminate_workflow(self, wf_id: str) -> int:
        """Terminate every pipeline of the workflow that is not done; returns how many."""
        with self.lock:
            workflow = self.workflow(wf_id)
            running = [p for p in (self._pipelines[i] for i in workflow.pipeline_ids) if not p.done]
            for pipeline in running:
                self._terminate(pipeline, self.user_id)
            return len(running)

    # ----------------------------------------------------------- pipelines

    def _new_pipeline(
        self,
        workflow: WorkflowRecord,
        yaml_file: str,
        *,
        env_vars: list[tuple[str, str]] | None = None,
        ppl_triggered_by: str = "workflow",
        promotion_of: str = "",
        partial_rerun_of: PipelineRecord | None = None,
    ) -> PipelineRecord:
        project = self.project(workflow.project_id)
        definition = project.definition.pipelines.get(yaml_file)
        values = dict(env_vars or [])
        pipeline = PipelineRecord(
            ppl_id=self.new_id(),
            wf_id=workflow.wf_id,
            project_id=project.project_id,
            name=_fill_parameters(definition.name, values) if definition is not None else "Pipeline",
            yaml_file=yaml_file,
            definition=definition,
            branch_name=workflow.branch_name,
            commit_sha=workflow.commit_sha,
            hook_id=workflow.hook_id,
            branch_id=workflow.branch_id,
            created_at=self._now,
            organization_id=workflow.organization_id,
            repository_id=workflow.repository_id,
            queue_id=self._queue_id(project.project_id, workflow.branch_name, yaml_file),
            tag=workflow.tag,
            pull_request=workflow.pull_request,
            promotion_of=promotion_of,
            ppl_triggered_by=ppl_triggered_by,
            ppl_triggerer_id=self.user_id if ppl_triggered_by != "auto_promotion" else "",
            wf_triggered_by=workflow.triggered_by,
            env_vars=list(env_vars or []),
        )
        if definition is not None and definition.promotions:
            pipeline.switch_id = self.new_id()
        if definition is not None:
            previous: str | None = None
            for index, block_def in enumerate(definition.blocks):
                deps = block_def.dependencies
                if deps is None:
                    deps = (previous,) if previous is not None else ()
                pipeline.blocks.append(BlockRecord(block_def.name, index, block_def, tuple(deps), pipeline))
                previous = block_def.name
        if partial_rerun_of is not None:
            pipeline.partial_rerun_of = partial_rerun_of.ppl_id
            for new_block, old_block in zip(pipeline.blocks, partial_rerun_of.blocks, strict=True):
                if old_block.result == "passed" and old_block.jobs:
                    new_block.reused = True
        self._pipelines[pipeline.ppl_id] = pipeline
        workflow.pipeline_ids.append(pipeline.ppl_id)
        if partial_rerun_of is not None:
            self._reuse_blocks(pipeline, partial_rerun_of)
        self._at(self.timings.initializing, lambda: self._initialized(pipeline))
        return pipeline

    def _reuse_blocks(self, pipeline: PipelineRecord, old: PipelineRecord) -> None:
        """A partial rebuild keeps the blocks that passed, jobs and all, and runs the rest again."""
        for new_block, old_block in zip(pipeline.blocks, old.blocks, strict=True):
            if new_block.reused:
                new_block.block_id = old_block.block_id
                new_block.build_req_id = old_block.build_req_id
                new_block.jobs = old_block.jobs
                new_block.state, new_block.result, new_block.result_reason = "done", "passed", "test"

    def _initialized(self, pipeline: PipelineRecord) -> None:
        if pipeline.done:
            return
        if pipeline.definition is None or pipeline.definition.malformed is not None:
            if pipeline.definition is None:
                error = f'Error: {{:file_not_found, "{pipeline.yaml_file}"}}'
            else:
                error = pipeline.definition.malformed or ""
            pipeline.error_description = error
            self._finish_pipeline(pipeline, "failed", "malformed")
            return
        pipeline.state, pipeline.pending_at = "pending", self._now
        self._at(self.timings.pending, lambda: self._queuing(pipeline))

    def _queuing(self, pipeline: PipelineRecord) -> None:
        if pipeline.done:
            return
        pipeline.state, pipeline.queuing_at = "queuing", self._now
        self._auto_cancel(pipeline)
        self._at(self.timings.queuing, lambda: self._running(pipeline))

    def _running(self, pipeline: PipelineRecord) -> None:
        if pipeline.done:
            return
        pipeline.state, pipeline.running_at = "running", self._now
        definition = pipeline.definition
        if definition is not None:
            facts = self._facts(pipeline)
            if definition.fail_fast_stop is not None and definition.fail_fast_stop(facts):
                pipeline.fail_fast = "stop"
            elif definition.fail_fast_cancel is not None and definition.fail_fast_cancel(facts):
                pipeline.fail_fast = "cancel"
        self._advance_blocks(pipeline)

    def _auto_cancel(self, newer: PipelineRecord) -> None:
        """``auto_cancel`` of a pipeline entering its queue (the same project, branch and file): when ``running``
        holds, the older pipelines there that run are stopped and those not yet running canceled; when only
        ``queued`` holds, only the latter. Both end with the reason ``strategy``."""
        definition = newer.definition
        if definition is None or (definition.auto_cancel_running is None and definition.auto_cancel_queued is None):
            return
        facts = self._facts(newer)
        running = definition.auto_cancel_running is not None and definition.auto_cancel_running(facts)
        queued = running or (definition.auto_cancel_queued is not None and definition.auto_cancel_queued(facts))
        if not queued:
            return
        for older in list(self._pipelines.values()):
            if older is newer or older.queue_id != newer.queue_id or older.done or older.created_at > newer.created_at:
                continue
            if older.state != "running" or running:
                self._terminate(older, self.user_id, "strategy")

    def _facts(self, pipeline: PipelineRecord) -> dict[str, str]:
        """What conditions look at (:data:`~.definitions.AutoPromoteFacts`): ``branch`` is empty on tag and
        pull-request builds, ``branch_name`` is the API's; the result only once the pipeline is done."""
        facts = {
            "branch": "" if pipeline.tag is not None or pipeline.pull_request is not None else pipeline.branch_name,
            "branch_name": pipeline.branch_name,
            "tag": pipeline.tag or "",
            "pull_request": pipeline.pull_request or "",
            "result": pipeline.result or "",
            "result_reason": pipeline.result_reason or "",
        }
        changed = self._workflows[pipeline.wf_id].changed_files
        if changed is not None:
            facts[CHANGED_FILES] = "\n".join(changed)
        return facts

    def _fail_fast(self, pipeline: PipelineRecord) -> None:
        """A job failed under ``fail_fast``: blocks not started are canceled; with ``stop`` every job still running
        is stopped, with ``cancel`` only those not started yet. Blocks ended so are ``fast_failing`` (the failing
        one stays ``failed``/``test``)."""
        for block in pipeline.blocks:
            if block.state == "waiting":
                block.state, block.result, block.result_reason = "done", "canceled", "fast_failing"
            elif block.state == "running":
                for job in block.jobs:
                    if job.state != "finished" and (pipeline.fail_fast == "stop" or job.started_at is None):
                        self._stop_job_now(job)
                if all(job.state == "finished" for job in block.jobs):
                    _settle_block(block, by_user=False)
                    if block.result == "stopped":
                        block.result_reason = "fast_failing"

    def _advance_blocks(self, pipeline: PipelineRecord) -> None:
        """Start every block whose dependencies passed, cancel those that can no longer run, finish when all done."""
        if pipeline.state != "running":
            return
        changed = True
        while changed:
            changed = False
            by_name = {b.name: b for b in pipeline.blocks}
            for block in pipeline.blocks:
                if block.state != "waiting":
                    continue
                deps = [by_name[d] for d in block.dependencies if d in by_name]
                if any(d.done and d.result != "passed" for d in deps):
                    block.state, block.result, block.result_reason = "done", "canceled", "fast_failing"
                    changed = True
                elif all(d.done for d in deps):
                    if self._skipped(block):
                        block.state, block.result, block.result_reason = "done", "passed", "skipped"
                    else:
                        self._start_block(block)
                    changed = True
        if all(b.done for b in pipeline.blocks):
            self._finish_pipeline(pipeline, *self._pipeline_result(pipeline))

    @staticmethod
    def _pipeline_result(pipeline: PipelineRecord) -> tuple[str, str]:
        results = [b.result for b in pipeline.blocks]
        if "failed" in results:
            return "failed", "test"
        stopped = [b for b in pipeline.blocks if b.result == "stopped"]
        if stopped:
            return "stopped", stopped[0].result_reason or "user"
        return "passed", "test"

    def _skipped(self, block: BlockRecord) -> bool:
        """A block's ``run``/``skip`` condition, evaluated when its dependencies are done (Semaphore shows a skipped
        block ``done``/``passed``/``skipped``, with no jobs)."""
        definition = block.definition
        if definition.run is None and definition.skip is None:
            return False
        facts = self._facts(block.pipeline)
        return (definition.run is not None and not definition.run(facts)) or (
            definition.skip is not None and definition.skip(facts)
        )

    def _start_block(self, block: BlockRecord, extra_env: Iterable[tuple[str, str]] = ()) -> None:
        pipeline = block.pipeline
        block.state, block.block_id, block.build_req_id = "running", self.new_id(), self.new_id()
        wf = self._workflows[pipeline.wf_id]
        for index, job_def in enumerate(block.definition.jobs):
            job = JobRecord(self.new_id(), job_def.name, index, job_def, block, created_at=self._now)
            job.env_vars = [
                ("SEMAPHORE_WORKFLOW_ID", pipeline.wf_id),
                ("SEMAPHORE_WORKFLOW_NUMBER", str(wf.number)),
                ("SEMAPHORE_PIPELINE_ID", pipeline.ppl_id),
                ("SEMAPHORE_PIPELINE_ARTEFACT_ID", pipeline.ppl_id),
                ("SEMAPHORE_GIT_BRANCH", pipeline.branch_name),
                ("SEMAPHORE_GIT_SHA", pipeline.commit_sha),
                *extra_env,
                *pipeline.env_vars,
                *job_def.env_vars,
                ("SEMAPHORE_JOB_ID", job.job_id),
            ]
            block.jobs.append(job)
            self._jobs[job.job_id] = job
            self._at(self.timings.job_pending, functools.partial(self._job_queued, job))
        if not block.jobs:
            block.state, block.result, block.result_reason = "done", "passed", "test"

    def _job_queued(self, job: JobRecord) -> None:
        if job.state != "pending":
            return
        job.state, job.enqueued_at = "queued", self._now
        self._at(self.timings.job_queued, lambda: self._job_started(job))

    def _job_started(self, job: JobRecord) -> None:
        if job.state != "queued":
            return
        job.state, job.started_at = "running", self._now
        job.log, duration, result = self._plan_log(job)
        job.result = None
        if job.definition.hold:
            job.log.pop()  # its job_finished line is written by release()
            return
        self._at(duration, lambda: self._job_finished(job, result))

    def release(self, job_id: str, result: str = "passed") -> None:
        """End a running job defined with ``hold=True`` now, with ``result`` (``passed``, ``failed``, ``stopped``)."""
        if result not in ("passed", "failed", "stopped"):
            raise ValueError(f"a released job ends passed, failed or stopped, not {result!r}")
        with self.lock:
            job = self.job(job_id)
            if not job.definition.hold:
                raise ValueError(f"job {job.name!r} ({job_id}) is not held: define it with JobDef(hold=True)")
            if job.state != "running":
                raise ValueError(f"job {job.name!r} ({job_id}) is {job.state}, not running: advance the clock first")
            assert job.started_at is not None
            elapsed = self._now - job.started_at
            if job.log and job.log[-1].offset > elapsed:
                raise ValueError(f"job {job.name!r} ({job_id}) is still running its commands: advance the clock first")
            job.log.append(logevents.job_finished(elapsed, int(self.timestamp(self._now)), result))
            self._job_finished(job, result)

    def _plan_log(self, job: JobRecord) -> tuple[list[logevents.LogLine], float, str]:
        """Every log line the job will write, with its offset from the job's start; its duration and result."""
        assert job.started_at is not None
        start = job.started_at
        lines = [logevents.job_started(0.0, int(self.timestamp(start)))]
        commands = self._preamble(job) + list(job.definition.commands)
        if job.definition.log_bytes > 0:
            commands.append(_generated_output(job.definition.log_bytes))
        offset = 0.0
        failed = False
        for command in commands:
            begin = offset
            end = begin + command.duration
            stamp_begin = int(self.timestamp(start + begin))
            stamp_end = int(self.timestamp(start + end))
            lines.append(logevents.cmd_started(begin, stamp_begin, command.directive))
            count = len(command.output)
            for i, fragment in enumerate(command.output):
                at = begin + command.duration * (i + 1) / (count + 1)
                lines.append(logevents.cmd_output(at, int(self.timestamp(start + at)), fragment))
            lines.append(
                logevents.cmd_finished(end, stamp_end, command.directive, command.exit_code, stamp_begin, stamp_end)
            )
            offset = end
            if command.exit_code != 0:
                failed = True
                break
        result = job.definition.result or ("failed" if failed else "passed")
        lines.append(logevents.job_finished(offset, int(self.timestamp(start + offset)), result))
        return lines, offset, result

    def _preamble(self, job: JobRecord) -> list[CommandDef]:
        """What the agent runs before the user's commands, as every real log shows it: the job's variables being
        exported (names only) and its files injected. Instant, so that job durations stay the user's."""
        if not self.agent_preamble:
            return []
        names = dict.fromkeys(["CI", "SEMAPHORE", *(name for name, _ in job.env_vars)])
        exports = tuple(f"Exporting {name}\n" for name in names)
        return [
            CommandDef("Exporting environment variables", output=exports, duration=0.0),
            CommandDef("Injecting Files", duration=0.0),
        ]

    def _job_finished(self, job: JobRecord, result: str) -> None:
        if job.state == "finished":
            return
        job.state, job.result, job.finished_at = "finished", result, self._now
        block, pipeline = job.block, job.pipeline
        if result == "failed" and pipeline.fail_fast is not None and pipeline.state == "running":
            self._fail_fast(pipeline)  # at the first failed job, not when its block is done
        if all(j.state == "finished" for j in block.jobs) and block.state == "running":
            _settle_block(block, by_user=False)
        self._advance_blocks(pipeline)

    def _stop_job_now(self, job: JobRecord) -> None:
        """Stop a job at this instant: cut its log where it is, as the agent does when killed."""
        if job.state == "finished":
            return
        if job.started_at is None:
            job.stopped_before_start = True
            job.state, job.result, job.finished_at = "finished", "stopped", self._now
            return
        elapsed = self._now - job.started_at
        kept = [line for line in job.log if line.offset <= elapsed and line.kind != "job_finished"]
        open_command = None
        for line in kept:
            if line.kind == "cmd_started":
                open_command = line
            elif line.kind == "cmd_finished":
                open_command = None
        stamp = int(self.timestamp(self._now))
        if open_command is not None:
            directive = _directive_of(open_command)
            began = int(self.timestamp(job.started_at + open_command.offset))
            kept.append(logevents.cmd_finished(elapsed, stamp, directive, 1, began, stamp))
        kept.append(logevents.job_finished(elapsed, stamp, "stopped"))
        job.log = kept
        job.state, job.result, job.finished_at = "finished", "stopped", self._now

    def stop_job(self, job_id: str) -> None:
        """``POST /jobs/:id/stop``: asynchronous on the server, and a no-op for a finished job."""
        with self.lock:
            job = self.job(job_id)
            if job.state == "finished":
                return
            self._stop_job_now(job)
            block = job.block
            if block.state == "running" and all(j.state == "finished" for j in block.jobs):
                _settle_block(block, by_user=True)
                self._advance_blocks(block.pipeline)

    def terminate_pipeline(self, ppl_id: str, by: str | None = None) -> None:
        """``PATCH /pipelines/:id``: stopped/user while running, canceled/user before it runs, no-op when done."""
        with self.lock:
            self._terminate(self.pipeline(ppl_id), by or self.user_id)

    def _terminate(self, pipeline: PipelineRecord, by: str, reason: str = "user") -> None:
        """Before running a pipeline is canceled at once; while running it stops its jobs, goes through
        ``stopping`` and ends ``stopped``; once done (or already stopping) nothing changes. The result reason is
        ``user`` for a terminate request, ``strategy`` for an auto-cancel."""
        if pipeline.done or pipeline.state == "stopping":
            return
        pipeline.terminated_by = by
        pipeline.stop_reason = reason
        if pipeline.state != "running":
            pipeline.terminate_request = "cancel"
            _cancel_waiting_blocks(pipeline)
            self._finish_pipeline(pipeline, "canceled", reason)
            return
        pipeline.terminate_request = "stop"
        pipeline.state, pipeline.stopping_at = "stopping", self._now
        for block in pipeline.blocks:
            if block.state == "running":
                block.state = "stopping"
                for job in block.jobs:
                    self._stop_job_now(job)
        _cancel_waiting_blocks(pipeline)

        def finish() -> None:
            for block in pipeline.blocks:
                if block.state == "stopping":
                    _settle_block(block, by_user=True)
            self._finish_pipeline(pipeline, "stopped", pipeline.stop_reason)

        self._at(self.timings.stopping, finish)

    def _finish_pipeline(self, pipeline: PipelineRecord, result: str, reason: str) -> None:
        if pipeline.done:
            return
        pipeline.state, pipeline.result, pipeline.result_reason = "done", result, reason
        pipeline.done_at = self._now
        self._start_after_task(pipeline)
        deferred, pipeline.deferred_promotions = pipeline.deferred_promotions, []
        for process in deferred:
            process()
        self._auto_promote(pipeline)

    def _start_after_task(self, pipeline: PipelineRecord) -> None:
        """``after_pipeline``: its jobs start once the pipeline is done, with the pipeline's result in their
        environment, and whatever they do the pipeline's state and result stay as they are."""
        definition = pipeline.definition
        if definition is None or not definition.after_pipeline or pipeline.after_task is not None:
            return
        block = BlockRecord(AFTER_PIPELINE, -1, BlockDef(AFTER_PIPELINE, definition.after_pipeline), (), pipeline)
        pipeline.after_task = block

        def stamp(when: float | None) -> str:
            return str(int(self.timestamp(when))) if when is not None else "0"

        def duration(begin: float | None, end: float | None) -> str:
            return str(int(end - begin)) if begin is not None and end is not None else "0"

        self._start_block(
            block,
            [
                ("SEMAPHORE_PIPELINE_RESULT", pipeline.result or ""),
                ("SEMAPHORE_PIPELINE_RESULT_REASON", pipeline.result_reason or ""),
                ("SEMAPHORE_PIPELINE_CREATED_AT", stamp(pipeline.created_at)),
                ("SEMAPHORE_PIPELINE_STARTED_AT", stamp(pipeline.running_at)),
                ("SEMAPHORE_PIPELINE_DONE_AT", stamp(pipeline.done_at)),
                ("SEMAPHORE_PIPELINE_INIT_DURATION", duration(pipeline.created_at, pipeline.pending_at)),
                ("SEMAPHORE_PIPELINE_QUEUEING_DURATION", duration(pipeline.queuing_at, pipeline.running_at)),
                ("SEMAPHORE_PIPELINE_RUNNING_DURATION", duration(pipeline.running_at, pipeline.done_at)),
                ("SEMAPHORE_PIPELINE_TOTAL_DURATION", duration(pipeline.created_at, pipeline.done_at)),
            ],
        )

    def partial_rebuild(self, ppl_id: str, request_token: str | None) -> str:
        """Rerun the blocks that did not pass, in the same workflow; same ``request_token``, same new pipeline."""
        with self.lock:
            old = self.pipeline(ppl_id)
            if not request_token:
                raise BadRequest("Missing required post parameter request_token.")
            if request_token in old.rebuild_tokens:
                return old.rebuild_tokens[request_token]
            if not old.done:
                raise BadRequest("Only pipelines which are in done state can be partial rebuilt.")
            if old.result == "passed":
                raise BadRequest("Pipelines which passed can not be partial rebuilt.")
            workflow = self._workflows[old.wf_id]
            new = self._new_pipeline(
                workflow,
                old.yaml_file,
                env_vars=list(old.env_vars),
                ppl_triggered_by="partial_re_run",
                promotion_of=old.promotion_of,
                partial_rerun_of=old,
            )
            old.partially_rerun_by = new.ppl_id
            old.rebuild_tokens[request_token] = new.ppl_id
            return new.ppl_id

    # ---------------------------------------------------------- promotions

    def trigger_promotion(
        self,
        ppl_id: str,
        name: str,
        *,
        override: bool = False,
        parameters: Mapping[str, str] | None = None,
        request_token: str | None = None,
        triggered_by: str | None = None,
    ) -> None:
        """``POST /promotions``: validate as gofer does, record the trigger, process it after a short delay."""
        with self.lock:
            pipeline = self.pipeline(ppl_id)
            definition = pipeline.definition
            if not pipeline.switch_id or definition is None:
                raise BadRequest(f"Switch with id {pipeline.switch_id} not found")
            promotion = next((p for p in definition.promotions if p.name == name), None)
            if promotion is None:
                raise BadRequest(f"Target for switch: {pipeline.switch_id} with name: {name} not found")
            if request_token and request_token in pipeline.promotion_tokens:
                return
            if pipeline.result != "passed" and not override:
                raise Refused("Triggering target when pipeline is not passed requires override confirmation.")
            values = self._promotion_parameters(promotion, dict(parameters or {}))
            if request_token:
                pipeline.promotion_tokens.add(request_token)
            self._record_promotion(pipeline, promotion, triggered_by or self.user_id, override, values, auto=False)
            pipeline.promotions[-1].request_token = request_token

    @staticmethod
    def _promotion_parameters(promotion: PromotionDef, given: dict[str, str]) -> dict[str, str]:
        values: dict[str, str] = {}
        for parameter in promotion.parameters:
            value = given.get(parameter.name)
            if value is None or value == "":
                value = parameter.default
            if value is None or value == "":
                if parameter.required:
                    raise InternalError("Internal error")
                continue
            # Plumber's parameters example: a value must be "either default_value or one of given options".
            if parameter.options and value not in parameter.options and value != parameter.default:
                raise InternalError("Internal error")
            values[parameter.name] = value
        return values

    def _record_promotion(
        self,
        pipeline: PipelineRecord,
        promotion: PromotionDef,
        triggered_by: str,
        override: bool,
        values: dict[str, str],
        *,
        auto: bool,
    ) -> None:
        record = PromotionRecord(
            name=promotion.name,
            pipeline_id=pipeline.ppl_id,
            triggered_by=triggered_by,
            override=override,
            triggered_at=self._now,
            parameters=values,
            auto=auto,
        )
        pipeline.promotions.append(record)
        self._at(self.timings.promotion, lambda: self._process_promotion(pipeline, promotion, record))

    def _process_promotion(self, pipeline: PipelineRecord, promotion: PromotionDef, record: PromotionRecord) -> None:
        if not pipeline.done and self.early_promotions == "defer":  # processed when the parent is done
            pipeline.deferred_promotions.append(lambda: self._process_promotion(pipeline, promotion, record))
            return
        project = self.project(pipeline.project_id)
        if promotion.pipeline_file not in project.definition.pipelines:
            record.status = "failed"
            return
        workflow = self._workflows[pipeline.wf_id]
        scheduled = self._new_pipeline(
            workflow,
            promotion.pipeline_file,
            env_vars=list(record.parameters.items()),
            ppl_triggered_by="auto_promotion" if record.auto else "promotion",
            promotion_of=pipeline.ppl_id,
        )
        record.status, record.scheduled_at, record.scheduled_pipeline_id = "passed", self._now, scheduled.ppl_id

    def _auto_promote(self, pipeline: PipelineRecord) -> None:
        if pipeline.definition is None:
            return
        facts = self._facts(pipeline)
        for promotion in pipeline.definition.promotions:
            if promotion.auto_promote is None or not promotion.auto_promote(facts):
                continue
            try:
                values = self._promotion_parameters(promotion, {})
            except InternalError:
                continue
            self._record_promotion(pipeline, promotion, "Pipeline Done request", False, values, auto=True)


def _fill_parameters(text: str, values: Mapping[str, str]) -> str:
    """``${{ parameters.NAME }}`` replaced by the parameter's value (empty when the pipeline has no such one)."""
    return PARAMETER_EXPRESSION.sub(lambda match: values.get(match.group(1), ""), text)


def _cancel_waiting_blocks(pipeline: PipelineRecord) -> None:
    """Blocks that never started end ``canceled``/``user`` when their pipeline is terminated."""
    for block in pipeline.blocks:
        if block.state == "waiting":
            block.state, block.result, block.result_reason = "done", "canceled", "user"


def _settle_block(block: BlockRecord, *, by_user: bool) -> None:
    """A block whose jobs all finished is done: failed if any failed, stopped if any stopped, else passed.

    A stop is ``user`` when someone asked for it (stop job, terminate) and ``timeout`` when a job ran into its time
    limit (``JobDef(result="stopped")``) on its own. One rule for every way a block can end keeps the three paths
    from drifting apart.
    """
    results = [job.result for job in block.jobs]
    block.state = "done"
    if "failed" in results:
        block.result, block.result_reason = "failed", "test"
    elif "stopped" in results:
        forced = any(job.definition.result == "stopped" for job in block.jobs if job.result == "stopped")
        block.result, block.result_reason = "stopped", ("timeout" if forced and not by_user else "user")
    else:
        block.result, block.result_reason = "passed", "test"


def _directive_of(line: logevents.LogLine) -> str:
    return line.plain[:-1].decode("utf-8", "surrogateescape")


def _generated_output(size: int) -> CommandDef:
    """A command printing ``size`` bytes of numbered lines, in fragments that ignore line ends (as the agent's)."""
    lines: list[bytes] = []
    total = 0
    number = 0
    while total < size:
        number += 1
        line = b"generated log line %08d: the quick brown fox jumps over the lazy dog\n" % number
        lines.append(line)
        total += len(line)
    data = b"".join(lines)[:size]
    fragments: Iterable[bytes] = (data[i : i + 4000] for i in range(0, len(data), 4000))
    return CommandDef(f"generate {size} bytes of output", output=tuple(fragments), duration=1.0)
