"""Every endpoint, against a real loopback HTTP server answering with the server's documented bodies and quirks.

Each test checks both directions: what the client sent (method, path, query, JSON body, headers) and what it made of
the answer (normalised models).
"""

from __future__ import annotations

import datetime as dt
import json
import pickle
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from pytest_semaphore.client import SemaphoreClient
from pytest_semaphore.errors import ConfigurationError, SemaphoreError
from tests.support import api_payloads as P
from tests.support.scripted_server import Reply, ScriptedServer

from .conftest import TOKEN, ClientFactory

UTC = dt.timezone.utc


def sent_json(request: Request) -> Any:
    return json.loads(request.get_data())


def only_request(httpserver: HTTPServer) -> Request:
    assert len(httpserver.log) == 1, [r.path for r, _ in httpserver.log]
    return httpserver.log[0][0]


# ------------------------------------------------------------------------------------------------ basics


def test_token_user_agent_and_no_semaphore_headers(httpserver: HTTPServer, client: SemaphoreClient) -> None:
    httpserver.expect_request(f"/api/v1alpha/plumber-workflows/{P.WF_ID}").respond_with_json({"workflow": P.workflow()})
    client.describe_workflow(P.WF_ID)
    request = only_request(httpserver)
    assert request.headers["Authorization"] == f"Token {TOKEN}"
    assert "SemaphoreCLI" not in request.headers["User-Agent"]
    assert request.headers["User-Agent"].startswith("pytest-semaphore/")
    assert not [k for k, _ in request.headers.items() if k.lower().startswith("x-semaphore")]


def test_base_url_forms(make_client: ClientFactory, base_url: str) -> None:
    assert make_client(base_url + "/api/v1alpha/").base_url == base_url
    assert make_client("myorg").base_url == "https://myorg.semaphoreci.com"
    assert "TOKEN" not in repr(make_client(base_url))
    with pytest.raises(ConfigurationError, match=r"refusing plain http:// to myorg\.semaphoreci\.com"):
        make_client("http://myorg.semaphoreci.com")


def test_from_env(httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch, base_url: str) -> None:
    monkeypatch.setenv("SEMAPHORE_ORGANIZATION_URL", base_url + "/api/v1alpha")
    monkeypatch.setenv("SEMAPHORE_API_TOKEN", TOKEN + "\n")  # a secret stored with its trailing newline
    httpserver.expect_request(f"/api/v1alpha/plumber-workflows/{P.WF_ID}").respond_with_json({"workflow": P.workflow()})
    with SemaphoreClient.from_env() as client:
        assert client.base_url == base_url
        client.describe_workflow(P.WF_ID)
    assert only_request(httpserver).headers["Authorization"] == f"Token {TOKEN}"


@pytest.mark.parametrize(
    ("environ", "named", "not_named"),
    [
        ({"SEMAPHORE_ORGANIZATION_URL": "myorg"}, "SEMAPHORE_API_TOKEN is not set", "SEMAPHORE_ORGANIZATION_URL"),
        ({"SEMAPHORE_API_TOKEN": TOKEN}, "SEMAPHORE_ORGANIZATION_URL is not set", "SEMAPHORE_API_TOKEN"),
        (
            {"SEMAPHORE_ORGANIZATION_URL": "  ", "SEMAPHORE_API_TOKEN": TOKEN},
            "SEMAPHORE_ORGANIZATION_URL is empty",
            "SEMAPHORE_API_TOKEN",
        ),
        ({"SEMAPHORE_ORGANIZATION_URL": "myorg", "SEMAPHORE_API_TOKEN": ""}, "SEMAPHORE_API_TOKEN is empty", "URL"),
        (
            {"SEMAPHORE_ORGANIZATION_URL": "http://myorg.example", "SEMAPHORE_API_TOKEN": TOKEN},
            "SEMAPHORE_ORGANIZATION_URL: refusing plain http:// to myorg.example",
            "SEMAPHORE_API_TOKEN",
        ),
        (
            {"SEMAPHORE_ORGANIZATION_URL": "myorg", "SEMAPHORE_API_TOKEN": f"{TOKEN} {TOKEN}"},
            "SEMAPHORE_API_TOKEN contains whitespace",
            "SEMAPHORE_ORGANIZATION_URL",
        ),
    ],
)
def test_from_env_names_the_variable_at_fault(environ: dict[str, str], named: str, not_named: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        SemaphoreClient.from_env(environ)
    message = str(info.value)
    assert named in message
    assert not_named not in message  # only the variable at fault: the user must not hunt for the other
    assert TOKEN not in message
    assert info.value.__context__ is None


def test_from_env_names_both_when_both_are_missing() -> None:
    with pytest.raises(ConfigurationError) as info:
        SemaphoreClient.from_env({})
    assert "SEMAPHORE_ORGANIZATION_URL is not set" in str(info.value)
    assert "SEMAPHORE_API_TOKEN is not set" in str(info.value)


def test_closed_client_refuses(httpserver: HTTPServer, make_client: ClientFactory, base_url: str) -> None:
    client = make_client(base_url)
    client.close()
    with pytest.raises(SemaphoreError, match="closed"):
        client.describe_workflow(P.WF_ID)
    assert httpserver.log == []


# ------------------------------------------------------------------------------------------------ projects


def test_list_projects_pages_with_x_has_more(httpserver: HTTPServer, client: SemaphoreClient) -> None:
    for page, more in ((1, "true"), (2, "true"), (3, "false")):
        httpserver.expect_ordered_request("/api/v1alpha/projects", query_string={"page": str(page)}).respond_with_json(
            [P.project(f"p{page}", f"00000000-0000-0000-0000-00000000000{page}")],
            headers={"x-page": str(page), "x-has-more": more},
        )
    projects = client.list_projects()
    assert [p.name for p in projects] == ["p1", "p2", "p3"]
    assert projects[0].repository_url == "git@github.com:org/p1.git"
    assert len(httpserver.log) == 3
    # names learnt from the list are remembered: no describe needed
    assert client.resolve_project_id("p2") == "00000000-0000-0000-0000-000000000002"
    assert len(httpserver.log) == 3


def test_describe_project_and_name_resolved_once(httpserver: HTTPServer, client: SemaphoreClient) -> None:
    httpserver.expect_request("/api/v1alpha/projects/release-train").respond_with_json(P.project())
    httpserver.expect_request("/api/v1alpha/plumber-workflows").respond_with_json([P.workflow()])
    assert client.describe_project("release-train").project_id == P.PROJECT_ID
    client.list_workflows("release-train")
    client.list_workflows("release-train")
    paths = [r.path for r, _ in httpserver.log]
    assert paths.count("/api/v1alpha/projects/release-train") == 1
    assert httpserver.log[1][0].args["project_id"] == P.PROJECT_ID


def test_a_project_id_is_never_looked_up(httpserver: HTTPServer, client: SemaphoreClient) -> None:
    httpserver.expect_request("/api/v1alpha/pipelines").respond_with_json([])
    assert client.resolve_project_id(P.PROJECT_ID) == P.PROJECT_ID
    client.list_pipelines(P.PROJECT_ID)
    assert [r.path for r, _ in httpserver.log] == ["/api/v1alpha/pipelines"]


# ------------------------------------------------------------------------------------------------ workflows


def test_describe_workflow_name_form(httpserver: HTTPServer, client: SemaphoreClient) -> None:
    httpserver.expect_request(f"/api/v1alpha/plumber-workflows/{P.WF_ID}").respond_with_json(
        {"workflow": P.workflow(triggered_by="API")}
    )
    wf = client.describe_workflow(P.WF_ID)
    assert (wf.wf_id, wf.triggered_by, wf.initial_ppl_id) == (P.WF_ID, "api", "ppl-of-" + P.WF_ID)
    assert wf.created_at == dt.datetime(2025, 4, 17, 19, 40, 25, 131742, tzinfo=UTC)


def test_list_workflows_filters_and_integer_triggered_by(httpserver: HTTPServer, client: SemaphoreClient) -> None:
    httpserver.expect_request("/api/v1alpha/plumber-workflows").respond_with_json(
        [P.workflow("w1", triggered_by=2), P.workflow("w2", triggered_by=0)]
    )
    after = dt.datetime(2025, 1, 1, tzinfo=UTC)
    wfs = client.list_workflows(
        P.PROJECT_ID, branch_name="main", created_after=after, created_before=1767225600, page_size=2
    )
    assert [(w.wf_id, w.triggered_by) for w in wfs] == [("w1", "api"), ("w2", "hook")]
    args = only_request(httpserver).args
    assert args["project_id"] == P.PROJECT_ID
    assert args["branch_name"] == "main"
    assert args["created_after"] == str(int(after.timestamp()))
    assert args["created_before"] == "1767225600"
    assert args["page_size"] == "2"


@pytest.mark.parametrize(
    ("call", "words"),
    [
        (lambda c: c.list_workflows("release-train", created_after=dt.datetime(2025, 1, 1)), "timezone-aware"),
        (lambda c: c.list_pipelines("release-train", done_before="yesterday"), "done_before"),
        (lambda c: c.list_pipelines("release-train", page_size=0), "page_size"),
        (lambda c: c.list_workflows("release-train", limit=-1), "limit"),
        (lambda c: c.run_workflow("release-train", " "), "reference"),
        (lambda c: c.run_workflow("release-train", "main", parameters={"N": [1]}), "parameter 'N'"),
        (lambda c: c.trigger_promotion(P.PPL_ID, "prod", parameters={"X": {"a": 1}}), "parameter 'X'"),
    ],
)
def test_bad_arguments_are_refused_before_any_request(
    httpserver: HTTPServer, client: SemaphoreClient, call: Any, words: str
) -> None:
    """Even with a project *name* (which costs a lookup), a bad argument is reported before anything is sent."""
    with pytest.raises(ConfigurationError, match=words):
        call(client)
    assert httpserver.log == []


def test_run_workflow_sends_json_and_returns_ids(httpserver: HTTPServer, client: SemaphoreClient) -> None:
    httpserver.expect_request("/api/v1alpha/plumber-workflows", method="POST").respond_with_json(
        {"workflow_id": "new-wf", "pipeline_id": "new-ppl"}
    )
    started = client.run_workflow(
        P.PROJECT_ID,
        "refs/tags/v1",
        commit_sha="abc",
        pipeline_file=".semaphore/deploy.yml",
        parameters={"ENV": "prod"},
    )
    assert (started.wf_id, started.ppl_id) == ("new-wf", "new-ppl")
    request = only_request(httpserver)
    assert sent_json(request) == {
        "project_id": P.PROJECT_ID,
        "reference": "refs/tags/v1",
        "commit_sha": "abc",
        "pipeline_file": ".semaphore/deploy.yml",
        "parameters": {"ENV": "prod"},
    }
    assert request.headers["Content-Type"] == "application/json"


def test_reschedule_generates_a_request_token(httpserver: HTTPServer, client: SemaphoreClient) -> None:
    httpserver.expect_request(f"/api/v1alpha/plumber-workflows/{P.WF_ID}/reschedule", method="POST").respond_with_json(
        {"wf_id": "re-wf", "ppl_id": "re-ppl"}
    )
    started = client.reschedule_workflow(P.WF_ID)
    assert (started.wf_id, started.ppl_id) == ("re-wf", "re-ppl")
    request = only_request(httpserver)
    token = request.args["request_token"]
    assert len(token) >= 32
    assert sent_json(request) == {"request_token": token}
    client.reschedule_workflow(P.WF_ID, request_token="mine")
    assert httpserver.log[1][0].args["request_token"] == "mine"


def test_terminate_workflow_json_string_answer(httpserver: HTTPServer, client: SemaphoreClient) -> None:
    httpserver.expect_request(f"/api/v1alpha/plumber-workflows/{P.WF_ID}/terminate", method="POST").respond_with_data(
        '"Termination started for 1 pipelines."'
    )
    client.terminate_workflow(P.WF_ID)
    assert only_request(httpserver).method == "POST"


# ------------------------------------------------------------------------------------------------ pipelines


def test_describe_pipeline_lowercase_string_timestamps(httpserver: HTTPServer, client: SemaphoreClient) -> None:
    httpserver.expect_request(
        f"/api/v1alpha/pipelines/{P.PPL_ID}", query_string={"detailed": "false"}
    ).respond_with_json(P.pipeline_describe())
    ppl = client.describe_pipeline(P.PPL_ID)
    assert (ppl.state, ppl.result, ppl.result_reason) == ("done", "passed", "test")
    assert ppl.stopping_at is None
    assert ppl.created_at == dt.datetime(2019, 10, 14, 18, 31, 17, 293456, tzinfo=UTC)
    assert ppl.blocks == ()


def test_describe_pipeline_detailed_and_unfinished_job(httpserver: HTTPServer, client: SemaphoreClient) -> None:
    httpserver.expect_request(
        f"/api/v1alpha/pipelines/{P.PPL_ID}", query_string={"detailed": "true"}
    ).respond_with_json(
        P.pipeline_describe("running", None, blocks=[P.block(job_status="RUNNING", job_result="PASSED")])
    )
    ppl = client.describe_pipeline(P.PPL_ID, detailed=True)
    assert (ppl.state, ppl.result) == ("running", None)
    (job,) = ppl.jobs
    assert (job.status, job.result) == ("running", None)  # the server's "PASSED" for an unfinished job is ignored


def test_list_pipelines_uppercase_and_all_filters(httpserver: HTTPServer, client: SemaphoreClient) -> None:
    httpserver.expect_request("/api/v1alpha/pipelines").respond_with_json(
        [P.pipeline_listed("p1"), P.pipeline_listed("p2", "RUNNING", None)]
    )
    ppls = client.list_pipelines(
        wf_id=P.WF_ID,
        branch_name="main",
        yml_file_path=".semaphore/semaphore.yml",
        created_after=1,
        created_before=2,
        done_after=3,
        done_before=4,
        page_size=50,
    )
    assert [(p.ppl_id, p.state, p.result, p.result_reason) for p in ppls] == [
        ("p1", "done", "failed", "test"),
        ("p2", "running", None, None),
    ]
    assert ppls[0].stopping_at is None
    assert ppls[0].ppl_triggered_by == "workflow"
    args = only_request(httpserver).args
    assert "project_id" not in args
    assert {k: args[k] for k in args} == {
        "wf_id": P.WF_ID,
        "branch_name": "main",
        "yml_file_path": ".semaphore/semaphore.yml",
        "created_after": "1",
        "created_before": "2",
        "done_after": "3",
        "done_before": "4",
        "page_size": "50",
    }


def test_list_pipelines_needs_project_or_workflow(client: SemaphoreClient) -> None:
    with pytest.raises(ConfigurationError, match="project"):
        client.list_pipelines()


def test_terminate_pipeline_is_a_json_boolean_patch(httpserver: HTTPServer, client: SemaphoreClient) -> None:
    httpserver.expect_request(f"/api/v1alpha/pipelines/{P.PPL_ID}", method="PATCH").respond_with_data(
        '"Pipeline termination started."'
    )
    client.terminate_pipeline(P.PPL_ID)
    request = only_request(httpserver)
    assert sent_json(request) == {"terminate_request": True}
    assert request.headers["Content-Type"] == "application/json"


def test_partial_rebuild(httpserver: HTTPServer, client: SemaphoreClient) -> None:
    httpserver.expect_request(f"/api/v1alpha/pipelines/{P.PPL_ID}/partial_rebuild", method="POST").respond_with_json(
        {"message": "", "pipeline_id": "rebuilt-ppl"}
    )
    assert client.partial_rebuild(P.PPL_ID, request_token="tok-1") == "rebuilt-ppl"
    request = only_request(httpserver)
    assert request.args["request_token"] == "tok-1"
    assert not [k for k, _ in request.headers.items() if k.lower().startswith("x-semaphore")]


def test_describe_topology(httpserver: HTTPServer, client: SemaphoreClient) -> None:
    httpserver.expect_request(f"/api/v1alpha/pipelines/{P.PPL_ID}/describe_topology").respond_with_json(
        [
            {"name": "Build", "jobs": ["compile"], "dependencies": []},
            {"name": "Test", "jobs": ["unit", "e2e"], "dependencies": ["Build"]},
        ]
    )
    blocks = client.describe_topology(P.PPL_ID)
    assert [(b.name, b.jobs, b.dependencies) for b in blocks] == [
        ("Build", ("compile",), ()),
        ("Test", ("unit", "e2e"), ("Build",)),
    ]


# ------------------------------------------------------------------------------------------------ promotions


def test_list_promotions_with_name_filter(httpserver: HTTPServer, client: SemaphoreClient) -> None:
    httpserver.expect_request("/api/v1alpha/promotions").respond_with_json(
        [P.promotion(status="processing", scheduled=""), P.promotion(seconds=1571000000)]
    )
    promos = client.list_promotions(P.PPL_ID, name="production")
    assert [(p.status, p.scheduled_pipeline_id) for p in promos] == [("processing", None), ("passed", "d605")]
    assert only_request(httpserver).args.to_dict() == {"pipeline_id": P.PPL_ID, "name": "production"}


def test_list_promotions_500_for_a_pipeline_without_promotions_is_empty(
    httpserver: HTTPServer, client: SemaphoreClient, sleeps: list[float]
) -> None:
    httpserver.expect_request("/api/v1alpha/promotions").respond_with_data('"Internal error"', status=500)
    httpserver.expect_request(f"/api/v1alpha/pipelines/{P.PPL_ID}").respond_with_json(P.pipeline_describe())
    assert client.list_promotions(P.PPL_ID) == []
    assert [r.path for r, _ in httpserver.log] == ["/api/v1alpha/promotions", f"/api/v1alpha/pipelines/{P.PPL_ID}"]
    assert sleeps == []  # the 500 was not retried


def test_list_promotions_500_for_a_pipeline_with_promotions_is_an_error(
    httpserver: HTTPServer, client: SemaphoreClient
) -> None:
    from pytest_semaphore.errors import APIError

    httpserver.expect_request("/api/v1alpha/promotions").respond_with_data('"Internal error"', status=500)
    httpserver.expect_request(f"/api/v1alpha/pipelines/{P.PPL_ID}").respond_with_json(
        P.pipeline_describe(switch_id="sw-1")
    )
    with pytest.raises(APIError, match="Internal error") as info:
        client.list_promotions(P.PPL_ID)
    assert info.value.status == 500


def test_trigger_promotion_parameters_are_top_level(httpserver: HTTPServer, client: SemaphoreClient) -> None:
    httpserver.expect_request("/api/v1alpha/promotions", method="GET").respond_with_json([])
    httpserver.expect_request("/api/v1alpha/promotions", method="POST").respond_with_data(
        '"Promotion successfully triggered."'
    )
    client.trigger_promotion(P.PPL_ID, "production", override=True, parameters={"ENV": "prod", "REGION": "eu"})
    posts = [r for r, _ in httpserver.log if r.method == "POST"]
    assert len(posts) == 1
    body = sent_json(posts[0])
    assert body.pop("request_token")
    assert body == {"pipeline_id": P.PPL_ID, "name": "production", "override": True, "ENV": "prod", "REGION": "eu"}


def test_trigger_promotion_refuses_a_parameter_named_like_a_field(client: SemaphoreClient) -> None:
    with pytest.raises(ConfigurationError, match="pipeline_id"):
        client.trigger_promotion(P.PPL_ID, "production", parameters={"pipeline_id": "x"})


# ------------------------------------------------------------------------------------------------ jobs


def test_describe_job_int64_strings(httpserver: HTTPServer, client: SemaphoreClient) -> None:
    httpserver.expect_request(f"/api/v1alpha/jobs/{P.JOB_ID}").respond_with_json(P.job())
    job = client.describe_job(P.JOB_ID)
    assert (job.state, job.result, job.machine_type) == ("finished", "stopped", "e1-standard-2")
    assert job.create_time == dt.datetime.fromtimestamp(1571083003, tz=UTC)
    assert "SEMAPHORE_WORKFLOW_ID" in repr(job.env_vars)
    assert P.WF_ID not in repr(job.env_vars)


def test_stop_job(httpserver: HTTPServer, client: SemaphoreClient) -> None:
    httpserver.expect_request(f"/api/v1alpha/jobs/{P.JOB_ID}/stop", method="POST").respond_with_json({})
    client.stop_job(P.JOB_ID)
    assert only_request(httpserver).method == "POST"


def test_list_jobs_cursor_pages(httpserver: HTTPServer, client: SemaphoreClient) -> None:
    pages = {"": ("t2", "j1"), "t2": ("t3", "j2"), "t3": ("", "j3")}

    def answer(request: Request) -> Response:
        assert request.args.getlist("states") == ["RUNNING", "QUEUED"]
        token = request.args.get("page_token", "")
        following, job_id = pages[token]
        body = {"jobs": [P.job(job_id, state="RUNNING", result="NONE")], "next_page_token": following}
        return Response(json.dumps(body), content_type="application/json")

    httpserver.expect_request("/api/v1alpha/jobs").respond_with_handler(answer)
    jobs = client.list_jobs(["running", "QUEUED"])
    assert [(j.job_id, j.state, j.result) for j in jobs] == [
        ("j1", "running", None),
        ("j2", "running", None),
        ("j3", "running", None),
    ]
    assert len(httpserver.log) == 3
    assert client.list_jobs(["RUNNING", "QUEUED"], limit=1)[0].job_id == "j1"
    assert len(httpserver.log) == 4


def test_list_jobs_needs_states(client: SemaphoreClient) -> None:
    with pytest.raises(ConfigurationError, match="state"):
        client.list_jobs([])


# ------------------------------------------------------------------------------------------------ path safety


@pytest.mark.parametrize("bad", ["", "a/b", "../x", "a?b", "a#b", "a b", "%2e%2e"])
def test_ids_cannot_change_the_path(client: SemaphoreClient, bad: str) -> None:
    with pytest.raises(ConfigurationError):
        client.describe_pipeline(bad)


# ------------------------------------------------------------------------------------------------ lifecycle


def test_leaving_the_with_block_closes_pooled_connections(scripted: ScriptedServer) -> None:
    scripted.add(Reply(200, json.dumps(P.pipeline_describe()).encode(), keep_alive=True))
    with SemaphoreClient(scripted.url, TOKEN, timeout=5) as client:
        client.describe_pipeline(P.PPL_ID)
        assert not scripted.client_closed.is_set()  # kept in the pool for the next request
    assert scripted.client_closed.wait(timeout=5), "the pooled connection was not closed by __exit__"


def test_a_client_refuses_to_be_pickled_without_leaking_the_token(client: SemaphoreClient) -> None:
    with pytest.raises(TypeError, match="cannot be pickled") as info:
        pickle.dumps(client)
    assert TOKEN not in str(info.value)
    assert TOKEN not in repr(client)
    assert TOKEN not in str(client)


def test_a_ca_bundle_that_does_not_exist_is_named(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tmp_path / "missing.pem"))
    with pytest.raises(ConfigurationError, match=r"REQUESTS_CA_BUNDLE is '.*missing\.pem', which does not exist"):
        SemaphoreClient("https://myorg.semaphoreci.com", TOKEN)


def test_a_ca_bundle_removed_later_is_a_configuration_error_not_an_oserror(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, scripted: ScriptedServer
) -> None:
    bundle = tmp_path / "ca.pem"
    bundle.write_text("")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(bundle))
    with SemaphoreClient(scripted.url.replace("http://", "https://"), TOKEN, timeout=5) as client:
        bundle.unlink()
        with pytest.raises(ConfigurationError, match=r"ca\.pem") as info:
            client.describe_pipeline(P.PPL_ID)
    assert info.value.__context__ is None
    assert scripted.requests == []  # nothing was sent
