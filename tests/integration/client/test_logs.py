"""Job logs: streamed events, the self-hosted redirect to loghub2 (followed WITHOUT our token), the UI plain log."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Response

from pytest_semaphore.client import SemaphoreClient
from pytest_semaphore.errors import APIError, APIUnavailable, AuthenticationError, NotFoundError
from tests.support import api_payloads as P
from tests.support.scripted_server import Reply, ScriptedServer, Truncated

from .conftest import TOKEN, ClientFactory

LOGS = f"/api/v1alpha/logs/{P.JOB_ID}"


def api_body(events: list[dict[str, object]]) -> bytes:
    return ('{ "events": [' + ",".join(json.dumps(e) for e in events) + "] }").encode()


def test_job_log_events(httpserver: HTTPServer, client: SemaphoreClient) -> None:
    httpserver.expect_request(LOGS).respond_with_data(api_body(P.LOG_EVENTS), content_type="application/json")
    events = list(client.job_log(P.JOB_ID))
    assert [e.event for e in events] == [e["event"] for e in P.LOG_EVENTS]
    assert events[6].exit_code == 2
    assert events[-1].result == "failed"


def test_job_log_is_lazy(httpserver: HTTPServer, client: SemaphoreClient) -> None:
    stream = client.job_log(P.JOB_ID)
    assert httpserver.log == []  # nothing sent until iteration starts
    httpserver.expect_request(LOGS).respond_with_data(api_body(P.LOG_EVENTS[:1]))
    assert next(iter(stream)).event == "job_started"


def test_a_chunked_streamed_log(httpserver: HTTPServer, client: SemaphoreClient) -> None:
    many = [{"event": "cmd_output", "timestamp": i, "output": f"line {i} {{x}}\n"} for i in range(5000)]
    body = api_body(many)

    def generate() -> Iterator[bytes]:
        for start in range(0, len(body), 1000):
            yield body[start : start + 1000]

    httpserver.expect_request(LOGS).respond_with_response(Response(generate(), content_type="application/json"))
    outputs = [e.output for e in client.job_log(P.JOB_ID)]
    assert outputs == [e["output"] for e in many]


def test_job_log_text_is_directives_and_output(httpserver: HTTPServer, client: SemaphoreClient) -> None:
    httpserver.expect_request(LOGS).respond_with_data(api_body(P.LOG_EVENTS))
    assert client.job_log_text(P.JOB_ID) == (
        "Exporting environment variables\nExporting CI\nmake test\n\x1b[31mFAIL\x1b[0m test_x\r\n"
    )


def test_self_hosted_redirect_is_followed_without_the_token(httpserver: HTTPServer, client: SemaphoreClient) -> None:
    loghub_body = ('{"events":' + json.dumps(P.LOG_EVENTS[:3]) + ',"next": null}').encode()
    with ScriptedServer("127.0.0.2") as loghub:
        loghub.add(Reply(200, loghub_body, {"Content-Type": "application/json"}))
        location = f"{loghub.url}/api/v1/logs/{P.JOB_ID}?jwt=SIGNED-5-MIN-TOKEN"
        httpserver.expect_request(LOGS).respond_with_data("", status=302, headers={"Location": location})
        events = list(client.job_log(P.JOB_ID))
        assert [e.event for e in events] == ["job_started", "cmd_started", "cmd_output"]
        (hop,) = loghub.requests
        assert "authorization" not in hop.headers
        assert TOKEN not in json.dumps(dict(hop.headers))
        assert dict(hop.query) == {"jwt": "SIGNED-5-MIN-TOKEN"}
    assert httpserver.log[0][0].headers["Authorization"] == f"Token {TOKEN}"


def test_loghub_failure_message_hides_the_jwt(httpserver: HTTPServer, client: SemaphoreClient) -> None:
    with ScriptedServer("127.0.0.2") as loghub:
        loghub.fallback = Reply(401, b"jwt expired")
        location = f"{loghub.url}/api/v1/logs/{P.JOB_ID}?jwt=SIGNED-5-MIN-TOKEN"
        httpserver.expect_request(LOGS).respond_with_data("", status=302, headers={"Location": location})
        with pytest.raises(AuthenticationError, match="jwt expired") as info:
            list(client.job_log(P.JOB_ID))
    assert "SIGNED" not in str(info.value)
    assert "SIGNED" not in repr(info.value)
    assert "signed log URL" in str(info.value)
    assert "API token" not in str(info.value)  # our token was not sent to loghub: it is not what was refused


def test_redirect_to_plain_http_elsewhere_is_refused(httpserver: HTTPServer, client: SemaphoreClient) -> None:
    httpserver.expect_request(LOGS).respond_with_data(
        "", status=302, headers={"Location": "http://loghub.example.com/api/v1/logs/x?jwt=abc"}
    )
    with pytest.raises(APIError, match=r"plain http://loghub\.example\.com") as info:
        list(client.job_log(P.JOB_ID))
    assert "jwt" not in str(info.value)


def test_logs_missing_and_permission_denied(httpserver: HTTPServer, client: SemaphoreClient) -> None:
    httpserver.expect_ordered_request(LOGS).respond_with_data(
        '"This job never started, so no logs were produced."', status=404
    )
    httpserver.expect_ordered_request(LOGS).respond_with_data("Permission denied", status=401)
    with pytest.raises(NotFoundError, match="never started"):
        list(client.job_log(P.JOB_ID))
    with pytest.raises(AuthenticationError, match="Permission denied"):
        list(client.job_log(P.JOB_ID))


def test_truncated_log_transfer_is_unavailable(scripted: ScriptedServer, make_client: ClientFactory) -> None:
    body = api_body(P.LOG_EVENTS)
    scripted.add(Truncated(200, body[:100], declared=len(body)))
    with pytest.raises(APIUnavailable, match="cut off") as info:
        list(make_client(scripted.url).job_log(P.JOB_ID))
    assert info.value.path == LOGS


def test_log_body_cut_short_is_an_api_error(scripted: ScriptedServer, make_client: ClientFactory) -> None:
    scripted.add(Reply(200, api_body(P.LOG_EVENTS)[:150]))
    with pytest.raises(APIError, match="ended early"):
        list(make_client(scripted.url).job_log(P.JOB_ID))


def test_log_that_is_an_html_page(httpserver: HTTPServer, client: SemaphoreClient) -> None:
    httpserver.expect_request(LOGS).respond_with_data("<html><title>502</title></html>", status=200)
    with pytest.raises(APIError, match="expected a JSON object"):
        list(client.job_log(P.JOB_ID))


# ------------------------------------------------------------------------------------------------ plain logs


PLAIN = f"/jobs/{P.JOB_ID}/plain_logs.json"


def test_plain_log_text(httpserver: HTTPServer, client: SemaphoreClient) -> None:
    httpserver.expect_request(PLAIN).respond_with_data("make test\nFAIL\n", content_type="text/plain")
    assert client.job_log_plain(P.JOB_ID) == "make test\nFAIL\n"
    assert httpserver.log[0][0].headers["Authorization"] == f"Token {TOKEN}"


def test_plain_log_login_redirect_is_an_error(httpserver: HTTPServer, client: SemaphoreClient) -> None:
    httpserver.expect_request(PLAIN).respond_with_data(
        "", status=302, headers={"Location": "https://id.semaphoreci.com/login?redirect_to=x"}
    )
    with pytest.raises(AuthenticationError, match="login page") as info:
        client.job_log_plain(P.JOB_ID)
    assert "redirect_to" not in str(info.value)
    assert len(httpserver.log) == 1


def test_plain_log_html_login_page_is_an_error(httpserver: HTTPServer, client: SemaphoreClient) -> None:
    httpserver.expect_request(PLAIN).respond_with_data(
        "<!DOCTYPE html><html><head><title>Log in</title></head></html>", content_type="text/html"
    )
    with pytest.raises(AuthenticationError, match="HTML page instead of the log"):
        client.job_log_plain(P.JOB_ID)


def test_plain_log_self_hosted_307_is_followed_without_token(httpserver: HTTPServer, client: SemaphoreClient) -> None:
    with ScriptedServer("127.0.0.2") as loghub:
        loghub.add(Reply(200, b"echo hi\nhi\n", {"Content-Type": "text/plain"}))
        location = f"{loghub.url}/api/v1/logs/{P.JOB_ID}?jwt=J&raw=true"
        httpserver.expect_request(PLAIN).respond_with_data("", status=307, headers={"Location": location})
        assert client.job_log_plain(P.JOB_ID) == "echo hi\nhi\n"
        assert "authorization" not in loghub.requests[0].headers


def test_plain_log_that_prints_html_is_still_the_log(httpserver: HTTPServer, client: SemaphoreClient) -> None:
    text = "cat index.html\n<html><title>x</title></html>\n"
    httpserver.expect_request(PLAIN).respond_with_data(text, content_type="text/plain")
    assert client.job_log_plain(P.JOB_ID) == text


def test_urllib3_debug_log_never_shows_the_signed_query(
    httpserver: HTTPServer, client: SemaphoreClient, caplog: pytest.LogCaptureFixture
) -> None:
    loghub_body = ('{"events":' + json.dumps(P.LOG_EVENTS[:1]) + ',"next": null}').encode()
    with ScriptedServer("127.0.0.2") as loghub, caplog.at_level("DEBUG"):
        loghub.add(Reply(200, loghub_body, {"Content-Type": "application/json"}))
        location = f"{loghub.url}/api/v1/logs/{P.JOB_ID}?jwt=SIGNED-5-MIN-TOKEN"
        httpserver.expect_request(LOGS).respond_with_data("", status=302, headers={"Location": location})
        assert [e.event for e in client.job_log(P.JOB_ID)] == ["job_started"]
    urllib3_lines = [r.getMessage() for r in caplog.records if r.name.startswith("urllib3")]
    assert any(f"/api/v1/logs/{P.JOB_ID}" in line for line in urllib3_lines), urllib3_lines
    assert "SIGNED-5-MIN-TOKEN" not in caplog.text
    assert TOKEN not in caplog.text


# ------------------------------------------------------------------------------------------------ raw events


def test_raw_log_events_are_the_decoded_objects(httpserver: HTTPServer, client: SemaphoreClient) -> None:
    body = api_body(P.LOG_EVENTS)

    def generate() -> Iterator[bytes]:
        for start in range(0, len(body), 37):  # cuts inside strings, keys and numbers
            yield body[start : start + 37]

    httpserver.expect_request(LOGS).respond_with_response(Response(generate(), content_type="application/json"))
    stream = client.job_log_events_raw(P.JOB_ID)
    assert httpserver.log == []  # lazy, like job_log
    events = list(stream)
    assert events == P.LOG_EVENTS
    assert {type(e) for e in events} == {dict}
    assert httpserver.log[0][0].headers["Authorization"] == f"Token {TOKEN}"


def test_raw_log_follows_the_self_hosted_redirect_without_the_token(
    httpserver: HTTPServer, client: SemaphoreClient
) -> None:
    loghub_body = ('{"events":' + json.dumps(P.LOG_EVENTS[:3]) + ',"next": null}').encode()
    with ScriptedServer("127.0.0.2") as loghub:
        loghub.add(Reply(200, loghub_body, {"Content-Type": "application/json"}))
        location = f"{loghub.url}/api/v1/logs/{P.JOB_ID}?jwt=SIGNED-5-MIN-TOKEN"
        httpserver.expect_request(LOGS).respond_with_data("", status=302, headers={"Location": location})
        assert list(client.job_log_events_raw(P.JOB_ID)) == P.LOG_EVENTS[:3]
        (hop,) = loghub.requests
        assert "authorization" not in hop.headers
        assert TOKEN not in json.dumps(dict(hop.headers))


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (api_body(P.LOG_EVENTS)[:150], "ended early"),
        (b'{"events": [{"event": "job_started", "timestamp": 1}, ["not", "an", "object"]]}', "must be a JSON object"),
        (b"<html><title>502</title></html>", "expected a JSON object"),
    ],
)
def test_raw_log_body_errors_are_api_errors(
    scripted: ScriptedServer, make_client: ClientFactory, body: bytes, words: str
) -> None:
    scripted.add(Reply(200, body))
    with pytest.raises(APIError, match=words) as info:
        list(make_client(scripted.url).job_log_events_raw(P.JOB_ID))
    assert info.value.path == LOGS


def test_fetch_excerpt_reads_the_log_and_hides_the_token(httpserver: HTTPServer, client: SemaphoreClient) -> None:
    from pytest_semaphore.logs import REDACTED, excerpt_from_events, fetch_excerpt

    events = [*P.LOG_EVENTS[:5], {"event": "cmd_output", "timestamp": 1, "output": f"auth {TOKEN[:5]}"}]
    events += [{"event": "cmd_output", "timestamp": 1, "output": f"{TOKEN[5:]} refused\n"}, *P.LOG_EVENTS[5:]]
    httpserver.expect_request(f"/api/v1alpha/jobs/{P.JOB_ID}").respond_with_json(P.job(result="FAILED"))
    httpserver.expect_request(LOGS).respond_with_data(api_body(events), content_type="application/json")
    excerpt = fetch_excerpt(client, P.JOB_ID)
    assert (excerpt.job_name, excerpt.directive, excerpt.exit_code) == ("Job #1", "make test", 2)
    assert excerpt.lines == (f"auth {REDACTED} refused", "FAIL test_x")
    assert TOKEN not in excerpt.render()
    # The model path (client.job_log) gives the very same excerpt.
    from pytest_semaphore.logs import Redactor

    same = excerpt_from_events(
        client.job_log(P.JOB_ID), job_name="Job #1", job_id=P.JOB_ID, job_result="failed", redactor=Redactor([TOKEN])
    )
    assert same == excerpt


def test_fetch_excerpt_turns_a_malformed_event_into_an_api_error(
    httpserver: HTTPServer, client: SemaphoreClient
) -> None:
    from pytest_semaphore.logs import fetch_excerpt, fetch_failed_excerpts
    from pytest_semaphore.models import Pipeline

    bad = [*P.LOG_EVENTS[:5], {"event": "cmd_output", "timestamp": [TOKEN], "output": "x\n"}, *P.LOG_EVENTS[5:]]
    httpserver.expect_request(f"/api/v1alpha/jobs/{P.JOB_ID}").respond_with_json(P.job(result="FAILED"))
    httpserver.expect_request(LOGS).respond_with_data(api_body(bad), content_type="application/json")
    with pytest.raises(APIError, match="the log could not be read: timestamp: expected an integer") as info:
        fetch_excerpt(client, P.JOB_ID)
    assert info.value.path == LOGS
    assert TOKEN not in str(info.value)  # the offending value is redacted like the log itself
    pipeline = Pipeline.from_api(P.pipeline_describe("done", "failed", blocks=[P.block()]))
    failed = fetch_failed_excerpts(client, pipeline)
    assert list(failed) == [P.JOB_ID]
    for excerpt in failed.values():
        assert excerpt.reason.startswith("log unavailable:")
