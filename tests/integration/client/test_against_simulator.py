"""The client's main calls against the local simulator, faults included.

The scripted-server tests pin each rule down; these show the rules hold against a server that keeps state: a
workflow created behind a dropped connection is found by reconciliation and not duplicated, a promotion triggered
behind a reset is not triggered twice, pages are real pages of a real list. Values are checked against the
simulator's world (its truth), not against what the client says. The simulator's clock is advanced by the client's
injected ``sleep``, so retry backoff costs simulated seconds, never real ones.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from pytest_semaphore.client import SemaphoreClient
from pytest_semaphore.errors import APIUnavailable, AuthenticationError, NotFoundError, OutcomeUnknown
from pytest_semaphore.simulator import SemaphoreSimulator
from pytest_semaphore.simulator.definitions import (
    BlockDef,
    CommandDef,
    FaultDef,
    JobDef,
    ParameterDef,
    PipelineDef,
    ProjectDef,
    PromotionDef,
    ScenarioDef,
)

TOKEN = "sim-canary-3c9d-TOKEN"
MAIN = ".semaphore/semaphore.yml"


def scenario() -> ScenarioDef:
    deploy = PipelineDef("Deploy", (BlockDef("Deploy", (JobDef("deploy", (CommandDef("./deploy"),)),)),))
    main = PipelineDef(
        "CI",
        (
            BlockDef(
                "Test",
                (
                    JobDef(
                        "unit",
                        (
                            CommandDef("checkout", output=("Cloning...\n",)),
                            CommandDef("make test", output=("ok 1\n", "FAIL 2\n"), exit_code=2, duration=3.0),
                        ),
                    ),
                ),
            ),
        ),
        promotions=(
            PromotionDef("production", "prod.yml", parameters=(ParameterDef("ENV", required=True, options=("eu",)),)),
        ),
    )
    passing = PipelineDef("Plain", (BlockDef("Only", (JobDef("one"),)),))
    return ScenarioDef(
        projects=(
            ProjectDef("shop", {MAIN: main, "prod.yml": deploy, ".semaphore/plain.yml": passing}),
            ProjectDef("docs", {MAIN: passing}),
        ),
        seed=3,
    )


@pytest.fixture
def sim() -> Iterator[SemaphoreSimulator]:
    with SemaphoreSimulator(scenario(), token=TOKEN) as simulator:
        yield simulator


@pytest.fixture
def client(sim: SemaphoreSimulator) -> Iterator[SemaphoreClient]:
    with SemaphoreClient(sim.url, TOKEN, sleep=sim.advance, monotonic=sim.monotonic, timeout=10) as c:
        yield c


def test_projects_by_name_workflows_pages_and_pipelines(sim: SemaphoreSimulator, client: SemaphoreClient) -> None:
    started = [sim.world.start_workflow("shop", branch="main", commit_sha=f"c{i}") for i in range(4)]
    sim.advance(30)
    assert sorted(p.name for p in client.list_projects()) == ["docs", "shop"]
    wfs = client.list_workflows("shop", branch_name="main", page_size=1)  # 4 pages of one
    assert sorted(w.wf_id for w in wfs) == sorted(wf for wf, _ in started)
    assert len([r for r in sim.requests if r.path.endswith("/plumber-workflows")]) >= 4
    one = client.list_workflows("shop", page_size=1, limit=1)
    assert len(one) == 1
    wf_id, ppl_id = started[0]
    ppl = client.describe_pipeline(ppl_id, detailed=True)
    assert (ppl.state, ppl.result, ppl.wf_id) == ("done", "failed", wf_id)
    assert [j.name for j in ppl.failed_jobs] == ["unit"]
    listed = {p.ppl_id: p for p in client.list_pipelines("shop", page_size=2)}
    assert listed[ppl_id].result == "failed"
    assert set(listed) == {ppl for _, ppl in started}


def test_jobs_and_logs(sim: SemaphoreSimulator, client: SemaphoreClient) -> None:
    _, ppl_id = sim.world.start_workflow("shop")
    sim.advance(30)
    (job_ref,) = client.describe_pipeline(ppl_id, detailed=True).jobs
    job = client.describe_job(job_ref.job_id)
    assert (job.state, job.result) == ("finished", "failed")
    events = list(client.job_log(job.job_id))
    assert events[-1].event == "job_finished"
    assert events[-1].result == "failed"
    text = client.job_log_text(job.job_id)
    assert "make test\n" in text
    assert "FAIL 2\n" in text
    assert "FAIL 2" in client.job_log_plain(job.job_id)


def test_list_jobs_running(sim: SemaphoreSimulator, client: SemaphoreClient) -> None:
    sim.world.start_workflow("shop")
    sim.world.start_workflow("docs")
    sim.advance(3)
    running = client.list_jobs(["RUNNING", "QUEUED", "PENDING"])
    truth = {j.job_id for j in sim.world.jobs() if j.state != "finished"}
    assert {j.job_id for j in running} == truth
    assert truth


def test_run_workflow_reset_after_is_reconciled_without_duplicate(
    sim: SemaphoreSimulator, client: SemaphoreClient
) -> None:
    shop = sim.world.project("shop").project_id
    sim.add_fault(FaultDef("POST /api/v1alpha/plumber-workflows", "reset_after", count=1))
    started = client.run_workflow("shop", "refs/heads/release", commit_sha="abc123", reconcile=True)
    mine = [w for w in sim.world.workflows(shop) if w.branch_name == "release"]
    assert [w.wf_id for w in mine] == [started.wf_id]  # exactly one workflow was created, and it is the one returned
    posts = [r for r in sim.requests if r.method == "POST" and r.path.endswith("/plumber-workflows")]
    assert len(posts) == 1


def test_run_workflow_reset_after_without_reconcile_is_unknown(
    sim: SemaphoreSimulator, client: SemaphoreClient
) -> None:
    sim.add_fault(FaultDef("POST /api/v1alpha/plumber-workflows", "reset_after", count=1))
    with pytest.raises(OutcomeUnknown):
        client.run_workflow("shop", "master")
    posts = [r for r in sim.requests if r.method == "POST" and r.path.endswith("/plumber-workflows")]
    assert len(posts) == 1


def test_promotion_after_reset_is_not_duplicated(sim: SemaphoreSimulator, client: SemaphoreClient) -> None:
    _, ppl_id = sim.world.start_workflow("shop")
    sim.advance(30)
    sim.add_fault(FaultDef("POST /api/v1alpha/promotions", "reset_after", count=1))
    client.trigger_promotion(ppl_id, "production", override=True, parameters={"ENV": "eu"})
    assert len(sim.world.promotions(ppl_id)) == 1


def test_promotion_after_reset_before_is_sent_again(sim: SemaphoreSimulator, client: SemaphoreClient) -> None:
    _, ppl_id = sim.world.start_workflow("shop")
    sim.advance(30)
    sim.add_fault(FaultDef("POST /api/v1alpha/promotions", "reset_before", count=1))
    client.trigger_promotion(ppl_id, "production", override=True, parameters={"ENV": "eu"})
    assert len(sim.world.promotions(ppl_id)) == 1
    posts = [r for r in sim.requests if r.method == "POST" and r.path.endswith("/promotions")]
    assert len(posts) == 2


def test_list_promotions_of_a_pipeline_without_any(sim: SemaphoreSimulator, client: SemaphoreClient) -> None:
    _, ppl_id = sim.world.start_workflow("docs")
    sim.advance(30)
    assert client.list_promotions(ppl_id) == []


def test_transient_faults_are_absorbed_in_simulated_time(sim: SemaphoreSimulator, client: SemaphoreClient) -> None:
    _, ppl_id = sim.world.start_workflow("shop")
    sim.add_fault(FaultDef("GET /api/v1alpha/pipelines/*", "status", status=502, count=2))
    sim.add_fault(FaultDef("GET /api/v1alpha/pipelines/*", "rate_limit", retry_after=5, count=1, after=0))
    before = sim.monotonic()
    assert client.describe_pipeline(ppl_id).ppl_id == ppl_id
    # the backoff and the Retry-After of 5 s were spent in simulated seconds, through the injected sleep
    assert sim.monotonic() - before >= 5


def test_outage_is_unavailable(sim: SemaphoreSimulator, client: SemaphoreClient) -> None:
    _, ppl_id = sim.world.start_workflow("shop")
    sim.add_fault(FaultDef("GET /api/v1alpha/pipelines/*", "status", status=503))
    with pytest.raises(APIUnavailable) as info:
        client.describe_pipeline(ppl_id)
    assert info.value.last_status == 503


def test_wrong_token_and_missing_things(sim: SemaphoreSimulator) -> None:
    with SemaphoreClient(sim.url, "not-the-token", sleep=sim.advance) as stranger:
        with pytest.raises(AuthenticationError) as info:
            stranger.list_projects()
        assert "not-the-token" not in str(info.value)
    with SemaphoreClient(sim.url, TOKEN, sleep=sim.advance) as client:
        with pytest.raises(NotFoundError):
            client.describe_project("no-such-project")
        with pytest.raises(NotFoundError):
            client.describe_pipeline("00000000-0000-0000-0000-000000000000")
