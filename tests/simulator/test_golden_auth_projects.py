"""Golden raw responses for authentication, the x-semaphore-* header rule and the projects API."""

from __future__ import annotations

import pytest

from pytest_semaphore.simulator import SemaphoreSimulator
from pytest_semaphore.simulator.definitions import BlockDef, JobDef, PipelineDef, ProjectDef

from .helpers import MAIN, Raw

API = "/api/v1alpha"


def test_bad_or_missing_token_is_401_unauthorized(sim: SemaphoreSimulator, raw: Raw) -> None:
    for headers in (
        {},
        {"Authorization": "Token wrong"},
        {"Authorization": "Basic abc"},
        {"Authorization": "Token"},
        {"Authorization": f"token {sim.token}"},  # the auth service matches "Token"/"Bearer" exactly
        {"Authorization": f"Token  {sim.token}"},  # everything after the first space is the token
    ):
        response = raw.request("GET", f"{API}/projects", headers=headers, auth=False)
        assert (response.status, response.body) == (401, b"Unauthorized"), headers
        assert "content-type" not in response.header_names()
    _, ppl_id = sim.world.start_workflow("demo")
    assert raw.get(f"{API}/pipelines/{ppl_id}", auth=False).status == 401


def test_bearer_is_accepted_like_token(sim: SemaphoreSimulator, raw: Raw) -> None:
    response = raw.request("GET", f"{API}/projects", headers={"Authorization": f"Bearer {sim.token}"}, auth=False)
    assert response.status == 200


def test_any_x_semaphore_header_gives_404(sim: SemaphoreSimulator, raw: Raw) -> None:
    _, ppl_id = sim.world.start_workflow("demo", pipeline_file=".semaphore/failing.yml")
    sim.advance(20)
    for name in ("x-semaphore-user-id", "X-Semaphore-Org-Id", "x-semaphore-anything", "X-SemaphoreCI"):
        response = raw.request(
            "POST", f"{API}/pipelines/{ppl_id}/partial_rebuild?request_token=x", headers={name: "someone"}
        )
        assert (response.status, response.body) == (404, b"Not Found"), name
    assert sim.world.pipeline(ppl_id).partially_rerun_by == ""  # refused before it took effect
    assert raw.get(f"{API}/projects", headers={"x-semaphore-user-id": "u"}).status == 404


def test_token_never_appears_in_the_request_log(sim: SemaphoreSimulator, raw: Raw) -> None:
    raw.get(f"{API}/projects")
    assert sim.requests[-1].headers["authorization"] == "<redacted>"
    assert sim.token not in repr(sim.requests)
    assert sim.token not in repr(sim)


def test_list_projects_has_x_page_and_x_has_more_and_no_link(sim: SemaphoreSimulator, raw: Raw) -> None:
    response = raw.get(f"{API}/projects")
    assert response.status == 200
    assert response.header("x-page") == "1"
    assert response.header("x-has-more") == "false"
    assert "link" not in response.header_names()
    assert "total" not in response.header_names()
    demo = sim.world.project("demo")
    assert response.json()[0] == {
        "apiVersion": "v1alpha",
        "kind": "Project",
        "metadata": {"name": "demo", "id": demo.project_id, "description": ""},
        "spec": {
            "visibility": "private",
            "repository": {
                "url": "git@github.com:simulated-org/demo.git",
                "run_on": ["branches", "tags"],
                "pipeline_file": ".semaphore/semaphore.yml",
                "status": {
                    "pipeline_files": [
                        {"path": path, "level": "pipeline"} for path in sorted(demo.definition.pipelines)
                    ]
                },
                "whitelist": {"branches": [], "tags": []},
                "integration_type": "github_app",
            },
            "schedulers": [],
            "tasks": [],
        },
    }
    assert [p["metadata"]["name"] for p in response.json()] == ["demo", "other"]


def test_projects_page_500_at_a_time(sim: SemaphoreSimulator, raw: Raw) -> None:
    tiny = PipelineDef("P", (BlockDef("B", (JobDef("j"),)),))
    for index in range(499):
        sim.world.add_project(ProjectDef(f"p{index:03d}", {MAIN: tiny}))
    first = raw.get(f"{API}/projects")
    assert (len(first.json()), first.header("x-has-more")) == (500, "true")
    second = raw.get(f"{API}/projects?page=2")
    assert (len(second.json()), second.header("x-page"), second.header("x-has-more")) == (1, "2", "false")


def test_describe_project_by_name_and_plain_404(sim: SemaphoreSimulator, raw: Raw) -> None:
    response = raw.get(f"{API}/projects/other")
    assert response.status == 200
    assert response.json()["metadata"]["name"] == "other"
    missing = raw.get(f"{API}/projects/nope")
    assert (missing.status, missing.body) == (404, b"Not Found")
    assert "content-type" not in missing.header_names()


def test_unknown_paths_outside_the_api(raw: Raw) -> None:
    nowhere = raw.get("/nowhere")
    assert (nowhere.status, nowhere.body) == (404, b"Not Found")
    # /api/v1alpha/workflows goes to the gateway, which has no workflows service: grpc-gateway's routing 404
    gateway = raw.get(f"{API}/workflows")
    assert (gateway.status, gateway.json()) == (404, {"code": 5, "message": "Not Found", "details": []})
    assert gateway.header("content-type") == "application/json"
    assert "grpc-metadata-content-type" not in gateway.header_names()  # no gRPC call was made


def test_resources_of_projects_a_token_cannot_see_are_not_found(sim: SemaphoreSimulator, raw: Raw) -> None:
    wf_id, ppl_id = sim.world.start_workflow("demo")
    sim.advance(20)
    job_id = sim.world.pipeline(ppl_id).jobs[0].job_id
    demo_id = sim.world.project("demo").project_id
    sim.add_token("other-only", projects=["other"])
    limited = Raw(sim.url, "other-only")
    try:
        for method, path in (
            ("GET", f"{API}/pipelines/{ppl_id}"),
            ("GET", f"{API}/pipelines?project_id={demo_id}"),
            ("GET", f"{API}/pipelines?wf_id={wf_id}"),
            ("GET", f"{API}/plumber-workflows/{wf_id}"),
            ("GET", f"{API}/plumber-workflows?project_id={demo_id}"),
            ("POST", f"{API}/plumber-workflows/{wf_id}/terminate"),
            ("GET", f"{API}/promotions?pipeline_id={ppl_id}"),
            ("GET", f"{API}/projects/demo"),
        ):
            response = limited.request(method, path)
            assert (response.status, response.body) == (404, b"Not Found"), path
        job = limited.get(f"{API}/jobs/{job_id}")
        assert (job.status, job.json()) == (404, {"code": 5, "message": f"Job {job_id} not found", "details": []})
        logs = limited.get(f"{API}/logs/{job_id}")
        assert (logs.status, logs.body) == (401, b"Permission denied")
        assert [p["metadata"]["name"] for p in limited.get(f"{API}/projects").json()] == ["other"]
        assert limited.get(f"{API}/jobs?states=FINISHED").json()["jobs"] == []
    finally:
        limited.close()
    finished = {j.job_id for j in sim.world.jobs() if j.state == "finished"}
    assert len(finished) >= 3
    assert {j["metadata"]["id"] for j in raw.get(f"{API}/jobs?states=FINISHED").json()["jobs"]} == finished


def test_project_names_in_the_path_are_url_decoded(sim: SemaphoreSimulator, raw: Raw) -> None:
    tiny = PipelineDef("P", (BlockDef("B", (JobDef("j"),)),))
    sim.world.add_project(ProjectDef("web shop", {MAIN: tiny}))
    response = raw.get(f"{API}/projects/web%20shop")
    assert (response.status, response.json()["metadata"]["name"]) == (200, "web shop")


@pytest.mark.parametrize(
    ("user_agent", "refused"),
    [
        ("SemaphoreCLI/v0.29.9 (linux; amd64)", True),
        ("SemaphoreCLI/v1.0.0 (linux; amd64)", True),  # the auth service compares each part on its own
        ("SemaphoreCLI/v0.30.0 (linux; amd64)", False),
        ("SemaphoreCLI/v2.31.1 (darwin; arm64)", False),
        ("SemaphoreCLI/dev (linux; amd64)", False),
        ("pytest-semaphore/0.1 python-requests/2.32", False),
    ],
)
def test_outdated_sem_cli_user_agents_are_refused(raw: Raw, user_agent: str, refused: bool) -> None:
    response = raw.get(f"{API}/projects", headers={"User-Agent": user_agent})
    if refused:
        assert response.status == 400
        assert response.body == (
            b'{"message": "Call rejected because the client is outdated. To continue, upgrade Semaphore CLI with '
            b"'curl https://storage.googleapis.com/sem-cli-releases/get.sh | bash'.\"}"
        )
    else:
        assert response.status == 200
