"""Typed, normalised views of what the Semaphore v1alpha API returns. Pure: no I/O.

The server formats the same facts differently by endpoint (``docs/semaphore-api.md``, section 7):
pipeline describe is lowercase with ``"2019-10-14 18:31:17.293456Z"`` timestamps, pipeline list is UPPERCASE with
``{"seconds", "nanos"}``, jobs carry int64 values as strings, workflow ``triggered_by`` is a name in one endpoint and
an integer in the other, and ``result`` is absent until a pipeline is done. Every ``from_api`` here accepts all of
those forms and yields one shape, so that nothing above this module has to know which endpoint a value came from:

* enums are lowercase strings (``pipeline.state == "done"``); unknown values are kept, not crashed on;
* timestamps are timezone-aware ``datetime`` in UTC, and the server's "unset" forms become ``None``;
* ``result``/``result_reason`` are ``None`` until the pipeline (or block) is done, and a block job's ``result`` is
  ``None`` until its status is ``finished`` (the server reports ``PASSED`` for a job that has not finished);
* attribute names are the API's own (``ppl_id``, ``wf_id``, ``scheduled_pipeline_id``...), and ``raw`` keeps the
  JSON object each model was built from.

Malformed input raises :class:`ModelError` (a ``ValueError``); the client turns it into an ``APIError`` naming the
request, so a ``KeyError`` never escapes to the user.
"""

from __future__ import annotations

import datetime as _dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "Block",
    "BlockJob",
    "EnvVar",
    "Job",
    "JobState",
    "LogEvent",
    "ModelError",
    "Pipeline",
    "PipelineResult",
    "PipelineState",
    "Project",
    "Promotion",
    "PromotionStatus",
    "ResultReason",
    "TopologyBlock",
    "Workflow",
    "WorkflowStarted",
    "parse_timestamp",
]

JSON = Mapping[str, Any]


class ModelError(ValueError):
    """A response body does not have the shape the API documents."""


class PipelineState:
    """Pipeline (and block) states, lowercase. Blocks also use ``waiting``."""

    INITIALIZING = "initializing"
    PENDING = "pending"
    QUEUING = "queuing"
    RUNNING = "running"
    STOPPING = "stopping"
    DONE = "done"
    WAITING = "waiting"


class PipelineResult:
    """Pipeline and block results, lowercase."""

    PASSED = "passed"
    FAILED = "failed"
    STOPPED = "stopped"
    CANCELED = "canceled"


class ResultReason:
    """Pipeline ``result_reason`` values, lowercase (blocks add ``skipped``)."""

    TEST = "test"
    MALFORMED = "malformed"
    STUCK = "stuck"
    USER = "user"
    INTERNAL = "internal"
    STRATEGY = "strategy"
    FAST_FAILING = "fast_failing"
    DELETED = "deleted"
    TIMEOUT = "timeout"
    SKIPPED = "skipped"


class JobState:
    """Job states: ``blocks[].jobs[].status`` uses the first four, the jobs API ``pending``/``queued`` too."""

    ENQUEUED = "enqueued"
    RUNNING = "running"
    STOPPING = "stopping"
    FINISHED = "finished"
    PENDING = "pending"
    QUEUED = "queued"


class PromotionStatus:
    PROCESSING = "processing"
    PASSED = "passed"
    FAILED = "failed"


_WORKFLOW_TRIGGERS = ("hook", "schedule", "api", "manual_run")
_PIPELINE_TRIGGERS = ("workflow", "promotion", "auto_promotion", "partial_re_run")

_EPOCH = _dt.datetime(1970, 1, 1, tzinfo=_dt.timezone.utc)


# --------------------------------------------------------------------------------------------------- field readers


def parse_timestamp(value: object) -> _dt.datetime | None:
    """Read any of the API's three timestamp forms; return ``None`` for the "unset" forms.

    * ``"2019-10-14 18:31:17.293456Z"`` (pipeline describe); unset is ``"1970-01-01 00:00:00.000000Z"``;
    * ``{"seconds": 1571063401, "nanos": 559492000}`` (lists, workflows, promotions); unset is ``{"seconds": 0}``;
    * ``"1571083003"`` (jobs, int64 as a string) or a plain number; unset is ``"0"``.

    ISO 8601 with ``T`` and an offset is accepted too. Anything else raises :class:`ModelError`.
    """
    try:
        return _timestamp(value)
    except (OverflowError, ValueError) as exc:  # a year 10**9, NaN, Infinity: not a date, and not our crash
        if isinstance(exc, ModelError):
            raise
        raise ModelError(f"not a timestamp: {value!r}") from None


#: The describe's form, ``"2019-10-14 18:31:17.293456Z"``: read on a fast path (six of them in every describe).
_DESCRIBE_STAMP = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}Z\Z")
_DESCRIBE_UNSET = "1970-01-01 00:00:00.000000Z"


def _timestamp(value: object) -> _dt.datetime | None:
    if type(value) is str and _DESCRIBE_STAMP.match(value):
        if value == _DESCRIBE_UNSET:
            return None
        # The form ``datetime.isoformat(" ")`` writes, which every supported Python reads back (3.10 without "Z").
        return _dt.datetime.fromisoformat(value[:-1] + "+00:00")
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ModelError(f"not a timestamp: {value!r}")
    if isinstance(value, Mapping):
        seconds = _int(value.get("seconds", 0), "seconds")
        nanos = _int(value.get("nanos", 0), "nanos")
        if seconds == 0 and nanos == 0:
            return None
        return _EPOCH + _dt.timedelta(seconds=seconds, microseconds=nanos // 1000)
    if isinstance(value, (int, float)):
        return None if value == 0 else _EPOCH + _dt.timedelta(seconds=value)
    if isinstance(value, str):
        text = value.strip()
        if text.lstrip("-").isdigit():
            seconds = int(text)
            return None if seconds == 0 else _EPOCH + _dt.timedelta(seconds=seconds)
        iso = text.replace(" ", "T", 1)
        if iso.endswith("Z"):
            iso = iso[:-1] + "+00:00"
        try:
            parsed = _dt.datetime.fromisoformat(iso)
        except ValueError as exc:
            raise ModelError(f"not a timestamp: {value!r}") from exc
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=_dt.timezone.utc)
        parsed = parsed.astimezone(_dt.timezone.utc)
        return None if parsed == _EPOCH else parsed
    raise ModelError(f"not a timestamp: {value!r}")


#: An integer as text: ASCII digits (``"²"`` and ``"٣"`` pass ``str.isdigit()`` but are not numbers to the API),
#: at most as many as a 64-bit field holds (``int()`` itself refuses past 4,300 digits with a bare ValueError).
_INT_TEXT = re.compile(r"-?[0-9]{1,20}")
_INT_RANGE = range(-(2**63), 2**64)


def _int(value: object, name: str) -> int:
    """An integer field, sent as a number or as int64-as-a-string; anything else (or past 64 bits) a ModelError."""
    result: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        result = value
    elif (isinstance(value, str) and _INT_TEXT.fullmatch(value.strip())) or (
        isinstance(value, float) and value.is_integer()
    ):
        result = int(value)
    if result is None:
        raise ModelError(f"{name}: expected an integer, got {_shown(value)}")
    if result not in _INT_RANGE:
        raise ModelError(f"{name}: {_shown(value)} is out of range for a 64-bit integer")
    return result


def _shown(value: object) -> str:
    """A bad value for a message, cut short: a 5,000-digit number or a megabyte string must not flood a report."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 64:
        return f"a {value.bit_length()}-bit integer"
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _obj(data: object, what: str) -> JSON:
    if type(data) is dict:  # what json.loads makes: spare the abstract-class check
        return data
    if not isinstance(data, Mapping):
        raise ModelError(f"{what}: expected a JSON object, got {type(data).__name__}")
    return data


def _list(data: object, what: str) -> Sequence[Any]:
    if data is None:
        return ()
    if not isinstance(data, list):
        raise ModelError(f"{what}: expected a JSON array, got {type(data).__name__}")
    return data


def _str(data: JSON, key: str) -> str:
    value = data.get(key)
    if type(value) is str:  # the usual case, first
        return value
    if value is None:
        return ""
    if isinstance(value, (str, int, float)) and not isinstance(value, bool):
        return str(value)
    raise ModelError(f"{key}: expected a string, got {type(value).__name__}")


def _required(data: JSON, key: str, what: str) -> str:
    value = _str(data, key)
    if not value:
        raise ModelError(f"{what}: missing {key!r}")
    return value


def _opt(data: JSON, key: str) -> str | None:
    value = _str(data, key)
    return value or None


def _enum(value: object) -> str | None:
    """Lowercase an enum name; ``None`` and ``""`` stay ``None``; an unknown name or number is kept as text.

    A JSON array, object or boolean is not an enum at all: it would otherwise become a state like ``"['a']"`` that
    no caller can recognise, so it is refused as a malformed answer.
    """
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise ModelError(f"not an enum value: {value!r}")
    return str(value).strip().lower()


def _text(value: object, what: str) -> str:
    """A JSON string (or number) as text; an array or object where text belongs is a malformed answer."""
    if isinstance(value, (str, int, float)) and not isinstance(value, bool):
        return str(value)
    raise ModelError(f"{what}: expected a string, got {type(value).__name__}")


def _enum_or_index(value: object, names: Sequence[str]) -> str | None:
    """An enum sent as a name (describe) or as its protobuf number (list): both give the lowercase name."""
    if isinstance(value, int) and not isinstance(value, bool):
        return names[value] if 0 <= value < len(names) else str(value)
    if isinstance(value, str) and _INT_TEXT.fullmatch(value) and not value.startswith("-"):
        index = int(value)
        return names[index] if index < len(names) else value
    return _enum(value)


def _bool(value: object) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        return value.strip().lower() in {"true", "1", "yes"}
    return bool(value)


# --------------------------------------------------------------------------------------------------- workflows


@dataclass(frozen=True)
class Workflow:
    """A workflow, from ``GET /plumber-workflows/:id`` or an element of the list."""

    wf_id: str
    initial_ppl_id: str
    project_id: str
    branch_name: str
    commit_sha: str
    created_at: _dt.datetime | None
    triggered_by: str | None
    """``hook``, ``schedule``, ``api`` or ``manual_run`` whether the server sent a name or an integer."""
    hook_id: str = ""
    requester_id: str = ""
    branch_id: str = ""
    rerun_of: str | None = None
    repository_id: str = ""
    organization_id: str = ""
    raw: JSON = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_api(cls, data: object) -> Workflow:
        obj = _obj(data, "workflow")
        if "workflow" in obj and isinstance(obj["workflow"], Mapping):
            obj = obj["workflow"]
        return cls(
            wf_id=_required(obj, "wf_id", "workflow"),
            initial_ppl_id=_str(obj, "initial_ppl_id"),
            project_id=_str(obj, "project_id"),
            branch_name=_str(obj, "branch_name"),
            commit_sha=_str(obj, "commit_sha"),
            created_at=parse_timestamp(obj.get("created_at")),
            triggered_by=_enum_or_index(obj.get("triggered_by"), _WORKFLOW_TRIGGERS),
            hook_id=_str(obj, "hook_id"),
            requester_id=_str(obj, "requester_id"),
            branch_id=_str(obj, "branch_id"),
            rerun_of=_opt(obj, "rerun_of"),
            repository_id=_str(obj, "repository_id"),
            organization_id=_str(obj, "organization_id"),
            raw=obj,
        )


@dataclass(frozen=True)
class WorkflowStarted:
    """What run and reschedule return: the new workflow's id and its first pipeline's id."""

    wf_id: str
    ppl_id: str
    raw: JSON = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_api(cls, data: object) -> WorkflowStarted:
        obj = _obj(data, "workflow start")
        wf_id = _str(obj, "workflow_id") or _str(obj, "wf_id")
        ppl_id = _str(obj, "pipeline_id") or _str(obj, "ppl_id")
        if not wf_id or not ppl_id:
            raise ModelError("workflow start: expected workflow and pipeline ids")
        return cls(wf_id=wf_id, ppl_id=ppl_id, raw=obj)


# --------------------------------------------------------------------------------------------------- pipelines


@dataclass(frozen=True)
class BlockJob:
    """A job as listed inside a detailed pipeline describe (``blocks[].jobs[]``)."""

    name: str
    job_id: str
    index: int
    status: str | None
    """``enqueued``, ``running``, ``stopping`` or ``finished`` (lowercase)."""
    result: str | None
    """``passed``, ``failed`` or ``stopped``; ``None`` until ``status == "finished"`` (the server says PASSED)."""
    raw: JSON = field(default_factory=dict, repr=False, compare=False)

    @property
    def finished(self) -> bool:
        return self.status == JobState.FINISHED

    @classmethod
    def from_api(cls, data: object) -> BlockJob:
        obj = _obj(data, "block job")
        status = _enum(obj.get("status"))
        return cls(
            name=_str(obj, "name"),
            job_id=_str(obj, "job_id"),
            index=_int(obj.get("index", 0), "index"),
            status=status,
            result=_enum(obj.get("result")) if status == JobState.FINISHED else None,
            raw=obj,
        )


@dataclass(frozen=True)
class Block:
    """A block of a detailed pipeline describe. ``block_id`` is ``""`` and ``jobs`` empty until it starts."""

    name: str
    block_id: str
    state: str | None
    result: str | None
    result_reason: str | None
    jobs: tuple[BlockJob, ...] = ()
    build_req_id: str = ""
    error_description: str = ""
    raw: JSON = field(default_factory=dict, repr=False, compare=False)

    @property
    def done(self) -> bool:
        return self.state == PipelineState.DONE

    @classmethod
    def from_api(cls, data: object) -> Block:
        obj = _obj(data, "block")
        state = _enum(obj.get("state"))
        done = state == PipelineState.DONE
        return cls(
            name=_str(obj, "name"),
            block_id=_str(obj, "block_id"),
            state=state,
            result=_enum(obj.get("result")) if done else None,
            result_reason=_enum(obj.get("result_reason")) if done else None,
            jobs=tuple(BlockJob.from_api(j) for j in _list(obj.get("jobs"), "block jobs")),
            build_req_id=_str(obj, "build_req_id"),
            error_description=_str(obj, "error_description"),
            raw=obj,
        )


@dataclass(frozen=True)
class Pipeline:
    """A pipeline from describe (``{"pipeline": ..., "blocks": [...]}``) or from the list; one shape for both.

    ``blocks`` is empty unless the pipeline was described with ``detailed=True``.
    """

    ppl_id: str
    wf_id: str
    name: str
    project_id: str
    branch_name: str
    commit_sha: str
    state: str | None
    result: str | None
    result_reason: str | None
    created_at: _dt.datetime | None = None
    pending_at: _dt.datetime | None = None
    queuing_at: _dt.datetime | None = None
    running_at: _dt.datetime | None = None
    stopping_at: _dt.datetime | None = None
    done_at: _dt.datetime | None = None
    yaml_file_name: str = ""
    working_directory: str = ""
    error_description: str = ""
    terminate_request: str = ""
    terminated_by: str = ""
    promotion_of: str | None = None
    partial_rerun_of: str | None = None
    switch_id: str = ""
    hook_id: str = ""
    ppl_triggered_by: str | None = None
    """``workflow``, ``promotion``, ``auto_promotion`` or ``partial_re_run`` when the server says."""
    env_vars: tuple[EnvVar, ...] = ()
    """The pipeline's own variables: a promoted pipeline's promotion parameters (defaults filled in), a pipeline
    started by ``run_workflow`` its parameters."""
    blocks: tuple[Block, ...] = ()
    raw: JSON = field(default_factory=dict, repr=False, compare=False)

    @property
    def done(self) -> bool:
        return self.state == PipelineState.DONE

    @property
    def yml_file_path(self) -> str:
        """``working_directory/yaml_file_name`` as ``list_pipelines(yml_file_path=...)`` expects it."""
        if not self.working_directory:
            return self.yaml_file_name
        return f"{self.working_directory.rstrip('/')}/{self.yaml_file_name}"

    @property
    def jobs(self) -> tuple[BlockJob, ...]:
        """Every job of every block (empty unless described with ``detailed=True``)."""
        return tuple(job for block in self.blocks for job in block.jobs)

    @property
    def failed_jobs(self) -> tuple[BlockJob, ...]:
        """Jobs that finished with a failure; unfinished jobs never count."""
        return tuple(job for job in self.jobs if job.finished and job.result == PipelineResult.FAILED)

    @classmethod
    def from_api(cls, data: object) -> Pipeline:
        outer = _obj(data, "pipeline")
        blocks_raw: object = None
        obj = outer
        if "pipeline" in outer and isinstance(outer["pipeline"], Mapping):
            obj = outer["pipeline"]
            blocks_raw = outer.get("blocks") or []
        state = _enum(obj.get("state"))
        done = state == PipelineState.DONE
        triggerer = obj.get("triggerer")
        ppl_triggered_by = None
        if isinstance(triggerer, Mapping):
            ppl_triggered_by = _enum_or_index(triggerer.get("ppl_triggered_by"), _PIPELINE_TRIGGERS)
        return cls(
            ppl_id=_required(obj, "ppl_id", "pipeline"),
            wf_id=_str(obj, "wf_id"),
            name=_str(obj, "name"),
            project_id=_str(obj, "project_id"),
            branch_name=_str(obj, "branch_name"),
            commit_sha=_str(obj, "commit_sha"),
            state=state,
            result=_enum(obj.get("result")) if done else None,
            result_reason=_enum(obj.get("result_reason")) if done else None,
            created_at=parse_timestamp(obj.get("created_at")),
            pending_at=parse_timestamp(obj.get("pending_at")),
            queuing_at=parse_timestamp(obj.get("queuing_at")),
            running_at=parse_timestamp(obj.get("running_at")),
            stopping_at=parse_timestamp(obj.get("stopping_at")),
            done_at=parse_timestamp(obj.get("done_at")),
            yaml_file_name=_str(obj, "yaml_file_name"),
            working_directory=_str(obj, "working_directory"),
            error_description=_str(obj, "error_description"),
            terminate_request=_str(obj, "terminate_request"),
            terminated_by=_str(obj, "terminated_by"),
            promotion_of=_opt(obj, "promotion_of"),
            partial_rerun_of=_opt(obj, "partial_rerun_of"),
            switch_id=_str(obj, "switch_id"),
            hook_id=_str(obj, "hook_id"),
            ppl_triggered_by=ppl_triggered_by,
            env_vars=_env_vars(obj.get("env_vars"), "pipeline env_vars"),
            blocks=tuple(Block.from_api(b) for b in _list(blocks_raw, "blocks")),
            raw=outer,
        )


@dataclass(frozen=True)
class TopologyBlock:
    """One element of ``GET /pipelines/:id/describe_topology``: a block's name, job names and dependencies."""

    name: str
    jobs: tuple[str, ...]
    dependencies: tuple[str, ...]
    raw: JSON = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_api(cls, data: object) -> TopologyBlock:
        obj = _obj(data, "topology block")
        return cls(
            name=_str(obj, "name"),
            jobs=tuple(_text(j, "topology jobs") for j in _list(obj.get("jobs"), "topology jobs")),
            dependencies=tuple(
                _text(d, "topology dependencies") for d in _list(obj.get("dependencies"), "topology dependencies")
            ),
            raw=obj,
        )


# --------------------------------------------------------------------------------------------------- promotions


@dataclass(frozen=True)
class Promotion:
    """A promotion record of a pipeline (``GET /promotions?pipeline_id=``)."""

    name: str
    status: str | None
    """``processing`` until handled, then ``passed`` or ``failed``."""
    triggered_by: str
    """A user id, or ``"Pipeline Done request"`` for an auto-promotion."""
    override: bool
    triggered_at: _dt.datetime | None
    scheduled_at: _dt.datetime | None
    scheduled_pipeline_id: str | None
    raw: JSON = field(default_factory=dict, repr=False, compare=False)

    @property
    def automatic(self) -> bool:
        return self.triggered_by == "Pipeline Done request"

    @property
    def identity(self) -> tuple[object, ...]:
        """What tells this record apart from other records over time.

        ``status``, ``scheduled_at`` and ``scheduled_pipeline_id`` fill in later, so they are not part of it; two
        records with the same identity are two readings of one trigger.
        """
        return (self.name, self.triggered_at, self.triggered_by, self.override)

    @classmethod
    def from_api(cls, data: object) -> Promotion:
        obj = _obj(data, "promotion")
        return cls(
            name=_required(obj, "name", "promotion"),
            status=_enum(obj.get("status")),
            triggered_by=_str(obj, "triggered_by"),
            override=_bool(obj.get("override", False)),
            triggered_at=parse_timestamp(obj.get("triggered_at")),
            scheduled_at=parse_timestamp(obj.get("scheduled_at")),
            scheduled_pipeline_id=_opt(obj, "scheduled_pipeline_id"),
            raw=obj,
        )


# --------------------------------------------------------------------------------------------------- jobs


@dataclass(frozen=True)
class EnvVar:
    name: str
    value: str

    def __repr__(self) -> str:  # values may be secrets: never shown in a repr
        return f"EnvVar(name={self.name!r}, value=<{len(self.value)} chars>)"


def _env_vars(data: object, what: str) -> tuple[EnvVar, ...]:
    return tuple(
        EnvVar(name=_str(e, "name"), value=_str(e, "value")) for e in (_obj(x, what) for x in _list(data, what))
    )


@dataclass(frozen=True)
class Job:
    """A job from the jobs API (``GET /jobs/:id``, ``GET /jobs``)."""

    job_id: str
    name: str
    project_id: str
    state: str | None
    """``pending``, ``queued``, ``running`` or ``finished``."""
    result: str | None
    """``passed``, ``failed`` or ``stopped``; ``None`` while the server says ``NONE`` or the job is unfinished."""
    create_time: _dt.datetime | None = None
    update_time: _dt.datetime | None = None
    start_time: _dt.datetime | None = None
    finish_time: _dt.datetime | None = None
    machine_type: str = ""
    os_image: str = ""
    commands: tuple[str, ...] = ()
    env_vars: tuple[EnvVar, ...] = ()
    agent_ip: str | None = None
    raw: JSON = field(default_factory=dict, repr=False, compare=False)

    @property
    def finished(self) -> bool:
        return self.state == JobState.FINISHED

    @classmethod
    def from_api(cls, data: object) -> Job:
        obj = _obj(data, "job")
        metadata = _obj(obj.get("metadata") or {}, "job metadata")
        spec = _obj(obj.get("spec") or {}, "job spec")
        status = _obj(obj.get("status") or {}, "job status")
        agent = spec.get("agent") or {}
        machine = _obj(agent, "job agent").get("machine") or {}
        machine = _obj(machine, "job machine")
        state = _enum(status.get("state"))
        result = _enum(status.get("result"))
        if state != JobState.FINISHED or result == "none":
            result = None
        status_agent = status.get("agent")
        agent_ip = None
        if isinstance(status_agent, Mapping):
            agent_ip = _opt(status_agent, "ip")
        env_vars = _env_vars(spec.get("env_vars"), "env_vars")
        return cls(
            job_id=_required(metadata, "id", "job metadata"),
            name=_str(metadata, "name"),
            project_id=_str(spec, "project_id"),
            state=state,
            result=result,
            create_time=parse_timestamp(metadata.get("create_time")),
            update_time=parse_timestamp(metadata.get("update_time")),
            start_time=parse_timestamp(metadata.get("start_time")),
            finish_time=parse_timestamp(metadata.get("finish_time")),
            machine_type=_str(machine, "type"),
            os_image=_str(machine, "os_image"),
            commands=tuple(_text(c, "commands") for c in _list(spec.get("commands"), "commands")),
            env_vars=env_vars,
            agent_ip=agent_ip,
            raw=obj,
        )


# --------------------------------------------------------------------------------------------------- logs


@dataclass(frozen=True)
class LogEvent:
    """One agent log event: ``job_started``, ``cmd_started``, ``cmd_output``, ``cmd_finished``, ``job_finished``.

    ``output`` fragments are not line-aligned: they carry their own ``\\n``/``\\r\\n`` and ANSI codes.
    """

    event: str
    timestamp: int
    directive: str | None = None
    output: str | None = None
    exit_code: int | None = None
    started_at: int | None = None
    finished_at: int | None = None
    result: str | None = None
    raw: JSON = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_api(cls, data: object) -> LogEvent:
        obj = _obj(data, "log event")
        event = _required(obj, "event", "log event")
        exit_code = obj.get("exit_code")
        started = obj.get("started_at")
        finished = obj.get("finished_at")
        output = obj.get("output")
        directive = obj.get("directive")
        return cls(
            event=event,
            timestamp=_int(obj.get("timestamp", 0), "timestamp"),
            directive=None if directive is None else _text(directive, "directive"),
            output=None if output is None else _text(output, "output"),
            exit_code=None if exit_code is None else _int(exit_code, "exit_code"),
            started_at=None if started is None else _int(started, "started_at"),
            finished_at=None if finished is None else _int(finished, "finished_at"),
            result=_enum(obj.get("result")),
            raw=obj,
        )


# --------------------------------------------------------------------------------------------------- projects


@dataclass(frozen=True)
class Project:
    """A project (``GET /projects``, ``GET /projects/:name``), in the shape Semaphore's ``sem`` CLI decodes."""

    project_id: str
    name: str
    description: str = ""
    repository_url: str = ""
    pipeline_file: str = ""
    raw: JSON = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_api(cls, data: object) -> Project:
        obj = _obj(data, "project")
        metadata = _obj(obj.get("metadata") or {}, "project metadata")
        spec = _obj(obj.get("spec") or {}, "project spec")
        repository = _obj(spec.get("repository") or {}, "project repository")
        return cls(
            project_id=_required(metadata, "id", "project metadata"),
            name=_str(metadata, "name"),
            description=_str(metadata, "description"),
            repository_url=_str(repository, "url"),
            pipeline_file=_str(repository, "pipeline_file"),
            raw=obj,
        )
