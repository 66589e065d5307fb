"""Our SemaphoreClient reads every endpoint of the simulator correctly (the simulator's face as clients meet it).

The golden tests prove the simulator speaks like the server; this proves the two halves of the project agree, with
values checked against the world's truth rather than against what the client says.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from pytest_semaphore.client import SemaphoreClient
from pytest_semaphore.simulator import SemaphoreSimulator


@pytest.fixture
def client(sim: SemaphoreSimulator) -> Iterator[SemaphoreClient]:
    with SemaphoreClient(sim.url, sim.token, sleep=sim.advance, monotonic=sim.monotonic) as c:
        yield c


def test_projects_workflows_and_pipelines(sim: SemaphoreSimulator, client: SemaphoreClient) -> None:
    wf_id, ppl_id = sim.world.start_workflow("demo")
    sim.advance(20)
    projects = client.list_projects()
    assert {p.name: p.project_id for p in projects} == {p.name: p.project_id for p in sim.world.projects()}
    assert client.describe_project("demo").project_id == sim.world.project("demo").project_id
    workflow = client.describe_workflow(wf_id)
    assert (workflow.wf_id, workflow.initial_ppl_id, workflow.triggered_by) == (wf_id, ppl_id, "hook")
    listed = client.list_workflows("demo")
    assert [w.wf_id for w in listed] == [w.wf_id for w in sim.world.workflows(sim.world.project("demo").project_id)]
    assert listed[0].triggered_by == "hook"
    truth = sim.world.pipeline(ppl_id)
    described = client.describe_pipeline(ppl_id, detailed=True)
    assert (described.state, described.result, described.result_reason) == ("done", "passed", "test")
    assert [b.name for b in described.blocks] == [b.name for b in truth.blocks]
    assert [j.job_id for b in described.blocks for j in b.jobs] == [j.job_id for j in truth.jobs]
    assert described.done_at is not None
    assert described.done_at.timestamp() == sim.world.timestamp(10.0)
    assert described.stopping_at is None
    from_list = {p.ppl_id: p for p in client.list_pipelines(wf_id=wf_id)}
    assert from_list[ppl_id].result == "passed"
    assert from_list[ppl_id].done_at == described.done_at
    assert [t.name for t in client.describe_topology(ppl_id)] == ["Test", "Package"]


def test_running_pipeline_has_no_result_through_the_client(sim: SemaphoreSimulator, client: SemaphoreClient) -> None:
    _, ppl_id = sim.world.start_workflow("demo")
    sim.advance(4)
    pipeline = client.describe_pipeline(ppl_id)
    assert (pipeline.state, pipeline.result) == ("running", None)


def test_run_reschedule_terminate_partial_rebuild(sim: SemaphoreSimulator, client: SemaphoreClient) -> None:
    started = client.run_workflow("demo", "refs/heads/dev", pipeline_file=".semaphore/failing.yml")
    assert sim.world.workflow(started.wf_id).branch_name == "dev"
    sim.advance(30)
    assert sim.world.pipeline(started.ppl_id).result == "failed"
    new_ppl = client.partial_rebuild(started.ppl_id)
    assert sim.world.pipeline(started.ppl_id).partially_rerun_by == new_ppl
    rerun = client.reschedule_workflow(started.wf_id)
    assert sim.world.workflow(rerun.wf_id).rerun_of == started.wf_id
    client.terminate_pipeline(rerun.ppl_id)
    assert sim.world.pipeline(rerun.ppl_id).result == "canceled"
    other = client.run_workflow("demo", "master")
    client.terminate_workflow(other.wf_id)
    assert sim.world.pipeline(other.ppl_id).result == "canceled"


def test_promotions_through_the_client(sim: SemaphoreSimulator, client: SemaphoreClient) -> None:
    _, ppl_id = sim.world.start_workflow("demo", branch="feature")
    sim.advance(20)
    client.trigger_promotion(ppl_id, "production", parameters={"ENVIRONMENT": "us"})
    sim.advance(3)
    (promotion,) = client.list_promotions(ppl_id)
    (truth,) = sim.world.promotions(ppl_id)
    assert (promotion.name, promotion.status, promotion.scheduled_pipeline_id) == (
        "production",
        "passed",
        truth.scheduled_pipeline_id,
    )
    assert truth.parameters["ENVIRONMENT"] == "us"


def test_jobs_and_logs_through_the_client(sim: SemaphoreSimulator, client: SemaphoreClient) -> None:
    _, ppl_id = sim.world.start_workflow("demo")
    sim.advance(5)
    truth = sim.world.pipeline(ppl_id).jobs[0]
    job = client.describe_job(truth.job_id)
    assert (job.job_id, job.name, job.state, job.result) == (truth.job_id, "unit", "running", None)
    running = client.list_jobs(["RUNNING"])
    assert {j.job_id for j in running} == {j.job_id for j in sim.world.jobs() if j.state == "running"}
    sim.advance(20)
    events = list(client.job_log(truth.job_id))
    assert next(e.event for e in events) == "job_started"
    assert events[-1].result == "passed"
    assert client.job_log_text(truth.job_id).count("ok ") == 2
    assert "make test\n" in client.job_log_plain(truth.job_id)
    client.stop_job(truth.job_id)  # finished: still 200


def test_self_hosted_log_follows_the_redirect_without_the_token(
    sim: SemaphoreSimulator, client: SemaphoreClient
) -> None:
    _, ppl_id = sim.world.start_workflow("demo", pipeline_file=".semaphore/selfhosted.yml")
    sim.advance(20)
    job_id = sim.world.pipeline(ppl_id).jobs[0].job_id
    events = list(client.job_log(job_id))
    assert [e.event for e in events][-1] == "job_finished"
    loghub = [r for r in sim.requests if r.server == "loghub"]
    assert loghub
    assert all("authorization" not in r.headers for r in loghub)


def test_client_survives_injected_5xx(sim: SemaphoreSimulator, client: SemaphoreClient) -> None:
    from pytest_semaphore.simulator.definitions import FaultDef

    _, ppl_id = sim.world.start_workflow("demo")
    sim.add_fault(FaultDef("GET /api/v1alpha/pipelines/*", "status", status=503, count=2))
    assert client.describe_pipeline(ppl_id).ppl_id == ppl_id
    assert [r.status for r in sim.requests if r.path.endswith(ppl_id)] == [503, 503, 200]


def test_wait_for_pipeline_runs_on_the_simulated_clock(sim: SemaphoreSimulator, client: SemaphoreClient) -> None:
    from pytest_semaphore.waiting import Pacing, wait_for_pipeline

    _, ppl_id = sim.world.start_workflow("demo", pipeline_file=".semaphore/failing.yml")
    pipeline = wait_for_pipeline(
        client, ppl_id, timeout=3600, pacing=Pacing(sleep=sim.advance, monotonic=sim.monotonic)
    )
    truth = sim.world.pipeline(ppl_id)
    assert (pipeline.state, pipeline.result) == ("done", "failed")
    assert truth.done_at is not None
    assert sim.monotonic() >= truth.done_at
