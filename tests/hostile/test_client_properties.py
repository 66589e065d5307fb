"""Properties: whatever a server answers (status, headers, body, encoding), the public client functions raise only
documented errors (:mod:`pytest_semaphore.errors`), make a bounded number of requests and sleeps, and never send the
token anywhere but the base URL. Bounds are counts, never wall time.

One scripted server serves every example of a test (its ``fallback`` answers every request with the drawn answer),
so a few hundred examples run in seconds.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterator
from urllib.parse import urlsplit

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from urllib3.util import parse_url

from pytest_semaphore.client import LogStreamError, SemaphoreClient, strip_queries
from pytest_semaphore.client.baseurl import connection_origin
from pytest_semaphore.client.logstream import LogStreamParser
from pytest_semaphore.errors import SemaphoreError
from pytest_semaphore.models import ModelError
from tests.support import api_payloads as P
from tests.support.scripted_server import Raw, ScriptedServer

from .strategies import answers, json_values

TOKEN = "canary-TOKEN-property-4e2a"
RETRIES = 2

# ------------------------------------------------------------------------------------------------- strategies

CALLS: dict[str, Callable[[SemaphoreClient], object]] = {
    "describe_pipeline": lambda c: c.describe_pipeline(P.PPL_ID, detailed=True),
    "list_pipelines": lambda c: c.list_pipelines(P.PROJECT_ID),
    "list_projects": lambda c: c.list_projects(),
    "list_jobs": lambda c: c.list_jobs(["RUNNING"]),
    "list_promotions": lambda c: c.list_promotions(P.PPL_ID),
    "job_log": lambda c: list(c.job_log(P.JOB_ID)),
    "job_log_events_raw": lambda c: list(c.job_log_events_raw(P.JOB_ID)),
    "job_log_plain": lambda c: c.job_log_plain(P.JOB_ID),
    "run_workflow": lambda c: c.run_workflow(P.PROJECT_ID, "refs/heads/main"),
}


@pytest.fixture(scope="module")
def server() -> Iterator[ScriptedServer]:
    with ScriptedServer() as scripted:
        yield scripted


# ------------------------------------------------------------------------------------------------- properties


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(answer=answers(), call=st.sampled_from(sorted(CALLS)))
def test_only_documented_errors_escape_in_bounded_requests(
    server: ScriptedServer, answer: tuple[int, dict[str, str], bytes], call: str
) -> None:
    status, headers, body = answer
    server.fallback = Raw(_head(status, headers, body) + body)
    before = len(server.requests)
    sleeps: list[float] = []
    with SemaphoreClient(server.url, TOKEN, retries=RETRIES, sleep=sleeps.append, rng=random.Random(0)) as client:
        error: SemaphoreError | None = None
        try:
            CALLS[call](client)
        except SemaphoreError as exc:
            error = exc
    assert TOKEN not in f"{error} {error!r}"
    made = len(server.requests) - before
    # Each attempt may follow a few redirects (logs); pages stop at a loop or an empty page; reconciling lists.
    assert made <= (RETRIES + 1) * 4
    assert len(sleeps) <= (RETRIES + 1) * 2


def _head(status: int, headers: dict[str, str], body: bytes) -> bytes:
    lines = [f"HTTP/1.1 {status} Drawn", f"Content-Length: {len(body)}", "Connection: close"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


@given(
    body=st.one_of(
        answers().map(lambda a: a[2]),
        st.lists(json_values, max_size=5).map(lambda events: json.dumps({"events": events}).encode()),
    ),
    chunk=st.integers(1, 4096),
)
def test_the_log_parser_raises_only_its_error_in_linear_work(body: bytes, chunk: int) -> None:
    parser = LogStreamParser()
    try:
        for start in range(0, len(body), chunk):
            parser.feed(body[start : start + chunk])
        while parser.close():
            pass
    except (LogStreamError, ModelError):
        pass
    assert parser.joined <= 3 * len(body) + 16


punctuation = st.sampled_from(list(")'\">]}.,;:!(<[{"))


#: What a URL sent by requests can hold: no whitespace or control character (they are percent-encoded).
url_text = st.text(st.characters(exclude_categories=["Z", "C"]), max_size=30)


@given(before=url_text, stop=punctuation, after=url_text)
def test_no_jwt_survives_query_stripping(before: str, stop: str, after: str) -> None:
    text = f'127.0.0.1:443 "GET /logs/x?{before}{stop}{after}&jwt=SIGNEDJWT HTTP/1.1" 200 5'
    assert "SIGNEDJWT" not in strip_queries(text)
    text = f"see /logs/x?{before}{stop}{after}&jwt=SIGNEDJWT{stop}"
    assert "SIGNEDJWT" not in strip_queries(text)


hosts = st.sampled_from(["127.0.0.1", "127.0.0.2", "localhost", "[::1]", "h.example", "H.Example", ""])
joiners = st.sampled_from(["", "\\", "\\\\", "@", ":1@", "%5C@", "\t", "#", "?", "/", "%40", "\x00", " "])


@given(a=hosts, port=st.sampled_from(["", ":8", ":0", ":65536", ":x"]), joiner=joiners, b=hosts, tail=joiners)
def test_a_connection_origin_is_where_the_connection_goes(a: str, port: str, joiner: str, b: str, tail: str) -> None:
    """When ``connection_origin`` names an origin for a prepared URL, the parser requests connects with and
    urllib3's agree with it; in any doubt it names none."""
    url = f"http://{a}{port}{joiner}{b}{tail}/logs"
    try:
        prepared = requests.Request("GET", url).prepare().url or ""
    except (requests.RequestException, ValueError, UnicodeError):
        return
    origin = connection_origin(prepared)
    if origin is None:
        return
    ours, theirs = urlsplit(prepared), parse_url(prepared)
    assert (ours.hostname, ours.port or 80) == origin[1:]
    assert ((theirs.host or "").strip("[]").lower(), theirs.port or 80) == origin[1:]
    assert "\\" not in prepared.partition("?")[0]  # nothing a parser could read as a separator is left
