"""The token canary: on every error path, the API token (and loghub's signed ``?jwt=``) appear nowhere.

"Nowhere" means: the exception's ``str`` and ``repr``, its attributes, and every exception reachable through
``__cause__``/``__context__`` (requests' own exceptions carry the request, headers included, and the URL with its
query: they must not be chained). Servers that echo the token back in their error bodies are included.
"""

from __future__ import annotations

import json
import pickle
import socket
from collections.abc import Callable, Iterator

import pytest
from pytest_httpserver import HTTPServer

from pytest_semaphore.client import SemaphoreClient
from pytest_semaphore.errors import ConfigurationError, SemaphoreError
from tests.support import api_payloads as P
from tests.support.scripted_server import Hang, Reply, Reset, ScriptedServer, Truncated

from .conftest import TOKEN, ClientFactory

JWT = "JWT-CANARY-5b1f"
SECRETS = (TOKEN, JWT)


def chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    todo: list[BaseException] = [exc]
    while todo:
        current = todo.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        for linked in (current.__cause__, current.__context__):
            if linked is not None:
                todo.append(linked)
        todo.extend(a for a in current.args if isinstance(a, BaseException))


def assert_clean(exc: BaseException) -> None:
    assert isinstance(exc, SemaphoreError), f"a non-SemaphoreError escaped: {type(exc).__name__}"
    for linked in chain(exc):
        texts = [str(linked), repr(linked), repr(linked.args), repr(vars(linked))]
        for text in texts:
            for secret in SECRETS:
                assert secret not in text, f"{secret!r} leaked through {type(linked).__name__}: {text[:300]}"
    copy = pickle.loads(pickle.dumps(exc))  # errors cross xdist workers
    assert str(copy) == str(exc)


def caught(action: Callable[[], object]) -> BaseException:
    try:
        action()
    except BaseException as exc:
        return exc
    raise AssertionError("no error was raised")


def echo_token(status: int) -> Reply:
    return Reply(status, f"bad token {TOKEN} at /x?jwt={JWT}".encode())


SCRIPTED_PATHS: dict[str, tuple[list[object], Callable[[SemaphoreClient], object]]] = {
    "401 echoing the token": ([echo_token(401)], lambda c: c.describe_pipeline(P.PPL_ID)),
    "403 exhausted echoing": ([echo_token(403)] * 3, lambda c: c.describe_pipeline(P.PPL_ID)),
    "404": ([echo_token(404)], lambda c: c.describe_job(P.JOB_ID)),
    "400 json string": ([Reply(400, json.dumps(f"token {TOKEN}").encode())], lambda c: c.describe_pipeline(P.PPL_ID)),
    "503 exhausted": ([echo_token(503)] * 3, lambda c: c.describe_pipeline(P.PPL_ID)),
    "429 long retry-after": ([Reply(429, TOKEN.encode(), {"Retry-After": "9999"})], lambda c: c.list_projects()),
    "html body": ([Reply(200, f"<html><title>{TOKEN}</title></html>".encode())], lambda c: c.describe_job(P.JOB_ID)),
    "invalid json": ([Reply(200, f'{{"x": "{TOKEN}'.encode())], lambda c: c.describe_job(P.JOB_ID)),
    "bad model": (
        [Reply(200, json.dumps({"pipeline": {"ppl_id": "x", "created_at": TOKEN}}).encode())],
        lambda c: c.describe_pipeline(P.PPL_ID),
    ),
    "reset on get": ([Reset()] * 3, lambda c: c.describe_workflow(P.WF_ID)),
    "truncated get": ([Truncated(200, b'{"workflow":', declared=500)] * 3, lambda c: c.describe_workflow(P.WF_ID)),
    "run reset": ([Reset()], lambda c: c.run_workflow(P.PROJECT_ID, "main")),
    "run 502 echo": ([echo_token(502)], lambda c: c.run_workflow(P.PROJECT_ID, "main")),
    "run reconcile fails": (
        [Reply(200, b"[]"), Reset(), echo_token(401), echo_token(401), echo_token(401)],
        lambda c: c.run_workflow(P.PROJECT_ID, "main", reconcile=True),
    ),
    "promotion unknown": ([Reply(200, b"[]"), Reset(), echo_token(401)], lambda c: c.trigger_promotion(P.PPL_ID, "p")),
    "promotion 500": ([Reply(200, b"[]"), echo_token(500)], lambda c: c.trigger_promotion(P.PPL_ID, "p")),
    "log truncated": ([Truncated(200, b'{"events": [', declared=500)], lambda c: list(c.job_log(P.JOB_ID))),
    "log malformed": ([Reply(200, f'{{"events": [{TOKEN}]}}'.encode())], lambda c: list(c.job_log(P.JOB_ID))),
    "plain log login": (
        [Reply(302, b"", {"Location": f"https://id.semaphoreci.com/login?t={TOKEN}&jwt={JWT}"})],
        lambda c: c.job_log_plain(P.JOB_ID),
    ),
    "log redirect to a malformed port": (
        [Reply(302, b"", {"Location": f"https://loghub.example:{TOKEN}/x?jwt={JWT}"})],
        lambda c: list(c.job_log(P.JOB_ID)),
    ),
    "plain log redirect malformed": (
        [Reply(307, b"", {"Location": f"http://[{TOKEN}/x?jwt={JWT}"})],
        lambda c: c.job_log_plain(P.JOB_ID),
    ),
    "redirect to a malformed location": (
        [Reply(301, b"", {"Location": f"https://h:{TOKEN}/x"})],
        lambda c: c.describe_pipeline(P.PPL_ID),
    ),
    "redirect elsewhere": (
        [Reply(302, b"", {"Location": f"http://evil.example/{TOKEN}?jwt={JWT}"})],
        lambda c: c.describe_pipeline(P.PPL_ID),
    ),
}


@pytest.mark.parametrize("case", sorted(SCRIPTED_PATHS))
def test_no_secret_on_error_path(scripted: ScriptedServer, make_client: ClientFactory, case: str) -> None:
    steps, action = SCRIPTED_PATHS[case]
    scripted.add(*steps)  # type: ignore[arg-type]
    client = make_client(scripted.url, retries=2)
    assert_clean(caught(lambda: action(client)))
    assert TOKEN not in repr(client)


def test_no_secret_on_read_timeout(scripted: ScriptedServer, make_client: ClientFactory) -> None:
    scripted.add(Hang(), Hang(), Hang())
    client = make_client(scripted.url, retries=1, timeout=0.2)
    assert_clean(caught(lambda: client.list_pipelines(wf_id=JWT)))
    assert_clean(caught(lambda: client.run_workflow(P.PROJECT_ID, JWT)))


def test_no_secret_on_connection_refused(make_client: ClientFactory) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = make_client(f"http://127.0.0.1:{port}", retries=1)
    assert_clean(caught(lambda: client.describe_pipeline(P.PPL_ID)))
    assert_clean(caught(lambda: client.run_workflow(P.PROJECT_ID, "main")))
    # requests' own exception names the URL with its query: the canary in the query must not come through
    assert_clean(caught(lambda: client.list_workflows(P.PROJECT_ID, branch_name=JWT)))


def test_no_secret_through_loghub_redirect_failures(httpserver: HTTPServer, client: SemaphoreClient) -> None:
    with ScriptedServer("127.0.0.2") as loghub:
        loghub.fallback = Reset()
        location = f"{loghub.url}/api/v1/logs/{P.JOB_ID}?jwt={JWT}"
        httpserver.expect_request(f"/api/v1alpha/logs/{P.JOB_ID}").respond_with_data(
            "", status=302, headers={"Location": location}
        )
        assert_clean(caught(lambda: list(client.job_log(P.JOB_ID))))
        assert loghub.requests
        assert all("authorization" not in r.headers for r in loghub.requests)


@pytest.mark.parametrize(
    "url",
    [
        f"https://user:{TOKEN}@myorg.semaphoreci.com",
        f"https://myorg.semaphoreci.com/?token={TOKEN}",
        f"https://myorg.semaphoreci.com/#{TOKEN}",
        f"myorg.semaphoreci.com?t={TOKEN}",
    ],
)
def test_no_secret_in_configuration_errors(url: str) -> None:
    exc = caught(lambda: SemaphoreClient(url, TOKEN))
    assert isinstance(exc, ConfigurationError)
    assert_clean(exc)


def test_no_secret_for_a_token_with_a_newline() -> None:
    exc = caught(lambda: SemaphoreClient("https://myorg.semaphoreci.com", TOKEN + "\n"))
    assert isinstance(exc, ConfigurationError)
    assert_clean(exc)


def test_plain_http_to_loopback_never_goes_through_a_proxy(
    monkeypatch: pytest.MonkeyPatch, httpserver: HTTPServer, client: SemaphoreClient
) -> None:
    """The token over plain http is fine on loopback only: a proxy would carry it, in clear, across the network."""
    with ScriptedServer("127.0.0.2") as proxy:
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        monkeypatch.setenv("http_proxy", proxy.url)
        monkeypatch.delenv("NO_PROXY", raising=False)
        monkeypatch.delenv("no_proxy", raising=False)
        httpserver.expect_request(f"/api/v1alpha/pipelines/{P.PPL_ID}").respond_with_json(P.pipeline_describe())
        assert client.describe_pipeline(P.PPL_ID).ppl_id == P.PPL_ID
        assert proxy.requests == []
