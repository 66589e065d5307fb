"""The subcommands: each parses nothing and decides nothing of its own, it calls the core and reports.

A decision made here would be one the pytest plugin lacks: waiting, verdicts, excerpts, JUnit and summaries all live
in the core (:mod:`pytest_semaphore.waiting`, :mod:`~pytest_semaphore.logs`, :mod:`~pytest_semaphore.junit`,
:mod:`~pytest_semaphore.report`); a handler turns arguments into one call and the result into words and an exit code.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING

from ..errors import ConfigurationError
from ..record import excerpt_to_json, pipeline_to_json
from .context import Context
from .exitcodes import EXIT_OK, EXIT_USAGE
from .output import pipeline_label

if TYPE_CHECKING:
    from ..models import Pipeline

__all__ = ["HANDLERS"]


def _remaining(ctx: Context, started: float) -> float:
    """What is left of ``--timeout`` for the next wait of a command that waits more than once."""
    return max(0.0, ctx.settings.timeout - (ctx.pacing.monotonic() - started))


# --------------------------------------------------------------------------------------------------- wait


def wait(ctx: Context) -> int:
    from ..waiting import find_pipeline, mark_started, wait_for_pipeline, wait_for_pipelines, wait_for_workflow

    args, client = ctx.args, ctx.client
    started = ctx.pacing.monotonic()
    sources = sum(1 for given in (args.ppl_ids, args.workflow, args.project) if given)
    if sources != 1:
        raise ConfigurationError(
            "wait needs exactly one of: PIPELINE_ID..., --workflow ID, or --project NAME (with --commit/--branch)"
        )
    if (args.commit or args.branch) and not args.project:
        raise ConfigurationError("--commit and --branch choose a pipeline of --project; give --project too")
    if args.workflow:
        ctx.out.say(f"Waiting for the pipelines of workflow {args.workflow}")
        waits = ctx.waits()
        if waits.pop("fail_fast"):
            raise ConfigurationError("--fail-fast is not available with --workflow; name its pipelines instead")
        # a workflow named on the command line is this process's own: the cancel options may stop its pipelines
        done = wait_for_workflow(client, args.workflow, timeout=ctx.settings.timeout, cancel_foreign=True, **waits)
        return ctx.verdict(done, role="wait")
    ppl_ids: list[str] = list(dict.fromkeys(args.ppl_ids))
    if args.project:
        what = (
            args.project + (f" at {args.commit}" if args.commit else "") + (f" on {args.branch}" if args.branch else "")
        )
        ctx.out.say(f"Looking for the newest pipeline of {what}")
        found = find_pipeline(
            client,
            args.project,
            commit_sha=args.commit,
            branch=args.branch,
            appear_timeout=ctx.settings.timeout,
            pacing=ctx.pacing,
        )
        ppl_ids = [found.ppl_id]
    for ppl_id in ppl_ids:  # named on the command line: this process's own, for the cancel options
        mark_started(ppl_id)
    timeout = _remaining(ctx, started)
    if len(ppl_ids) == 1:
        ctx.out.say(f"Waiting for pipeline {ppl_ids[0]} (timeout {ctx.settings.timeout:g} s)")
        done_one = wait_for_pipeline(client, ppl_ids[0], timeout=timeout, detailed=True, **ctx.waits())
        return ctx.verdict([done_one], role="wait")
    ctx.out.say(f"Waiting for {len(ppl_ids)} pipelines (timeout {ctx.settings.timeout:g} s)")
    done_by_id = wait_for_pipelines(client, ppl_ids, timeout=timeout, detailed=True, **ctx.waits())
    return ctx.verdict(list(done_by_id.values()), role="wait")


# --------------------------------------------------------------------------------------------------- promote


def promote(ctx: Context) -> int:
    from ..waiting import JobIdentity
    from ..waiting import promote as promote_pipeline

    args, client, settings = ctx.args, ctx.client, ctx.settings
    settings.require(("pipeline",), "promote")
    ppl_id = settings.pipeline
    assert ppl_id is not None
    parameters = dict(args.param)
    shown = ", ".join(f"{k}={v}" for k, v in parameters.items())
    ctx.out.say(
        f"Promoting pipeline {ppl_id} to {args.name!r}"
        + (f" with {shown}" if shown else "")
        + (" (override)" if args.override else "")
    )
    result = promote_pipeline(
        client,
        ppl_id,
        args.name,
        parameters=parameters,
        override=args.override,
        wait=not args.no_wait,
        follow=args.follow,
        force=args.force,
        job=JobIdentity.from_env(ctx.environ),
        timeout=settings.timeout,
        on_event=ctx.promotion_events(ppl_id, args.name, parameters),
        **ctx.waits(),
    )
    ctx.record.add_promotion(result.to_dict())
    for note in result.notes:
        if note not in ctx.told:
            ctx.out.say(note)
    if result.promoted is not None:
        refused = "; ".join(
            f"auto-promotion {r.name!r} of {p} was refused" for p, r in result.promoted.failed_promotions
        )
        return ctx.verdict(
            list(result.promoted.pipelines), role="promoted", promotion=args.name, extra_error=refused or None
        )
    if result.source is not None:
        ctx.show_failures([result.source])
    verdict = result.outcome.value if result.outcome is not None else result.action.value
    ctx.finish(verdict, result.exit_code)
    return result.exit_code


# --------------------------------------------------------------------------------------------------- run


def run(ctx: Context) -> int:
    from ..waiting import mark_started, wait_for_pipeline

    args, client = ctx.args, ctx.client
    started = ctx.pacing.monotonic()
    workflow = client.run_workflow(
        args.project,
        args.ref,
        commit_sha=args.commit,
        pipeline_file=args.pipeline_file,
        parameters=dict(args.param),
        reconcile=True,
    )
    mark_started(workflow.ppl_id)
    ctx.result["workflow"] = {"wf_id": workflow.wf_id, "ppl_id": workflow.ppl_id}
    ctx.out.event("workflow_started", wf_id=workflow.wf_id, ppl_id=workflow.ppl_id)
    ctx.out.say(f"Started workflow {workflow.wf_id}: pipeline {workflow.ppl_id}")
    if args.no_wait:
        ctx.finish("started", EXIT_OK)
        return EXIT_OK
    done = wait_for_pipeline(client, workflow.ppl_id, timeout=_remaining(ctx, started), detailed=True, **ctx.waits())
    return ctx.verdict([done], role="run")


# --------------------------------------------------------------------------------------------------- one look


def status(ctx: Context) -> int:
    from ..waiting import outcome

    pipeline = ctx.client.describe_pipeline(ctx.args.ppl_id, detailed=True)
    ctx.result["status"] = pipeline_to_json(pipeline, ctx.client.base_url)
    _show_pipeline(ctx, pipeline)
    if not pipeline.done:
        ctx.finish(pipeline.state or "unknown", EXIT_OK, "still running")
        return EXIT_OK
    verdict = outcome(pipeline)
    code = EXIT_OK if ctx.args.no_exit_code else verdict.exit_code
    ctx.finish(verdict.value, code)
    return code


def _show_pipeline(ctx: Context, pipeline: Pipeline) -> None:
    from ..junit import job_url, pipeline_url

    state = pipeline.state or "unknown"
    if pipeline.done:
        state += f", {pipeline.result}" + (f" ({pipeline.result_reason})" if pipeline.result_reason else "")
    ctx.out.say(f"{pipeline_label(pipeline)}: {state}")
    if pipeline.wf_id:
        ctx.out.say(f"  {pipeline_url(ctx.client.base_url, pipeline.wf_id, pipeline.ppl_id)}")
    for block in pipeline.blocks:
        ctx.out.say(f"  {block.name}: {block.state or 'unknown'}" + (f", {block.result}" if block.result else ""))
        for job in block.jobs:
            line = f"    {job.name}: {job.status or 'unknown'}" + (f", {job.result}" if job.result else "")
            if job.finished and job.result in ("failed", "stopped"):
                line += f"  {job_url(ctx.client.base_url, job.job_id)}"
            ctx.out.say(line)


def logs(ctx: Context) -> int:
    from ..logs import Redactor, events_to_text, fetch_excerpt

    args, client = ctx.args, ctx.client
    if not (args.full or args.raw):
        excerpt = fetch_excerpt(client, args.job_id, options=ctx.excerpt_options())
        ctx.result["excerpt"] = excerpt_to_json(excerpt, client.base_url)
        ctx.show_excerpts([excerpt], client.base_url)
        return EXIT_OK
    if ctx.out.mode != "text":
        raise ConfigurationError(
            "--full and --raw print the log itself on stdout, where --json and --jsonl print their own; choose one"
        )
    job = client.describe_job(args.job_id)
    redactor = Redactor.for_job(extra_secrets=client.redaction_values(), job=job)
    events = client.job_log_events_raw(args.job_id)
    # The log itself is the output (not people's text): stdout in every mode, so it can be piped to a file.
    stream = ctx.out.stdout
    try:
        if args.raw:
            for event in events:
                stream.write(redactor(json.dumps(event, ensure_ascii=False)) + "\n")
        else:
            for block in events_to_text(events, redactor=redactor):
                stream.write(block)
    finally:
        close: Callable[[], object] | None = getattr(events, "close", None)
        if close is not None:
            close()
    stream.flush()
    return EXIT_OK


# --------------------------------------------------------------------------------------------------- reports


def junit(ctx: Context) -> int:
    from ..junit import write_pipeline_report_from_client

    path = write_pipeline_report_from_client(
        ctx.client,
        ctx.args.ppl_id,
        ctx.args.output,
        options=ctx.excerpt_options(),
    )
    ctx.result["report"] = str(path)
    ctx.out.say(f"JUnit report of pipeline {ctx.args.ppl_id} written to {path}")
    return EXIT_OK


def attach_logs(ctx: Context) -> int:
    from ..junit import TestTarget, attach_logs, attachment_for, failed_testcases
    from ..logs import fetch_failed_excerpts

    args, client, settings = ctx.args, ctx.client, ctx.settings
    settings.require(("pipeline",), "attach-logs")
    ppl_id = settings.pipeline
    assert ppl_id is not None
    targets: list[TestTarget] = [TestTarget.from_nodeid(t, prefix=args.junit_prefix) for t in args.test]
    if not targets:
        targets = failed_testcases(args.report)
    pipeline = client.describe_pipeline(ppl_id, detailed=True)
    excerpts = fetch_failed_excerpts(client, pipeline, options=ctx.excerpt_options())
    attachment = attachment_for(pipeline, excerpts.values(), base_url=client.base_url)
    if not targets:
        ctx.out.say(f"{args.report}: no failed testcase to attach to; the report is unchanged")
        ctx.result["attached"] = []
        return EXIT_OK
    done = attach_logs(args.report, dict.fromkeys(targets, attachment))
    ctx.result["attached"] = [f"{t.classname}::{t.name}" for t in done.attached]
    ctx.result["missing"] = [f"{t.classname}::{t.name}" for t in done.missing]
    ctx.out.say(
        f"Attached {len(excerpts)} excerpt(s) of {pipeline_label(pipeline)} to {len(done.attached)} testcase(s) "
        f"of {done.path}"
    )
    for target in done.missing:
        ctx.out.error(f"semaphore-gate attach-logs: no testcase {target.classname}::{target.name} in {args.report}")
    return EXIT_OK if not done.missing else EXIT_USAGE


def report(ctx: Context) -> int:
    from ..logs import fetch_failed_excerpts
    from ..report import write_summary

    client = ctx.client
    pipelines = [client.describe_pipeline(ppl_id, detailed=True) for ppl_id in dict.fromkeys(ctx.args.ppl_ids)]
    excerpts = {}
    for pipeline in pipelines:
        excerpts.update(fetch_failed_excerpts(client, pipeline, options=ctx.excerpt_options()))
    path = write_summary(
        ctx.args.output, pipelines, excerpts=excerpts, base_url=client.base_url, template=ctx.args.template
    )
    ctx.result["report"] = str(path)
    ctx.out.say(f"Summary of {len(pipelines)} pipeline(s) written to {path}")
    return EXIT_OK


# --------------------------------------------------------------------------------------------------- simulator


def simulate(ctx: Context) -> int:
    from ..simulator.serve import serve

    args = ctx.args
    speed = args.speed if args.speed is not None else 1.0  # the global --speed is the simulator's own here
    return serve(
        args.scenario,
        port=args.port,
        speed=speed,
        seed=args.seed,
        out=ctx.out.stdout,
        err=ctx.out.stderr,
        branch=args.branch,
        tag=args.tag,
        pull_request=args.pull_request,
    )


def demo(ctx: Context) -> int:
    from .demo import run_demo

    return run_demo(ctx)


HANDLERS: dict[str, Callable[[Context], int]] = {
    "wait": wait,
    "promote": promote,
    "run": run,
    "status": status,
    "logs": logs,
    "junit": junit,
    "attach-logs": attach_logs,
    "report": report,
    "simulate": simulate,
    "demo": demo,
}
