"""The client's work is bounded whatever the server does, measured in counts (bytes sent by the server, requests,
characters copied, traced memory), never in wall time:

* a per-call deadline, kept down to each read from the socket, against a server trickling under the read timeout
  (and the waiting engine bounding each poll by what is left of its own timeout);
* an answer-size cap (announced or read), a log cap of its own, no compressed answers;
* one huge log event parsed in linear work.
"""

from __future__ import annotations

import gzip
import json
import random
import tracemalloc
from collections.abc import Iterator

import pytest

from pytest_semaphore.client import SemaphoreClient, time_limit
from pytest_semaphore.client.logstream import LogStreamParser
from pytest_semaphore.errors import APIError, APIUnavailable, OutcomeUnknown, WaitTimeout
from pytest_semaphore.waiting import Pacing, wait_for_pipeline
from tests.support import api_payloads as P
from tests.support.scripted_server import Raw, Reply, ScriptedServer, Trickle

TOKEN = "canary-TOKEN-bounds-1c0d"


class TickingClock:
    """A monotonic clock that moves ``tick`` seconds each time it is read, and ``sleep`` that moves it too: every
    read from the socket costs a tick, so a deadline is reached after a known number of reads, not of seconds."""

    def __init__(self, tick: float) -> None:
        self.now = 0.0
        self.tick = tick

    def __call__(self) -> float:
        self.now += self.tick
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def answer(body: bytes, status: str = "200 OK", headers: str = "") -> bytes:
    return f"HTTP/1.1 {status}\r\nContent-Length: {len(body)}\r\n{headers}\r\n".encode() + body


@pytest.fixture
def server() -> Iterator[ScriptedServer]:
    with ScriptedServer() as scripted:
        yield scripted


def client_for(server: ScriptedServer, **options: object) -> SemaphoreClient:
    options.setdefault("sleep", lambda _: None)
    options.setdefault("rng", random.Random(0))
    return SemaphoreClient(server.url, TOKEN, **options)  # type: ignore[arg-type]


# ------------------------------------------------------------------------------------------------- the deadline

TRICKLED_BODY = json.dumps(P.pipeline_describe()).encode() * 40  # ~28 KB: half a minute at a byte a millisecond
#: Bytes a trickling server may get to send before the client hangs up: a few dozen reads at the deadline's ticks,
#: plus whatever piled up in the socket while the client's thread waited for a core on a loaded machine (about a
#: byte a millisecond). Every trickle here is several times longer than this.
TRICKLE_BOUND = 4000


@pytest.mark.parametrize(
    "data",
    [
        answer(TRICKLED_BODY),  # the body trickles
        b"HTTP/1.1 200 OK\r\n" + b"X-Slow: a\r\n" * 4000,  # the headers trickle (http.client takes 100 of them)
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + b"1\r\nx\r\n" * 8000,
    ],
    ids=["body", "headers", "chunks"],
)
def test_a_trickling_answer_ends_at_the_deadline(server: ScriptedServer, data: bytes) -> None:
    server.add(Trickle(data))
    clock = TickingClock(tick=1.0)
    with (
        client_for(server, deadline=30, timeout=5, retries=3, monotonic=clock) as client,
        pytest.raises(APIUnavailable, match="deadline of 30 s"),
    ):
        client.describe_pipeline(P.PPL_ID)
    assert len(server.requests) == 1  # the deadline is not a reason to try again
    assert server.trickled < TRICKLE_BOUND


def test_a_trickling_answer_to_a_write_is_an_uncertain_outcome(server: ScriptedServer) -> None:
    server.add(Trickle(answer(b'{"workflow_id": "w", "pipeline_id": "p"}' * 1000)))
    with (
        client_for(server, deadline=30, monotonic=TickingClock(1.0)) as client,
        pytest.raises(OutcomeUnknown, match="deadline"),
    ):
        client.run_workflow(P.PROJECT_ID, "refs/heads/main")
    assert len(server.requests) == 1


def test_retries_stop_at_the_deadline(server: ScriptedServer) -> None:
    """Backoff waits that would pass the deadline are not waited: a call makes a bounded number of attempts."""
    server.fallback = Reply(503, b"busy")
    clock = TickingClock(tick=0.0)
    with (
        client_for(server, deadline=10, retries=50, backoff_base=4, sleep=clock.sleep, monotonic=clock) as client,
        pytest.raises(APIUnavailable),
    ):
        client.describe_pipeline(P.PPL_ID)
    assert len(server.requests) <= 4  # 4 s + 8 s of backoff already pass 10 s
    assert clock.now <= 10


def test_a_retry_after_past_the_deadline_is_handed_to_the_caller(server: ScriptedServer) -> None:
    server.add(Reply(429, b"slow down", {"Retry-After": "60"}))
    clock = TickingClock(tick=0.0)
    with (
        client_for(server, deadline=30, sleep=clock.sleep, monotonic=clock) as client,
        pytest.raises(APIUnavailable) as info,
    ):
        client.describe_pipeline(P.PPL_ID)
    assert info.value.retry_after == 60
    assert clock.now == 0  # not waited
    assert len(server.requests) == 1


def test_a_wait_ends_near_its_timeout_against_a_trickling_server(server: ScriptedServer) -> None:
    """``wait_for_pipeline(timeout=3)``: each poll is bounded by what is left of the wait, so the trickle ends
    there; counted in polls and bytes, on one ticking clock shared by the wait and the client."""
    server.fallback = Trickle(answer(TRICKLED_BODY))
    clock = TickingClock(tick=0.25)
    pacing = Pacing(sleep=clock.sleep, monotonic=clock, rng=random.Random(0))
    with client_for(server, timeout=5, monotonic=clock, sleep=clock.sleep) as client, pytest.raises(WaitTimeout):
        wait_for_pipeline(client, P.PPL_ID, timeout=3, expected_duration=False, pacing=pacing)
    assert len(server.requests) <= 3
    assert server.trickled < TRICKLE_BOUND
    assert clock.now < 3 + 5  # the wait's clock: its timeout, plus the last look's allowance and a few ticks


def test_time_limit_bounds_every_call_inside(server: ScriptedServer) -> None:
    server.fallback = Trickle(answer(TRICKLED_BODY))
    clock = TickingClock(tick=1.0)
    with (
        client_for(server, deadline=1000, monotonic=clock) as client,
        time_limit(5, monotonic=clock),
        pytest.raises(APIUnavailable, match=r"deadline of [45](\.\d+)? s"),
    ):
        client.describe_pipeline(P.PPL_ID)
    assert server.trickled < TRICKLE_BOUND


# ------------------------------------------------------------------------------------------------- sizes


def traced_peak(action: object) -> tuple[BaseException | None, int]:
    tracemalloc.start()
    try:
        try:
            action()  # type: ignore[operator]
        except Exception as exc:
            return exc, tracemalloc.get_traced_memory()[1]
        return None, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


MB = 1024 * 1024
BIG = b"[" + b"0," * (24 * MB) + b"0]"  # 48 MB of a valid JSON array, sent without Content-Length


def test_an_answer_over_the_cap_is_refused_without_holding_it(server: ScriptedServer) -> None:
    server.add(Raw(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n" + BIG))
    with client_for(server, max_answer_bytes=MB) as client:
        error, peak = traced_peak(lambda: client.list_pipelines(P.PROJECT_ID))
    assert isinstance(error, APIError)
    assert "too large" in str(error)
    assert peak < 8 * MB


def test_an_announced_size_over_the_cap_is_refused_before_reading(server: ScriptedServer) -> None:
    server.add(Raw(answer(b"x" * (2 * MB))))
    with client_for(server, max_answer_bytes=MB) as client:
        error, peak = traced_peak(lambda: client.describe_pipeline(P.PPL_ID))
    assert isinstance(error, APIError)
    assert "announced" in str(error)
    assert peak < MB


def test_a_compressed_answer_is_refused_not_decoded(server: ScriptedServer) -> None:
    bomb = gzip.compress(b" " * (200 * MB))  # ~200 KB on the wire
    server.add(Raw(answer(bomb, headers="Content-Encoding: gzip\r\n")))
    with client_for(server) as client:
        error, peak = traced_peak(lambda: client.describe_pipeline(P.PPL_ID))
    assert isinstance(error, APIError)
    assert "compressed" in str(error)
    assert peak < 8 * MB
    assert server.requests[0].headers["accept-encoding"] == "identity"


def log_body(events: int) -> bytes:
    return json.dumps({"events": [{"event": "cmd_output", "timestamp": 1, "output": "x" * 100}] * events}).encode()


def test_a_log_has_its_own_cap_not_the_answer_cap(server: ScriptedServer) -> None:
    body = log_body(1000)  # ~150 KB
    server.add(Reply(200, body), Reply(200, body))
    with client_for(server, max_answer_bytes=1000) as client:
        assert len(list(client.job_log_events_raw(P.JOB_ID))) == 1000
    seen: list[object] = []
    with client_for(server, max_log_bytes=len(body) // 2) as client, pytest.raises(APIError, match="too large"):
        seen.extend(client.job_log_events_raw(P.JOB_ID))
    assert 0 < len(seen) < 1000  # the events within the cap were delivered first


def test_a_streamed_log_keeps_its_own_deadline(server: ScriptedServer) -> None:
    server.add(Trickle(answer(log_body(200))))
    with (
        client_for(server, log_deadline=20, monotonic=TickingClock(1.0)) as client,
        pytest.raises(APIUnavailable, match="deadline of 20 s"),
    ):
        list(client.job_log_events_raw(P.JOB_ID))
    assert server.trickled < TRICKLE_BOUND


# ------------------------------------------------------------------------------------------------- one huge event


@pytest.mark.parametrize("chunk", [1024, 4096, 65536])
def test_one_huge_log_event_is_parsed_in_linear_work(chunk: int) -> None:
    output = "x}" * 1_000_000  # braces inside: every chunk has a "}" where an event could end
    body = json.dumps({"events": [{"event": "cmd_output", "timestamp": 1, "output": output}]}).encode()
    parser = LogStreamParser()
    events = []
    for start in range(0, len(body), chunk):
        events.extend(parser.feed_raw(body[start : start + chunk]))
    events.extend(parser.close_raw())
    assert [event["output"] for event in events] == [output]
    assert parser.joined <= 3 * len(body)  # re-joining on every chunk copied hundreds of times the body
