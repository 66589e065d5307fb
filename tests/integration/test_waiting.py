"""``wait_for_pipeline`` against the simulator over loopback HTTP, in simulated time; the truth read from the world."""

from __future__ import annotations

import itertools

import pytest

from pytest_semaphore.errors import APIUnavailable, NotFoundError, PipelineFailed, WaitTimeout
from pytest_semaphore.models import Pipeline
from pytest_semaphore.simulator.definitions import BlockDef, FaultDef
from pytest_semaphore.waiting import (
    Outcome,
    Prediction,
    RequestBudget,
    mark_started,
    outcome,
    started_here,
    wait_for_pipeline,
)

from .waiting_support import Sim, job, pipeline, project, simulated

# ------------------------------------------------------------------------------------------------ every state path


def test_a_passing_pipeline_is_returned_done_and_passed() -> None:
    with simulated() as s:
        ppl_id = s.start()
        done = wait_for_pipeline(s.client, ppl_id, pacing=s.pacing)
        assert done.done
        assert done.ppl_id == ppl_id
        assert s.sim.world.pipeline(ppl_id).done  # really done in the world, not just in our reading
        assert outcome(done) is Outcome.PASSED is s.truth(ppl_id)
        # the end is noticed within the schedule's cap
        assert s.sim.monotonic() - (s.sim.world.pipeline(ppl_id).done_at or 0) <= 30


def test_a_failing_pipeline_is_returned_not_raised() -> None:
    with simulated(project(main=pipeline(job(duration=40, exit_code=2)))) as s:
        ppl_id = s.start()
        done = wait_for_pipeline(s.client, ppl_id, pacing=s.pacing)
        assert (done.result, done.result_reason) == ("failed", "test")
        assert outcome(done) is Outcome.FAILED is s.truth(ppl_id)


def test_a_malformed_pipeline_is_an_error_noticed_at_once() -> None:
    with simulated(project(main=pipeline(malformed="unknown key 'blox'"))) as s:
        ppl_id = s.start()
        done = wait_for_pipeline(s.client, ppl_id, pacing=s.pacing)
        assert (done.result, done.result_reason) == ("failed", "malformed")
        assert outcome(done) is Outcome.ERROR is s.truth(ppl_id)
        assert s.sim.monotonic() < 10


def test_a_job_killed_by_its_time_limit_is_an_error() -> None:
    with simulated(project(main=pipeline(job(duration=30, result="stopped")))) as s:
        ppl_id = s.start()
        done = wait_for_pipeline(s.client, ppl_id, pacing=s.pacing)
        world = s.sim.world.pipeline(ppl_id)
        assert (done.result, done.result_reason) == (world.result, world.result_reason) == ("stopped", "timeout")
        assert outcome(done) is Outcome.ERROR is s.truth(ppl_id)  # a time limit is not "someone stopped it"


def test_a_pipeline_stopped_while_running_is_stopped() -> None:
    with simulated(project(main=pipeline(job(duration=600)))) as s:
        ppl_id = s.start()
        s.at(60, lambda: s.sim.world.terminate_pipeline(ppl_id))
        done = wait_for_pipeline(s.client, ppl_id, pacing=s.pacing)
        assert (done.result, done.result_reason) == ("stopped", "user")
        assert outcome(done) is Outcome.STOPPED is s.truth(ppl_id)


def test_a_pipeline_canceled_before_running_is_canceled() -> None:
    with simulated() as s:
        ppl_id = s.start()
        s.sim.world.terminate_pipeline(ppl_id)  # still initializing: canceled
        done = wait_for_pipeline(s.client, ppl_id, pacing=s.pacing)
        assert (done.result, done.result_reason) == ("canceled", "user")
        assert outcome(done) is Outcome.CANCELED is s.truth(ppl_id)


# ------------------------------------------------------------------------------------------------ polling


def test_plain_describe_unless_jobs_are_needed() -> None:
    with simulated() as s:
        ppl_id = s.start()
        wait_for_pipeline(s.client, ppl_id, expected_duration=False, pacing=s.pacing)
        polls = s.pipeline_requests(ppl_id)
        assert polls
        assert all(r.query.get("detailed", "false") != "true" for r in polls)
        assert s.list_requests() == []  # no history asked for when told not to


def test_polls_follow_the_schedule_not_a_fixed_interval() -> None:
    with simulated(project(main=pipeline(job(duration=3600)))) as s:
        ppl_id = s.start()
        wait_for_pipeline(s.client, ppl_id, timeout=7200, expected_duration=False, pacing=s.pacing)
        polls = len(s.pipeline_requests(ppl_id))
        assert polls <= 180  # fixed 3 s polling would have made 1,200
        assert max(s.delays) <= 30.0
        assert min(s.delays) < 3.0  # it started fast


def test_on_change_sees_each_new_state_once_in_order() -> None:
    seen: list[Pipeline] = []
    with simulated() as s:
        ppl_id = s.start()
        wait_for_pipeline(
            s.client, ppl_id, on_change=seen.append, detailed=True, expected_duration=False, pacing=s.pacing
        )
    states = [p.state for p in seen]
    assert states[-1] == "done"
    assert "running" in states
    order = ["initializing", "pending", "queuing", "running", "stopping", "done"]
    assert [order.index(st) for st in states if st in order] == sorted(order.index(st) for st in states if st in order)
    signatures = [
        (p.state, tuple((b.state, tuple((j.status, j.result) for j in b.jobs)) for b in p.blocks)) for p in seen
    ]
    assert len(signatures) == len(set(signatures))  # every call is a new observation


def test_a_change_resets_the_schedule_to_the_start() -> None:
    definition = pipeline(
        blocks=(
            BlockDef(name="first", jobs=(job("a", duration=300),)),
            BlockDef(name="second", jobs=(job("b", duration=300),)),
        )
    )
    with simulated(project(main=definition)) as s:
        ppl_id = s.start()
        wait_for_pipeline(s.client, ppl_id, detailed=True, expected_duration=False, pacing=s.pacing)
        # the capped delays are interrupted by a short one after the first block finished
        capped_then_short = [
            i for i in range(1, len(s.delays)) if s.delays[i - 1] >= 24.0 and s.delays[i] <= 2.0 + 1e-9
        ]
        assert capped_then_short


# ------------------------------------------------------------------------------------------------ timeout


def test_timeout_raises_with_the_last_pipeline_seen() -> None:
    with simulated(project(main=pipeline(job(duration=7200)))) as s:
        ppl_id = s.start()
        with pytest.raises(WaitTimeout) as caught:
            wait_for_pipeline(s.client, ppl_id, timeout=600, pacing=s.pacing)
        assert caught.value.last_seen is not None
        assert caught.value.last_seen.ppl_id == ppl_id
        assert caught.value.last_seen.state == "running"
        assert caught.value.timeout == 600
        assert 600 <= s.sim.monotonic() < 640
        assert s.sim.world.pipeline(ppl_id).state == "running"  # not canceled unless asked


def test_timeout_must_be_finite() -> None:
    with simulated() as s, pytest.raises(ValueError, match="finite"):
        wait_for_pipeline(s.client, "x", timeout=float("inf"), pacing=s.pacing)


def test_cancel_on_timeout_terminates_a_pipeline_we_started() -> None:
    with simulated(project(main=pipeline(job(duration=7200)))) as s:
        ppl_id = s.start()
        mark_started(ppl_id)
        with pytest.raises(WaitTimeout) as caught:
            wait_for_pipeline(s.client, ppl_id, timeout=300, cancel_on_timeout=True, pacing=s.pacing)
        assert caught.value.canceled == (ppl_id,)
        s.sim.advance(10)
        truth = s.sim.world.pipeline(ppl_id)
        assert truth.terminate_request == "stop"
        assert (truth.state, truth.result) == ("done", "stopped")


def test_cancel_on_timeout_leaves_a_foreign_pipeline_alone() -> None:
    with simulated(project(main=pipeline(job(duration=7200))), seed=101) as s:
        ppl_id = s.start()  # started by "someone else": never marked
        assert not started_here(ppl_id)
        with pytest.raises(WaitTimeout) as caught:
            wait_for_pipeline(s.client, ppl_id, timeout=300, cancel_on_timeout=True, pacing=s.pacing)
        assert caught.value.canceled == ()
        s.sim.advance(10)
        assert s.sim.world.pipeline(ppl_id).state == "running"
        assert s.sim.world.pipeline(ppl_id).terminate_request == ""


def test_cancel_foreign_is_the_explicit_override() -> None:
    with simulated(project(main=pipeline(job(duration=7200)))) as s:
        ppl_id = s.start()
        with pytest.raises(WaitTimeout):
            wait_for_pipeline(
                s.client, ppl_id, timeout=300, cancel_on_timeout=True, cancel_foreign=True, pacing=s.pacing
            )
        s.sim.advance(10)
        assert s.sim.world.pipeline(ppl_id).result == "stopped"


# ------------------------------------------------------------------------------------------------ interrupt


def _interrupt() -> None:
    raise KeyboardInterrupt


def test_cancel_on_interrupt_terminates_then_reraises() -> None:
    with simulated(project(main=pipeline(job(duration=7200)))) as s:
        ppl_id = s.start()
        mark_started(ppl_id)
        s.at(120, _interrupt)
        with pytest.raises(KeyboardInterrupt):
            wait_for_pipeline(s.client, ppl_id, cancel_on_interrupt=True, pacing=s.pacing)
        s.sim.advance(10)
        assert s.sim.world.pipeline(ppl_id).result == "stopped"


def test_interrupt_without_the_option_leaves_the_pipeline_running() -> None:
    with simulated(project(main=pipeline(job(duration=7200)))) as s:
        ppl_id = s.start()
        mark_started(ppl_id)
        s.at(120, _interrupt)
        with pytest.raises(KeyboardInterrupt):
            wait_for_pipeline(s.client, ppl_id, pacing=s.pacing)
        s.sim.advance(10)
        assert s.sim.world.pipeline(ppl_id).state == "running"


def test_cancel_on_interrupt_leaves_a_foreign_pipeline_alone() -> None:
    with simulated(project(main=pipeline(job(duration=7200))), seed=102) as s:
        ppl_id = s.start()
        assert not started_here(ppl_id)
        s.at(120, _interrupt)
        with pytest.raises(KeyboardInterrupt):
            wait_for_pipeline(s.client, ppl_id, cancel_on_interrupt=True, pacing=s.pacing)
        s.sim.advance(10)
        assert s.sim.world.pipeline(ppl_id).state == "running"


# ------------------------------------------------------------------------------------------------ fail fast


def test_fail_fast_raises_at_the_first_finished_failed_job_while_the_pipeline_runs() -> None:
    definition = pipeline(job("quick-fail", duration=30, exit_code=1), job("slow", duration=3000))
    with simulated(project(main=definition)) as s:
        ppl_id = s.start()
        with pytest.raises(PipelineFailed) as caught:
            wait_for_pipeline(s.client, ppl_id, fail_fast=True, pacing=s.pacing)
        assert [j.name for j in caught.value.failed_jobs] == ["quick-fail"]
        assert all(j.status == "finished" and j.result == "failed" for j in caught.value.failed_jobs)
        assert caught.value.pipeline.ppl_id == ppl_id
        assert s.sim.world.pipeline(ppl_id).state == "running"  # the world agrees: it still runs
        assert s.sim.monotonic() < 120
        assert all(r.query.get("detailed") == "true" for r in s.pipeline_requests(ppl_id))


def test_fail_fast_does_not_trust_an_unfinished_job() -> None:
    # a passing pipeline: its jobs say PASSED while running (the server's proto default), and fail fast must not care
    with simulated(project(main=pipeline(job("a", duration=100), job("b", duration=200)))) as s:
        ppl_id = s.start()
        done = wait_for_pipeline(s.client, ppl_id, fail_fast=True, pacing=s.pacing)
        assert outcome(done) is Outcome.PASSED is s.truth(ppl_id)


def test_without_fail_fast_a_failed_job_does_not_end_the_wait() -> None:
    definition = pipeline(job("quick-fail", duration=30, exit_code=1), job("slow", duration=600))
    with simulated(project(main=definition)) as s:
        ppl_id = s.start()
        done = wait_for_pipeline(s.client, ppl_id, pacing=s.pacing)
        assert done.done
        assert outcome(done) is Outcome.FAILED is s.truth(ppl_id)
        assert s.sim.monotonic() >= 600


# ------------------------------------------------------------------------------------------------ 404 and outages


def test_a_just_created_id_that_answers_404_is_waited_for() -> None:
    with simulated() as s:
        ppl_id = s.start()
        s.sim.add_fault(FaultDef(f"GET /api/v1alpha/pipelines/{ppl_id}", "status", status=404, count=3))
        done = wait_for_pipeline(s.client, ppl_id, pacing=s.pacing)
        assert done.done
        assert outcome(done) is s.truth(ppl_id)
        assert [r.status for r in s.pipeline_requests(ppl_id)][:3] == [404, 404, 404]


def test_an_id_that_never_appears_is_not_found_after_the_appear_timeout() -> None:
    with simulated() as s:
        with pytest.raises(NotFoundError):
            wait_for_pipeline(s.client, "00000000-0000-4000-8000-000000000000", appear_timeout=45, pacing=s.pacing)
        assert 45 <= s.sim.monotonic() < 80


@pytest.mark.parametrize(
    "fault",
    [
        FaultDef("GET /api/v1alpha/pipelines/*", "status", status=502, count=40),
        FaultDef("GET /api/v1alpha/pipelines/*", "status", status=403, count=40),
        FaultDef("GET /api/v1alpha/pipelines/*", "rate_limit", retry_after=20, count=40),
        FaultDef("GET /api/v1alpha/pipelines/*", "reset_before", count=40),
        FaultDef("GET /api/v1alpha/pipelines/*", "truncate", count=40),
    ],
    ids=["502", "403", "429", "reset", "truncated"],
)
def test_an_outage_shorter_than_patience_is_never_a_verdict(fault: FaultDef) -> None:
    with simulated(project(main=pipeline(job(duration=900)))) as s:
        ppl_id = s.start()
        s.sim.add_fault(fault)
        done = wait_for_pipeline(s.client, ppl_id, pacing=s.paced(patience=3600))
        assert outcome(done) is Outcome.PASSED is s.truth(ppl_id)
        assert any(r.fault for r in s.sim.requests)  # the fault really fired


@pytest.mark.parametrize(
    "fault",
    [
        FaultDef("GET /api/v1alpha/pipelines/*", "status", status=503, after=3),
        FaultDef("GET /api/v1alpha/pipelines/*", "status", status=403, after=3),
        FaultDef("GET /api/v1alpha/pipelines/*", "rate_limit", after=3),
        FaultDef("GET /api/v1alpha/pipelines/*", "reset_before", after=3),
    ],
    ids=["503", "403", "429", "reset"],
)
def test_an_outage_beyond_patience_is_api_unavailable(fault: FaultDef) -> None:
    with simulated(project(main=pipeline(job(duration=7200)))) as s:
        ppl_id = s.start()
        s.sim.add_fault(fault)
        with pytest.raises(APIUnavailable) as caught:
            wait_for_pipeline(s.client, ppl_id, pacing=s.paced(patience=120))
        assert "patience" in str(caught.value)
        assert s.sim.token not in str(caught.value)
        assert s.sim.token not in repr(caught.value.__cause__)
        assert 120 <= s.sim.monotonic() < 400
        assert s.sim.world.pipeline(ppl_id).state == "running"  # an outage, not a verdict on the pipeline


def test_retry_after_is_honoured_by_the_wait() -> None:
    with simulated(project(main=pipeline(job(duration=600)))) as s:
        ppl_id = s.start()
        s.sim.add_fault(FaultDef("GET /api/v1alpha/pipelines/*", "rate_limit", retry_after=45, count=30, after=2))
        wait_for_pipeline(s.client, ppl_id, expected_duration=False, pacing=s.paced(patience=3600))
        limited = [r.time for r in s.sim.requests if r.status == 429]
        assert limited
        gaps = [b - a for a, b in itertools.pairwise(limited)]
        assert gaps
        assert min(gaps) >= 45 - 1e-6


# ------------------------------------------------------------------------------------------------ expected duration


def _history(s: Sim, durations: list[float]) -> None:
    """Run past pipelines of the same file one after the other, each lasting about ``durations[i]``."""
    from pytest_semaphore.simulator.definitions import ProjectDef

    record = s.sim.world.project("app")
    for duration in durations:
        record.definition = ProjectDef(
            name="app", pipelines={".semaphore/semaphore.yml": pipeline(job(duration=duration))}
        )
        ppl_id = s.start()
        s.sim.advance(duration + 30)
        assert s.sim.world.pipeline(ppl_id).result == "passed"


def test_expected_duration_costs_one_history_request_and_polls_less() -> None:
    with simulated() as s:
        _history(s, [3600 + 40 * i for i in range(-5, 6)])
        s.sim.world.project("app").definition = project(main=pipeline(job(duration=3600)))  # the history's median
        ppl_id = s.start()
        s.sim.clear_requests()
        done = wait_for_pipeline(s.client, ppl_id, timeout=7200, pacing=s.pacing)
        assert outcome(done) is Outcome.PASSED is s.truth(ppl_id)
        assert len(s.list_requests()) == 1
        with_history = len(s.pipeline_requests(ppl_id))
        latency = s.sim.monotonic() - (s.sim.world.pipeline(ppl_id).done_at or 0)
    with simulated(project(main=pipeline(job(duration=3600)))) as s:
        ppl_id = s.start()
        wait_for_pipeline(s.client, ppl_id, timeout=7200, pacing=s.pacing)  # no history: the ordinary schedule
        assert len(s.list_requests()) == 1
        without_history = len(s.pipeline_requests(ppl_id))
    assert with_history < without_history * 0.5
    assert latency <= 15


def test_a_prediction_can_be_given_and_is_not_learnt() -> None:
    with simulated(project(main=pipeline(job(duration=1200)))) as s:
        ppl_id = s.start()
        prediction = Prediction(expected=1200, window_start=1150, window_end=1260, dense_interval=5)
        wait_for_pipeline(s.client, ppl_id, expected_duration=prediction, pacing=s.pacing)
        assert s.list_requests() == []
        assert len(s.pipeline_requests(ppl_id)) < 50


def test_a_fixed_schedule_can_be_injected() -> None:
    with simulated() as s:
        ppl_id = s.start()
        wait_for_pipeline(
            s.client, ppl_id, expected_duration=False, pacing=s.paced(start=3.0, growth=1.0, cap=3.0, jitter=0.0)
        )
        assert set(s.delays) == {3.0}


# ------------------------------------------------------------------------------------------------ request budget


def test_a_shared_request_budget_paces_every_wait_that_holds_it() -> None:
    with simulated(project(main=pipeline(job(duration=900)))) as s:
        first, second = s.start(), s.start()
        budget = RequestBudget(6, burst=1, monotonic=s.sim.monotonic)  # one request every 10 s, shared
        wait_for_pipeline(s.client, first, expected_duration=False, pacing=s.paced(budget=budget))
        wait_for_pipeline(s.client, second, expected_duration=False, pacing=s.paced(budget=budget))
        times = sorted(r.time for r in s.pipeline_requests())
        gaps = [b - a for a, b in itertools.pairwise(times)]
        assert min(gaps) >= 10.0 - 1e-6
        assert len(times) <= s.sim.monotonic() / 10 + 1


class CountingBudget(RequestBudget):
    """A real budget that counts the requests booked against it."""

    booked = 0.0

    def reserve(self, n: float = 1.0) -> float:
        self.booked += n
        return super().reserve(n)


def test_the_client_retries_inside_a_poll_book_against_the_budget_and_wait_their_turn() -> None:
    with simulated(project(main=pipeline(job(duration=300)))) as s:
        ppl_id = s.start()
        s.sim.add_fault(FaultDef("GET /api/v1alpha/pipelines/*", "status", status=503, rate=0.5))
        budget = CountingBudget(3, burst=1, monotonic=s.sim.monotonic)  # a turn every 20 s, more than any backoff
        done = wait_for_pipeline(s.client, ppl_id, expected_duration=False, pacing=s.paced(budget=budget))
        assert outcome(done) is Outcome.PASSED is s.truth(ppl_id)
        retried = [r for r in s.sim.requests if r.status == 503]
        assert retried, "some polls were retried by the client"
        assert budget.booked == len(s.sim.requests), "every attempt was booked, the client's retries included"
        times = [r.time for r in s.sim.requests]
        assert min(b - a for a, b in itertools.pairwise(times)) >= 20.0 - 1e-6, "each attempt waited for its turn"
