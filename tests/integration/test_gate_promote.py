"""``promote``: the one promotion function of both faces, against the simulator in simulated time.

The gate's own pipeline is a pipeline whose "Gate" block holds jobs defined with ``hold=True``: they stay running
until the test releases them, standing for the job that runs the code under test. What was triggered is always read
from ``sim.world`` (the truth), never only through the result under test.
"""

from __future__ import annotations

import pytest

from pytest_semaphore.errors import ConfigurationError, WaitTimeout
from pytest_semaphore.models import Pipeline
from pytest_semaphore.simulator.definitions import BlockDef, JobDef, ParameterDef, ProjectDef, PromotionDef, simple_rule
from pytest_semaphore.simulator.world import JobRecord
from pytest_semaphore.waiting import JobIdentity, Outcome, PromoteAction, PromoteEvent, promote, started_here

from .waiting_support import Sim, job, pipeline, project, simulated

PRODUCTION = PromotionDef(
    "production",
    ".semaphore/deploy.yml",
    parameters=(
        ParameterDef("REGION", required=True, options=("eu", "us")),
        ParameterDef("REASON", default="release"),
    ),
)


def gate_job(index: int, count: int) -> JobDef:
    """Shard ``index`` of ``count`` of the gate job, held running until the test releases it."""
    shard = (("SEMAPHORE_JOB_INDEX", str(index)), ("SEMAPHORE_JOB_COUNT", str(count))) if count > 1 else ()
    return JobDef(name=f"gate - {index}/{count}" if count > 1 else "gate", commands=(), env_vars=shard, hold=True)


def gate_world(
    *, shards: int = 3, test_exit: int = 0, after_gate: bool = False, deploy: PromotionDef = PRODUCTION
) -> ProjectDef:
    """Build (20 s) -> Tests (unit 90 s, lint 30 s) -> E2E (50 s), and Build -> Gate (held shards); optionally
    Publish after Gate."""
    blocks = [
        BlockDef("Build", (job("build", duration=20),), dependencies=()),
        BlockDef(
            "Tests", (job("unit", duration=90, exit_code=test_exit), job("lint", duration=30)), dependencies=("Build",)
        ),
        BlockDef("Gate", tuple(gate_job(i, shards) for i in range(1, shards + 1)), dependencies=("Build",)),
        BlockDef("E2E", (job("e2e", duration=50),), dependencies=("Tests",)),  # starts long after the gate
    ]
    if after_gate:
        blocks.append(BlockDef("Notify", (job("notify", duration=5),), dependencies=("Tests",)))
        blocks.append(BlockDef("Publish", (job("publish", duration=5),), dependencies=("Notify", "Gate")))
    main = pipeline(blocks=tuple(blocks), promotions=(deploy,))
    return project(main=main, deploy=pipeline(job("deploy", duration=120), name="Deploy"))


def gate_jobs(s: Sim, ppl_id: str) -> list[JobRecord]:
    """The gate's shards, once running (the clock is advanced until they are)."""
    for _ in range(100):
        jobs = [j for j in s.sim.world.pipeline(ppl_id).jobs if j.definition.hold]
        if jobs and all(j.state == "running" for j in jobs):
            return jobs
        s.sim.advance(1)
    raise AssertionError("the gate jobs never started")


def identity(record: JobRecord) -> JobIdentity:
    """The job's identity as the code running in it reads it: from the job's own environment."""
    found = JobIdentity.from_env(dict(record.env_vars))
    assert found is not None
    assert found.job_id == record.job_id
    return found


# --------------------------------------------------------------------------------------------- the gate's own pipeline


def test_three_parallel_shards_promote_their_own_pipeline_once_with_override() -> None:
    with simulated(gate_world(shards=3)) as s:
        ppl_id = s.start()
        shards = gate_jobs(s, ppl_id)
        events: list[PromoteEvent] = []
        results = []
        for shard in shards[:2]:
            results.append(
                promote(
                    s.client, ppl_id, "production", parameters={"REGION": "eu"}, job=identity(shard), pacing=s.pacing
                )
            )
            s.sim.world.release(shard.job_id)  # the shard's session ends
        assert [r.action for r in results] == [PromoteAction.SKIPPED_SHARD] * 2
        assert s.sim.world.promotions(ppl_id) == []
        assert "only the last shard (3/3) promotes" in results[0].notes[0]

        last = promote(
            s.client,
            ppl_id,
            "production",
            parameters={"REGION": "eu"},
            job=identity(shards[2]),
            on_event=events.append,
            pacing=s.pacing,
        )
        truth = s.sim.world.pipeline(ppl_id)
        tests_block = next(b for b in truth.blocks if b.name == "Tests")
        assert tests_block.done
        assert tests_block.result == "passed"
        assert not truth.done  # this job still runs
        records = s.sim.world.promotions(ppl_id)
        assert len(records) == 1
        assert records[0].override is True
        assert records[0].parameters == {"REGION": "eu", "REASON": "release"}
        assert last.action is PromoteAction.TRIGGERED
        assert last.own_pipeline
        assert last.override
        assert last.ok
        assert last.exit_code == 0
        assert last.outcome is None
        assert last.promoted is None  # never waits for the pipeline it may be a parent of
        assert any(n.startswith("override:") and "every other job of it passed (6)" in n for n in last.notes)
        assert any("not waiting for the promoted pipeline" in n for n in last.notes)
        assert [e.kind for e in events] == ["own-pipeline", "waiting-for-jobs", "triggered"]
        assert last.to_dict()["action"] == "triggered"

        s.sim.world.release(shards[2].job_id)
        s.sim.advance(5)
        assert s.sim.world.pipeline(ppl_id).result == "passed"
        (handled,) = s.sim.world.promotions(ppl_id)  # Semaphore starts it once its parent is done
        assert s.sim.world.pipeline(handled.scheduled_pipeline_id).promotion_of == ppl_id


def test_a_block_depending_on_the_gate_block_is_refused_before_anything_is_triggered() -> None:
    with simulated(gate_world(shards=1, after_gate=True)) as s:
        ppl_id = s.start()
        (gate,) = gate_jobs(s, ppl_id)
        requests_before = len(s.sim.requests)
        with pytest.raises(ConfigurationError) as refused:
            promote(s.client, ppl_id, "production", parameters={"REGION": "eu"}, job=identity(gate), pacing=s.pacing)
        message = str(refused.value)
        assert "'Publish'" in message
        assert "'Gate'" in message
        assert "docs/waiting.md" in message
        assert "'Notify'" not in message  # Notify depends on Tests, not on the gate
        assert s.sim.world.promotions(ppl_id) == []
        assert not any(r.method == "POST" for r in s.sim.requests[requests_before:])


def test_another_job_failing_means_no_promotion_and_the_result_names_it() -> None:
    with simulated(gate_world(shards=1, test_exit=1)) as s:
        ppl_id = s.start()
        (gate,) = gate_jobs(s, ppl_id)
        result = promote(
            s.client, ppl_id, "production", parameters={"REGION": "eu"}, job=identity(gate), pacing=s.pacing
        )
        assert result.action is PromoteAction.NOT_PROMOTED
        assert not result.ok
        assert result.outcome is Outcome.FAILED
        assert result.exit_code == 1
        assert [(b.block, b.job, b.result) for b in result.blockers] == [
            ("Tests", "unit", "failed"),
            ("E2E", None, "canceled"),  # it never ran: its dependency failed
        ]
        unit = next(j for j in s.sim.world.pipeline(ppl_id).jobs if j.name == "unit")
        assert result.blockers[0].job_id == unit.job_id
        assert "'unit'" in result.notes[-1]
        assert s.sim.world.promotions(ppl_id) == []


def test_a_job_still_running_is_never_judged_before_it_finishes() -> None:
    """lint finishes at 30 s while unit runs to 90 s: the gate must not trigger in between."""
    with simulated(gate_world(shards=1, test_exit=1)) as s:
        ppl_id = s.start()
        (gate,) = gate_jobs(s, ppl_id)
        seen_running: list[bool] = []

        def watch(pipeline: Pipeline) -> None:
            seen_running.append(any(j.name == "unit" and not j.finished for j in pipeline.jobs))

        result = promote(s.client, ppl_id, "production", job=identity(gate), on_change=watch, pacing=s.pacing)
        assert seen_running[0]
        assert not seen_running[-1]
        assert result.action is PromoteAction.NOT_PROMOTED


def test_a_failed_sibling_shard_blocks_the_promotion() -> None:
    with simulated(gate_world(shards=2)) as s:
        ppl_id = s.start()
        first, last = gate_jobs(s, ppl_id)
        s.sim.world.release(first.job_id, "failed")  # shard 1's own tests failed
        result = promote(s.client, ppl_id, "production", job=identity(last), pacing=s.pacing)
        assert result.action is PromoteAction.NOT_PROMOTED
        assert [(b.job, b.job_id, b.result) for b in result.blockers] == [("gate - 1/2", first.job_id, "failed")]
        assert s.sim.world.promotions(ppl_id) == []


def test_a_timeout_while_other_jobs_run_triggers_nothing() -> None:
    with simulated(gate_world(shards=1)) as s:
        ppl_id = s.start()
        (gate,) = gate_jobs(s, ppl_id)
        with pytest.raises(WaitTimeout, match="timed out after 30 s waiting for the other jobs"):
            promote(s.client, ppl_id, "production", job=identity(gate), timeout=30, pacing=s.pacing)
        assert s.sim.world.promotions(ppl_id) == []
        unit = next(j for j in s.sim.world.pipeline(ppl_id).jobs if j.name == "unit")
        assert unit.state == "running"


def test_a_rerun_reuses_the_promotion_and_force_triggers_again() -> None:
    with simulated(gate_world(shards=1)) as s:
        s.sim.world.early_promotions = "start"  # a server that schedules the promoted pipeline at once
        ppl_id = s.start()
        (gate,) = gate_jobs(s, ppl_id)
        me = identity(gate)
        first = promote(s.client, ppl_id, "production", parameters={"REGION": "eu"}, job=me, pacing=s.pacing)
        s.sim.advance(5)  # Semaphore handles the trigger and schedules its pipeline
        again = promote(s.client, ppl_id, "production", parameters={"REGION": "eu"}, job=me, pacing=s.pacing)
        assert first.action is PromoteAction.TRIGGERED
        assert again.action is PromoteAction.REUSED
        assert len(s.sim.world.promotions(ppl_id)) == 1
        assert first.promotion is not None
        assert again.promotion is not None
        assert again.promotion.identity == first.promotion.identity
        assert any(n.startswith("reused:") for n in again.notes)
        assert started_here(again.promotion.scheduled_pipeline_id or "")

        s.sim.advance(1)  # promotion records are told apart by their trigger time: reruns are never simultaneous
        other_region = promote(s.client, ppl_id, "production", parameters={"REGION": "us"}, job=me, pacing=s.pacing)
        assert other_region.action is PromoteAction.TRIGGERED
        s.sim.advance(1)
        forced = promote(
            s.client, ppl_id, "production", parameters={"REGION": "eu"}, job=me, force=True, pacing=s.pacing
        )
        assert forced.action is PromoteAction.TRIGGERED
        assert [r.parameters["REGION"] for r in s.sim.world.promotions(ppl_id)] == ["eu", "us", "eu"]


def test_a_rerun_right_after_the_trigger_waits_for_semaphore_to_handle_it_then_reuses_it() -> None:
    with simulated(gate_world(shards=1)) as s:
        s.sim.world.early_promotions = "start"
        ppl_id = s.start()
        (gate,) = gate_jobs(s, ppl_id)
        me = identity(gate)
        first = promote(s.client, ppl_id, "production", parameters={"REGION": "eu"}, job=me, pacing=s.pacing)
        assert first.promotion is not None
        assert first.promotion.status == "processing"  # its parameters cannot be read yet
        again = promote(s.client, ppl_id, "production", parameters={"REGION": "eu"}, job=me, pacing=s.pacing)
        assert again.action is PromoteAction.REUSED
        assert len(s.sim.world.promotions(ppl_id)) == 1


def test_an_earlier_promotion_semaphore_does_not_handle_in_time_is_not_guessed_at() -> None:
    """If Semaphore handles the gate's own promotions only once the pipeline is done, their parameters stay unknown:
    a rerun with parameters triggers anew (saying why) rather than reuse a promotion that may differ."""
    with simulated(gate_world(shards=1)) as s:  # the simulator defers them, as Semaphore may
        ppl_id = s.start()
        (gate,) = gate_jobs(s, ppl_id)
        me = identity(gate)
        promote(s.client, ppl_id, "production", parameters={"REGION": "eu"}, job=me, pacing=s.pacing)
        started = s.sim.monotonic()
        again = promote(s.client, ppl_id, "production", parameters={"REGION": "eu"}, job=me, pacing=s.pacing)
        assert again.action is PromoteAction.TRIGGERED
        assert 30 <= s.sim.monotonic() - started < 60
        assert any("still processing after 30 s" in n for n in again.notes)
        assert len(s.sim.world.promotions(ppl_id)) == 2
        without_parameters = promote(s.client, ppl_id, "production", job=me, pacing=s.pacing)
        assert without_parameters.action is PromoteAction.REUSED  # nothing to compare: the newest one counts


# --------------------------------------------------------------------------------------------- any other pipeline


def _chain_world(*, failing_main: bool = False) -> ProjectDef:
    """main -(production)-> deploy -(auto)-> smoke."""
    smoke = pipeline(job("smoke", duration=40), name="Smoke")
    deploy = pipeline(
        job("deploy", duration=120),
        name="Deploy",
        promotions=(PromotionDef("smoke", ".semaphore/smoke.yml", auto_promote=simple_rule("passed")),),
    )
    main = pipeline(job("test", duration=60, exit_code=1 if failing_main else 0), promotions=(PRODUCTION,))
    return project(main=main, deploy=deploy, smoke=smoke)


def test_an_ordinary_pipeline_is_waited_for_then_promoted_and_the_promoted_one_waited_for() -> None:
    with simulated(_chain_world()) as s:
        ppl_id = s.start()
        events: list[PromoteEvent] = []
        result = promote(
            s.client, ppl_id, "production", parameters={"REGION": "us"}, on_event=events.append, pacing=s.pacing
        )
        (record,) = s.sim.world.promotions(ppl_id)
        assert record.override is False
        assert record.parameters["REGION"] == "us"
        assert result.action is PromoteAction.TRIGGERED
        assert not result.own_pipeline
        assert result.pipeline is not None
        assert result.pipeline.ppl_id == record.scheduled_pipeline_id
        assert s.sim.world.pipeline(record.scheduled_pipeline_id).result == "passed"
        assert result.outcome is Outcome.PASSED
        assert result.ok
        assert result.promoted is not None
        assert [p.name for p in result.promoted.pipelines] == ["Deploy"]
        assert started_here(record.scheduled_pipeline_id)
        assert [e.kind for e in events] == ["triggered", "waiting-for-promoted"]


def test_a_job_of_another_pipeline_promotes_like_anyone_else() -> None:
    """A job identity that is not a job of the pipeline to promote changes nothing."""
    with simulated(_chain_world()) as s:
        ppl_id = s.start()
        stranger = JobIdentity("00000000-0000-4000-8000-000000000000", 2, 3)
        result = promote(s.client, ppl_id, "production", parameters={"REGION": "us"}, job=stranger, pacing=s.pacing)
        assert result.action is PromoteAction.TRIGGERED
        assert not result.own_pipeline
        assert result.outcome is Outcome.PASSED


def test_follow_waits_down_the_auto_promotions() -> None:
    with simulated(_chain_world()) as s:
        ppl_id = s.start()
        result = promote(s.client, ppl_id, "production", parameters={"REGION": "eu"}, follow=True, pacing=s.pacing)
        assert result.promoted is not None
        assert [p.name for p in result.promoted.pipelines] == ["Deploy", "Smoke"]
        smoke = result.promoted.pipelines[1]
        assert s.sim.world.pipeline(smoke.ppl_id).done
        assert smoke.done
        document = result.to_dict()
        assert [(p["name"], p["outcome"]) for p in document["promoted_pipelines"]] == [
            ("Deploy", "passed"),
            ("Smoke", "passed"),
        ]
        assert document["refused_auto_promotions"] == []


def test_an_ordinary_pipeline_that_failed_is_not_promoted_without_override() -> None:
    with simulated(_chain_world(failing_main=True)) as s:
        ppl_id = s.start()
        result = promote(s.client, ppl_id, "production", parameters={"REGION": "eu"}, pacing=s.pacing)
        assert result.action is PromoteAction.NOT_PROMOTED
        assert result.outcome is Outcome.FAILED
        assert [(b.job, b.result) for b in result.blockers] == [("test", "failed")]
        assert s.sim.world.promotions(ppl_id) == []

        forced = promote(
            s.client, ppl_id, "production", parameters={"REGION": "eu"}, override=True, wait=False, pacing=s.pacing
        )
        (record,) = s.sim.world.promotions(ppl_id)
        assert forced.action is PromoteAction.TRIGGERED
        assert record.override is True
        assert forced.promotion is not None
        assert forced.promotion.scheduled_pipeline_id == record.scheduled_pipeline_id
        assert forced.promoted is None
        assert forced.exit_code == 0


def test_an_ordinary_rerun_reuses_a_promotion_still_processing_once_it_is_handled() -> None:
    with simulated(_chain_world()) as s:
        ppl_id = s.start()
        s.sim.advance(120)
        s.client.trigger_promotion(ppl_id, "production", parameters={"REGION": "eu"})  # an earlier run, just now
        result = promote(s.client, ppl_id, "production", parameters={"REGION": "eu"}, wait=False, pacing=s.pacing)
        (record,) = s.sim.world.promotions(ppl_id)
        assert result.action is PromoteAction.REUSED
        assert result.promotion is not None
        assert result.promotion.scheduled_pipeline_id == record.scheduled_pipeline_id
