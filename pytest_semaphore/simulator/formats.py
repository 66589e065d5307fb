"""How the real server formats each object, quirk for quirk (docs/semaphore-api.md sections 1 and 2).

Pipeline describe is lowercase with string timestamps and integer nested enums; the pipeline list is UPPERCASE with
``{seconds, nanos}`` and enum names; ``result``/``result_reason`` vanish until a pipeline is done; a workflow's
``triggered_by`` is a name in describe and an integer in the list; jobs come from a protojson gateway (int64 as
strings, ``null`` for unset messages). Keeping every such rule here, away from the state machine, makes each one
easy to find and to test against the reference.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from .records import BlockRecord, JobRecord, PipelineRecord, ProjectRecord, PromotionRecord, WorkflowRecord
from .world import World

__all__ = [
    "UNSET_TIMESTAMP",
    "describe_job",
    "describe_pipeline",
    "describe_workflow",
    "list_pipeline",
    "list_promotion",
    "list_workflow",
    "project",
    "topology",
]

UNSET_TIMESTAMP = "1970-01-01 00:00:00.000000Z"

WORKFLOW_TRIGGERS = {"hook": 0, "schedule": 1, "api": 2, "manual_run": 3}
PIPELINE_TRIGGERS = {"workflow": 0, "promotion": 1, "auto_promotion": 2, "partial_re_run": 3}
QUEUE_TYPES = {"implicit": 0, "user_generated": 1}
JOB_API_STATES = {"pending": "PENDING", "queued": "QUEUED", "running": "RUNNING", "finished": "FINISHED"}
BLOCK_JOB_STATUS = {"pending": "ENQUEUED", "queued": "ENQUEUED", "running": "RUNNING", "finished": "FINISHED"}


def _micros(world: World, when: float) -> int:
    return round(world.timestamp(when) * 1_000_000)


def string_timestamp(world: World, when: float | None) -> str:
    """``"2025-04-17 19:06:12.081227Z"``, or the Unix epoch for an unset one (pipeline describe)."""
    if when is None:
        return UNSET_TIMESTAMP
    micros = _micros(world, when)
    moment = datetime.fromtimestamp(micros // 1_000_000, tz=timezone.utc)
    return f"{moment:%Y-%m-%d %H:%M:%S}.{micros % 1_000_000:06d}Z"


def proto_timestamp(world: World, when: float | None) -> dict[str, int]:
    """``{"seconds": …, "nanos": …}``; ``{0, 0}`` for an unset one (lists, workflows, promotions)."""
    if when is None:
        return {"seconds": 0, "nanos": 0}
    micros = _micros(world, when)
    return {"seconds": micros // 1_000_000, "nanos": (micros % 1_000_000) * 1000}


def int64_timestamp(world: World, when: float | None) -> str:
    """Jobs API: Unix seconds as a string, ``"0"`` when unset (protojson int64)."""
    if when is None:
        return "0"
    return str(int(world.timestamp(when)))


# ---------------------------------------------------------------- workflows


def _workflow(world: World, wf: WorkflowRecord) -> dict[str, Any]:
    return {
        "wf_id": wf.wf_id,
        "initial_ppl_id": wf.initial_ppl_id,
        "project_id": wf.project_id,
        "hook_id": wf.hook_id,
        "requester_id": wf.requester_id,
        "branch_id": wf.branch_id,
        "branch_name": wf.branch_name,
        "commit_sha": wf.commit_sha,
        "created_at": proto_timestamp(world, wf.created_at),
        "triggered_by": wf.triggered_by.upper(),
        "rerun_of": wf.rerun_of,
        "repository_id": wf.repository_id,
        "organization_id": wf.organization_id,
    }


def describe_workflow(world: World, wf: WorkflowRecord) -> dict[str, Any]:
    """``GET /plumber-workflows/:id``: ``triggered_by`` as a name."""
    return {"workflow": _workflow(world, wf)}


def list_workflow(world: World, wf: WorkflowRecord) -> dict[str, Any]:
    """One item of ``GET /plumber-workflows``: ``triggered_by`` as the raw protobuf integer."""
    fields = _workflow(world, wf)
    fields["triggered_by"] = WORKFLOW_TRIGGERS[wf.triggered_by]
    return fields


# ---------------------------------------------------------------- pipelines


def _pipeline(world: World, ppl: PipelineRecord, *, listing: bool) -> dict[str, Any]:
    def ts(when: float | None) -> Any:
        return proto_timestamp(world, when) if listing else string_timestamp(world, when)

    def enum(value: str) -> str:
        return value.upper() if listing else value

    def nested(value: str, table: dict[str, int]) -> Any:
        return value.upper() if listing else table[value]

    fields: dict[str, Any] = {
        "ppl_id": ppl.ppl_id,
        "name": ppl.name,
        "project_id": ppl.project_id,
        "branch_name": ppl.branch_name,
        "commit_sha": ppl.commit_sha,
        "created_at": ts(ppl.created_at),
        "pending_at": ts(ppl.pending_at),
        "queuing_at": ts(ppl.queuing_at),
        "running_at": ts(ppl.running_at),
        "stopping_at": ts(ppl.stopping_at),
        "done_at": ts(ppl.done_at),
        "state": enum(ppl.state),
        "result": enum(ppl.result or "passed"),
        "result_reason": enum(ppl.result_reason or "test"),
        "terminate_request": ppl.terminate_request,
        "hook_id": ppl.hook_id,
        "branch_id": ppl.branch_id,
        "error_description": ppl.error_description,
        "switch_id": ppl.switch_id,
        "working_directory": ppl.working_directory,
        "yaml_file_name": ppl.yaml_file_name,
        "terminated_by": ppl.terminated_by,
        "wf_id": ppl.wf_id,
        "snapshot_id": "",
        "queue": {
            "queue_id": ppl.queue_id,
            "name": f"{ppl.branch_name}-{ppl.yaml_file}",
            "scope": "project",
            "project_id": ppl.project_id,
            "organization_id": ppl.organization_id,
            "type": nested("implicit", QUEUE_TYPES),
        },
        "promotion_of": ppl.promotion_of,
        "partial_rerun_of": ppl.partial_rerun_of,
        "commit_message": "Simulated commit",
        "partially_rerun_by": ppl.partially_rerun_by,
        "compile_task_id": "",
        "with_after_task": bool(ppl.definition is not None and ppl.definition.after_pipeline),
        "after_task_id": ppl.after_task.build_req_id if ppl.after_task is not None else "",
        "repository_id": ppl.repository_id,
        "env_vars": [{"name": name, "value": value} for name, value in ppl.env_vars],
        "triggerer": {
            "wf_triggered_by": nested(ppl.wf_triggered_by, WORKFLOW_TRIGGERS),
            "wf_triggerer_id": ppl.hook_id,
            "wf_triggerer_user_id": world.user_id,
            "wf_triggerer_provider_login": "simulated-user",
            "wf_triggerer_provider_uid": "1",
            "wf_triggerer_provider_avatar": "",
            "ppl_triggered_by": nested(ppl.ppl_triggered_by, PIPELINE_TRIGGERS),
            "ppl_triggerer_id": ppl.ppl_triggerer_id,
            "ppl_triggerer_user_id": ppl.ppl_triggerer_id,
            "workflow_rerun_of": "",
        },
        "organization_id": ppl.organization_id,
    }
    if not ppl.done:  # remove_result_if_not_done
        del fields["result"]
        del fields["result_reason"]
    return fields


def _block_job(job: JobRecord) -> dict[str, Any]:
    return {
        "name": job.name,
        "index": job.index,
        "job_id": job.job_id,
        "status": BLOCK_JOB_STATUS[job.state],
        # The proto default is PASSED: an unfinished job says so too, exactly as the server does.
        "result": (job.result or "passed").upper(),
    }


def _block(block: BlockRecord) -> dict[str, Any]:
    started = bool(block.block_id)
    fields: dict[str, Any] = {
        "block_id": block.block_id,
        "name": block.name,
        "build_req_id": block.build_req_id,
        "state": block.state,
        "result": block.result or "passed",
        "result_reason": block.result_reason or "test",
        "error_description": block.error_description,
        "jobs": [_block_job(job) for job in block.jobs] if started else [],
    }
    if not block.done:  # the formatter applies remove_result_if_not_done to blocks too
        del fields["result"]
        del fields["result_reason"]
    return fields


def describe_pipeline(world: World, ppl: PipelineRecord, *, detailed: bool) -> dict[str, Any]:
    """``GET /pipelines/:id``: lowercase, string timestamps; ``blocks`` only when detailed."""
    return {
        "pipeline": _pipeline(world, ppl, listing=False),
        "blocks": [_block(block) for block in ppl.blocks] if detailed else [],
    }


def list_pipeline(world: World, ppl: PipelineRecord) -> dict[str, Any]:
    """One item of ``GET /pipelines``: UPPERCASE, ``{seconds, nanos}``, enum names."""
    return _pipeline(world, ppl, listing=True)


def topology(ppl: PipelineRecord) -> list[dict[str, Any]]:
    """``GET /pipelines/:id/describe_topology``."""
    return [
        {
            "name": block.name,
            "jobs": [job.name for job in block.definition.jobs],
            "dependencies": list(block.dependencies),
        }
        for block in ppl.blocks
    ]


# --------------------------------------------------------------- promotions


def list_promotion(world: World, promotion: PromotionRecord) -> dict[str, Any]:
    return {
        "name": promotion.name,
        "triggered_by": promotion.triggered_by,
        "override": promotion.override,
        "status": promotion.status,
        "triggered_at": proto_timestamp(world, promotion.triggered_at),
        "scheduled_at": proto_timestamp(world, promotion.scheduled_at),
        "scheduled_pipeline_id": promotion.scheduled_pipeline_id,
    }


# --------------------------------------------------------------------- jobs


def describe_job(world: World, job: JobRecord) -> dict[str, Any]:
    """A Job as the grpc-gateway emits it (``UseProtoNames``, ``EmitUnpopulated``)."""
    update = job.finished_at or job.started_at or job.enqueued_at or job.created_at
    agent: dict[str, Any] | None = None
    if job.started_at is not None:
        agent = {"ip": "" if job.self_hosted else "10.0.0.7", "name": "", "ports": [{"name": "ssh", "number": 30000}]}
        if job.self_hosted:
            agent["name"] = "simulated-self-hosted-agent"
            agent["ports"] = []
    return {
        "metadata": {
            "name": job.name,
            "id": job.job_id,
            "create_time": int64_timestamp(world, job.created_at),
            "update_time": int64_timestamp(world, update),
            "start_time": int64_timestamp(world, job.started_at),
            "finish_time": int64_timestamp(world, job.finished_at),
        },
        "spec": {
            "project_id": job.pipeline.project_id,
            "agent": {
                "machine": {"type": job.definition.machine_type, "os_image": job.definition.os_image},
                "containers": [],
                "image_pull_secrets": [],
            },
            "secrets": [],
            "env_vars": [{"name": name, "value": value} for name, value in job.env_vars],
            "files": [],
            "commands": job.commands,
            "epilogue_commands": [],
            "epilogue_always_commands": [],
            "epilogue_on_pass_commands": [],
            "epilogue_on_fail_commands": [],
        },
        "status": {
            "result": (job.result or "none").upper(),
            "state": JOB_API_STATES[job.state],
            "agent": agent,
        },
    }


# ----------------------------------------------------------------- projects


def project(world: World, record: ProjectRecord) -> dict[str, Any]:
    """A project in the shape the ``sem`` CLI decodes (projecthub-public)."""
    files = sorted(record.definition.pipelines)
    return {
        "apiVersion": "v1alpha",
        "kind": "Project",
        "metadata": {"name": record.name, "id": record.project_id, "description": ""},
        "spec": {
            "visibility": "private",
            "repository": {
                "url": f"git@github.com:{world.organization}/{record.name}.git",
                "run_on": ["branches", "tags"],
                "pipeline_file": record.definition.initial_pipeline_file,
                "status": {"pipeline_files": [{"path": path, "level": "pipeline"} for path in files]},
                "whitelist": {"branches": [], "tags": []},
                "integration_type": "github_app",
            },
            "schedulers": [],
            "tasks": [],
        },
    }
