"""Semaphore's rules as pure functions over the records: what conditions see, how blocks and pipelines end, what a
job's environment holds.

No clock and no scheduling here: the world (:mod:`.world`) decides *when* a rule applies, these functions decide
*what* it says, so each rule is written once however many paths lead to it (a job failing, a stop, a terminate).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from .definitions import PARAMETER_EXPRESSION, PipelineDef
from .records import BlockRecord, JobRecord, PipelineRecord, WorkflowRecord
from .when import CHANGED_FILES

__all__ = [
    "after_pipeline_env",
    "auto_cancel_reach",
    "cancel_waiting_blocks",
    "facts",
    "fail_fast_mode",
    "fill_parameters",
    "job_env",
    "pipeline_result",
    "settle_block",
    "skipped",
    "split_reference",
]

# --- conditions ---------------------------------------------------------------------------------------------------


def facts(pipeline: PipelineRecord, workflow: WorkflowRecord) -> dict[str, str]:
    """What conditions look at (:data:`~.definitions.AutoPromoteFacts`): ``branch`` is empty on tag and
    pull-request builds, ``branch_name`` is the API's; the result only once the pipeline is done; the changed files
    only when the workflow says which (``None``: everything changed)."""
    found = {
        "branch": "" if pipeline.tag is not None or pipeline.pull_request is not None else pipeline.branch_name,
        "branch_name": pipeline.branch_name,
        "tag": pipeline.tag or "",
        "pull_request": pipeline.pull_request or "",
        "result": pipeline.result or "",
        "result_reason": pipeline.result_reason or "",
    }
    if workflow.changed_files is not None:
        found[CHANGED_FILES] = "\n".join(workflow.changed_files)
    return found


def fail_fast_mode(definition: PipelineDef, seen: Mapping[str, str]) -> str | None:
    """``"stop"`` or ``"cancel"`` when the file's ``fail_fast`` condition holds as the pipeline starts running
    (``stop`` wins when both do), else ``None``."""
    if definition.fail_fast_stop is not None and definition.fail_fast_stop(seen):
        return "stop"
    if definition.fail_fast_cancel is not None and definition.fail_fast_cancel(seen):
        return "cancel"
    return None


def auto_cancel_reach(definition: PipelineDef, seen: Mapping[str, str]) -> str | None:
    """Which older pipelines of the same queue ``auto_cancel`` ends when this one enters it: ``"running"`` (those
    running too), ``"queued"`` (only those not running yet), or ``None``."""
    if definition.auto_cancel_running is not None and definition.auto_cancel_running(seen):
        return "running"
    if definition.auto_cancel_queued is not None and definition.auto_cancel_queued(seen):
        return "queued"
    return None


def skipped(block: BlockRecord, workflow: WorkflowRecord) -> bool:
    """A block's ``run``/``skip`` condition, evaluated when its dependencies are done (Semaphore shows a skipped
    block ``done``/``passed``/``skipped``, with no jobs). The facts are gathered only for a block with a condition."""
    definition = block.definition
    if definition.run is None and definition.skip is None:
        return False
    seen = facts(block.pipeline, workflow)
    return (definition.run is not None and not definition.run(seen)) or (
        definition.skip is not None and definition.skip(seen)
    )


# --- how blocks and pipelines end ---------------------------------------------------------------------------------


def settle_block(block: BlockRecord, *, by_user: bool) -> None:
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


def cancel_waiting_blocks(pipeline: PipelineRecord, reason: str = "user") -> None:
    """Blocks that never started end ``canceled`` with ``reason``: ``user`` when their pipeline is terminated,
    ``fast_failing`` under fail-fast."""
    for block in pipeline.blocks:
        if block.state == "waiting":
            block.state, block.result, block.result_reason = "done", "canceled", reason


def pipeline_result(pipeline: PipelineRecord) -> tuple[str, str]:
    """The result and reason of a pipeline whose blocks are all done: failed if one failed, stopped (with the first
    stopped block's reason) if one stopped, else passed."""
    results = [b.result for b in pipeline.blocks]
    if "failed" in results:
        return "failed", "test"
    stopped = [b for b in pipeline.blocks if b.result == "stopped"]
    if stopped:
        return "stopped", stopped[0].result_reason or "user"
    return "passed", "test"


# --- environments and names ---------------------------------------------------------------------------------------


def job_env(job: JobRecord, workflow: WorkflowRecord, extra: Iterable[tuple[str, str]] = ()) -> list[tuple[str, str]]:
    """A job's environment in the agent's order: Semaphore's own variables, ``extra`` (the after-pipeline task's),
    the pipeline's parameters, the job's own, and ``SEMAPHORE_JOB_ID`` last."""
    pipeline = job.pipeline
    return [
        ("SEMAPHORE_WORKFLOW_ID", pipeline.wf_id),
        ("SEMAPHORE_WORKFLOW_NUMBER", str(workflow.number)),
        ("SEMAPHORE_PIPELINE_ID", pipeline.ppl_id),
        ("SEMAPHORE_PIPELINE_ARTEFACT_ID", pipeline.ppl_id),
        ("SEMAPHORE_GIT_BRANCH", pipeline.branch_name),
        ("SEMAPHORE_GIT_SHA", pipeline.commit_sha),
        *extra,
        *pipeline.env_vars,
        *job.definition.env_vars,
        ("SEMAPHORE_JOB_ID", job.job_id),
    ]


def after_pipeline_env(pipeline: PipelineRecord, epoch: float) -> list[tuple[str, str]]:
    """What ``after_pipeline`` jobs see of the done pipeline: its result, its instants as Unix times (``epoch`` is
    that of simulated second 0) and its durations in whole seconds."""

    def stamp(when: float | None) -> str:
        return str(int(epoch + when)) if when is not None else "0"

    def duration(begin: float | None, end: float | None) -> str:
        return str(int(end - begin)) if begin is not None and end is not None else "0"

    return [
        ("SEMAPHORE_PIPELINE_RESULT", pipeline.result or ""),
        ("SEMAPHORE_PIPELINE_RESULT_REASON", pipeline.result_reason or ""),
        ("SEMAPHORE_PIPELINE_CREATED_AT", stamp(pipeline.created_at)),
        ("SEMAPHORE_PIPELINE_STARTED_AT", stamp(pipeline.running_at)),
        ("SEMAPHORE_PIPELINE_DONE_AT", stamp(pipeline.done_at)),
        ("SEMAPHORE_PIPELINE_INIT_DURATION", duration(pipeline.created_at, pipeline.pending_at)),
        ("SEMAPHORE_PIPELINE_QUEUEING_DURATION", duration(pipeline.queuing_at, pipeline.running_at)),
        ("SEMAPHORE_PIPELINE_RUNNING_DURATION", duration(pipeline.running_at, pipeline.done_at)),
        ("SEMAPHORE_PIPELINE_TOTAL_DURATION", duration(pipeline.created_at, pipeline.done_at)),
    ]


def fill_parameters(text: str, values: Mapping[str, str]) -> str:
    """``${{ parameters.NAME }}`` replaced by the parameter's value (empty when the pipeline has no such one)."""
    return PARAMETER_EXPRESSION.sub(lambda match: values.get(match.group(1), ""), text)


def split_reference(reference: str) -> tuple[str, str | None, str | None]:
    """``reference`` as run-workflow reads it -> (branch_name, tag, pull_request)."""
    if reference.startswith("refs/tags/"):
        return reference, reference[len("refs/tags/") :], None
    if reference.startswith("refs/pull/"):
        number = reference[len("refs/pull/") :]
        return f"pull-request-{number}", None, number
    if reference.startswith("refs/heads/"):
        return reference[len("refs/heads/") :], None, None
    return reference, None, None
