"""The simulated world: projects, workflows, pipelines, blocks and jobs moving on a clock.

This is the truth the HTTP layer formats, and the truth tests may read directly when they must not ask through the
client they are testing. Everything moves by actions on a :class:`~.timeline.Timeline` processed in time order, so a
manual clock advanced by an hour runs an hour of pipelines in milliseconds, with every timestamp exactly where the
real server would put it. States and result pairs follow docs/semaphore-api.md section 2 (lowercase here; the
formatter upper-cases where the server does).

The world is the state machine and the registry: it decides *when* things happen. What the objects are lives in
:mod:`.records`, what Semaphore's rules say in :mod:`.rules`, how promotions are checked and processed in
:mod:`.promotions`, and what a job's log holds in :mod:`.joblog`.

One re-entrant lock guards the world: the HTTP threads, ``advance`` and tests may call in from any thread.
"""

from __future__ import annotations

import functools
import random
import threading
import uuid
from collections.abc import Iterable, Mapping

from . import joblog, logevents, rules
from .clock import Clock, ManualClock
from .definitions import AFTER_PIPELINE, DEFAULT_PIPELINE_FILE, EARLY_PROMOTIONS, BlockDef, ProjectDef
from .promotions import Promotions
from .records import (
    BadRequest,
    BlockRecord,
    InternalError,
    JobRecord,
    NotFound,
    PipelineRecord,
    ProjectRecord,
    PromotionRecord,
    Refused,
    Timings,
    WorkflowRecord,
    WorldError,
)
from .timeline import Timeline

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
        self.agent_preamble = agent_preamble
        self.clock: Clock = clock if clock is not None else ManualClock()
        self.epoch = epoch
        self.organization = organization
        self.timings = timings if timings is not None else Timings()
        self.lock = threading.RLock()
        self._rng = random.Random(seed)  # noqa: S311 - reproducible ids, not secrets
        self.timeline = Timeline(self.clock.now())
        self.promotion_rules = Promotions(
            self.timeline, self._spawn_promoted, self.timings, early_promotions=early_promotions
        )
        self.organization_id = self.new_id()
        self.user_id = self.new_id()
        self._projects: dict[str, ProjectRecord] = {}
        self._workflows: dict[str, WorkflowRecord] = {}
        self._pipelines: dict[str, PipelineRecord] = {}
        self._jobs: dict[str, JobRecord] = {}
        self._branch_ids: dict[tuple[str, str], str] = {}
        self._queue_ids: dict[tuple[str, str, str], str] = {}

    @property
    def early_promotions(self) -> str:
        """``defer``: a promotion triggered before its pipeline is done is processed when it is done; ``start``:
        at once (see :mod:`.promotions`)."""
        return self.promotion_rules.early_promotions

    @early_promotions.setter
    def early_promotions(self, value: str) -> None:
        self.promotion_rules.early_promotions = value

    # ---------------------------------------------------------------- time

    def new_id(self) -> str:
        """A UUID4 from the seeded generator, so a seeded world has the same ids every run."""
        return str(uuid.UUID(int=self._rng.getrandbits(128), version=4))

    def now(self) -> float:
        """Simulated seconds, caught up with the clock."""
        with self.lock:
            self.sync()
            return self.timeline.now

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
            self.timeline.run_until(self.clock.now())

    def pending_events(self) -> int:
        with self.lock:
            return len(self.timeline)

    # ------------------------------------------------------------- lookups

    def add_project(self, project: ProjectDef) -> str:
        with self.lock:
            self.sync()
            if any(p.name == project.name for p in self._projects.values()):
                raise ValueError(f"a project named {project.name!r} already exists in the simulated world")
            project_id = project.project_id or self.new_id()
            self._projects[project_id] = ProjectRecord(
                project_id, project.name, project, self.new_id(), self.timeline.now
            )
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
            return joblog.visible(job, self.timeline.now)

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
        branch, tag, pull_request = rules.split_reference(reference or "master")
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
            created_at=self.timeline.now,
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
            name=rules.fill_parameters(definition.name, values) if definition is not None else "Pipeline",
            yaml_file=yaml_file,
            definition=definition,
            branch_name=workflow.branch_name,
            commit_sha=workflow.commit_sha,
            hook_id=workflow.hook_id,
            branch_id=workflow.branch_id,
            created_at=self.timeline.now,
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
        self.timeline.at(self.timings.initializing, lambda: self._initialized(pipeline))
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
        pipeline.state, pipeline.pending_at = "pending", self.timeline.now
        self.timeline.at(self.timings.pending, lambda: self._queuing(pipeline))

    def _queuing(self, pipeline: PipelineRecord) -> None:
        if pipeline.done:
            return
        pipeline.state, pipeline.queuing_at = "queuing", self.timeline.now
        self._auto_cancel(pipeline)
        self.timeline.at(self.timings.queuing, lambda: self._running(pipeline))

    def _running(self, pipeline: PipelineRecord) -> None:
        if pipeline.done:
            return
        pipeline.state, pipeline.running_at = "running", self.timeline.now
        if pipeline.definition is not None:
            pipeline.fail_fast = rules.fail_fast_mode(pipeline.definition, self._facts(pipeline))
        self._advance_blocks(pipeline)

    def _auto_cancel(self, newer: PipelineRecord) -> None:
        """``auto_cancel`` of a pipeline entering its queue (the same project, branch and file): when ``running``
        holds, the older pipelines there that run are stopped and those not yet running canceled; when only
        ``queued`` holds, only the latter. Both end with the reason ``strategy``."""
        definition = newer.definition
        if definition is None or (definition.auto_cancel_running is None and definition.auto_cancel_queued is None):
            return
        reach = rules.auto_cancel_reach(definition, self._facts(newer))
        if reach is None:
            return
        for older in list(self._pipelines.values()):
            if older is newer or older.queue_id != newer.queue_id or older.done or older.created_at > newer.created_at:
                continue
            if older.state != "running" or reach == "running":
                self._terminate(older, self.user_id, "strategy")

    def _facts(self, pipeline: PipelineRecord) -> dict[str, str]:
        """What the pipeline's conditions see now (:func:`.rules.facts`); no lock taken, no clock caught up."""
        return rules.facts(pipeline, self._workflows[pipeline.wf_id])

    def _fail_fast(self, pipeline: PipelineRecord) -> None:
        """A job failed under ``fail_fast``: blocks not started are canceled; with ``stop`` every job still running
        is stopped, with ``cancel`` only those not started yet. Blocks ended so are ``fast_failing`` (the failing
        one stays ``failed``/``test``)."""
        rules.cancel_waiting_blocks(pipeline, "fast_failing")
        for block in pipeline.blocks:
            if block.state == "running":
                for job in block.jobs:
                    if job.state != "finished" and (pipeline.fail_fast == "stop" or job.started_at is None):
                        self._stop_job_now(job)
                if all(job.state == "finished" for job in block.jobs):
                    rules.settle_block(block, by_user=False)
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
                    if rules.skipped(block, self._workflows[pipeline.wf_id]):
                        block.state, block.result, block.result_reason = "done", "passed", "skipped"
                    else:
                        self._start_block(block)
                    changed = True
        if all(b.done for b in pipeline.blocks):
            self._finish_pipeline(pipeline, *rules.pipeline_result(pipeline))

    def _start_block(self, block: BlockRecord, extra_env: Iterable[tuple[str, str]] = ()) -> None:
        pipeline = block.pipeline
        block.state, block.block_id, block.build_req_id = "running", self.new_id(), self.new_id()
        wf = self._workflows[pipeline.wf_id]
        for index, job_def in enumerate(block.definition.jobs):
            job = JobRecord(self.new_id(), job_def.name, index, job_def, block, created_at=self.timeline.now)
            job.env_vars = rules.job_env(job, wf, extra_env)
            block.jobs.append(job)
            self._jobs[job.job_id] = job
            self.timeline.at(self.timings.job_pending, functools.partial(self._job_queued, job))
        if not block.jobs:
            block.state, block.result, block.result_reason = "done", "passed", "test"

    def _job_queued(self, job: JobRecord) -> None:
        if job.state != "pending":
            return
        job.state, job.enqueued_at = "queued", self.timeline.now
        self.timeline.at(self.timings.job_queued, lambda: self._job_started(job))

    def _job_started(self, job: JobRecord) -> None:
        if job.state != "queued":
            return
        job.state, job.started_at = "running", self.timeline.now
        job.log, duration, result = joblog.plan(job, self.timestamp, preamble=self.agent_preamble)
        job.result = None
        if job.definition.hold:
            job.log.pop()  # its job_finished line is written by release()
            return
        self.timeline.at(duration, lambda: self._job_finished(job, result))

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
            elapsed = self.timeline.now - job.started_at
            if job.log and job.log[-1].offset > elapsed:
                raise ValueError(f"job {job.name!r} ({job_id}) is still running its commands: advance the clock first")
            job.log.append(logevents.job_finished(elapsed, int(self.timestamp(self.timeline.now)), result))
            self._job_finished(job, result)

    def _job_finished(self, job: JobRecord, result: str) -> None:
        if job.state == "finished":
            return
        job.state, job.result, job.finished_at = "finished", result, self.timeline.now
        block, pipeline = job.block, job.pipeline
        if result == "failed" and pipeline.fail_fast is not None and pipeline.state == "running":
            self._fail_fast(pipeline)  # at the first failed job, not when its block is done
        if all(j.state == "finished" for j in block.jobs) and block.state == "running":
            rules.settle_block(block, by_user=False)
        self._advance_blocks(pipeline)

    def _stop_job_now(self, job: JobRecord) -> None:
        """Stop a job at this instant: cut its log where it is, as the agent does when killed."""
        if job.state == "finished":
            return
        if job.started_at is None:
            job.stopped_before_start = True
        else:
            job.log = joblog.cut(job, self.timeline.now, self.timestamp)
        job.state, job.result, job.finished_at = "finished", "stopped", self.timeline.now

    def stop_job(self, job_id: str) -> None:
        """``POST /jobs/:id/stop``: asynchronous on the server, and a no-op for a finished job."""
        with self.lock:
            job = self.job(job_id)
            if job.state == "finished":
                return
            self._stop_job_now(job)
            block = job.block
            if block.state == "running" and all(j.state == "finished" for j in block.jobs):
                rules.settle_block(block, by_user=True)
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
            rules.cancel_waiting_blocks(pipeline)
            self._finish_pipeline(pipeline, "canceled", reason)
            return
        pipeline.terminate_request = "stop"
        pipeline.state, pipeline.stopping_at = "stopping", self.timeline.now
        for block in pipeline.blocks:
            if block.state == "running":
                block.state = "stopping"
                for job in block.jobs:
                    self._stop_job_now(job)
        rules.cancel_waiting_blocks(pipeline)

        def finish() -> None:
            for block in pipeline.blocks:
                if block.state == "stopping":
                    rules.settle_block(block, by_user=True)
            self._finish_pipeline(pipeline, "stopped", pipeline.stop_reason)

        self.timeline.at(self.timings.stopping, finish)

    def _finish_pipeline(self, pipeline: PipelineRecord, result: str, reason: str) -> None:
        if pipeline.done:
            return
        pipeline.state, pipeline.result, pipeline.result_reason = "done", result, reason
        pipeline.done_at = self.timeline.now
        self._start_after_task(pipeline)
        self.promotion_rules.pipeline_done(pipeline, self._facts(pipeline))

    def _start_after_task(self, pipeline: PipelineRecord) -> None:
        """``after_pipeline``: its jobs start once the pipeline is done, with the pipeline's result in their
        environment, and whatever they do the pipeline's state and result stay as they are."""
        definition = pipeline.definition
        if definition is None or not definition.after_pipeline or pipeline.after_task is not None:
            return
        block = BlockRecord(AFTER_PIPELINE, -1, BlockDef(AFTER_PIPELINE, definition.after_pipeline), (), pipeline)
        pipeline.after_task = block
        self._start_block(block, rules.after_pipeline_env(pipeline, self.epoch))

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
        """``POST /promotions``: validate as gofer does, record the trigger, process it after a short delay
        (:meth:`.promotions.Promotions.trigger`)."""
        with self.lock:
            self.promotion_rules.trigger(
                self.pipeline(ppl_id),
                name,
                triggered_by=triggered_by or self.user_id,
                override=override,
                parameters=parameters,
                request_token=request_token,
            )

    def _spawn_promoted(self, parent: PipelineRecord, record: PromotionRecord, yaml_file: str) -> PipelineRecord | None:
        """The pipeline a processed promotion starts in the parent's workflow; ``None`` when the project has no
        such file."""
        if yaml_file not in self.project(parent.project_id).definition.pipelines:
            return None
        return self._new_pipeline(
            self._workflows[parent.wf_id],
            yaml_file,
            env_vars=list(record.parameters.items()),
            ppl_triggered_by="auto_promotion" if record.auto else "promotion",
            promotion_of=parent.ppl_id,
        )
