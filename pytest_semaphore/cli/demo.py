"""``semaphore-gate demo``: a whole deployment gate rehearsed against the embedded simulator, in seconds.

What it shows is what a gate job does against semaphoreci.com, through the same core calls the other subcommands
make: find the pipeline a push started (it may not exist yet), wait for it with live progress, promote it to
production with a parameter and wait for the promoted pipeline; then a red build (one failing unit-test shard) with
its failure excerpt, a JUnit report, the full log and an HTML summary written into ``--output-dir``. The simulator's
clock is the waits' clock (simulated time), so minutes of pipelines take a moment. Exit 0 when everything behaved as
a gate should (the green build promoted, the red one caught with its failing command), 4 otherwise.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from ..record import PipelineEntry
from .exitcodes import EXIT_ERROR, EXIT_OK

if TYPE_CHECKING:
    from ..client import SemaphoreClient
    from ..logs import Excerpt
    from ..models import Pipeline
    from .context import Context

__all__ = ["run_demo"]

PROJECT = "release-train"
PROMOTION = "Production"
#: Another seed than the green run's, so that the two rehearsals' ids differ.
RED_SEED = 8
PARAMETERS = {"REGION": "eu-west-1", "RELEASE_NOTE": "semaphore-gate demo"}


def _scenario(name: str) -> Path:
    from ..simulator.serve import default_scenario

    bundled = default_scenario()
    assert bundled is not None, "the package ships the release-train scenario"
    return bundled.with_name(name)


@contextlib.contextmanager
def _rehearsal(ctx: Context, scenario: str, *, seed: int | None = None) -> Iterator[SemaphoreClient]:
    """A simulator of the bundled ``scenario`` and a client on it; every wait and elapsed time on its clock."""
    from ..client import SemaphoreClient
    from ..simulator import SemaphoreSimulator

    with SemaphoreSimulator(_scenario(scenario), seed=seed) as sim:
        ctx.pacing = dataclasses.replace(ctx.pacing, sleep=sim.advance, monotonic=sim.monotonic)
        ctx.out.use_clock(sim.monotonic)
        with SemaphoreClient(sim.url, sim.token, sleep=sim.advance) as client:
            yield client


def run_demo(ctx: Context) -> int:
    out_dir = Path(ctx.args.output_dir)
    out = ctx.out
    out.say("Rehearsing a deployment gate against the embedded Semaphore simulator (simulated time).")
    with _rehearsal(ctx, "scenario.yml") as client:
        promoted_ok = _green(ctx, client)
    with _rehearsal(ctx, "failing.yml", seed=RED_SEED) as client:
        red, excerpts = _red(ctx, client, out_dir)
        files = _write_files(ctx, client, red, excerpts, out_dir)
    caught = any(e.exit_code not in (None, 0) and "Unit tests" in e.job_name for e in excerpts.values())
    ok = promoted_ok and caught
    ctx.result["files"] = {k: str(v) for k, v in files.items()}
    out.say("")
    out.say(f"Files in {out_dir}/:")
    for what, path in files.items():
        out.say(f"  {what}: {path}")
    out.say("The same gate against your organisation (SEMAPHORE_ORGANIZATION_URL and SEMAPHORE_API_TOKEN set):")
    out.say(f"  semaphore-gate wait --project {PROJECT} --branch master")
    out.say(f"  semaphore-gate promote {PROMOTION} --pipeline PIPELINE_ID --param REGION=eu-west-1")
    out.say(f"  semaphore-gate junit PIPELINE_ID -o {files['JUnit report']}")
    out.say(f"  semaphore-gate report PIPELINE_ID -o {files['HTML summary']}")
    verdict = "rehearsal passed" if ok else "rehearsal did not behave as expected"
    ctx.finish(verdict, EXIT_OK if ok else EXIT_ERROR)
    return EXIT_OK if ok else EXIT_ERROR


def _green(ctx: Context, client: SemaphoreClient) -> bool:
    """A push to master: find its pipeline, wait, promote to production; whether it all passed."""
    from ..waiting import Outcome, find_pipeline, outcome, promote, wait_for_pipeline

    out = ctx.out
    out.say(f"\n1. A push to master of {PROJECT!r}: waiting for its pipeline")
    found = find_pipeline(client, PROJECT, branch="master", appear_timeout=120, pacing=ctx.pacing)
    waits = ctx.waits()
    build = wait_for_pipeline(client, found.ppl_id, timeout=3600, detailed=True, **waits)
    ctx.record.add_pipeline(PipelineEntry("wait", build))
    if outcome(build) is not Outcome.PASSED:
        out.error(f"the green build ended {outcome(build)}")
        return False
    out.close()
    shown = ", ".join(f"{k}={v}" for k, v in PARAMETERS.items())
    out.say(f"\n2. Build passed: promoting to {PROMOTION} with {shown}")
    result = promote(
        client,
        build.ppl_id,
        PROMOTION,
        parameters=PARAMETERS,
        timeout=3600,
        on_event=ctx.promotion_events(build.ppl_id, PROMOTION, PARAMETERS, indent="   "),
        **waits,
    )
    assert result.promoted is not None, "a pipeline that is not the demo's own is promoted and waited for"
    for promoted in result.promoted.pipelines:
        ctx.record.add_pipeline(PipelineEntry("promoted", promoted, promotion=PROMOTION))
    ctx.record.add_promotion(result.to_dict())
    out.close()
    out.say(f"   {PROMOTION}: {result.outcome}")
    return result.ok


def _red(ctx: Context, client: SemaphoreClient, out_dir: Path) -> tuple[Pipeline, dict[str, Excerpt]]:
    """A push whose unit-test shard fails: wait, then show the failing command and its last lines."""
    from ..logs import fetch_failed_excerpts
    from ..waiting import find_pipeline, outcome, wait_for_pipeline

    out = ctx.out
    out.say("\n3. Rehearsing a red build: one unit-test shard fails")
    found = find_pipeline(client, PROJECT, branch="master", appear_timeout=120, pacing=ctx.pacing)
    red = wait_for_pipeline(client, found.ppl_id, timeout=3600, detailed=True, **ctx.waits())
    out.close()
    out.say(f"   {red.name}: {outcome(red)} (the gate would exit {outcome(red).exit_code} and not promote)")
    excerpts = fetch_failed_excerpts(
        client, red, options=dataclasses.replace(ctx.excerpt_options(), log_dir=out_dir / "logs")
    )
    ctx.show_excerpts(excerpts.values(), client.base_url)
    ctx.record.add_pipeline(PipelineEntry("wait", red, tuple(excerpts.values())))
    return red, excerpts


def _write_files(
    ctx: Context, client: SemaphoreClient, red: Pipeline, excerpts: dict[str, Excerpt], out_dir: Path
) -> dict[str, Path]:
    """The red build as JUnit, and the summary of everything the rehearsal waited on (from the shared record)."""
    from ..junit import write_pipeline_report

    junit = write_pipeline_report(
        out_dir / "junit.xml",
        red,
        topology=client.describe_topology(red.ppl_id),
        excerpts=excerpts,
        base_url=client.base_url,
    )
    summary = ctx.record.write_summary(out_dir / "summary.html", title="semaphore-gate demo")
    files = {"JUnit report": junit, "HTML summary": summary}
    for excerpt in excerpts.values():
        if excerpt.log_path:
            files[f"full log of {excerpt.job_name}"] = Path(excerpt.log_path)
    return files
