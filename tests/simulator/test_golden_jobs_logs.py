"""Golden raw responses for jobs (the grpc-gateway rules) and job logs (events, self-hosted, plain text)."""

from __future__ import annotations

import itertools
import json
from urllib.parse import parse_qs, urlsplit

from pytest_semaphore.simulator import SemaphoreSimulator
from pytest_semaphore.simulator.definitions import BlockDef, CommandDef, JobDef, PipelineDef, ProjectDef

from .helpers import MAIN, PREAMBLE_EVENTS, PREAMBLE_TEXT, Raw, preamble_events

API = "/api/v1alpha"
EPOCH = 1767225600


def unit_job(sim: SemaphoreSimulator, pipeline_file: str = MAIN) -> str:
    _, ppl_id = sim.world.start_workflow("demo", pipeline_file=pipeline_file)
    sim.advance(2.1)  # the first block has started: its jobs exist
    return sim.world.pipeline(ppl_id).blocks[0].jobs[0].job_id


def test_job_describe_int64_strings_enum_names_and_null_agent(sim: SemaphoreSimulator, raw: Raw) -> None:
    job_id = unit_job(sim)
    response = raw.get(f"{API}/jobs/{job_id}")
    assert response.status == 200
    assert response.header("content-type") == "application/json"
    # grpc-gateway forwards the gRPC answer's content-type (elixir-grpc: application/grpc+proto)
    assert response.header("grpc-metadata-content-type") == "application/grpc+proto"
    assert "cache-control" not in response.header_names()
    truth = sim.world.job(job_id)
    body = response.json()
    assert body == {
        "metadata": {
            "name": "unit",
            "id": job_id,
            "create_time": str(EPOCH + 2),
            "update_time": str(EPOCH + 2),
            "start_time": "0",
            "finish_time": "0",
        },
        "spec": {
            "project_id": sim.world.project("demo").project_id,
            "agent": {
                "machine": {"type": "e1-standard-2", "os_image": "ubuntu2004"},
                "containers": [],
                "image_pull_secrets": [],
            },
            "secrets": [],
            "env_vars": [{"name": name, "value": value} for name, value in truth.env_vars],
            "files": [],
            "commands": ["checkout", "make test"],
            "epilogue_commands": [],
            "epilogue_always_commands": [],
            "epilogue_on_pass_commands": [],
            "epilogue_on_fail_commands": [],
        },
        "status": {"result": "NONE", "state": "PENDING", "agent": None},
    }
    assert b'"agent":null' in response.body
    sim.advance(0.5)  # t=2.6: enqueued at 2.25
    queued = raw.get(f"{API}/jobs/{job_id}").json()
    assert (queued["status"]["state"], queued["status"]["result"], queued["status"]["agent"]) == (
        "QUEUED",
        "NONE",
        None,
    )
    assert queued["metadata"]["update_time"] == str(EPOCH + 2)
    sim.advance(0.5)
    running = raw.get(f"{API}/jobs/{job_id}").json()
    assert running["status"]["state"] == "RUNNING"
    assert running["status"]["result"] == "NONE"
    assert running["status"]["agent"] == {"ip": "10.0.0.7", "name": "", "ports": [{"name": "ssh", "number": 30000}]}
    assert running["metadata"]["start_time"] == str(EPOCH + 3)
    sim.advance(10)
    finished = raw.get(f"{API}/jobs/{job_id}").json()
    assert (finished["status"]["state"], finished["status"]["result"]) == ("FINISHED", "PASSED")
    assert finished["metadata"]["finish_time"] == str(EPOCH + 8)


def test_job_errors_are_code_message_details(sim: SemaphoreSimulator, raw: Raw) -> None:
    missing = "4c8e2d4b-7a1f-4b1e-9b0a-0f3c9d2e1a55"
    not_found = raw.get(f"{API}/jobs/{missing}")
    assert not_found.status == 404
    assert not_found.json() == {"code": 5, "message": f"Job {missing} not found", "details": []}
    assert not_found.header("content-type") == "application/json"
    assert "grpc-metadata-content-type" not in not_found.header_names()  # errors come as gRPC trailers only
    not_uuid = raw.get(f"{API}/jobs/not-a-uuid")
    assert not_uuid.status == 400
    assert not_uuid.json() == {"code": 3, "message": "Job id not-a-uuid is invalid", "details": []}


def test_job_list_is_empty_without_states_and_capped_at_30(sim: SemaphoreSimulator, raw: Raw) -> None:
    job_id = unit_job(sim)
    empty = raw.get(f"{API}/jobs")
    assert (empty.status, empty.json()) == (200, {"jobs": [], "next_page_token": ""})
    pending = raw.get(f"{API}/jobs?states=PENDING&states=RUNNING").json()
    assert {j["metadata"]["id"] for j in pending["jobs"]} == {j.job_id for j in sim.world.jobs()}
    assert job_id in {j["metadata"]["id"] for j in pending["jobs"]}
    assert raw.get(f"{API}/jobs?states=RUNNING").json()["jobs"] == []
    over = raw.get(f"{API}/jobs?states=RUNNING&page_size=31")
    assert (over.status, over.json()) == (400, {"code": 9, "message": "Page size can't exceed 30", "details": []})
    assert raw.get(f"{API}/jobs?states=RUNNING&page_size=30").status == 200


def test_job_list_pages_with_next_page_token(sim: SemaphoreSimulator, raw: Raw) -> None:
    for _ in range(2):
        sim.world.start_workflow("demo")
    sim.advance(2.1)  # 2 workflows x 2 jobs pending
    first = raw.get(f"{API}/jobs?states=PENDING&page_size=3").json()
    assert len(first["jobs"]) == 3
    assert first["next_page_token"] != ""
    second = raw.get(f"{API}/jobs?states=PENDING&page_size=3&page_token={first['next_page_token']}").json()
    assert len(second["jobs"]) == 1
    assert second["next_page_token"] == ""
    created = [int(j["metadata"]["create_time"]) for j in first["jobs"] + second["jobs"]]
    assert created == sorted(created, reverse=True)


def test_debug_ssh_key_only_while_running(sim: SemaphoreSimulator, raw: Raw) -> None:
    job_id = unit_job(sim)
    early = raw.get(f"{API}/jobs/{job_id}/debug_ssh_key")
    assert (early.status, early.json()["code"]) == (400, 9)
    assert early.json()["message"] == "Job's debug SSH is only available while the job is running"
    sim.advance(2)
    assert "key" in raw.get(f"{API}/jobs/{job_id}/debug_ssh_key").json()


def test_stop_job_returns_empty_object_even_when_finished(sim: SemaphoreSimulator, raw: Raw) -> None:
    job_id = unit_job(sim)
    sim.advance(2)  # running since 3.0
    stopped = raw.request("POST", f"{API}/jobs/{job_id}/stop", "{}", {"Content-Type": "application/json"})
    assert (stopped.status, stopped.body) == (200, b"{}")
    assert sim.world.job(job_id).result == "stopped"
    again = raw.request("POST", f"{API}/jobs/{job_id}/stop")
    assert (again.status, again.body) == (200, b"{}")


def test_logs_are_an_events_envelope_growing_while_the_job_runs(sim: SemaphoreSimulator, raw: Raw) -> None:
    job_id = unit_job(sim)
    sim.advance(0.9)  # t=3.0: job started
    bodies = []
    for _ in range(7):
        response = raw.get(f"{API}/logs/{job_id}")
        assert response.status == 200
        # logs/get.ex: put_resp_content_type("application/json"), which appends Plug's default charset
        assert response.header("content-type") == "application/json; charset=utf-8"
        assert response.header("cache-control") == "max-age=0, private, must-revalidate"
        assert response.body.startswith(b'{ "events": [')
        assert response.body.endswith(b"] }")
        bodies.append(response.json()["events"])
        sim.advance(1)
    counts = [len(events) for events in bodies]
    assert counts == sorted(counts)
    assert counts[0] < counts[-1]
    for earlier, later in itertools.pairwise(bodies):
        assert later[: len(earlier)] == earlier  # a growing snapshot: no cursor, the whole log every time
    assert bodies[0] == [
        {"event": "job_started", "timestamp": EPOCH + 3},
        *json.loads(b"[" + preamble_events(EPOCH + 3) + b"]"),
        {"event": "cmd_started", "timestamp": EPOCH + 3, "directive": "checkout"},
    ]


def test_log_events_have_the_agent_shapes(sim: SemaphoreSimulator, raw: Raw) -> None:
    job_id = unit_job(sim)
    sim.advance(10)
    response = raw.get(f"{API}/logs/{job_id}")
    expected = (
        b'{ "events": ['
        b'{"event":"job_started","timestamp":%(s)d},'
        b"%(preamble)s,"
        b'{"event":"cmd_started","timestamp":%(s)d,"directive":"checkout"},'
        b'{"event":"cmd_output","timestamp":%(s)d,"output":"Cloning...\\n"},'
        b'{"event":"cmd_finished","timestamp":%(s1)d,"directive":"checkout","exit_code":0,'
        b'"started_at":%(s)d,"finished_at":%(s1)d},'
        b'{"event":"cmd_started","timestamp":%(s1)d,"directive":"make test"},'
        b'{"event":"cmd_output","timestamp":%(s2)d,"output":"ok 1\\n"},'
        b'{"event":"cmd_output","timestamp":%(s3)d,"output":"ok 2\\n"},'
        b'{"event":"cmd_finished","timestamp":%(s5)d,"directive":"make test","exit_code":0,'
        b'"started_at":%(s1)d,"finished_at":%(s5)d},'
        b'{"event":"job_finished","timestamp":%(s5)d,"result":"passed"}'
        b"] }"
    ) % {
        b"preamble": preamble_events(EPOCH + 3),
        b"s": EPOCH + 3,
        b"s1": EPOCH + 4,
        b"s2": EPOCH + 5,
        b"s3": EPOCH + 6,
        b"s5": EPOCH + 8,
    }
    assert response.body == expected


def test_failed_job_log_ends_with_exit_code_and_failed_result(sim: SemaphoreSimulator, raw: Raw) -> None:
    job_id = unit_job(sim, ".semaphore/failing.yml")
    sim.advance(10)
    events = raw.get(f"{API}/logs/{job_id}").json()["events"]
    assert events[-2]["event"] == "cmd_finished"
    assert events[-2]["exit_code"] == 1
    assert events[-1] == {"event": "job_finished", "timestamp": EPOCH + 5, "result": "failed"}


def test_log_output_bytes_are_copied_raw_with_go_escaping(sim: SemaphoreSimulator, raw: Raw) -> None:
    hostile = PipelineDef(
        "Hostile",
        (
            BlockDef(
                "B",
                (
                    JobDef(
                        "j",
                        (
                            CommandDef(
                                "echo <a&b>", output=(b"\xff\xfe not utf-8\r\n", "\x1b[31mred\x1b[0m\u2028"), duration=1
                            ),
                        ),
                    ),
                ),
            ),
        ),
    )
    sim.world.add_project(ProjectDef("hostile", {MAIN: hostile}))
    _, ppl_id = sim.world.start_workflow("hostile")
    sim.advance(10)
    job_id = sim.world.pipeline(ppl_id).blocks[0].jobs[0].job_id
    body = raw.get(f"{API}/logs/{job_id}").body
    assert b'"directive":"echo \\u003ca\\u0026b\\u003e"' in body
    assert b'"output":"\xff\xfe not utf-8\\r\\n"' in body
    assert b'"output":"\\u001b[31mred\\u001b[0m\\u2028"' in body
    text = raw.get(f"/jobs/{job_id}/plain_logs.json")
    assert text.body == PREAMBLE_TEXT + b"echo <a&b>\n\xff\xfe not utf-8\r\n\x1b[31mred\x1b[0m\xe2\x80\xa8"


def test_never_started_jobs_have_404_json_string_logs(sim: SemaphoreSimulator, raw: Raw) -> None:
    job_id = unit_job(sim)
    never = raw.get(f"{API}/logs/{job_id}")
    assert (never.status, never.body) == (404, b'"This job never started, so no logs were produced."')
    raw.request("POST", f"{API}/jobs/{job_id}/stop")
    stopped = raw.get(f"{API}/logs/{job_id}")
    assert (stopped.status, stopped.body) == (
        404,
        b'"This job was stopped before it started, so no logs were produced."',
    )


def test_plain_logs_json_is_text(sim: SemaphoreSimulator, raw: Raw) -> None:
    job_id = unit_job(sim)
    sim.advance(10)
    response = raw.get(f"/jobs/{job_id}/plain_logs.json")
    assert response.status == 200
    assert response.header("content-type") == "text/plain; charset=utf-8"
    assert response.body == PREAMBLE_TEXT + b"checkout\nCloning...\nmake test\nok 1\nok 2\n"
    part = raw.get(f"/jobs/{job_id}/plain_logs.json?starting_event={PREAMBLE_EVENTS + 4}&take=2")
    assert part.body == b"make test\nok 1\n"


def test_ui_events_json_is_the_same_envelope_and_409_before_the_job_starts(sim: SemaphoreSimulator, raw: Raw) -> None:
    job_id = unit_job(sim)
    early = raw.get(f"/jobs/{job_id}/events.json")
    assert (early.status, early.json()) == (409, {"error": "This job never started, so no logs were produced."})
    assert early.header("content-type") == "application/json; charset=utf-8"  # Phoenix's json/2
    sim.advance(10)
    events = raw.get(f"/jobs/{job_id}/events.json")
    assert events.status == 200
    assert events.header("content-type") == "application/json; charset=utf-8"
    assert events.body == raw.get(f"{API}/logs/{job_id}").body


def test_plain_logs_refuse_api_tokens_when_the_org_does(raw: Raw) -> None:
    from .helpers import standard_scenario

    with SemaphoreSimulator(standard_scenario(), token="t", ui_accepts_api_token=False) as strict:
        _, ppl_id = strict.world.start_workflow("demo")
        strict.advance(20)
        job_id = strict.world.pipeline(ppl_id).blocks[0].jobs[0].job_id
        conn = Raw(strict.url, "t")
        try:
            response = conn.get(f"/jobs/{job_id}/plain_logs.json")
        finally:
            conn.close()
    assert (response.status, response.header("location")) == (302, "/login")


def test_self_hosted_logs_redirect_to_loghub_with_a_signed_jwt(sim: SemaphoreSimulator, raw: Raw) -> None:
    job_id = unit_job(sim, ".semaphore/selfhosted.yml")
    sim.advance(1.9)  # t=4.0: running since 3.0, "hi" at 4.0
    response = raw.get(f"{API}/logs/{job_id}")
    assert response.status == 302
    location = response.header("location")
    assert location is not None
    parts = urlsplit(location)
    assert parts.hostname == "127.0.0.2"
    assert parts.path == f"/api/v1/logs/{job_id}"
    token = parse_qs(parts.query)["jwt"][0]
    assert token.count(".") == 2
    loghub = Raw(f"http://{parts.netloc}", None)
    try:
        running = loghub.get(f"{parts.path}?{parts.query}")
        assert running.status == 200
        assert running.header("content-type") == "application/json"
        body = running.json()
        assert [e["event"] for e in body["events"]][-2:] == ["cmd_started", "cmd_output"]
        assert body["next"] == PREAMBLE_EVENTS + 3
        sim.advance(5)
        resumed = loghub.get(f"{parts.path}?{parts.query}&token={PREAMBLE_EVENTS + 3}").json()
        assert [e["event"] for e in resumed["events"]] == ["cmd_finished", "job_finished"]
        assert resumed["next"] is None
        as_text = loghub.get(f"{parts.path}?{parts.query}&raw=true")
        assert as_text.body == PREAMBLE_TEXT + b"echo hi\nhi\n"
        forged = loghub.get(f"{parts.path}?jwt={token[:-2]}xx")
        assert forged.status == 401
        no_jwt = loghub.get(parts.path)
        assert no_jwt.status == 401
    finally:
        loghub.close()
    loghub_requests = [r for r in sim.requests if r.server == "loghub"]
    assert loghub_requests
    assert all("authorization" not in r.headers for r in loghub_requests)
    assert sim.world.job(job_id).self_hosted


def test_self_hosted_jwt_expires_after_five_minutes(sim: SemaphoreSimulator, raw: Raw) -> None:
    job_id = unit_job(sim, ".semaphore/selfhosted.yml")
    sim.advance(5)
    location = raw.get(f"{API}/logs/{job_id}").header("location")
    assert location is not None
    parts = urlsplit(location)
    sim.advance(301)
    loghub = Raw(f"http://{parts.netloc}", None)
    try:
        assert loghub.get(f"{parts.path}?{parts.query}").status == 401
    finally:
        loghub.close()


def test_artifact_logs_are_refused_when_the_feature_is_off(sim: SemaphoreSimulator, raw: Raw) -> None:
    job_id = unit_job(sim)
    sim.advance(10)
    response = raw.get(f"{API}/logs/{job_id}?artifact_job_logs=true")
    assert response.status == 403
    assert json.dumps(response.body.decode())  # a text body, not JSON
