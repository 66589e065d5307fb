"""verdicts.py and record.py, on models built from API-shaped data: which verdicts are expected, the failure message,
the kind of an error (a timeout or an outage is never a verdict), and the gate record's entries crossing processes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pytest_semaphore.errors import (
    APIUnavailable,
    AuthenticationError,
    NotFoundError,
    PipelineFailed,
    PromotionFailed,
    WaitTimeout,
)
from pytest_semaphore.logs import Excerpt
from pytest_semaphore.models import Pipeline
from pytest_semaphore.record import GateRecord, PipelineEntry, pipeline_to_json
from pytest_semaphore.verdicts import (
    NOT_A_VERDICT,
    error_kind,
    error_message,
    expected_outcomes,
    failure_message,
    verdict_error,
)
from pytest_semaphore.waiting import Outcome


def pipeline(result: str = "FAILED", reason: str = "TEST", *, detailed: bool = True) -> Pipeline:
    data: dict[str, Any] = {
        "pipeline": {
            "ppl_id": "p1",
            "wf_id": "w1",
            "name": "Release",
            "state": "DONE",
            "result": result,
            "result_reason": reason,
            "created_at": {"seconds": 1_700_000_000},
            "done_at": {"seconds": 1_700_000_125},
        },
        "blocks": [
            {
                "name": "Tests",
                "state": "DONE",
                "result": result,
                "jobs": [
                    {"name": "unit", "job_id": "j1", "status": "FINISHED", "result": result, "index": 0},
                    {"name": "lint", "job_id": "j2", "status": "FINISHED", "result": "PASSED", "index": 1},
                ],
            }
        ]
        if detailed
        else [],
    }
    return Pipeline.from_api(data)


EXCERPT = Excerpt(
    job_name="unit",
    job_id="j1",
    directive="make test",
    exit_code=2,
    job_result="failed",
    lines=("boom",),
    total_lines=1,
    reason="non-zero exit code",
)


@pytest.mark.parametrize(
    ("expect", "expected"),
    [
        ("passed", {Outcome.PASSED}),
        (" Failed ", {Outcome.FAILED}),
        ({"failed", "error"}, {Outcome.FAILED, Outcome.ERROR}),
        ([Outcome.STOPPED], {Outcome.STOPPED}),
        (None, None),
    ],
)
def test_expected_outcomes(expect: Any, expected: set[Outcome] | None) -> None:
    assert expected_outcomes(expect) == (None if expected is None else frozenset(expected))


@pytest.mark.parametrize(("expect", "words"), [("green", "'green' is not an outcome"), (set(), "empty set")])
def test_unusable_expectations_name_what_is_accepted(expect: Any, words: str) -> None:
    with pytest.raises(ValueError, match=words) as info:
        expected_outcomes(expect)
    assert "accepted: passed, failed, stopped, canceled, error" in str(info.value)


def test_failure_message_names_job_command_and_exit_code() -> None:
    assert failure_message(pipeline(), [EXCERPT]) == (
        'pipeline p1 (Release) failed: Semaphore job "unit" (j1) failed: command `make test` exited with code 2'
    )
    # without an excerpt, the failed job is still named; a reason other than "test" is said
    assert (
        failure_message(pipeline(reason="STUCK"), {})
        == 'pipeline p1 (Release) error (stuck): Semaphore job "unit" (j1) failed'
    )


def test_verdict_error_only_when_not_expected() -> None:
    assert verdict_error(pipeline("PASSED", "")) is None
    assert verdict_error(pipeline(), None) is None
    assert verdict_error(pipeline(), frozenset({Outcome.FAILED})) is None
    error = verdict_error(pipeline("PASSED", ""), frozenset({Outcome.FAILED}), ())
    assert isinstance(error, PipelineFailed)
    assert str(error) == "pipeline p1 (Release) passed, expected failed"


def test_error_kinds_and_not_a_verdict() -> None:
    timeout = WaitTimeout("timed out after 5 s waiting for pipeline p1 (last seen running)")
    outage = APIUnavailable("GET", "/api/v1alpha/pipelines/p1", "503 five times")
    assert (error_kind(timeout), error_kind(outage)) == ("timeout", "API unavailable")
    assert error_message(timeout).startswith(NOT_A_VERDICT + "timed out after 5 s")
    assert error_message(outage).startswith(NOT_A_VERDICT)
    assert error_kind(PipelineFailed("x", pipeline=pipeline())) == "failed"
    assert error_kind(PipelineFailed("x", pipeline=pipeline("STOPPED", "USER"))) == "stopped"
    assert error_kind(PromotionFailed("p1", "prod", "refused")) == "error"
    assert not error_message(PromotionFailed("p1", "prod", "refused")).startswith(NOT_A_VERDICT)


def test_entries_cross_processes_as_plain_json() -> None:
    entry = PipelineEntry("test", pipeline(), (EXCERPT,), nodeid="t.py::test_x")
    again = PipelineEntry.from_dict(json.loads(json.dumps(entry.to_dict())))
    assert again == entry  # pipelines compare without their raw JSON; the excerpt's lines come back as a tuple


def test_the_record_keeps_the_richest_entry_per_pipeline(tmp_path: Path) -> None:
    record = GateRecord()
    record.add_pipeline(PipelineEntry("test", pipeline(), (EXCERPT,), nodeid="a"))
    record.add_pipeline(PipelineEntry("test", pipeline(detailed=False), (), nodeid="b"))
    [kept] = record.latest()
    assert kept.nodeid == "a"
    lines = record.summary_lines("https://org.semaphoreci.com")
    assert lines == ["FAILED p1 Release (2m 05s; test a) https://org.semaphoreci.com/workflows/w1?pipeline_id=p1"]
    record.add_error("timeout", NOT_A_VERDICT + "timed out")
    document = json.loads(record.write_json(tmp_path / "r.json", extra={"exitstatus": 1}).read_text())
    assert document["version"] == 1
    assert document["exitstatus"] == 1
    assert document["pipelines"][0]["failed_jobs"] == [
        {"job_id": "j1", "name": "unit", "command": "make test", "exit_code": 2}
    ]
    assert document["errors"] == [{"kind": "timeout", "message": "not a pipeline verdict: timed out"}]


def test_an_api_refusal_says_what_it_means_once() -> None:
    missing = NotFoundError("GET", "/api/v1alpha/pipelines/p9", 404)
    refused = AuthenticationError("GET", "/api/v1alpha/pipelines/p9", 401)
    assert error_message(missing) == (
        "not found (the id does not exist, or this token may not see it): GET /api/v1alpha/pipelines/p9 -> HTTP 404"
    )
    assert error_message(refused).startswith("authentication or permission refused: GET ")
    timeout = WaitTimeout("timed out")
    for error in (missing, refused, timeout):  # a face may word an error and then record it: the words stay one
        worded = type(error).__new__(type(error))
        worded.args = (error_message(error),)
        assert error_message(worded) == error_message(error)


def test_a_failure_is_recorded_with_its_type_and_the_pipeline_last_seen() -> None:
    record = GateRecord()
    running = Pipeline.from_api({"pipeline": {"ppl_id": "p1", "wf_id": "w1", "state": "RUNNING"}, "blocks": []})
    entry = record.add_failure(WaitTimeout("timed out", last_seen=running), base_url="https://org.semaphoreci.com")
    assert entry == {
        "kind": "timeout",
        "message": "not a pipeline verdict: timed out",
        "type": "WaitTimeout",
        "last_seen": pipeline_to_json(running, "https://org.semaphoreci.com"),
    }
    assert entry["last_seen"]["outcome"] is None  # still running: no verdict
    assert entry["last_seen"]["url"] == "https://org.semaphoreci.com/workflows/w1?pipeline_id=p1"
    assert record.add_failure(PromotionFailed("p1", "prod", "refused"), kind="failed")["kind"] == "failed"
    assert record.to_json()["errors"] == [entry, record.errors[1]]
    assert record.summary_lines()[-2:] == [
        "ERROR (timeout) not a pipeline verdict: timed out",
        "ERROR (failed) promotion 'prod' of pipeline p1 failed: refused",
    ]


def test_the_records_pipelines_carry_their_blocks_and_jobs() -> None:
    record = GateRecord()
    record.add_pipeline(PipelineEntry("wait", pipeline(), (EXCERPT,)))
    [listed] = record.to_json(base_url="https://org.semaphoreci.com")["pipelines"]
    assert listed["role"] == "wait"
    assert listed["outcome"] == "failed"
    [block] = listed["blocks"]
    assert [(j["name"], j["result"]) for j in block["jobs"]] == [("unit", "failed"), ("lint", "passed")]
    assert block["jobs"][0]["url"] == "https://org.semaphoreci.com/jobs/j1"
