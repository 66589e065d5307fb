"""Each fault kind on the wire, route matching, counts, and seeded replay."""

from __future__ import annotations

import http.client
import time

import pytest

from pytest_semaphore.simulator import SemaphoreSimulator
from pytest_semaphore.simulator.definitions import FaultDef
from pytest_semaphore.simulator.faults import FaultInjector, compile_route

from .helpers import Raw, standard_scenario

API = "/api/v1alpha"


@pytest.mark.parametrize(
    ("status", "body", "content_type"),
    [
        (500, b'"Internal error"', None),
        (
            502,
            b"upstream connect error or disconnect/reset before headers. reset reason: connection failure",
            "text/plain; charset=utf-8",
        ),
        (503, b"no healthy upstream", "text/plain; charset=utf-8"),
        (504, b"upstream request timeout", "text/plain; charset=utf-8"),
        (403, b"", None),
    ],
)
def test_status_faults_fire_count_times_then_the_real_answer(
    sim: SemaphoreSimulator, raw: Raw, status: int, body: bytes, content_type: str | None
) -> None:
    sim.add_fault(FaultDef("GET /api/v1alpha/projects", "status", status=status, count=2))
    answers = [raw.get(f"{API}/projects") for _ in range(3)]
    assert [a.status for a in answers] == [status, status, 200]
    assert answers[0].body == body
    assert answers[0].header("content-type") == content_type
    assert [r.fault for r in sim.requests] == ["status", "status", None]


def test_rate_limit_with_and_without_retry_after(sim: SemaphoreSimulator, raw: Raw) -> None:
    sim.add_fault(FaultDef("/api/v1alpha/projects", "rate_limit", retry_after=3, count=1))
    limited = raw.get(f"{API}/projects")
    assert (limited.status, limited.header("retry-after")) == (429, "3")
    sim.clear_faults()
    sim.add_fault(FaultDef("/api/v1alpha/projects", "rate_limit", count=1))
    bare = raw.get(f"{API}/projects")
    assert bare.status == 429
    assert "retry-after" not in bare.header_names()
    assert raw.get(f"{API}/projects").status == 200


def test_latency_delays_but_answers(sim: SemaphoreSimulator, raw: Raw) -> None:
    sim.add_fault(FaultDef("GET /api/v1alpha/**", "latency", latency=0.05))
    began = time.monotonic()
    assert raw.get(f"{API}/projects").status == 200
    assert time.monotonic() - began >= 0.05  # a lower bound only: the delay really happened
    assert sim.requests[-1].fault == "latency"
    assert sim.requests[-1].status == 200


def _reschedule_through_a_reset(sim: SemaphoreSimulator, kind: str) -> str:
    """Reschedule a new workflow with ``kind`` injected once; the client sees the connection dropped."""
    wf_id, _ = sim.world.start_workflow("demo")
    sim.add_fault(FaultDef("POST /api/v1alpha/plumber-workflows/*/reschedule", kind, count=1))
    conn = Raw(sim.url, sim.token)
    try:
        with pytest.raises((ConnectionError, http.client.RemoteDisconnected)):
            conn.request("POST", f"{API}/plumber-workflows/{wf_id}/reschedule?request_token=r1")
    finally:
        conn.close()
    assert sim.requests[-1].fault == kind
    return wf_id


def test_reset_before_drops_the_connection_without_effect(sim: SemaphoreSimulator) -> None:
    _reschedule_through_a_reset(sim, "reset_before")
    assert len(sim.world.workflows(sim.world.project("demo").project_id)) == 1
    assert sim.requests[-1].status is None


def test_reset_after_takes_effect_then_drops_the_connection(sim: SemaphoreSimulator) -> None:
    wf_id = _reschedule_through_a_reset(sim, "reset_after")
    assert len(sim.world.workflows(sim.world.project("demo").project_id)) == 2  # it happened
    retry = Raw(sim.url, sim.token)
    try:
        again = retry.request("POST", f"{API}/plumber-workflows/{wf_id}/reschedule?request_token=r1")
    finally:
        retry.close()
    assert again.status == 200
    assert len(sim.world.workflows(sim.world.project("demo").project_id)) == 2  # the token deduplicated it


def test_truncate_sends_part_of_the_body(sim: SemaphoreSimulator, raw: Raw) -> None:
    whole = raw.get(f"{API}/projects").body
    sim.add_fault(FaultDef("GET /api/v1alpha/projects", "truncate", count=1))
    conn = Raw(sim.url, sim.token)
    try:
        with pytest.raises(http.client.IncompleteRead) as cut:
            conn.get(f"{API}/projects")
    finally:
        conn.close()
    assert cut.value.expected == len(whole) - len(cut.value.partial)  # the length promised was the whole body's
    assert cut.value.partial == whole[: len(whole) // 2]  # a true prefix, then the connection closed
    assert sim.requests[-1].fault == "truncate"
    assert raw.get(f"{API}/projects").body == whole  # count=1: the next answer is whole again


def test_after_skips_matching_requests_first(sim: SemaphoreSimulator, raw: Raw) -> None:
    sim.add_fault(FaultDef("GET /api/v1alpha/projects", "status", status=503, after=2, count=1))
    assert [raw.get(f"{API}/projects").status for _ in range(4)] == [200, 200, 503, 200]


def test_faults_only_hit_their_route_and_method(sim: SemaphoreSimulator, raw: Raw) -> None:
    sim.add_fault(FaultDef("POST /api/v1alpha/projects", "status", status=503))
    assert raw.get(f"{API}/projects").status == 200
    sim.add_fault(FaultDef("/api/v1alpha/pipelines/*", "status", status=502))
    assert raw.get(f"{API}/projects/demo").status == 200
    assert raw.get(f"{API}/pipelines/x").status == 502
    assert raw.get(f"{API}/pipelines/x/describe_topology").status == 404  # '*' is one segment


def _pattern(seed: int) -> list[int]:
    with SemaphoreSimulator(standard_scenario(), token="t", seed=seed) as sim:
        sim.add_fault(FaultDef("/api/v1alpha/projects", "status", status=500, rate=0.5))
        conn = Raw(sim.url, "t")
        try:
            return [conn.get(f"{API}/projects").status for _ in range(24)]
        finally:
            conn.close()


def test_rate_is_seeded_so_a_run_can_be_replayed() -> None:
    first, again = _pattern(11), _pattern(11)
    assert first == again
    assert {200, 500} == set(first)
    assert _pattern(12) != first


def test_scenario_faults_are_installed() -> None:
    from dataclasses import replace

    scenario = replace(standard_scenario(), faults=(FaultDef("/api/v1alpha/projects", "status", status=504),))
    with SemaphoreSimulator(scenario, token="t") as sim:
        conn = Raw(sim.url, "t")
        try:
            assert conn.get(f"{API}/projects").status == 504
        finally:
            conn.close()


def test_route_globs() -> None:
    method, pattern = compile_route("GET /api/v1alpha/pipelines/*")
    assert method == "GET"
    assert pattern.match("/api/v1alpha/pipelines/abc")
    assert not pattern.match("/api/v1alpha/pipelines/abc/describe_topology")
    _, rest = compile_route("/api/**")
    assert rest.match("/api/v1alpha/logs/x")
    assert not rest.match("/jobs/x")


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        (FaultDef("/x", "explode"), "unknown fault kind 'explode'"),
        (FaultDef("/x", "status", rate=2), "between 0 and 1"),
        (FaultDef("/x", "status", status=200), "error status"),
        (FaultDef("x", "status"), "must start with '/'"),
    ],
)
def test_bad_faults_are_refused_with_a_clear_message(fault: FaultDef, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        FaultInjector().add(fault)


def test_latency_adds_to_another_fault(sim: SemaphoreSimulator, raw: Raw) -> None:
    sim.add_fault(FaultDef("GET /api/v1alpha/logs/*", "latency", latency=0.01, count=1))
    sim.add_fault(FaultDef("GET /api/v1alpha/logs/*", "status", status=504, count=1))
    slow_timeout = raw.get(f"{API}/logs/x")
    assert (slow_timeout.status, slow_timeout.body) == (504, b"upstream request timeout")
    assert sim.requests[-1].fault == "latency+status"
    assert raw.get(f"{API}/logs/x").status == 404  # both spent: the real answer (no such job)
    assert sim.requests[-1].fault is None


def test_pick_all_orders_latency_first_and_stops_at_the_deciding_fault() -> None:
    injector = FaultInjector(seed=1)
    injector.add(FaultDef("/a", "latency", latency=1.0))
    injector.add(FaultDef("/a", "status", status=503))
    injector.add(FaultDef("/a", "rate_limit"))
    assert [f.kind for f in injector.pick_all("GET", "/a")] == ["latency", "status"]
    assert injector.pick("GET", "/a") is not None
    assert injector.pick_all("GET", "/b") == []
