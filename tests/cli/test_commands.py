"""Each subcommand in-process on the simulator's manual clock: what it prints, its ``--json`` and ``--jsonl`` output
checked against the simulator's world, and the files it writes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from lxml import etree

from pytest_semaphore.client import SemaphoreClient
from pytest_semaphore.simulator import SemaphoreSimulator
from pytest_semaphore.waiting import Pacing

from .support import CANARY, ESCAPE, FAILING, PROJECT, RELEASE_TRAIN, clean_env, first_pipeline, gate_here


@pytest.fixture
def green() -> Iterator[SemaphoreSimulator]:
    with SemaphoreSimulator(RELEASE_TRAIN, token=CANARY) as sim:
        yield sim


@pytest.fixture
def red() -> Iterator[SemaphoreSimulator]:
    with SemaphoreSimulator(FAILING, token=CANARY) as sim:
        yield sim


def _world_state(sim: SemaphoreSimulator, ppl_id: str) -> tuple[str, str | None]:
    record = sim.world.pipeline(ppl_id)
    return record.state, record.result


# --------------------------------------------------------------------------------------------------- wait


def test_wait_prints_one_plain_line_per_change_and_exits_0(green: SemaphoreSimulator) -> None:
    ppl_id = first_pipeline(green)
    run = gate_here("wait", ppl_id, sim=green)
    assert run.code == 0, run.err
    assert not ESCAPE.search(run.out), "no escape codes without a terminal"
    progress = [line for line in run.out.splitlines() if line.startswith("[")]
    assert len(progress) == len(set(progress)), "a line repeated: one line per change, never one per poll"
    assert any("Build > Build: running" in line for line in progress)
    assert progress[-1].endswith("done passed")
    assert run.out.splitlines()[-1].startswith("Verdict: passed (exit code 0)")
    assert _world_state(green, ppl_id) == ("done", "passed")


def test_wait_for_a_failing_pipeline_exits_1_with_the_excerpt_and_the_job_url(red: SemaphoreSimulator) -> None:
    ppl_id = first_pipeline(red)
    run = gate_here("wait", ppl_id, "--lines", "5", sim=red)
    assert run.code == 1
    assert "assert 119 == 120" in run.out
    assert 'Semaphore job "Unit tests - 2/3"' in run.out
    assert "exited with code 1" in run.out
    failed_job = next(j for b in red.world.pipeline(ppl_id).blocks for j in b.jobs if j.result == "failed")
    assert f"Job: {red.url}/jobs/{failed_job.job_id}" in run.out
    assert "Verdict: failed (exit code 1)" in run.out


def test_wait_json_is_one_document_matching_the_world(red: SemaphoreSimulator) -> None:
    ppl_id = first_pipeline(red)
    run = gate_here("--json", "wait", ppl_id, sim=red)
    assert run.code == 1
    doc = json.loads(run.out)  # stdout holds the document and nothing else
    assert doc["verdict"] == "failed"
    assert doc["exit_code"] == 1
    (pipeline,) = doc["pipelines"]
    record = red.world.pipeline(ppl_id)
    assert (pipeline["ppl_id"], pipeline["state"], pipeline["result"]) == (ppl_id, record.state, record.result)
    assert (pipeline["role"], pipeline["outcome"]) == ("wait", "failed")
    assert pipeline["url"] == f"{red.url}/workflows/{record.wf_id}?pipeline_id={ppl_id}"
    failed = [{"job_id": j.job_id, "name": j.name} for b in record.blocks for j in b.jobs if j.result == "failed"]
    assert [{k: j[k] for k in ("job_id", "name")} for j in pipeline["failed_jobs"]] == failed
    assert doc["version"] == 1, "the document the pytest face writes with --semaphore-json, plus the command's part"
    (failure,) = doc["failures"]
    assert failure["job_name"] == "Unit tests - 2/3"
    assert failure["exit_code"] == 1
    assert "assert 119 == 120" in "\n".join(failure["lines"])
    assert "Verdict: failed" in run.err, "people's text goes to stderr with --json"


def test_wait_jsonl_is_one_event_per_change_then_the_verdict(green: SemaphoreSimulator) -> None:
    ppl_id = first_pipeline(green)
    run = gate_here("wait", ppl_id, "--jsonl", sim=green)  # a global option after the subcommand
    assert run.code == 0
    events = [json.loads(line) for line in run.out.splitlines()]
    kinds = [e["event"] for e in events]
    assert kinds[-1] == "verdict"
    assert events[-1]["verdict"] == "passed"
    states = [e["state"] for e in events if e["event"] == "pipeline"]
    assert states[-1] == "done"
    assert len(states) == len(set(states)), "one event per change"
    job_ids = {e["job_id"] for e in events if e["event"] == "job"}
    assert job_ids == {j.job_id for b in green.world.pipeline(ppl_id).blocks for j in b.jobs}


def test_wait_finds_the_pipeline_of_a_project_branch_and_commit(green: SemaphoreSimulator) -> None:
    ppl_id = first_pipeline(green)
    sha = green.world.pipeline(ppl_id).commit_sha
    run = gate_here("--json", "wait", "--project", PROJECT, "--branch", "master", "--commit", sha[:7], sim=green)
    assert run.code == 0, run.err
    assert [p["ppl_id"] for p in json.loads(run.out)["pipelines"]] == [ppl_id]


def test_wait_for_a_workflow_waits_for_its_pipelines(green: SemaphoreSimulator) -> None:
    ppl_id = first_pipeline(green)
    wf_id = green.world.pipeline(ppl_id).wf_id
    run = gate_here("--json", "wait", "--workflow", wf_id, sim=green)
    assert run.code == 0, run.err
    assert ppl_id in [p["ppl_id"] for p in json.loads(run.out)["pipelines"]]


def test_wait_for_several_pipelines_exits_with_the_worst(red: SemaphoreSimulator) -> None:
    failing = first_pipeline(red)
    _, passing = red.world.start_workflow(PROJECT, branch="release", pipeline_file=".semaphore/staging.yml")
    run = gate_here("--json", "wait", passing, failing, sim=red)
    assert run.code == 1
    outcomes = {p["ppl_id"]: p["outcome"] for p in json.loads(run.out)["pipelines"]}
    assert outcomes == {passing: "passed", failing: "failed"}


def test_a_stopped_pipeline_exits_3(green: SemaphoreSimulator) -> None:
    ppl_id = first_pipeline(green)
    green.advance(60)
    green.world.terminate_pipeline(ppl_id)
    run = gate_here("wait", ppl_id, sim=green)
    assert run.code == 3
    assert "Verdict: stopped (exit code 3)" in run.out


def test_a_timeout_exits_124_saying_it_is_not_a_verdict(green: SemaphoreSimulator) -> None:
    ppl_id = first_pipeline(green)
    run = gate_here("wait", ppl_id, "--timeout", "30", "--cancel-on-timeout", sim=green)
    assert run.code == 124
    assert "not a pipeline verdict: timed out after 30 s" in run.err
    assert green.monotonic() < 60, "the wait gave up at its timeout (simulated seconds)"
    green.advance(30)
    assert _world_state(green, ppl_id)[1] == "stopped", "--cancel-on-timeout terminated the named pipeline"


def test_fail_fast_exits_1_with_the_failed_jobs_excerpt(red: SemaphoreSimulator) -> None:
    ppl_id = first_pipeline(red)
    run = gate_here("wait", ppl_id, "--fail-fast", sim=red)
    assert run.code == 1
    assert "failed fast" in run.err
    assert "assert 119 == 120" in run.out, "the failed job's excerpt is shown"


# --------------------------------------------------------------------------------------------------- status, logs


def test_status_is_one_look_exit_0_while_running_then_the_verdict(red: SemaphoreSimulator) -> None:
    ppl_id = first_pipeline(red)
    red.advance(10)
    running = gate_here("status", ppl_id, sim=red)
    assert running.code == 0
    assert f"({ppl_id[:8]}): running" in running.out
    assert red.monotonic() == 10, "status does not wait"
    red.advance(3600)
    done = gate_here("status", ppl_id, sim=red)
    assert done.code == 1
    assert "Unit tests - 2/3: finished, failed" in done.out
    assert gate_here("status", ppl_id, "--no-exit-code", sim=red).code == 0
    doc = json.loads(gate_here("--json", "status", ppl_id, sim=red).out)
    record = red.world.pipeline(ppl_id)
    assert (doc["status"]["state"], doc["status"]["outcome"], doc["exit_code"]) == ("done", "failed", 1)
    jobs = {j["job_id"]: (j["status"], j["result"]) for b in doc["status"]["blocks"] for j in b["jobs"]}
    assert jobs == {j.job_id: ("finished", j.result) for b in record.blocks for j in b.jobs}


def _failed_job(sim: SemaphoreSimulator, ppl_id: str) -> str:
    sim.advance(3600)
    return next(j.job_id for b in sim.world.pipeline(ppl_id).blocks for j in b.jobs if j.result == "failed")


def test_logs_shows_the_excerpt_by_default_the_whole_log_with_full(red: SemaphoreSimulator) -> None:
    job_id = _failed_job(red, first_pipeline(red))
    excerpt = gate_here("logs", job_id, "--lines", "1", sim=red)
    assert excerpt.code == 0
    assert "--- last 1 of 2 lines of its output ---" in excerpt.out
    assert "== 1 failed, 136 passed" in excerpt.out
    full = gate_here("logs", job_id, "--full", sim=red)
    assert full.code == 0
    assert "$ make test PARTITION=$SEMAPHORE_JOB_INDEX" in full.out or "make test" in full.out
    assert "assert 119 == 120" in full.out
    raw = gate_here("logs", job_id, "--raw", sim=red)
    events = [json.loads(line) for line in raw.out.splitlines()]
    assert events
    assert all("event" in e for e in events)


def test_logs_of_a_job_that_echoes_a_secret_redact_it(green: SemaphoreSimulator) -> None:
    green.advance(3600)
    with SemaphoreClient(green.url, CANARY, sleep=green.advance) as client:
        from pytest_semaphore.waiting import wait_for_promotion

        done = wait_for_promotion(
            client,
            first_pipeline(green),
            "Production",
            parameters={"REGION": "eu-west-1"},
            pacing=Pacing(sleep=green.advance, monotonic=green.monotonic),
        )
        job_id = client.describe_pipeline(done.pipeline.ppl_id, detailed=True).jobs[0].job_id
    for mode in ((), ("--full",), ("--raw",)):
        run = gate_here("logs", job_id, *mode, sim=green)
        assert run.code == 0
        assert "release-train-deploy-secret" not in run.out, f"secret shown by logs {mode}"
        assert "[REDACTED]" in run.out or not mode, "the log does echo the secret: it must be redacted, not absent"


# --------------------------------------------------------------------------------------------------- promote, run


def test_promote_waits_for_the_parent_then_for_the_promoted_pipeline(green: SemaphoreSimulator) -> None:
    ppl_id = first_pipeline(green)
    run = gate_here("--json", "promote", "Production", "--pipeline", ppl_id, "--param", "REGION=us-east-1", sim=green)
    assert run.code == 0, run.err
    doc = json.loads(run.out)
    (promotion,) = doc["promotions"]
    promoted = promotion["promotion"]["scheduled_pipeline_id"]
    assert promotion["parameters"] == {"REGION": "us-east-1"}
    assert promotion["action"] == "triggered"
    record = green.world.pipeline(promoted)
    assert (record.state, record.result) == ("done", "passed")
    assert record.promotion_of == ppl_id
    assert [(p["ppl_id"], p["role"], p["promotion"]) for p in doc["pipelines"]] == [
        (promoted, "promoted", "Production")
    ]


def test_promote_takes_the_pipeline_from_the_environment_and_jsonl_reports_the_trigger(
    green: SemaphoreSimulator,
) -> None:
    ppl_id = first_pipeline(green)
    env = clean_env(green, SEMAPHORE_PIPELINE_ID=ppl_id)
    run = gate_here("--jsonl", "promote", "Production", "--param", "REGION=eu-west-1", sim=green, env=env)
    assert run.code == 0, run.err
    events = [json.loads(line) for line in run.out.splitlines()]
    (triggered,) = [e for e in events if e["event"] == "promotion_triggered"]
    assert triggered["ppl_id"] == ppl_id
    assert triggered["parameters"] == {"REGION": "eu-west-1"}
    (record,) = [r for r in green.world.promotions(ppl_id) if not r.auto]
    assert record.parameters == {"REGION": "eu-west-1"}
    watched = {e["ppl_id"] for e in events if e["event"] == "pipeline"}
    assert record.scheduled_pipeline_id in watched, "the promoted pipeline was waited for"
    assert events[-1] == {**events[-1], "event": "verdict", "verdict": "passed"}


def test_a_promotion_the_server_rejects_exits_4(green: SemaphoreSimulator) -> None:
    ppl_id = first_pipeline(green)
    run = gate_here("promote", "Production", "--pipeline", ppl_id, "--param", "REGION=mars", sim=green)
    assert run.code == 4
    assert "POST /api/v1alpha/promotions -> HTTP 500" in run.err


def test_promote_no_wait_triggers_and_exits_0(green: SemaphoreSimulator) -> None:
    ppl_id = first_pipeline(green)
    green.advance(3600)
    run = gate_here(
        "promote", "Production", "--pipeline", ppl_id, "--param", "REGION=eu-west-1", "--no-wait", sim=green
    )
    assert run.code == 0, run.err
    green.advance(60)
    with SemaphoreClient(green.url, CANARY) as client:
        assert [p.name for p in client.list_promotions(ppl_id) if not p.automatic] == ["Production"]


def test_run_starts_one_workflow_and_waits_for_it(green: SemaphoreSimulator) -> None:
    project = green.world.project(PROJECT)
    before = {w.wf_id for w in green.world.workflows(project.project_id)}
    run = gate_here("--json", "run", PROJECT, "--ref", "refs/heads/feature", sim=green)
    assert run.code == 0, run.err
    doc = json.loads(run.out)
    after = {w.wf_id for w in green.world.workflows(project.project_id)}
    assert after - before == {doc["workflow"]["wf_id"]}
    assert green.world.pipeline(doc["workflow"]["ppl_id"]).result == "passed"


# --------------------------------------------------------------------------------------------------- reports


def test_junit_writes_the_pipeline_as_a_strictly_valid_report(red: SemaphoreSimulator, tmp_path: Path) -> None:
    ppl_id = first_pipeline(red)
    red.advance(3600)
    report = tmp_path / "out" / "report.xml"
    run = gate_here("junit", ppl_id, "-o", str(report), sim=red)
    assert run.code == 0, run.err
    root = etree.parse(str(report), etree.XMLParser(resolve_entities=False)).getroot()
    failed = [c.get("name") for c in root.iter("testcase") if c.find("failure") is not None]
    assert failed == ["Unit tests - 2/3"]


def test_attach_logs_puts_the_excerpt_into_the_reports_failed_testcases(
    red: SemaphoreSimulator, tmp_path: Path
) -> None:
    ppl_id = first_pipeline(red)
    red.advance(3600)
    report = tmp_path / "junit.xml"
    report.write_text(
        '<?xml version="1.0" encoding="utf-8"?><testsuites><testsuite name="pytest">'
        '<testcase classname="tests.test_release" name="test_deploy"><failure message="boom"/></testcase>'
        '<testcase classname="tests.test_release" name="test_ok"/>'
        "</testsuite></testsuites>",
        encoding="utf-8",
    )
    run = gate_here("attach-logs", str(report), "--pipeline", ppl_id, sim=red)
    assert run.code == 0, run.err
    root = etree.parse(str(report)).getroot()
    cases = {c.get("name"): c for c in root.iter("testcase")}
    out = cases["test_deploy"].findtext("system-out")
    assert out is not None
    assert "assert 119 == 120" in out
    assert cases["test_ok"].find("system-out") is None
    named = gate_here(
        "attach-logs", str(report), "--pipeline", ppl_id, "--test", "tests/test_release.py::test_ok", sim=red
    )
    assert named.code == 0
    assert etree.parse(str(report)).getroot().find(".//testcase[@name='test_ok']/system-out") is not None


def test_report_writes_markdown_or_html_by_suffix(red: SemaphoreSimulator, tmp_path: Path) -> None:
    ppl_id = first_pipeline(red)
    red.advance(3600)
    for name in ("summary.md", "summary.html"):
        run = gate_here("report", ppl_id, "-o", str(tmp_path / name), sim=red)
        assert run.code == 0, run.err
    html = (tmp_path / "summary.html").read_text(encoding="utf-8")
    assert html.lstrip().lower().startswith("<!doctype html")
    assert "Unit tests - 2/3" in (tmp_path / "summary.md").read_text(encoding="utf-8")


def test_wait_for_a_named_workflow_cancels_its_pipelines_on_timeout(green: SemaphoreSimulator) -> None:
    ppl_id = first_pipeline(green)
    wf_id = green.world.pipeline(ppl_id).wf_id
    run = gate_here("wait", "--workflow", wf_id, "--timeout", "30", "--cancel-on-timeout", sim=green)
    assert run.code == 124
    assert f"terminated {ppl_id}" in run.err
    green.advance(30)
    assert _world_state(green, ppl_id)[1] == "stopped"


def test_json_on_a_timeout_is_still_one_document_naming_the_error_and_the_last_pipeline_seen(
    green: SemaphoreSimulator,
) -> None:
    ppl_id = first_pipeline(green)
    run = gate_here("--json", "wait", ppl_id, "--timeout", "30", sim=green)
    assert run.code == 124
    doc = json.loads(run.out)
    assert doc["exit_code"] == 124
    assert doc["error"]["type"] == "WaitTimeout"
    assert doc["error"]["message"].startswith("not a pipeline verdict: timed out after 30 s")
    assert doc["last_seen"]["ppl_id"] == ppl_id
    assert doc["last_seen"]["state"] == "running"
    assert doc["last_seen"]["url"].startswith(green.url)


def test_quiet_drops_progress_then_everything_but_errors(green: SemaphoreSimulator) -> None:
    ppl_id = first_pipeline(green)
    quiet = gate_here("-q", "wait", ppl_id, sim=green)
    assert quiet.code == 0
    assert not [line for line in quiet.out.splitlines() if line.startswith("[")]
    assert "Verdict: passed" in quiet.out
    silent = gate_here("wait", ppl_id, "-qq", sim=green)
    assert silent.code == 0
    assert silent.out == ""
    assert silent.err == ""


def test_a_whole_log_is_refused_with_json_output(red: SemaphoreSimulator) -> None:
    job_id = _failed_job(red, first_pipeline(red))
    run = gate_here("--json", "logs", job_id, "--full", sim=red)
    assert run.code == 2
    assert "choose one" in run.err
    assert json.loads(run.out)["exit_code"] == 2
