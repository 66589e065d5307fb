"""Golden raw responses for a held job (``JobDef(hold=True)``): the job that runs the code under test.

It stays running, in every view the API gives (pipeline describe, jobs API, logs), until the test releases it; its
pipeline is then still promotable only with ``override``, as on Semaphore.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from pytest_semaphore.simulator import SemaphoreSimulator
from pytest_semaphore.simulator.definitions import (
    BlockDef,
    CommandDef,
    JobDef,
    PipelineDef,
    ProjectDef,
    PromotionDef,
    ScenarioDef,
)

from .helpers import MAIN, Raw

API = "/api/v1alpha"
EPOCH = 1767225600


def held_scenario() -> ScenarioDef:
    gate = JobDef("gate", (CommandDef("pytest --semaphore-promote production", output=("collected\n",)),), hold=True)
    main = PipelineDef(
        "Gate",
        (BlockDef("Test", (JobDef("unit", (CommandDef("make test", duration=2.0),)), gate)),),
        promotions=(PromotionDef("production", ".semaphore/deploy.yml"),),
    )
    deploy = PipelineDef("Deploy", (BlockDef("Deploy", (JobDef("deploy"),)),))
    return ScenarioDef(projects=(ProjectDef("demo", {MAIN: main, ".semaphore/deploy.yml": deploy}),))


@pytest.fixture
def held() -> Iterator[tuple[SemaphoreSimulator, Raw]]:
    with SemaphoreSimulator(held_scenario(), token="sim-test-token") as simulator:
        connection = Raw(simulator.url, simulator.token)
        yield simulator, connection
        connection.close()


def _start(sim: SemaphoreSimulator) -> tuple[str, str]:
    """Start the pipeline and run it an hour: everything but the held job is long done. Returns (ppl_id, job_id)."""
    _, ppl_id = sim.world.start_workflow("demo")
    sim.advance(3600)
    (gate,) = [j for j in sim.world.pipeline(ppl_id).jobs if j.name == "gate"]
    return ppl_id, gate.job_id


def test_a_held_job_runs_until_released_in_every_view(held: tuple[SemaphoreSimulator, Raw]) -> None:
    sim, raw = held
    ppl_id, job_id = _start(sim)
    block = raw.get(f"{API}/pipelines/{ppl_id}?detailed=true").json()["blocks"][0]
    assert [(j["name"], j["status"], j["result"]) for j in block["jobs"]] == [
        ("unit", "FINISHED", "PASSED"),
        ("gate", "RUNNING", "PASSED"),  # the proto default, as the server sends it for an unfinished job
    ]
    assert block["state"] == "running"
    assert raw.get(f"{API}/pipelines/{ppl_id}").json()["pipeline"]["state"] == "running"
    job = raw.get(f"{API}/jobs/{job_id}").json()
    assert (job["status"]["state"], job["status"]["result"]) == ("RUNNING", "NONE")
    assert {"name": "SEMAPHORE_JOB_ID", "value": job_id} in job["spec"]["env_vars"]
    assert {"name": "SEMAPHORE_PIPELINE_ID", "value": ppl_id} in job["spec"]["env_vars"]
    events = raw.get(f"{API}/logs/{job_id}").json()["events"]
    assert events[0]["event"] == "job_started"
    assert "job_finished" not in [e["event"] for e in events]
    assert events[-1]["event"] == "cmd_finished"  # its command is done; the job goes on
    assert events[-1]["directive"] == "pytest --semaphore-promote production"

    sim.world.release(job_id)
    finished = raw.get(f"{API}/jobs/{job_id}").json()
    assert (finished["status"]["state"], finished["status"]["result"]) == ("FINISHED", "PASSED")
    assert finished["metadata"]["finish_time"] == str(EPOCH + 3600)
    events = raw.get(f"{API}/logs/{job_id}").json()["events"]
    assert events[-1] == {"event": "job_finished", "timestamp": EPOCH + 3600, "result": "passed"}
    described = raw.get(f"{API}/pipelines/{ppl_id}").json()["pipeline"]
    assert (described["state"], described["result"]) == ("done", "passed")


def test_a_held_job_released_as_failed_fails_its_pipeline(held: tuple[SemaphoreSimulator, Raw]) -> None:
    sim, raw = held
    ppl_id, job_id = _start(sim)
    sim.world.release(job_id, "failed")
    described = raw.get(f"{API}/pipelines/{ppl_id}").json()["pipeline"]
    assert (described["state"], described["result"], described["result_reason"]) == ("done", "failed", "test")
    assert raw.get(f"{API}/logs/{job_id}").json()["events"][-1]["result"] == "failed"


def test_release_refuses_what_it_cannot_do(held: tuple[SemaphoreSimulator, Raw]) -> None:
    sim, _ = held
    _, ppl_id = sim.world.start_workflow("demo")
    sim.advance(2.1)  # the block started at 2.0; its jobs are queued at 2.25
    gate, unit = (next(j for j in sim.world.pipeline(ppl_id).jobs if j.name == n) for n in ("gate", "unit"))
    with pytest.raises(ValueError, match="is pending, not running"):
        sim.world.release(gate.job_id)
    sim.advance(1.4)  # started at 3.0, its one-second command is still running at 3.5
    with pytest.raises(ValueError, match="still running its commands"):
        sim.world.release(gate.job_id)
    with pytest.raises(ValueError, match="is not held"):
        sim.world.release(unit.job_id)
    sim.advance(1)
    with pytest.raises(ValueError, match="passed, failed or stopped"):
        sim.world.release(gate.job_id, "canceled")
    sim.world.release(gate.job_id, "stopped")
    with pytest.raises(ValueError, match="is finished, not running"):
        sim.world.release(gate.job_id)


def test_the_running_pipeline_is_promoted_only_with_override(held: tuple[SemaphoreSimulator, Raw]) -> None:
    sim, raw = held
    ppl_id, job_id = _start(sim)
    refused = raw.post_json(f"{API}/promotions", {"pipeline_id": ppl_id, "name": "production"})
    assert refused.status == 409
    assert refused.json() == {
        "code": "REFUSED",
        "message": "Triggering target when pipeline is not passed requires override confirmation.",
    }
    assert sim.world.promotions(ppl_id) == []
    accepted = raw.post_json(f"{API}/promotions", {"pipeline_id": ppl_id, "name": "production", "override": True})
    assert (accepted.status, accepted.body) == (200, b'"Promotion successfully triggered."')
    (record,) = raw.get(f"{API}/promotions?pipeline_id={ppl_id}").json()
    assert (record["override"], record["status"]) == (True, "processing")
    sim.advance(60)
    assert raw.get(f"{API}/promotions?pipeline_id={ppl_id}").json()[0]["status"] == "processing"  # until it is done
    sim.world.release(job_id)
    sim.advance(0.1)
    (handled,) = raw.get(f"{API}/promotions?pipeline_id={ppl_id}").json()
    assert handled["status"] == "passed"
    assert sim.world.pipeline(handled["scheduled_pipeline_id"]).promotion_of == ppl_id
