"""What is retried, how often, and how long the client waits (observed through the injected sleep, never real time)."""

from __future__ import annotations

import email.utils
import json
import socket
import time

import pytest
from pytest_httpserver import HTTPServer

from pytest_semaphore.client import SemaphoreClient
from pytest_semaphore.client.retry import BACKOFF_BASE, BACKOFF_MAX
from pytest_semaphore.errors import APIError, APIUnavailable, AuthenticationError, ConfigurationError, NotFoundError
from tests.support import api_payloads as P
from tests.support.scripted_server import Hang, Reply, Reset, ScriptedServer, Truncated

from .conftest import ClientFactory, RecordedSleeps

PPL = f"/api/v1alpha/pipelines/{P.PPL_ID}"


def queue(httpserver: HTTPServer, path: str, *answers: tuple[int, str, dict[str, str]], method: str = "GET") -> None:
    for status, body, headers in answers:
        httpserver.expect_ordered_request(path, method=method).respond_with_data(body, status=status, headers=headers)


def ok_pipeline() -> tuple[int, str, dict[str, str]]:
    return 200, json.dumps(P.pipeline_describe()), {}


def test_503_then_200(httpserver: HTTPServer, client: SemaphoreClient, sleeps: RecordedSleeps) -> None:
    queue(httpserver, PPL, (503, "upstream connect error", {}), ok_pipeline())
    assert client.describe_pipeline(P.PPL_ID).result == "passed"
    assert len(httpserver.log) == 2
    assert len(sleeps) == 1
    assert BACKOFF_BASE * 0.5 <= sleeps[0] <= BACKOFF_BASE


@pytest.mark.parametrize("status", [403, 429, 500, 502, 503, 504])
def test_each_retryable_status_is_retried_on_get(
    httpserver: HTTPServer, client: SemaphoreClient, sleeps: RecordedSleeps, status: int
) -> None:
    queue(httpserver, PPL, (status, "x", {}), (status, "x", {}), ok_pipeline())
    assert client.describe_pipeline(P.PPL_ID).state == "done"
    assert len(httpserver.log) == 3
    assert len(sleeps) == 2


def test_429_retry_after_is_honoured_through_the_injected_sleep(
    httpserver: HTTPServer, client: SemaphoreClient, sleeps: RecordedSleeps
) -> None:
    queue(httpserver, PPL, (429, "slow down", {"Retry-After": "7"}), ok_pipeline())
    client.describe_pipeline(P.PPL_ID)
    assert sleeps == [7.0]  # through the injected sleep: the recorder returns at once, nothing slept for real


def test_retry_after_as_an_http_date(httpserver: HTTPServer, client: SemaphoreClient, sleeps: RecordedSleeps) -> None:
    when = email.utils.formatdate(time.time() + 30, usegmt=True)
    queue(httpserver, PPL, (503, "maintenance", {"Retry-After": when}), ok_pipeline())
    client.describe_pipeline(P.PPL_ID)
    assert len(sleeps) == 1
    assert 25 <= sleeps[0] <= 31


def test_a_retry_after_too_long_ends_the_retries_and_is_reported(
    httpserver: HTTPServer, client: SemaphoreClient, sleeps: RecordedSleeps
) -> None:
    queue(httpserver, PPL, (429, "come back in an hour", {"Retry-After": "3600"}))
    with pytest.raises(APIUnavailable) as info:
        client.describe_pipeline(P.PPL_ID)
    assert info.value.retry_after == 3600
    assert info.value.last_status == 429
    assert "come back in an hour" in str(info.value)
    assert sleeps == []
    assert len(httpserver.log) == 1


def test_exhausted_retries_give_api_unavailable_with_retry_after(
    httpserver: HTTPServer, make_client: ClientFactory, base_url: str, sleeps: RecordedSleeps
) -> None:
    client = make_client(base_url, retries=3)
    httpserver.expect_request(PPL).respond_with_data("busy", status=503, headers={"Retry-After": "2"})
    with pytest.raises(APIUnavailable) as info:
        client.describe_pipeline(P.PPL_ID)
    assert len(httpserver.log) == 4  # 1 + 3 retries
    assert sleeps == [2.0, 2.0, 2.0]
    assert info.value.retry_after == 2.0
    assert info.value.last_status == 503
    assert "after 3 retries" in str(info.value)


def test_backoff_grows_exponentially_with_jitter_and_a_cap(
    httpserver: HTTPServer, make_client: ClientFactory, base_url: str, sleeps: RecordedSleeps
) -> None:
    client = make_client(base_url, retries=7)
    httpserver.expect_request(PPL).respond_with_data("bad gateway", status=502)
    with pytest.raises(APIUnavailable):
        client.describe_pipeline(P.PPL_ID)
    assert len(sleeps) == 7
    for n, delay in enumerate(sleeps, start=1):
        nominal = min(BACKOFF_MAX, BACKOFF_BASE * 2 ** (n - 1))
        assert nominal * 0.5 <= delay <= nominal, (n, delay)
    assert len(set(sleeps)) == len(sleeps)  # jittered, not a fixed ladder


def test_403_retried_then_authentication_error(
    httpserver: HTTPServer, make_client: ClientFactory, base_url: str, sleeps: RecordedSleeps
) -> None:
    client = make_client(base_url, retries=2)
    httpserver.expect_request(PPL).respond_with_data("RBAC: access denied", status=403)
    with pytest.raises(AuthenticationError, match="RBAC: access denied") as info:
        client.describe_pipeline(P.PPL_ID)
    assert info.value.status == 403
    assert len(httpserver.log) == 3
    assert len(sleeps) == 2


def test_401_and_404_and_400_are_not_retried(
    httpserver: HTTPServer, client: SemaphoreClient, sleeps: RecordedSleeps
) -> None:
    queue(httpserver, PPL, (401, "Unauthorized", {}), (404, "Not Found", {}), (400, '"Bad value."', {}))
    with pytest.raises(AuthenticationError, match="Unauthorized"):
        client.describe_pipeline(P.PPL_ID)
    with pytest.raises(NotFoundError, match="Not Found"):
        client.describe_pipeline(P.PPL_ID)
    with pytest.raises(APIError, match="Bad value") as info:
        client.describe_pipeline(P.PPL_ID)
    assert info.value.status == 400
    assert len(httpserver.log) == 3
    assert sleeps == []


def test_504_on_logs_is_retried_only_once(
    httpserver: HTTPServer, client: SemaphoreClient, sleeps: RecordedSleeps
) -> None:
    httpserver.expect_request(f"/api/v1alpha/logs/{P.JOB_ID}").respond_with_data("upstream request timeout", status=504)
    with pytest.raises(APIUnavailable) as info:
        list(client.job_log(P.JOB_ID))
    assert info.value.last_status == 504
    assert len(httpserver.log) == 2
    assert len(sleeps) == 1


def test_504_elsewhere_uses_the_whole_budget(httpserver: HTTPServer, make_client: ClientFactory, base_url: str) -> None:
    client = make_client(base_url, retries=3)
    httpserver.expect_request(PPL).respond_with_data("upstream request timeout", status=504)
    with pytest.raises(APIUnavailable):
        client.describe_pipeline(P.PPL_ID)
    assert len(httpserver.log) == 4


def test_patch_is_retried(httpserver: HTTPServer, client: SemaphoreClient) -> None:
    queue(httpserver, PPL, (502, "", {}), (200, '"Pipeline termination started."', {}), method="PATCH")
    client.terminate_pipeline(P.PPL_ID)
    assert len(httpserver.log) == 2


def test_post_with_request_token_is_retried_with_the_same_token(
    httpserver: HTTPServer, client: SemaphoreClient
) -> None:
    path = f"/api/v1alpha/pipelines/{P.PPL_ID}/partial_rebuild"
    queue(httpserver, path, (503, "", {}), (200, '{"message": "", "pipeline_id": "new"}', {}), method="POST")
    assert client.partial_rebuild(P.PPL_ID) == "new"
    tokens = [r.args["request_token"] for r, _ in httpserver.log]
    assert len(tokens) == 2
    assert tokens[0] == tokens[1]


def test_connection_refused_is_retried_then_unavailable(make_client: ClientFactory, sleeps: RecordedSleeps) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = make_client(f"http://127.0.0.1:{port}", retries=2)
    with pytest.raises(APIUnavailable, match="could not connect") as info:
        client.describe_pipeline(P.PPL_ID)
    assert info.value.last_status is None
    assert len(sleeps) == 2


def test_retries_zero_means_one_attempt(
    httpserver: HTTPServer, make_client: ClientFactory, base_url: str, sleeps: RecordedSleeps
) -> None:
    client = make_client(base_url, retries=0)
    httpserver.expect_request(PPL).respond_with_data("busy", status=503)
    with pytest.raises(APIUnavailable):
        client.describe_pipeline(P.PPL_ID)
    assert len(httpserver.log) == 1
    assert sleeps == []


def test_backoff_base_applies_to_every_retry_the_client_makes(
    scripted: ScriptedServer, make_client: ClientFactory, sleeps: RecordedSleeps
) -> None:
    """urllib3's retries (the 503, the reset) and the client's own (a body cut off, a promotion resent) alike."""
    good = json.dumps(P.pipeline_describe()).encode()
    scripted.add(Truncated(200, good[:30], declared=len(good)), Reply(503, b"busy"), Reset(), Reply(200, good))
    client = make_client(scripted.url, backoff_base=0.01)
    assert client.describe_pipeline(P.PPL_ID).ppl_id == P.PPL_ID
    assert len(scripted.requests) == 4
    assert len(sleeps) == 3
    assert all(0 < delay <= 0.04 for delay in sleeps), sleeps


@pytest.mark.parametrize(
    ("options", "words"),
    [
        ({"timeout": None}, "timeout must be a finite number"),
        ({"timeout": 0}, "timeout must be a finite number"),
        ({"timeout": float("inf")}, "timeout must be a finite number"),
        ({"timeout": float("nan")}, "timeout must be a finite number"),
        ({"retries": -1}, "retries must be an integer"),
        ({"retries": 2.5}, "retries must be an integer"),
    ],
)
def test_timeouts_are_always_finite_and_retries_counted(options: dict[str, object], words: str) -> None:
    """A hang must never eat CI's time: there is no way to build a client without a finite timeout."""
    with pytest.raises(ConfigurationError, match=words):
        SemaphoreClient("https://myorg.semaphoreci.com", "t", **options)  # type: ignore[arg-type]


@pytest.mark.parametrize("option", ["backoff_base", "max_retry_after"])
@pytest.mark.parametrize("value", [-1, float("nan"), float("inf"), "1"])
def test_retry_constants_are_validated(option: str, value: object) -> None:
    with pytest.raises(ConfigurationError, match=option):
        SemaphoreClient("https://myorg.semaphoreci.com", "t", **{option: value})  # type: ignore[arg-type]


def test_cut_off_bodies_and_statuses_share_one_retry_budget(
    scripted: ScriptedServer, make_client: ClientFactory, sleeps: RecordedSleeps
) -> None:
    """A cut-off body is retried by the client, statuses by urllib3: the two must not multiply into retries**2."""
    good = json.dumps(P.pipeline_describe()).encode()
    cut = Truncated(200, good[:30], declared=len(good))
    scripted.add(cut)
    for _ in range(3):
        scripted.add(Reply(503, b"busy"), Reply(503, b"busy"), Reply(503, b"busy"), cut)
    scripted.fallback = cut
    with pytest.raises(APIUnavailable, match="cut off"):
        make_client(scripted.url, retries=3).describe_pipeline(P.PPL_ID)
    # 1 cut off, then one more call whose 3 status retries spend the budget: 5 requests, not 1 + 3 * 4
    assert len(scripted.requests) == 5
    assert len(sleeps) == 4


def test_read_timeout_on_a_get_is_retried(
    scripted: ScriptedServer, make_client: ClientFactory, sleeps: RecordedSleeps
) -> None:
    scripted.add(Hang(), Reply(200, json.dumps(P.pipeline_describe()).encode()))
    assert make_client(scripted.url, timeout=0.3).describe_pipeline(P.PPL_ID).state == "done"
    assert len(scripted.requests) == 2
    assert len(sleeps) == 1


def test_resets_on_a_patch_are_retried_then_unavailable(
    scripted: ScriptedServer, make_client: ClientFactory, sleeps: RecordedSleeps
) -> None:
    scripted.fallback = Reset()
    with pytest.raises(APIUnavailable, match="reset by the server") as info:
        make_client(scripted.url, retries=2).terminate_pipeline(P.PPL_ID)
    assert [r.method for r in scripted.requests] == ["PATCH"] * 3
    assert info.value.last_status is None
    assert len(sleeps) == 2
