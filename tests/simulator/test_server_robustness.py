"""The HTTP layer against misbehaving clients and a shutdown mid-request, over raw sockets.

A test bed that crashes, prints tracebacks or hangs when a client misbehaves would make the client's own failure
tests flaky; these pin down that every such case gets an answer (or a clean close) and that ``close()`` leaves no
handler running.
"""

from __future__ import annotations

import http.client
import re
import socket
import struct
import threading
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest

from pytest_semaphore.simulator import SemaphoreSimulator
from pytest_semaphore.simulator.definitions import BlockDef, FaultDef, JobDef, PipelineDef, ProjectDef, ScenarioDef

from .helpers import Raw

API = "/api/v1alpha"
TOKEN = "robust-token"


def _big_log_world() -> ScenarioDef:
    big = PipelineDef("Big", (BlockDef("B", (JobDef("noisy", log_bytes=6_000_000),)),))
    return ScenarioDef(projects=(ProjectDef("p", {".semaphore/semaphore.yml": big}),))


@pytest.fixture
def big() -> Iterator[tuple[SemaphoreSimulator, str]]:
    """A simulator whose only job wrote a 6 MB log: more than the kernel buffers hold (4 MB send at most, and the
    small receive buffer of ``_connect``), so an answer is still being written when the client hangs up or the
    simulator closes."""
    simulator = SemaphoreSimulator(_big_log_world(), token=TOKEN).start()
    try:
        _, ppl_id = simulator.world.start_workflow("p")
        simulator.advance(60)
        yield simulator, simulator.world.pipeline(ppl_id).jobs[0].job_id
    finally:
        simulator.close()


def _connect(sim: SemaphoreSimulator, *, small_buffer: bool = False) -> socket.socket:
    conn = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    conn.settimeout(10)
    if small_buffer:  # set before connecting: it fixes the TCP window, so a big answer cannot all be buffered
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    try:
        conn.connect(("127.0.0.1", urlsplit(sim.url).port or 80))
    except OSError:
        conn.close()
        raise
    return conn


def _exchange(sim: SemaphoreSimulator, data: bytes) -> bytes:
    """Send ``data`` and read until the server closes the connection."""
    with _connect(sim) as conn:
        conn.sendall(data)
        received = b""
        while chunk := conn.recv(65536):
            received += chunk
    return received


def _post_yaml(sim: SemaphoreSimulator, framing: str, body: bytes = b"") -> tuple[bytes, bytes]:
    """POST to ``/yaml`` with the given framing headers; (status line and headers, body) of the answer."""
    head = f"POST {API}/yaml HTTP/1.1\r\nHost: x\r\nAuthorization: Token {sim.token}\r\n{framing}\r\n\r\n"
    answer_head, _, answer_body = _exchange(sim, head.encode() + body).partition(b"\r\n\r\n")
    return answer_head, answer_body


def _handler_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if "process_request_thread" in t.name]


def _rst_close(conn: socket.socket) -> None:
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    conn.close()


@pytest.mark.parametrize("length", ["abc", "-5", "1e3", "0x10"])
def test_a_bad_content_length_is_400_and_the_server_keeps_serving(sim: SemaphoreSimulator, length: str) -> None:
    head, body = _post_yaml(sim, f"Content-Length: {length}")
    assert head.startswith(b"HTTP/1.1 400 Bad Request\r\n")
    assert body == b"Bad Request"
    raw = Raw(sim.url, sim.token)
    try:
        assert raw.get(f"{API}/projects").status == 200
    finally:
        raw.close()


def test_a_body_over_the_limit_is_413_without_being_read(sim: SemaphoreSimulator) -> None:
    # Claims 100 GB and sends nothing: reading (or allocating) it would hang or exhaust memory.
    head, body = _post_yaml(sim, "Content-Length: 100000000000")
    assert head.startswith(b"HTTP/1.1 413 ")
    assert body == b"Payload Too Large"


def test_chunked_request_bodies_are_read_and_the_connection_stays_usable(sim: SemaphoreSimulator) -> None:
    _, ppl_id = sim.world.start_workflow("demo")
    sim.advance(30)
    assert sim.world.pipeline(ppl_id).result == "passed"
    payload = f'{{"pipeline_id": "{ppl_id}", "name": "production", "ENVIRONMENT": "eu"}}'.encode()
    half = len(payload) // 2
    chunks = b"%x\r\n%s\r\n%x;ext=1\r\n%s\r\n0\r\n\r\n" % (half, payload[:half], len(payload) - half, payload[half:])
    with _connect(sim) as conn:
        conn.sendall(
            f"POST {API}/promotions HTTP/1.1\r\nHost: x\r\nAuthorization: Token {sim.token}\r\n"
            "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n".encode()
            + chunks
            + f"GET {API}/projects/demo HTTP/1.1\r\nHost: x\r\nAuthorization: Token {sim.token}\r\n"
            "Connection: close\r\n\r\n".encode()
        )
        received = b""
        while chunk := conn.recv(65536):
            received += chunk
    first, _, rest = received.partition(b"HTTP/1.1 200 OK\r\n")
    assert first == b""
    assert b'\r\n\r\n"Promotion successfully triggered."HTTP/1.1 200 OK\r\n' in received
    assert b'"name":"demo"' in rest
    assert [p.parameters for p in sim.world.promotions(ppl_id) if not p.auto] == [
        {"ENVIRONMENT": "eu", "REASON": "release"}
    ]


def test_a_malformed_chunk_size_is_400(sim: SemaphoreSimulator) -> None:
    head, body = _post_yaml(sim, "Transfer-Encoding: chunked", b"zz\r\nabc\r\n0\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400 Bad Request\r\n")
    assert body == b"Bad Request"  # the edge's answer, not the route's missing-parameter message


def test_http_1_0_is_answered_and_closed(sim: SemaphoreSimulator) -> None:
    answer = _exchange(sim, f"GET {API}/projects/demo HTTP/1.0\r\nAuthorization: Token {sim.token}\r\n\r\n".encode())
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK\r\n")
    assert b'"name":"demo"' in body  # and the read above ended: the server closed the connection


def test_pipelined_requests_are_answered_in_order(sim: SemaphoreSimulator) -> None:
    requests = b"".join(
        f"GET {API}/projects/{name} HTTP/1.1\r\nHost: x\r\nAuthorization: Token {sim.token}\r\n{extra}\r\n".encode()
        for name, extra in (("other", ""), ("nope", ""), ("demo", "Connection: close\r\n"))
    )
    answer = _exchange(sim, requests)
    assert re.findall(rb"HTTP/1\.1 (\d{3}) ", answer) == [b"200", b"404", b"200"]
    assert answer.index(b'"name":"other"') < answer.index(b"Not Found") < answer.index(b'"name":"demo"')


def test_a_client_hanging_up_mid_answer_is_logged_not_a_traceback(
    big: tuple[SemaphoreSimulator, str], capfd: pytest.CaptureFixture[str]
) -> None:
    sim, job_id = big
    for _ in range(3):
        conn = _connect(sim, small_buffer=True)
        conn.sendall(f"GET {API}/logs/{job_id} HTTP/1.1\r\nHost: x\r\nAuthorization: Token {TOKEN}\r\n\r\n".encode())
        assert conn.recv(100).startswith(b"HTTP/1.1 200 OK")
        _rst_close(conn)
    sim.close()  # waits for the three handlers
    assert _handler_threads() == []
    assert [r.status for r in sim.requests] == [200, 200, 200]
    errors = [r.error for r in sim.requests]
    assert all(e is not None and e.startswith("client disconnected") for e in errors), errors
    assert "Traceback" not in capfd.readouterr().err


def test_close_ends_a_request_in_flight_and_waits_for_its_handler(
    big: tuple[SemaphoreSimulator, str], capfd: pytest.CaptureFixture[str]
) -> None:
    sim, job_id = big
    conn = _connect(sim, small_buffer=True)
    try:
        conn.sendall(f"GET {API}/logs/{job_id} HTTP/1.1\r\nHost: x\r\nAuthorization: Token {TOKEN}\r\n\r\n".encode())
        assert conn.recv(100).startswith(b"HTTP/1.1 200 OK")  # the answer is being written, not yet read
        sim.close()
        assert _handler_threads() == []
        with pytest.raises(OSError):  # the listening socket is gone
            _connect(sim).close()
    finally:
        conn.close()
    sim.close()  # a second close is a no-op
    assert "Traceback" not in capfd.readouterr().err


def test_close_with_an_idle_keep_alive_connection_returns_and_the_client_sees_eof() -> None:
    sim = SemaphoreSimulator(token=TOKEN).start()
    raw = Raw(sim.url, TOKEN)
    try:
        assert raw.get(f"{API}/projects").status == 200  # the connection now idles, kept alive
        sim.close()  # must not wait for the handler's 120 s read timeout
        assert _handler_threads() == []
        with pytest.raises((http.client.RemoteDisconnected, ConnectionError)):
            raw.get(f"{API}/projects")
    finally:
        raw.close()


def test_close_cuts_an_injected_latency_short() -> None:
    sim = SemaphoreSimulator(token=TOKEN).start()
    sim.add_fault(FaultDef("GET /api/v1alpha/projects", "latency", latency=3600))
    outcome: list[object] = []

    def ask() -> None:
        raw = Raw(sim.url, TOKEN)
        try:
            outcome.append(raw.get(f"{API}/projects").status)
        except (OSError, http.client.HTTPException) as error:
            outcome.append(type(error).__name__)
        finally:
            raw.close()

    asker = threading.Thread(target=ask)
    asker.start()
    while not sim.requests:  # the request has arrived and is sleeping in the fault
        threading.Event().wait(0.001)
    sim.close()  # an hour of latency would outlast the test's timeout if close waited for it
    asker.join()
    assert _handler_threads() == []
    assert len(outcome) == 1


def test_close_from_several_threads_at_once() -> None:
    sim = SemaphoreSimulator(token=TOKEN).start()
    closers = [threading.Thread(target=sim.close) for _ in range(4)]
    for closer in closers:
        closer.start()
    for closer in closers:
        closer.join()
    assert _handler_threads() == []
    with pytest.raises(OSError):
        _connect(sim).close()


def test_requests_and_advances_from_many_threads_stay_consistent(sim: SemaphoreSimulator) -> None:
    """Clients polling while several threads move the clock (a waiting engine with ``sleep=sim.advance`` per
    thread): every answer is well formed, results never show before done, and no time is lost or doubled."""
    runs = [sim.world.start_workflow("demo") for _ in range(3)]
    project_id = sim.world.project("demo").project_id
    problems: list[str] = []

    def advance() -> None:
        for _ in range(300):
            sim.advance(0.05)

    def poll(number: int) -> None:
        raw = Raw(sim.url, sim.token)
        try:
            for i in range(60):
                _, ppl_id = runs[(number + i) % len(runs)]
                described = raw.get(f"{API}/pipelines/{ppl_id}?detailed=true")
                listed = raw.get(f"{API}/pipelines?project_id={project_id}")
                pipeline = described.json()["pipeline"]
                if described.status != 200 or listed.status != 200:
                    problems.append(f"status {described.status}/{listed.status}")
                if ("result" in pipeline) != (pipeline["state"] == "done"):
                    problems.append(f"describe {pipeline['state']} with result={pipeline.get('result')}")
                for item in listed.json():
                    if ("result" in item) != (item["state"] == "DONE"):
                        problems.append(f"list {item['state']} with result={item.get('result')}")
                if i % 20 == 0:
                    again = raw.post_json(f"{API}/pipelines/{ppl_id}/partial_rebuild", {"request_token": "same"})
                    if again.status not in (200, 400):
                        problems.append(f"partial rebuild {again.status} {again.body!r}")
        finally:
            raw.close()

    threads = [threading.Thread(target=advance) for _ in range(3)] + [
        threading.Thread(target=poll, args=(n,)) for n in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert problems == []
    assert sim.monotonic() == pytest.approx(3 * 300 * 0.05)
    assert [r.error for r in sim.requests if r.error] == []
    for _, ppl_id in runs:
        assert sim.world.pipeline(ppl_id).state == "done"
