"""Bodies the client cannot use: each gives an ``APIError`` naming the request, never a KeyError or JSONDecodeError.

Also the server's error bodies in each of their documented forms (plain text, JSON string, gateway JSON object), whose
words must reach the message.
"""

from __future__ import annotations

import json

import pytest
from pytest_httpserver import HTTPServer

from pytest_semaphore.client import SemaphoreClient
from pytest_semaphore.errors import APIError, APIUnavailable, NotFoundError, SemaphoreError
from tests.support import api_payloads as P
from tests.support.scripted_server import Reply, ScriptedServer, Truncated

from .conftest import ClientFactory, RecordedSleeps

PPL = f"/api/v1alpha/pipelines/{P.PPL_ID}"


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ("", "empty body"),
        ("   \n", "empty body"),
        ("<!DOCTYPE html><html><head><title>Sign in · Semaphore</title></head></html>", "HTML page"),
        ('{"pipeline": {"ppl_id": "x", "state": "do', "not valid JSON"),
        ("[1, 2]", "expected a JSON object, got a JSON array"),
        ('"a string"', "expected a JSON object, got a string"),
        ("null", "expected a JSON object, got null"),
        ('{"pipeline": {"state": "done"}}', "missing 'ppl_id'"),
        ('{"pipeline": {"ppl_id": "x", "created_at": "yesterday"}}', "not a timestamp"),
        ('{"pipeline": {"ppl_id": "x"}, "blocks": {"a": 1}}', "expected a JSON array"),
        # Python's own OverflowError/ValueError for dates out of range must not escape as such
        ('{"pipeline": {"ppl_id": "x", "created_at": "99999999999999999999"}}', "not a timestamp"),
        ('{"pipeline": {"ppl_id": "x", "done_at": {"seconds": 99999999999999}}}', "not a timestamp"),
        ('{"pipeline": {"ppl_id": "x", "done_at": NaN}}', "not a timestamp"),
        # a wrong JSON type inside the object: never turned into a state like "['done']"
        ('{"pipeline": {"ppl_id": "x", "state": ["done"]}}', "not an enum value"),
        ('{"pipeline": {"ppl_id": null}}', "missing 'ppl_id'"),
    ],
)
def test_unusable_2xx_bodies(httpserver: HTTPServer, client: SemaphoreClient, body: str, words: str) -> None:
    httpserver.expect_request(PPL).respond_with_data(body, status=200)
    with pytest.raises(APIError) as info:
        client.describe_pipeline(P.PPL_ID)
    message = str(info.value)
    assert words in message
    assert f"GET {PPL}" in message
    assert "HTTP 200" in message  # method, path and status, whatever was wrong with the body
    assert not isinstance(info.value.__cause__, (KeyError, ValueError))
    assert info.value.__context__ is None or isinstance(info.value.__context__, SemaphoreError)


def test_html_title_is_quoted(httpserver: HTTPServer, client: SemaphoreClient) -> None:
    httpserver.expect_request(PPL).respond_with_data("<html><title>Maintenance</title></html>", status=200)
    with pytest.raises(APIError, match="Maintenance"):
        client.describe_pipeline(P.PPL_ID)


def test_wrong_list_type(httpserver: HTTPServer, client: SemaphoreClient) -> None:
    httpserver.expect_request("/api/v1alpha/pipelines").respond_with_json({"pipelines": []})
    with pytest.raises(APIError, match="expected a JSON array, got a JSON object"):
        client.list_pipelines(P.PROJECT_ID)


def test_jobs_wrong_inner_type(httpserver: HTTPServer, client: SemaphoreClient) -> None:
    httpserver.expect_request("/api/v1alpha/jobs").respond_with_json({"jobs": {"a": 1}, "next_page_token": ""})
    with pytest.raises(APIError, match="HTTP 200 with 'jobs' that is not a JSON array"):
        client.list_jobs(["RUNNING"])


def test_jobs_page_token_of_the_wrong_type(httpserver: HTTPServer, client: SemaphoreClient) -> None:
    httpserver.expect_request("/api/v1alpha/jobs").respond_with_json({"jobs": [], "next_page_token": 5})
    with pytest.raises(APIError, match="'next_page_token' that is not a string"):
        client.list_jobs(["RUNNING"])


@pytest.mark.parametrize(
    ("call", "path", "body", "words"),
    [
        ("describe_topology", f"{PPL}/describe_topology", '{"blocks": []}', "expected a JSON array, got a JSON object"),
        ("describe_topology", f"{PPL}/describe_topology", '[{"name": "b", "jobs": [{}]}]', "topology jobs"),
        ("partial_rebuild", f"{PPL}/partial_rebuild", '{"message": "", "pipeline_id": ["p"]}', "without a pipeline_id"),
        ("partial_rebuild", f"{PPL}/partial_rebuild", "[]", "expected a JSON object, got a JSON array"),
        ("describe_job", f"/api/v1alpha/jobs/{P.PPL_ID}", '{"metadata": {"id": "j"}, "spec": ["x"]}', "job spec"),
    ],
)
def test_wrong_json_types_on_other_endpoints(
    httpserver: HTTPServer, client: SemaphoreClient, call: str, path: str, body: str, words: str
) -> None:
    httpserver.expect_request(path).respond_with_data(body)
    with pytest.raises(APIError) as info:
        getattr(client, call)(P.PPL_ID)
    assert words in str(info.value)
    assert "HTTP 200" in str(info.value)
    assert info.value.__context__ is None


def test_a_byte_order_mark_is_not_an_error(httpserver: HTTPServer, client: SemaphoreClient) -> None:
    httpserver.expect_request(PPL).respond_with_data(b"\xef\xbb\xbf" + json.dumps(P.pipeline_describe()).encode())
    assert client.describe_pipeline(P.PPL_ID).ppl_id == P.PPL_ID


@pytest.mark.parametrize(
    ("status", "body", "cls", "words"),
    [
        (404, "Not Found", NotFoundError, "Not Found"),
        (404, "oops", NotFoundError, "oops"),
        (400, '"Missing required post parameter request_token."', APIError, "Missing required post parameter"),
        (400, '{"code":"FAILED_PRECONDITION","message":"Workflow is running"}', APIError, "Workflow is running"),
        (404, '{"code":5,"message":"Job 123 not found","details":[]}', NotFoundError, "Job 123 not found"),
        (400, "Malformed request: bad json", APIError, "Malformed request"),
        (409, '{"error": "no logs"}', APIError, "no logs"),
    ],
)
def test_error_bodies_reach_the_message(
    httpserver: HTTPServer, client: SemaphoreClient, status: int, body: str, cls: type[APIError], words: str
) -> None:
    httpserver.expect_request(PPL).respond_with_data(body, status=status)
    with pytest.raises(cls) as info:
        client.describe_pipeline(P.PPL_ID)
    assert info.value.status == status
    assert words in info.value.server_message
    assert f"HTTP {status}" in str(info.value)


def test_long_server_messages_are_cut_to_200_characters(httpserver: HTTPServer, client: SemaphoreClient) -> None:
    httpserver.expect_request(PPL).respond_with_data(json.dumps("x" * 5000), status=400)
    with pytest.raises(APIError) as info:
        client.describe_pipeline(P.PPL_ID)
    assert len(info.value.server_message) <= 203
    assert len(str(info.value)) < 400


def test_unexpected_redirect_is_an_error_and_not_followed(httpserver: HTTPServer, client: SemaphoreClient) -> None:
    httpserver.expect_request(PPL).respond_with_data(
        "", status=302, headers={"Location": "http://evil.example/x?jwt=s"}
    )
    with pytest.raises(APIError, match=r"unexpected redirect to evil\.example/x") as info:
        client.describe_pipeline(P.PPL_ID)
    assert "jwt" not in str(info.value)
    assert len(httpserver.log) == 1


def test_truncated_transfer_on_a_get_is_retried(
    scripted: ScriptedServer, make_client: ClientFactory, sleeps: RecordedSleeps
) -> None:
    good = json.dumps(P.pipeline_describe()).encode()
    scripted.add(Truncated(200, good[:40], declared=len(good)), Reply(200, good))
    assert make_client(scripted.url).describe_pipeline(P.PPL_ID).state == "done"
    assert len(scripted.requests) == 2
    assert len(sleeps) == 1


def test_truncated_transfer_every_time_is_unavailable(scripted: ScriptedServer, make_client: ClientFactory) -> None:
    good = json.dumps(P.pipeline_describe()).encode()
    scripted.fallback = Truncated(200, good[:40], declared=len(good))
    with pytest.raises(APIUnavailable, match="cut off"):
        make_client(scripted.url, retries=1).describe_pipeline(P.PPL_ID)
    assert len(scripted.requests) == 2


def test_no_content_type_is_fine(scripted: ScriptedServer, make_client: ClientFactory) -> None:
    # plumber-public sets no Content-Type on most answers
    scripted.add(Reply(200, json.dumps(P.pipeline_describe()).encode(), headers={}))
    assert make_client(scripted.url).describe_pipeline(P.PPL_ID).ppl_id == P.PPL_ID
