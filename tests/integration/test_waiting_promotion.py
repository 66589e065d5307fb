"""``wait_for_promotion`` and ``wait_for_workflow(include_promotions=True)`` against the simulator."""

from __future__ import annotations

import pytest

from pytest_semaphore.errors import APIError, PromotionFailed, WaitTimeout
from pytest_semaphore.simulator.definitions import ParameterDef, ProjectDef, PromotionDef, simple_rule
from pytest_semaphore.waiting import Outcome, outcome, started_here, wait_for_promotion, wait_for_workflow

from .waiting_support import job, pipeline, project, simulated


def _deploy_world() -> ProjectDef:
    """main -> (manual) deploy -> (auto on pass) smoke -> (auto on pass) notify; main -> (manual) broken (no file)."""
    notify = pipeline(job("notify", duration=20), name="Notify")
    smoke = pipeline(
        job("smoke", duration=90),
        name="Smoke",
        promotions=(PromotionDef("notify", ".semaphore/notify.yml", auto_promote=simple_rule("passed")),),
    )
    deploy = pipeline(
        job("deploy", duration=120),
        name="Deploy",
        promotions=(PromotionDef("smoke", ".semaphore/smoke.yml", auto_promote=simple_rule("passed")),),
    )
    failing_deploy = pipeline(job("deploy", duration=60, exit_code=1), name="Deploy (fails)")
    main = pipeline(
        job("test", duration=60),
        promotions=(
            PromotionDef(
                "production",
                ".semaphore/deploy.yml",
                parameters=(ParameterDef("REGION", required=True, options=("eu", "us")),),
            ),
            PromotionDef("staging", ".semaphore/deploy.yml"),
            PromotionDef("failing", ".semaphore/failing.yml"),
            PromotionDef("broken", ".semaphore/missing.yml"),
        ),
    )
    return project(main=main, deploy=deploy, smoke=smoke, notify=notify, failing=failing_deploy)


def test_a_manual_promotion_is_triggered_found_and_waited_for() -> None:
    with simulated(_deploy_world()) as s:
        ppl_id = s.start()
        s.sim.advance(120)
        assert s.sim.world.pipeline(ppl_id).result == "passed"
        result = wait_for_promotion(s.client, ppl_id, "production", parameters={"REGION": "eu"}, pacing=s.pacing)
        records = s.sim.world.promotions(ppl_id)
        assert [r.name for r in records] == ["production"]
        assert result.promotion.scheduled_pipeline_id == records[0].scheduled_pipeline_id == result.pipeline.ppl_id
        assert records[0].parameters == {"REGION": "eu"}
        truth = s.sim.world.pipeline(result.pipeline.ppl_id)
        assert truth.done
        assert outcome(result.pipeline) is Outcome.PASSED is s.truth(result.pipeline.ppl_id)
        assert result.pipelines == (result.pipeline,)  # the tree is not walked unless asked
        assert started_here(result.pipeline.ppl_id)  # so cancel options may act on it


def test_our_promotion_is_the_new_record_not_an_older_one() -> None:
    with simulated(_deploy_world()) as s:
        ppl_id = s.start()
        s.sim.advance(120)
        first = wait_for_promotion(s.client, ppl_id, "staging", pacing=s.pacing)
        second = wait_for_promotion(s.client, ppl_id, "staging", pacing=s.pacing)
        assert first.pipeline.ppl_id != second.pipeline.ppl_id
        records = sorted(s.sim.world.promotions(ppl_id), key=lambda r: r.triggered_at)
        assert [r.scheduled_pipeline_id for r in records] == [first.pipeline.ppl_id, second.pipeline.ppl_id]


def test_a_promoted_pipeline_that_fails_is_returned_with_its_verdict() -> None:
    with simulated(_deploy_world()) as s:
        ppl_id = s.start()
        s.sim.advance(120)
        result = wait_for_promotion(s.client, ppl_id, "failing", pacing=s.pacing)
        assert outcome(result.pipeline) is Outcome.FAILED is s.truth(result.pipeline.ppl_id)
        assert result.outcome is Outcome.FAILED


def test_a_failed_promotion_raises_saying_why() -> None:
    with simulated(_deploy_world()) as s:
        ppl_id = s.start()
        s.sim.advance(120)
        with pytest.raises(PromotionFailed) as caught:
            wait_for_promotion(s.client, ppl_id, "broken", pacing=s.pacing)
        assert s.sim.world.promotions(ppl_id)[0].status == "failed"
        assert caught.value.name == "broken"
        assert caught.value.ppl_id == ppl_id
        assert "parameter" in str(caught.value)
        assert "broken" in str(caught.value)


@pytest.mark.parametrize(("newer", "status"), [(True, 409), (False, 400)])
def test_a_refused_trigger_is_an_api_error_not_a_wait(newer: bool, status: int) -> None:
    with simulated(_deploy_world(), refusals_as_409=newer) as s:
        ppl_id = s.start()
        s.sim.advance(5)  # not passed yet: Semaphore wants override
        with pytest.raises(APIError, match="requires override confirmation") as caught:
            wait_for_promotion(s.client, ppl_id, "staging", pacing=s.pacing)
        assert caught.value.status == status
        assert s.sim.world.promotions(ppl_id) == []  # refused: nothing was recorded, nothing was retried into one


def test_follow_auto_promotions_walks_the_whole_tree() -> None:
    with simulated(_deploy_world()) as s:
        ppl_id = s.start()
        s.sim.advance(120)
        result = wait_for_promotion(s.client, ppl_id, "staging", follow_auto_promotions=True, pacing=s.pacing)
        names = [s.sim.world.pipeline(p.ppl_id).yaml_file for p in result.pipelines]
        assert names == [".semaphore/deploy.yml", ".semaphore/smoke.yml", ".semaphore/notify.yml"]
        for p in result.pipelines:
            assert p.done
            assert outcome(p) is s.truth(p.ppl_id) is Outcome.PASSED
        assert result.outcome is Outcome.PASSED
        assert result.failed_promotions == ()


def test_without_following_auto_promotions_only_the_promoted_pipeline_is_reported() -> None:
    with simulated(_deploy_world()) as s:
        ppl_id = s.start()
        s.sim.advance(120)
        result = wait_for_promotion(s.client, ppl_id, "staging", pacing=s.pacing)
        assert len(result.pipelines) == 1
        assert s.sim.world.pipeline(result.pipeline.ppl_id).yaml_file == ".semaphore/deploy.yml"


def test_the_promotion_wait_has_a_timeout() -> None:
    with simulated(_deploy_world()) as s:
        ppl_id = s.start()
        s.sim.advance(120)
        with pytest.raises(WaitTimeout):
            wait_for_promotion(s.client, ppl_id, "staging", timeout=60, pacing=s.pacing)
        assert s.sim.monotonic() < 120 + 60 + 31


def test_wait_for_workflow_includes_pipelines_promotions_schedule() -> None:
    with simulated(_deploy_world()) as s:
        wf_id, ppl_id = s.sim.world.start_workflow("app")
        s.at(70, lambda: s.sim.world.trigger_promotion(ppl_id, "staging"))  # within the grace after the end
        pipelines = wait_for_workflow(s.client, wf_id, include_promotions=True, pacing=s.pacing)
        files = sorted(s.sim.world.pipeline(p.ppl_id).yaml_file for p in pipelines)
        assert files == sorted(
            [".semaphore/semaphore.yml", ".semaphore/deploy.yml", ".semaphore/smoke.yml", ".semaphore/notify.yml"]
        )
        truth = s.sim.world.pipelines(wf_id=wf_id)
        assert {p.ppl_id for p in truth} == {p.ppl_id for p in pipelines}
        assert all(p.done for p in truth)


def test_a_promotion_triggered_elsewhere_is_found_from_a_snapshot() -> None:
    with simulated(_deploy_world()) as s:
        ppl_id = s.start()
        s.sim.advance(120)
        s.sim.world.trigger_promotion(ppl_id, "staging")  # an older record of the same name
        s.sim.advance(30)
        snapshot = s.client.list_promotions(ppl_id)
        s.sim.world.trigger_promotion(ppl_id, "staging")  # "ours", triggered by someone else's code
        result = wait_for_promotion(s.client, ppl_id, "staging", trigger=False, snapshot=snapshot, pacing=s.pacing)
        newest = max(s.sim.world.promotions(ppl_id), key=lambda r: r.triggered_at)
        assert result.pipeline.ppl_id == newest.scheduled_pipeline_id
        assert len(s.sim.world.promotions(ppl_id)) == 2  # nothing triggered by the wait itself


def _interrupt() -> None:
    raise KeyboardInterrupt


def test_interrupting_a_promotion_wait_cancels_the_pipeline_it_triggered() -> None:
    slow = project(
        main=pipeline(job("test", duration=60), promotions=(PromotionDef("deploy", ".semaphore/deploy.yml"),)),
        deploy=pipeline(job("deploy", duration=3000)),
    )
    with simulated(slow, seed=23) as s:
        ppl_id = s.start()
        s.sim.advance(120)
        s.at(400, _interrupt)
        with pytest.raises(KeyboardInterrupt):
            wait_for_promotion(s.client, ppl_id, "deploy", cancel_on_interrupt=True, pacing=s.pacing)
        promoted = s.sim.world.promotions(ppl_id)[0].scheduled_pipeline_id
        s.sim.advance(10)
        assert s.sim.world.pipeline(promoted).result == "stopped"
        assert s.sim.world.pipeline(ppl_id).result == "passed"  # the promoted-from pipeline is untouched


def test_an_interrupt_after_the_promotion_scheduled_its_pipeline_but_before_we_saw_it_still_cancels_it() -> None:
    slow = project(
        main=pipeline(job("test", duration=60), promotions=(PromotionDef("deploy", ".semaphore/deploy.yml"),)),
        deploy=pipeline(job("deploy", duration=3000)),
    )
    with simulated(slow, seed=29) as s:
        ppl_id = s.start()
        s.sim.advance(120)
        triggered_at = s.sim.monotonic()
        # the first sleep that ends after Semaphore processed the promotion: scheduled in the world, not yet seen by us
        s.at(triggered_at + s.sim.world.timings.promotion + 0.001, _interrupt)
        with pytest.raises(KeyboardInterrupt):
            wait_for_promotion(s.client, ppl_id, "deploy", cancel_on_interrupt=True, pacing=s.pacing)
        promoted = s.sim.world.promotions(ppl_id)[0].scheduled_pipeline_id
        assert promoted is not None
        s.sim.advance(10)
        assert s.sim.world.pipeline(promoted).done
        assert s.sim.world.pipeline(promoted).result in ("stopped", "canceled")
        assert s.sim.world.pipeline(ppl_id).result == "passed"
