"""What the simulated world is made of: its records, the refusals it answers with, and how long each step takes.

Plain data, so that the state machine (:mod:`.world`), the promotion rules (:mod:`.promotions`), the pure rules
(:mod:`.rules`), the formatter and tests can all read the same objects. A record changes only under the world's lock,
by the world's own events; readers outside the lock see it as of their last call into the world.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from . import logevents
from .definitions import BlockDef, JobDef, PipelineDef, ProjectDef

__all__ = [
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
    "WorldError",
]


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
