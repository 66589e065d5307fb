"""Hostile answers for the client: each case a scripted server's steps, one public call, and what may come out.

A case names the documented error the call must raise (or ``None`` for a call that must succeed): whatever the
server sends, the only exceptions that may escape are :mod:`pytest_semaphore.errors`, and the work stays bounded:
``test_client_corpus.py`` also counts the requests each case made against ``max_requests``.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable
from dataclasses import dataclass, field

from pytest_semaphore.client import SemaphoreClient
from pytest_semaphore.errors import APIError, APIUnavailable, OutcomeUnknown, SemaphoreError
from tests.support import api_payloads as P
from tests.support.scripted_server import Action, Raw, Reply, Truncated

Call = Callable[[SemaphoreClient], object]

NESTED = b"[" * 100_000 + b"]" * 100_000
"""Nesting far past the interpreter's recursion limit: ``json.loads`` raises ``RecursionError``."""
HUGE_NUMBER = b"1" * 5000
"""More digits than ``int()`` accepts (4300): ``json.loads`` raises ``ValueError``."""
SUPERSCRIPT_TWO = "\u00b2"
"""Passes ``str.isdigit()``, refused by ``int()``; one latin-1 byte in a header."""
Y99999 = "Fri, 31 Dec 99999 23:59:59 GMT"


@dataclass(frozen=True)
class ClientCase:
    name: str
    steps: list[Action]
    call: Call
    raises: type[SemaphoreError] | None
    max_requests: int = 3
    options: dict[str, object] = field(default_factory=dict)


def describe(client: SemaphoreClient) -> object:
    return client.describe_pipeline(P.PPL_ID)


def list_pipelines(client: SemaphoreClient) -> object:
    return client.list_pipelines(P.PROJECT_ID)


def log(client: SemaphoreClient) -> object:
    return list(client.job_log_events_raw(P.JOB_ID))


def log_models(client: SemaphoreClient) -> object:
    return list(client.job_log(P.JOB_ID))


def _json(data: object) -> bytes:
    return json.dumps(data).encode()


DESCRIBED = _json(P.pipeline_describe())
LISTED = _json([P.pipeline_listed()])


def _503(headers: dict[str, str]) -> list[Action]:
    return [Reply(503, b"busy", headers)] * 3


HEADERS: list[ClientCase] = [
    ClientCase("retry-after superscript", _503({"Retry-After": SUPERSCRIPT_TWO}), describe, APIUnavailable),
    ClientCase("retry-after 5000 digits", _503({"Retry-After": "9" * 5000}), describe, APIUnavailable),
    ClientCase("retry-after 400 digits", _503({"Retry-After": "9" * 400}), describe, APIUnavailable),
    ClientCase("retry-after year 99999", _503({"Retry-After": Y99999}), describe, APIUnavailable),
    ClientCase("retry-after negative", _503({"Retry-After": "-5"}), describe, APIUnavailable),
    ClientCase(
        "retry-after on 429, year 99999", [Reply(429, b"", {"Retry-After": Y99999})] * 3, describe, APIUnavailable
    ),
    ClientCase(
        "total-pages superscript",
        [Reply(200, LISTED, {"page-number": "1", "total-pages": SUPERSCRIPT_TWO})],
        list_pipelines,
        None,
        max_requests=1,
    ),
    ClientCase(
        "total-pages 5000 digits",
        [Reply(200, LISTED, {"page-number": "1", "total-pages": "9" * 5000})],
        list_pipelines,
        None,
        max_requests=1,
    ),
    ClientCase(
        "page-number superscript",
        [Reply(200, LISTED, {"page-number": SUPERSCRIPT_TWO, "total-pages": "9"})],
        list_pipelines,
        None,
        max_requests=1,
    ),
]

BODIES: list[ClientCase] = [
    ClientCase("nested JSON body", [Reply(200, NESTED)], describe, APIError, max_requests=1),
    ClientCase("nested JSON error body", [Reply(400, NESTED)], describe, APIError, max_requests=1),
    ClientCase("nested JSON 503 body", [Reply(503, NESTED)] * 3, describe, APIUnavailable),
    ClientCase("5000-digit number", [Reply(200, b'{"pipeline": ' + HUGE_NUMBER + b"}")], describe, APIError, 1),
    ClientCase("5000-digit error message", [Reply(404, b'{"message": ' + HUGE_NUMBER + b"}")], describe, APIError, 1),
    ClientCase(
        "int64 string of superscripts",
        [Reply(200, _json({"jobs": [{**P.job(), "metadata": {**P.job()["metadata"], "create_time": "\u00b2" * 4}}]}))],
        lambda c: c.list_jobs(["RUNNING"]),
        APIError,
        max_requests=1,
    ),
    ClientCase(
        "log event nested deep",
        [Reply(200, b'{"events": [{"event": "cmd_output", "output": ' + NESTED + b"}]}")],
        log,
        APIError,
        max_requests=1,
    ),
    ClientCase(
        "log event with a 5000-digit timestamp",
        [Reply(200, b'{"events": [{"event": "cmd_output", "timestamp": ' + HUGE_NUMBER + b"}]}")],
        log,
        APIError,
        max_requests=1,
    ),
    ClientCase(
        "log event timestamp in superscripts",
        [Reply(200, _json({"events": [{"event": "job_started", "timestamp": SUPERSCRIPT_TWO * 3}]}))],
        log_models,
        APIError,
        max_requests=1,
    ),
    ClientCase("log body a 5000-digit number", [Reply(200, HUGE_NUMBER)], log, APIError, max_requests=1),
    ClientCase("log trailer nested deep", [Reply(200, b'{"next": ' + NESTED + b', "events": []}')], log, APIError, 1),
]


def _raw_head(status_line: str, *headers: str, body: bytes = b"") -> Raw:
    return Raw(("\r\n".join([status_line, *headers, "Connection: close"]) + "\r\n\r\n").encode("latin-1") + body)


def _redirect(location: str) -> list[Action]:
    return [_raw_head("HTTP/1.1 302 Found", f"Location: {location}", "Content-Length: 0")]


SERVERS: list[ClientCase] = [
    ClientCase("garbage instead of HTTP", [Raw(b"\x00\xff garbage\r\n\r\n")] * 3, describe, APIUnavailable),
    ClientCase("HTTP/0.9 style bare body", [Raw(b'{"pipeline": {}}')] * 3, describe, APIUnavailable),
    ClientCase(
        "status line of 5000 digits", [_raw_head("HTTP/1.1 " + "9" * 5000 + " X")] * 3, describe, APIUnavailable
    ),
    ClientCase(
        "content-length in superscripts",
        [_raw_head("HTTP/1.1 200 OK", "Content-Length: \u00b2\u00b2", body=DESCRIBED)],
        describe,
        None,
        max_requests=1,
    ),
    ClientCase(
        "content-length of 5000 digits",
        [_raw_head("HTTP/1.1 200 OK", "Content-Length: " + "9" * 5000, body=DESCRIBED)],
        describe,
        None,
        max_requests=1,
    ),
    ClientCase(
        "two different content-lengths",
        [_raw_head("HTTP/1.1 200 OK", "Content-Length: 2", "Content-Length: 9", body=DESCRIBED)] * 3,
        describe,
        APIUnavailable,
    ),
    ClientCase(
        "chunk size of 5000 digits",
        [_raw_head("HTTP/1.1 200 OK", "Transfer-Encoding: chunked", body=b"9" * 5000 + b"\r\nx")] * 3,
        describe,
        APIUnavailable,
    ),
    ClientCase(
        "a 70 KB header line",
        [_raw_head("HTTP/1.1 200 OK", "X-Big: " + "a" * 70_000, body=DESCRIBED)] * 3,
        describe,
        APIUnavailable,
    ),
    ClientCase(
        "two hundred headers",
        [_raw_head("HTTP/1.1 200 OK", *(f"X-{i}: {i}" for i in range(200)), body=DESCRIBED)] * 3,
        describe,
        APIUnavailable,
    ),
    ClientCase(
        "declared longer than sent",
        [Truncated(200, DESCRIBED[:50], declared=len(DESCRIBED))] * 3,
        describe,
        APIUnavailable,
    ),
    ClientCase(
        "gzip never asked for",
        [Reply(200, gzip.compress(DESCRIBED), {"Content-Encoding": "gzip"})],
        describe,
        APIError,
        max_requests=1,
    ),
    ClientCase(
        "an unknown content-encoding on a log",
        [Reply(200, b'{"events": []}', {"Content-Encoding": "br"})],
        log,
        APIError,
        max_requests=1,
    ),
    ClientCase("a body in UTF-16", [Reply(200, DESCRIBED.decode().encode("utf-16"))], describe, APIError, 1),
    ClientCase("a byte-order mark is fine", [Reply(200, b"\xef\xbb\xbf" + DESCRIBED)], describe, None, 1),
    ClientCase("an answer over the cap", [Reply(200, DESCRIBED)], describe, APIError, 1, {"max_answer_bytes": 100}),
    ClientCase(
        "a run accepted with a gzip answer is uncertain, never a failure",
        [Reply(200, gzip.compress(b'{"workflow_id": "w", "pipeline_id": "p"}'), {"Content-Encoding": "gzip"})],
        lambda c: c.run_workflow(P.PROJECT_ID, "refs/heads/main"),
        OutcomeUnknown,
        max_requests=1,
    ),
    ClientCase(
        "a run accepted with an answer over the cap is uncertain",
        [Reply(200, b'{"workflow_id": "w", "pipeline_id": "p"}' + b" " * 200)],
        lambda c: c.run_workflow(P.PROJECT_ID, "refs/heads/main"),
        OutcomeUnknown,
        max_requests=1,
        options={"max_answer_bytes": 100},
    ),
]

REDIRECTS: list[ClientCase] = [
    ClientCase("redirect to a %zz host", _redirect("https://lo%zzghub.example/logs/x?jwt=J"), log, APIError, 1),
    ClientCase("redirect to a %zz path", _redirect("http://127.0.0.1:1/%zz?jwt=J"), log, APIUnavailable, 1),
    ClientCase("redirect to an empty label", _redirect("https://loghub..example/x?jwt=J"), log, APIError, 1),
    ClientCase("redirect to a * host", _redirect("https://*.example/x?jwt=J"), log, APIError, 1),
    ClientCase("redirect with a tab in the host", _redirect("https://log\thub.example/x"), log, APIError, 1),
    ClientCase("redirect with a space in the host", _redirect("https://log hub.example/x"), log, APIError, 1),
    ClientCase("redirect to port 99999", _redirect("https://loghub.example:99999/x"), log, APIError, 1),
    ClientCase("redirect to ftp", _redirect("ftp://loghub.example/x"), log, APIError, 1),
    ClientCase("redirect to plain http elsewhere", _redirect("http://loghub.example/x?jwt=J"), log, APIError, 1),
    ClientCase("redirect with user info", _redirect("https://u:p@loghub.example/x"), log, APIError, 1),
    ClientCase("redirect with a backslash", _redirect("https://loghub.example\\@127.0.0.1/x"), log, APIError, 1),
    ClientCase("redirect on an API call", _redirect("/api/v1alpha/pipelines/x"), describe, APIError, 1),
]

CASES: list[ClientCase] = [*HEADERS, *BODIES, *SERVERS, *REDIRECTS]
