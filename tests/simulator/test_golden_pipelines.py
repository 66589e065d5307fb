"""Golden raw responses for workflows and pipelines (docs/semaphore-api.md sections 1-4 and the section 8 checklist).

Each test reads bytes off the socket with ``http.client`` and asserts the exact status, body and headers (present and
absent) that the real server would send.
"""

from __future__ import annotations

import json
from typing import Any

from pytest_semaphore.simulator import SemaphoreSimulator

from .helpers import MAIN, Raw

API = "/api/v1alpha"
EPOCH = 1767225600  # the simulator's default epoch: 2026-01-01 00:00:00Z


def start(sim: SemaphoreSimulator, pipeline_file: str = MAIN, **kwargs: Any) -> tuple[str, str]:
    return sim.world.start_workflow("demo", pipeline_file=pipeline_file, commit_sha="a" * 40, **kwargs)


def expected_pipeline(sim: SemaphoreSimulator, ppl_id: str, *, listing: bool) -> dict[str, Any]:
    """The full pipeline object, field by field, from the world's truth and the formatting rules of section 1."""
    truth = sim.world.pipeline(ppl_id)
    workflow = sim.world.workflow(truth.wf_id)

    def ts(seconds: float | None) -> Any:
        if seconds is None:
            return {"seconds": 0, "nanos": 0} if listing else "1970-01-01 00:00:00.000000Z"
        whole, frac = int(seconds), round((seconds - int(seconds)) * 1_000_000)
        if listing:
            return {"seconds": EPOCH + whole, "nanos": frac * 1000}
        return f"2026-01-01 00:00:{whole:02d}.{frac:06d}Z"

    body: dict[str, Any] = {
        "ppl_id": ppl_id,
        "name": "Build and test",
        "project_id": sim.world.project("demo").project_id,
        "branch_name": "master",
        "commit_sha": "a" * 40,
        "created_at": ts(0.0),
        "pending_at": ts(truth.pending_at),
        "queuing_at": ts(truth.queuing_at),
        "running_at": ts(truth.running_at),
        "stopping_at": ts(truth.stopping_at),
        "done_at": ts(truth.done_at),
        "state": truth.state.upper() if listing else truth.state,
        "result": (truth.result or "").upper() if listing else truth.result,
        "result_reason": (truth.result_reason or "").upper() if listing else truth.result_reason,
        "terminate_request": "",
        "hook_id": workflow.hook_id,
        "branch_id": workflow.branch_id,
        "error_description": "",
        "switch_id": truth.switch_id,
        "working_directory": ".semaphore",
        "yaml_file_name": "semaphore.yml",
        "terminated_by": "",
        "wf_id": truth.wf_id,
        "snapshot_id": "",
        "queue": {
            "queue_id": truth.queue_id,
            "name": "master-.semaphore/semaphore.yml",
            "scope": "project",
            "project_id": truth.project_id,
            "organization_id": sim.world.organization_id,
            "type": "IMPLICIT" if listing else 0,
        },
        "promotion_of": "",
        "partial_rerun_of": "",
        "commit_message": "Simulated commit",
        "partially_rerun_by": "",
        "compile_task_id": "",
        "with_after_task": False,
        "after_task_id": "",
        "repository_id": workflow.repository_id,
        "env_vars": [],
        "triggerer": {
            "wf_triggered_by": "HOOK" if listing else 0,
            "wf_triggerer_id": workflow.hook_id,
            "wf_triggerer_user_id": sim.world.user_id,
            "wf_triggerer_provider_login": "simulated-user",
            "wf_triggerer_provider_uid": "1",
            "wf_triggerer_provider_avatar": "",
            "ppl_triggered_by": "WORKFLOW" if listing else 0,
            "ppl_triggerer_id": sim.world.user_id,
            "ppl_triggerer_user_id": sim.world.user_id,
            "workflow_rerun_of": "",
        },
        "organization_id": sim.world.organization_id,
    }
    if not truth.done:
        del body["result"], body["result_reason"]
    return body


def test_describe_is_lowercase_with_string_timestamps_and_integer_nested_enums(
    sim: SemaphoreSimulator, raw: Raw
) -> None:
    _, ppl_id = start(sim)
    sim.advance(11)
    response = raw.get(f"{API}/pipelines/{ppl_id}")
    assert response.status == 200
    body = response.json()
    assert body == {"pipeline": expected_pipeline(sim, ppl_id, listing=False), "blocks": []}
    pipeline = body["pipeline"]
    assert (pipeline["state"], pipeline["result"], pipeline["result_reason"]) == ("done", "passed", "test")
    assert pipeline["created_at"] == "2026-01-01 00:00:00.000000Z"
    assert pipeline["queuing_at"] == "2026-01-01 00:00:01.500000Z"
    assert pipeline["stopping_at"] == "1970-01-01 00:00:00.000000Z"
    assert pipeline["queue"]["type"] == 0
    assert pipeline["triggerer"]["ppl_triggered_by"] == 0


def test_list_is_uppercase_with_seconds_nanos_and_enum_names(
    sim: SemaphoreSimulator, raw: Raw, project_id: str
) -> None:
    _, ppl_id = start(sim)
    sim.advance(11)
    response = raw.get(f"{API}/pipelines?project_id={project_id}")
    assert response.status == 200
    items = response.json()
    assert items[-1] == expected_pipeline(sim, ppl_id, listing=True)
    assert (items[-1]["state"], items[-1]["result"], items[-1]["result_reason"]) == ("DONE", "PASSED", "TEST")
    assert items[-1]["queuing_at"] == {"seconds": EPOCH + 1, "nanos": 500_000_000}
    assert items[-1]["stopping_at"] == {"seconds": 0, "nanos": 0}
    assert items[-1]["queue"]["type"] == "IMPLICIT"
    assert items[-1]["triggerer"]["wf_triggered_by"] == "HOOK"


def test_result_fields_are_removed_until_done_in_describe_and_list(
    sim: SemaphoreSimulator, raw: Raw, project_id: str
) -> None:
    _, ppl_id = start(sim)
    seen_states = []
    for _ in range(12):
        described = raw.get(f"{API}/pipelines/{ppl_id}").json()["pipeline"]
        listed = next(p for p in raw.get(f"{API}/pipelines?project_id={project_id}").json() if p["ppl_id"] == ppl_id)
        seen_states.append(described["state"])
        if described["state"] == "done":
            assert described["result"] == "passed"
            assert listed["result"] == "PASSED"
            assert described["result_reason"] == "test"
            assert listed["result_reason"] == "TEST"
        else:
            assert "result" not in described
            assert "result_reason" not in described
            assert "result" not in listed
            assert "result_reason" not in listed
            assert listed["state"] == described["state"].upper()
        sim.advance(1)
    assert seen_states[0] == "initializing"
    assert seen_states[-1] == "done"
    assert {"initializing", "pending", "running", "done"} <= set(seen_states)


def test_detailed_blocks_jobs_and_proto_defaults(sim: SemaphoreSimulator, raw: Raw) -> None:
    _, ppl_id = start(sim)
    sim.advance(3.5)  # Test running (unit and integration started at 3.0), Package waiting
    body = raw.get(f"{API}/pipelines/{ppl_id}?detailed=true").json()
    truth = sim.world.pipeline(ppl_id)
    test_block, package_block = truth.blocks
    assert body["blocks"] == [
        {
            "block_id": test_block.block_id,
            "name": "Test",
            "build_req_id": test_block.build_req_id,
            "state": "running",  # no result fields while not done, as for the pipeline
            "error_description": "",
            "jobs": [
                {
                    "name": "unit",
                    "index": 0,
                    "job_id": test_block.jobs[0].job_id,
                    "status": "RUNNING",
                    "result": "PASSED",
                },
                {
                    "name": "integration",
                    "index": 1,
                    "job_id": test_block.jobs[1].job_id,
                    "status": "RUNNING",
                    "result": "PASSED",
                },
            ],
        },
        {
            "block_id": "",  # a block that has not started
            "name": "Package",
            "build_req_id": "",
            "state": "waiting",
            "error_description": "",
            "jobs": [],
        },
    ]
    assert package_block.block_id == ""


def test_detailed_counts_only_the_exact_string_true(sim: SemaphoreSimulator, raw: Raw) -> None:
    _, ppl_id = start(sim)
    sim.advance(3.5)
    for value in ("True", "1", "yes", "TRUE"):
        assert raw.get(f"{API}/pipelines/{ppl_id}?detailed={value}").json()["blocks"] == []
    assert len(raw.get(f"{API}/pipelines/{ppl_id}?detailed=true").json()["blocks"]) == 2


def test_plumber_responses_carry_no_content_type(sim: SemaphoreSimulator, raw: Raw, project_id: str) -> None:
    wf_id, ppl_id = start(sim)
    for path in (
        f"{API}/pipelines/{ppl_id}",
        f"{API}/pipelines?project_id={project_id}",
        f"{API}/plumber-workflows/{wf_id}",
        f"{API}/plumber-workflows?project_id={project_id}",
        f"{API}/promotions?pipeline_id={ppl_id}",
        f"{API}/pipelines/{ppl_id}/describe_topology",
        f"{API}/pipelines/{'0' * 8}-0000-4000-8000-{'0' * 12}",
    ):
        response = raw.get(path)
        assert "content-type" not in response.header_names(), path
        assert response.header("content-length") == str(len(response.body))
        assert response.header("cache-control") == "max-age=0, private, must-revalidate"  # Plug's default


def test_missing_and_forbidden_are_a_plain_not_found(sim: SemaphoreSimulator, raw: Raw) -> None:
    unknown = "4c8e2d4b-7a1f-4b1e-9b0a-0f3c9d2e1a55"
    for method, path in (
        ("GET", f"{API}/pipelines/{unknown}"),
        ("GET", f"{API}/plumber-workflows/{unknown}"),
        ("GET", f"{API}/pipelines/{unknown}/describe_topology"),
        ("POST", f"{API}/plumber-workflows/{unknown}/terminate"),
        ("GET", f"{API}/promotions?pipeline_id={unknown}"),
        ("GET", f"{API}/pipelines"),  # neither project_id nor wf_id: 404, not 400
        ("GET", f"{API}/plumber-workflows"),  # project_id missing
        ("GET", f"{API}/plumber-workflows?project_id={unknown}"),
    ):
        response = raw.request(method, path)
        assert (response.status, response.body) == (404, b"Not Found"), (method, path)
        assert "content-type" not in response.header_names()


def test_unknown_plumber_route_answers_oops(raw: Raw) -> None:
    response = raw.request("DELETE", f"{API}/pipelines/abc")
    assert (response.status, response.body) == (404, b"oops")


def test_workflow_describe_names_trigger_and_list_gives_integer(
    sim: SemaphoreSimulator, raw: Raw, project_id: str
) -> None:
    wf_id, ppl_id = start(sim)
    sim.advance(0.25)
    api_wf = raw.post_json(f"{API}/plumber-workflows", {"project_id": project_id, "reference": "main"}).json()
    truth = sim.world.workflow(wf_id)
    described = raw.get(f"{API}/plumber-workflows/{wf_id}").json()
    assert described == {
        "workflow": {
            "wf_id": wf_id,
            "initial_ppl_id": ppl_id,
            "project_id": project_id,
            "hook_id": truth.hook_id,
            "requester_id": sim.world.user_id,
            "branch_id": truth.branch_id,
            "branch_name": "master",
            "commit_sha": "a" * 40,
            "created_at": {"seconds": EPOCH, "nanos": 0},
            "triggered_by": "HOOK",
            "rerun_of": "",
            "repository_id": truth.repository_id,
            "organization_id": sim.world.organization_id,
        }
    }
    listed = raw.get(f"{API}/plumber-workflows?project_id={project_id}").json()
    assert [item["wf_id"] for item in listed] == [api_wf["workflow_id"], wf_id]  # newest first
    assert [item["triggered_by"] for item in listed] == [2, 0]  # API, HOOK as protobuf integers
    assert listed[1] == {**described["workflow"], "triggered_by": 0}
    assert raw.get(f"{API}/plumber-workflows/{api_wf['workflow_id']}").json()["workflow"]["triggered_by"] == "API"
    assert listed[0]["created_at"] == {"seconds": EPOCH, "nanos": 250_000_000}


def test_workflow_pagination_headers_link_order_and_plumber_workflows_path(
    sim: SemaphoreSimulator, raw: Raw, project_id: str
) -> None:
    for _ in range(3):
        start(sim, branch="staging")
    start(sim, branch="other")
    response = raw.get(f"{API}/plumber-workflows?project_id={project_id}&branch_name=staging&page_size=1&page=2")
    base = f"http://127.0.0.1:{raw.port}/api/v1alpha/plumber-workflows"

    def url(page: int) -> str:
        return f"{base}?branch_name=staging&page={page}&page_size=1&project_id={project_id}"

    assert response.header("link") == (
        f'<{url(3)}>; rel="next", <{url(1)}>; rel="prev", <{url(1)}>; rel="first", <{url(3)}>; rel="last"'
    )
    assert response.header("total") == "3"
    assert response.header("per-page") == "1"
    assert response.header("total-pages") == "3"
    assert response.header("page-number") == "2"
    names = response.header_names()
    # Scrivener.Headers.paginate puts them in this order, after Plug's default cache-control.
    assert [n for n in names if n in ("cache-control", "link", "total", "per-page", "total-pages", "page-number")] == [
        "cache-control",
        "link",
        "total",
        "per-page",
        "total-pages",
        "page-number",
    ]
    assert "x-total-count" not in names
    assert len(response.json()) == 1

    first = raw.get(f"{API}/plumber-workflows?project_id={project_id}&branch_name=staging&page_size=1")
    assert first.header("link") == f'<{url(2)}>; rel="next", <{url(1)}>; rel="first", <{url(3)}>; rel="last"'
    last = raw.get(f"{API}/plumber-workflows?project_id={project_id}&branch_name=staging&page_size=1&page=3")
    assert last.header("link") == f'<{url(2)}>; rel="prev", <{url(1)}>; rel="first", <{url(3)}>; rel="last"'
    beyond = raw.get(f"{API}/plumber-workflows?project_id={project_id}&branch_name=staging&page_size=1&page=9")
    assert beyond.json() == []
    assert beyond.header("link") == f'<{url(1)}>; rel="first", <{url(3)}>; rel="last"'


def test_page_size_that_is_not_a_positive_integer_falls_back_to_default(
    sim: SemaphoreSimulator, raw: Raw, project_id: str
) -> None:
    start(sim)
    for value in ("0", "-3", "abc", ""):
        response = raw.get(f"{API}/pipelines?project_id={project_id}&page_size={value}&page=x")
        assert response.header("per-page") == "30", value
        assert response.header("page-number") == "1"
    prefix = raw.get(f"{API}/pipelines?project_id={project_id}&page_size=5abc")  # Elixir's Integer.parse
    assert prefix.header("per-page") == "5"


def test_pipeline_list_filters_by_workflow_branch_and_file(sim: SemaphoreSimulator, raw: Raw, project_id: str) -> None:
    wf_a, ppl_a = start(sim, branch="feature")
    _, ppl_b = start(sim, pipeline_file=".semaphore/plain.yml")
    assert [p["ppl_id"] for p in raw.get(f"{API}/pipelines?wf_id={wf_a}").json()] == [ppl_a]
    by_branch = raw.get(f"{API}/pipelines?project_id={project_id}&branch_name=feature").json()
    assert [p["ppl_id"] for p in by_branch] == [ppl_a]
    by_file = raw.get(f"{API}/pipelines?project_id={project_id}&yml_file_path=.semaphore/plain.yml").json()
    assert [p["ppl_id"] for p in by_file] == [ppl_b]


def test_terminate_needs_a_json_boolean(sim: SemaphoreSimulator, raw: Raw) -> None:
    _, ppl_id = start(sim)
    message = b"\"Value of 'terminate_request' field must be boolean value 'true'.\""
    form = raw.request(
        "PATCH",
        f"{API}/pipelines/{ppl_id}",
        "terminate_request=true",
        {"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert (form.status, form.body) == (400, message)
    as_string = raw.request(
        "PATCH",
        f"{API}/pipelines/{ppl_id}",
        json.dumps({"terminate_request": "true"}),
        {"Content-Type": "application/json"},
    )
    assert (as_string.status, as_string.body) == (400, message)
    assert not sim.world.pipeline(ppl_id).done
    ok = raw.request(
        "PATCH",
        f"{API}/pipelines/{ppl_id}",
        json.dumps({"terminate_request": True}),
        {"Content-Type": "application/json"},
    )
    assert (ok.status, ok.body) == (200, b'"Pipeline termination started."')
    assert "content-type" not in ok.header_names()
    truth = sim.world.pipeline(ppl_id)
    assert (truth.state, truth.result, truth.result_reason) == ("done", "canceled", "user")


def test_terminate_workflow_returns_a_json_string_with_the_count(sim: SemaphoreSimulator, raw: Raw) -> None:
    wf_id, _ = start(sim)
    response = raw.request("POST", f"{API}/plumber-workflows/{wf_id}/terminate")
    assert (response.status, response.body) == (200, b'"Termination started for 1 pipelines."')


def test_partial_rebuild_messages_are_json_strings(sim: SemaphoreSimulator, raw: Raw) -> None:
    _, passing = start(sim)
    _, failing = start(sim, pipeline_file=".semaphore/failing.yml")
    missing_token = raw.request("POST", f"{API}/pipelines/{failing}/partial_rebuild")
    assert (missing_token.status, missing_token.body) == (400, b'"Missing required post parameter request_token."')
    not_done = raw.request("POST", f"{API}/pipelines/{failing}/partial_rebuild?request_token=t1")
    assert (not_done.status, not_done.body) == (
        400,
        b'"Only pipelines which are in done state can be partial rebuilt."',
    )
    sim.advance(30)
    passed = raw.request("POST", f"{API}/pipelines/{passing}/partial_rebuild?request_token=t2")
    assert (passed.status, passed.body) == (400, b'"Pipelines which passed can not be partial rebuilt."')
    rebuilt = raw.post_form(f"{API}/pipelines/{failing}/partial_rebuild", "request_token=t3")
    assert rebuilt.status == 200
    new_id = sim.world.pipeline(failing).partially_rerun_by
    assert rebuilt.body == b'{"message":"","pipeline_id":"' + new_id.encode() + b'"}'
    again = raw.request("POST", f"{API}/pipelines/{failing}/partial_rebuild?request_token=t3")
    assert again.json() == {"message": "", "pipeline_id": new_id}


def test_reschedule_needs_request_token_and_is_idempotent_per_token(sim: SemaphoreSimulator, raw: Raw) -> None:
    wf_id, _ = start(sim)
    missing = raw.request("POST", f"{API}/plumber-workflows/{wf_id}/reschedule")
    assert (missing.status, missing.body) == (400, b'"Missing required post parameter request_token."')
    first = raw.request("POST", f"{API}/plumber-workflows/{wf_id}/reschedule?request_token=abc")
    assert first.status == 200
    assert list(first.json()) == ["wf_id", "ppl_id"]
    again = raw.post_json(f"{API}/plumber-workflows/{wf_id}/reschedule", {"request_token": "abc"})
    assert again.json() == first.json()
    other = raw.request("POST", f"{API}/plumber-workflows/{wf_id}/reschedule?request_token=def")
    assert other.json()["wf_id"] != first.json()["wf_id"]
    rerun = sim.world.workflow(first.json()["wf_id"])
    assert rerun.rerun_of == wf_id
    assert raw.get(f"{API}/plumber-workflows/{rerun.wf_id}").json()["workflow"]["rerun_of"] == wf_id


def test_run_workflow_reference_forms(sim: SemaphoreSimulator, raw: Raw, project_id: str) -> None:
    cases = {
        "main": "main",
        "refs/heads/dev": "dev",
        "refs/tags/v1.2": "refs/tags/v1.2",
        "refs/pull/42": "pull-request-42",
    }
    for reference, branch in cases.items():
        response = raw.post_json(f"{API}/plumber-workflows", {"project_id": project_id, "reference": reference})
        assert response.status == 200
        assert list(response.json()) == ["workflow_id", "pipeline_id"]
        assert sim.world.workflow(response.json()["workflow_id"]).branch_name == branch
    with_params = raw.post_json(
        f"{API}/plumber-workflows",
        {"project_id": project_id, "reference": "master", "parameters": {"DEPLOY": "yes"}},
    )
    ppl = sim.world.pipeline(with_params.json()["pipeline_id"])
    assert ppl.env_vars == [("DEPLOY", "yes")]
    assert raw.get(f"{API}/pipelines/{ppl.ppl_id}").json()["pipeline"]["env_vars"] == [
        {"name": "DEPLOY", "value": "yes"}
    ]
    missing = raw.post_json(f"{API}/plumber-workflows", {"reference": "master"})
    assert (missing.status, missing.body) == (400, b'"Missing required post parameter project_id."')


def multipart(fields: dict[str, str], files: dict[str, tuple[str, bytes]], boundary: str = "sem-cli-boundary") -> bytes:
    """A multipart/form-data body as Go's ``mime/multipart`` writes one (what ``sem`` sends)."""
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in fields.items()
    ]
    parts += [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n".encode()
        + data
        + b"\r\n"
        for name, (filename, data) in files.items()
    ]
    return b"".join(parts) + f"--{boundary}--\r\n".encode()


def test_run_workflow_takes_a_multipart_snapshot_upload(sim: SemaphoreSimulator, raw: Raw, project_id: str) -> None:
    archive = b"\x1f\x8b\x08\x00" + bytes(range(256)) * 40  # gzip-ish binary, CRLFs and boundary-like bytes included
    body = multipart(
        {"project_id": project_id, "label": "snapshot-7", "request_token": "rt-1"},
        {"snapshot_archive": ("snapshot.tgz", archive)},
    )
    headers = {"Content-Type": "multipart/form-data; boundary=sem-cli-boundary"}
    response = raw.request("POST", f"{API}/plumber-workflows", body, headers)
    assert response.status == 200, response.body
    assert list(response.json()) == ["workflow_id", "pipeline_id"]
    workflow = sim.world.workflow(response.json()["workflow_id"])
    assert (workflow.branch_name, workflow.triggered_by) == ("snapshot-7", "api")
    assert sim.world.pipeline(response.json()["pipeline_id"]).yaml_file == ".semaphore/semaphore.yml"
    plain = multipart({"project_id": project_id, "reference": "refs/tags/v3"}, {})
    tagged = raw.request("POST", f"{API}/plumber-workflows", plain, headers)
    assert sim.world.workflow(tagged.json()["workflow_id"]).branch_name == "refs/tags/v3"
    missing = raw.request("POST", f"{API}/plumber-workflows", multipart({"label": "x"}, {}), headers)
    assert (missing.status, missing.body) == (400, b'"Missing required post parameter project_id."')
    no_boundary = raw.request("POST", f"{API}/plumber-workflows", body, {"Content-Type": "multipart/form-data"})
    assert no_boundary.status == 400
    assert no_boundary.body.startswith(b"Malformed request: ")


def test_malformed_json_body_is_a_plain_400(sim: SemaphoreSimulator, raw: Raw) -> None:
    _, ppl_id = start(sim)
    for body in ("{not json", "[" * 100_000, b"\xff\xfe"):  # bad syntax, nested too deep, not UTF-8
        response = raw.request("PATCH", f"{API}/pipelines/{ppl_id}", body, {"Content-Type": "application/json"})
        assert response.status == 400
        assert response.body.startswith(b"Malformed request: ")
    assert [r.error for r in sim.requests] == [None, None, None]  # answered, not a simulator crash


def test_topology_lists_blocks_jobs_and_dependencies(sim: SemaphoreSimulator, raw: Raw) -> None:
    _, ppl_id = start(sim)
    assert raw.get(f"{API}/pipelines/{ppl_id}/describe_topology").json() == [
        {"name": "Test", "jobs": ["unit", "integration"], "dependencies": []},
        {"name": "Package", "jobs": ["build"], "dependencies": ["Test"]},
    ]


def test_yaml_validation(raw: Raw) -> None:
    ok = raw.post_json(f"{API}/yaml", {"yaml_definition": "version: v1.0\nblocks: []\n"})
    assert (ok.status, ok.body) == (200, b'{"message":"YAML definition is valid.","pipeline_id":""}')
    missing = raw.post_json(f"{API}/yaml", {})
    assert (missing.status, missing.body) == (400, b'"Missing required post parameter yaml_definition."')


def test_done_pipelines_show_a_later_partial_rebuild(sim: SemaphoreSimulator, raw: Raw, project_id: str) -> None:
    wf_id, failing = start(sim, pipeline_file=".semaphore/failing.yml")
    sim.advance(30)
    before = raw.get(f"{API}/pipelines/{failing}?detailed=true").json()["pipeline"]
    listed_before = raw.get(f"{API}/pipelines?wf_id={wf_id}").json()
    assert before["partially_rerun_by"] == ""
    assert listed_before[0]["partially_rerun_by"] == ""
    new_id = raw.request("POST", f"{API}/pipelines/{failing}/partial_rebuild?request_token=t").json()["pipeline_id"]
    after = raw.get(f"{API}/pipelines/{failing}?detailed=true").json()["pipeline"]
    assert after["partially_rerun_by"] == new_id
    listed = {p["ppl_id"]: p for p in raw.get(f"{API}/pipelines?wf_id={wf_id}").json()}
    assert listed[failing]["partially_rerun_by"] == new_id
    assert listed[new_id]["partial_rerun_of"] == failing
    assert listed[new_id]["triggerer"]["ppl_triggered_by"] == "PARTIAL_RE_RUN"
    assert "result" not in listed[new_id]  # the rebuild is not done yet


def test_pipeline_list_links_use_the_request_host_and_the_pipelines_path(
    sim: SemaphoreSimulator, raw: Raw, project_id: str
) -> None:
    for _ in range(2):
        start(sim)
    response = raw.get(
        f"{API}/pipelines?project_id={project_id}&page_size=1&extra=a+b%26c", headers={"Host": "localhost:4004"}
    )
    base = "http://localhost:4004/api/v1alpha/pipelines"
    query = f"extra=a+b%26c&page={{}}&page_size=1&project_id={project_id}"  # keys sorted, form-encoded again
    assert response.header("link") == (
        f'<{base}?{query.format(2)}>; rel="next", <{base}?{query.format(1)}>; rel="first", '
        f'<{base}?{query.format(2)}>; rel="last"'
    )
    assert (response.header("total"), response.header("total-pages")) == ("2", "2")
