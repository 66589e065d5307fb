"""Trying to break the waiting engine: stale replicas, misrouted answers, deletions, bad timeouts, interrupts inside a
request, a raising ``on_change``, promotion cycles, odd id lists.

The simulator's world is the truth wherever it can produce the situation; where it cannot (two replicas out of step,
an answer about another pipeline), a scripted server over loopback HTTP plays the API, and the script is the truth.
"""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from pytest_semaphore.client import SemaphoreClient
from pytest_semaphore.errors import NotFoundError, WaitTimeout
from pytest_semaphore.models import Pipeline
from pytest_semaphore.simulator.definitions import FaultDef, PromotionDef, simple_rule
from pytest_semaphore.waiting import (
    Outcome,
    Pacing,
    mark_started,
    outcome,
    started_here,
    wait_for_pipeline,
    wait_for_pipelines,
    wait_for_promotion,
)
from pytest_semaphore.waiting import started as registry
from tests.support import api_payloads as P
from tests.support.scripted_server import Reply, ScriptedServer

from .waiting_support import job, pipeline, project, simulated

# ------------------------------------------------------------------------------------------------ scripted answers


class _Clock:
    """A manual clock for waits against the scripted server."""

    def __init__(self) -> None:
        self.now = 0.0

    def sleep(self, seconds: float) -> None:
        self.now += seconds

    def monotonic(self) -> float:
        return self.now

    @property
    def pacing(self) -> Pacing:
        return Pacing(sleep=self.sleep, monotonic=self.monotonic)


def _describe_reply(state: str, result: str | None = None, ppl_id: str = P.PPL_ID) -> Reply:
    body = P.pipeline_describe(state, result, ppl_id=ppl_id)
    return Reply(200, body=json.dumps(body).encode(), headers={"content-type": "application/json"})


@contextmanager
def _scripted(*replies: Reply) -> Iterator[tuple[ScriptedServer, SemaphoreClient, _Clock]]:
    clock = _Clock()
    with ScriptedServer() as server:
        for reply in replies:
            server.add(reply)
        client = SemaphoreClient(server.url, token="t0ken-for-tests", sleep=clock.sleep, monotonic=clock.monotonic)
        try:
            yield server, client, clock
        finally:
            client.close()


def test_an_answer_about_another_pipeline_is_never_taken_for_ours() -> None:
    # a misrouted answer says "done, passed" about someone else's pipeline; ours then fails
    with _scripted(
        _describe_reply("running"),
        _describe_reply("done", "passed", ppl_id="0000aaaa-0000-0000-0000-00000000beef"),
        _describe_reply("done", "failed"),
    ) as (server, client, clock):
        done = wait_for_pipeline(client, P.PPL_ID, expected_duration=False, pacing=clock.pacing)
    assert done.ppl_id == P.PPL_ID
    assert outcome(done) is Outcome.FAILED  # the script's truth: ours failed
    assert len(server.requests) == 3  # the wrong answer was asked again, not believed


def test_an_id_typed_in_capitals_is_still_our_pipeline() -> None:
    with _scripted(_describe_reply("done", "passed")) as (server, client, clock):
        done = wait_for_pipeline(client, P.PPL_ID.upper(), expected_duration=False, pacing=clock.pacing)
    assert done.ppl_id == P.PPL_ID
    assert len(server.requests) == 1  # accepted at once, not retried as a wrong answer


def test_a_stale_replica_going_back_in_time_is_ignored_not_reported() -> None:
    seen: list[Pipeline] = []
    with _scripted(
        _describe_reply("stopping"),
        _describe_reply("running"),  # a replica behind the first one
        _describe_reply("done", "stopped"),
    ) as (server, client, clock):
        done = wait_for_pipeline(
            client,
            P.PPL_ID,
            on_change=seen.append,
            expected_duration=False,
            pacing=clock.pacing,
        )
    assert [p.state for p in seen] == ["stopping", "done"]
    assert done.result == "stopped"
    assert len(server.requests) == 3


# ------------------------------------------------------------------------------------------------ the simulator


def test_a_pipeline_deleted_after_it_was_seen_is_not_found_at_once() -> None:
    with simulated(project(main=pipeline(job(duration=600)))) as s:
        ppl_id = s.start()
        s.sim.add_fault(FaultDef(f"GET /api/v1alpha/pipelines/{ppl_id}", "status", status=404, after=2))
        with pytest.raises(NotFoundError):
            wait_for_pipeline(s.client, ppl_id, expected_duration=False, appear_timeout=600, pacing=s.pacing)
        # no waiting out the appear timeout: a 404 after the pipeline was seen is final
        assert len(s.pipeline_requests(ppl_id)) == 3
        assert s.sim.monotonic() < 30


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -1.0, -math.inf, "60", None, True])
@pytest.mark.parametrize("option", ["timeout", "appear_timeout"])
def test_every_unusable_timeout_is_a_clear_error_before_any_request(bad: Any, option: str) -> None:
    with simulated() as s:
        ppl_id = s.start()
        with pytest.raises(ValueError, match=f"{option} must be a finite number of seconds >= 0"):
            wait_for_pipeline(s.client, ppl_id, **{option: bad}, pacing=s.pacing)
        with pytest.raises(ValueError, match=f"{option} must be a finite number of seconds >= 0"):
            wait_for_pipelines(s.client, [ppl_id], **{option: bad}, pacing=s.pacing)
        assert s.sim.requests == []


@pytest.mark.parametrize("bad", [float("nan"), -1.0, "300", None])
def test_an_unusable_patience_is_a_clear_error_before_any_request(bad: Any) -> None:
    with simulated() as s:
        ppl_id = s.start()
        with pytest.raises(ValueError, match="patience must be a number of seconds >= 0"):
            wait_for_pipeline(s.client, ppl_id, pacing=s.paced(patience=bad))
        assert s.sim.requests == []


def test_a_zero_timeout_looks_once_then_times_out() -> None:
    with simulated(project(main=pipeline(job(duration=600)))) as s:
        ppl_id = s.start()
        with pytest.raises(WaitTimeout) as caught:
            wait_for_pipeline(s.client, ppl_id, timeout=0, expected_duration=False, pacing=s.pacing)
        assert caught.value.last_seen is not None
        assert len(s.pipeline_requests(ppl_id)) == 1
        assert not s.sim.world.pipeline(ppl_id).done


class _InterruptingClient(SemaphoreClient):
    """A real client whose ``describe_pipeline`` is interrupted (Ctrl-C) while its ``n``-th request is under way."""

    interrupt_at = 3
    calls = 0

    def describe_pipeline(self, ppl_id: str, detailed: bool = False) -> Pipeline:
        self.calls += 1
        if self.calls == self.interrupt_at:
            raise KeyboardInterrupt
        return super().describe_pipeline(ppl_id, detailed=detailed)


def test_an_interrupt_inside_a_request_cancels_our_pipeline_then_reraises() -> None:
    with simulated(project(main=pipeline(job(duration=600)))) as s:
        ppl_id = s.start()
        mark_started(ppl_id)
        client = _InterruptingClient(s.sim.url, token=s.sim.token, sleep=s.sim.advance, monotonic=s.sim.monotonic)
        try:
            with pytest.raises(KeyboardInterrupt):
                wait_for_pipeline(client, ppl_id, cancel_on_interrupt=True, expected_duration=False, pacing=s.pacing)
        finally:
            client.close()
        s.sim.advance(10)
        assert s.sim.world.pipeline(ppl_id).result == "stopped"


def test_an_on_change_that_raises_ends_the_wait_with_its_error_and_cancels_nothing() -> None:
    class Boom(Exception):
        pass

    def on_change(p: Pipeline) -> None:
        if p.state == "running":
            raise Boom(p.ppl_id)

    with simulated(project(main=pipeline(job(duration=600)))) as s:
        ppl_id = s.start()
        mark_started(ppl_id)
        with pytest.raises(Boom):
            wait_for_pipeline(
                s.client,
                ppl_id,
                on_change=on_change,
                cancel_on_interrupt=True,
                cancel_on_timeout=True,
                expected_duration=False,
                pacing=s.pacing,
            )
        assert not s.sim.world.pipeline(ppl_id).done  # left running: a bug in a hook is not a reason to cancel
        # nothing kept from the failed wait: a new one runs to the world's verdict
        done = wait_for_pipeline(s.client, ppl_id, expected_duration=False, pacing=s.pacing)
        assert outcome(done) is s.truth(ppl_id) is Outcome.PASSED


def test_many_with_duplicates_waits_once_for_each_and_an_empty_list_costs_nothing() -> None:
    with simulated() as s:
        a, b = s.start(), s.start()
        assert wait_for_pipelines(s.client, [], pacing=s.pacing) == {}
        assert s.sim.requests == []
        done = wait_for_pipelines(s.client, [a, b, a, a, b], pacing=s.pacing)
        assert list(done) == [a, b]
        assert {p: outcome(done[p]) for p in done} == {a: s.truth(a), b: s.truth(b)}
        # one first describe each, not one per mention
        assert len(s.pipeline_requests(a)) == 1
        assert len(s.pipeline_requests(b)) == 1


def test_an_auto_promotion_cycle_ends_at_the_timeout_not_never() -> None:
    # a auto-promotes b, b auto-promotes a: Semaphore would run this forever, so must the walk not
    looping = project(
        main=pipeline(job("a", duration=30), promotions=(PromotionDef("go-b", ".semaphore/b.yml"),)),
        b=pipeline(
            job("b", duration=30),
            promotions=(PromotionDef("go-a", ".semaphore/a.yml", auto_promote=simple_rule("passed")),),
        ),
        a=pipeline(
            job("a", duration=30),
            promotions=(PromotionDef("go-b", ".semaphore/b.yml", auto_promote=simple_rule("passed")),),
        ),
    )
    with simulated(looping) as s:
        ppl_id = s.start()
        s.sim.advance(120)
        with pytest.raises(WaitTimeout):
            wait_for_promotion(s.client, ppl_id, "go-b", follow_auto_promotions=True, timeout=900, pacing=s.pacing)
        assert s.sim.monotonic() <= 120 + 900 + 31
        assert len(s.sim.world.pipelines()) > 4  # the cycle really ran in the world


def test_the_promoted_pipeline_is_found_although_its_id_appears_only_after_several_polls() -> None:
    definition = project(
        main=pipeline(job("test", duration=30), promotions=(PromotionDef("deploy", ".semaphore/deploy.yml"),)),
        deploy=pipeline(job("deploy", duration=60)),
    )
    with simulated(definition) as s:
        ppl_id = s.start()
        s.sim.advance(60)
        s.sim.clear_requests()
        result = wait_for_promotion(s.client, ppl_id, "deploy", pacing=s.pacing)
        record = s.sim.world.promotions(ppl_id)[0]
        assert result.pipeline.ppl_id == record.scheduled_pipeline_id
        assert started_here(result.pipeline.ppl_id)
        promotions_path = "/api/v1alpha/promotions"
        lists = [r for r in s.sim.requests if r.method == "GET" and r.path == promotions_path]
        assert len(lists) >= 3  # the snapshot, then at least two polls before the id was there
        assert outcome(result.pipeline) is s.truth(result.pipeline.ppl_id)


# ------------------------------------------------------------------------------------------------ mark_started


def test_the_started_registry_is_bounded_and_forgets_the_oldest_first(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(registry, "STARTED_MEMORY", 100)
    monkeypatch.setattr(registry, "_started", type(registry._started)())
    for i in range(150):
        mark_started(f"ppl-{i}")
    assert len(registry._started) == 100
    assert not started_here("ppl-0")
    assert started_here("ppl-149")
    mark_started("ppl-50")  # marked again: the newest now
    for i in range(150, 249):
        mark_started(f"ppl-{i}")
    assert started_here("ppl-50")
    assert not started_here("ppl-51")


def test_the_started_registry_is_safe_across_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(registry, "_started", type(registry._started)())

    def mark(prefix: str) -> None:
        for i in range(500):
            mark_started(f"{prefix}-{i}")

    threads = [threading.Thread(target=mark, args=(f"t{n}",)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(registry._started) == 4000
    assert all(started_here(f"t{n}-{i}") for n in range(8) for i in range(500))
