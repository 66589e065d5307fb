"""``semaphore-gate promote`` through the one promotion function both faces share: the gate promoting the pipeline
that runs its own job (held running in the simulator, as the real job would be), shards, the refusal when a later
block depends on the gate, a rerun reusing the same promotion, and ``--force``. What was triggered is read from the
simulator's world."""

from __future__ import annotations

import json

from pytest_semaphore.simulator import SemaphoreSimulator
from pytest_semaphore.simulator.definitions import (
    BlockDef,
    JobDef,
    ParameterDef,
    ProjectDef,
    PromotionDef,
    ScenarioDef,
)
from pytest_semaphore.simulator.world import JobRecord

from ..integration.waiting_support import job, pipeline, project
from .support import CANARY, clean_env, gate_here

PRODUCTION = PromotionDef(
    "Production", ".semaphore/deploy.yml", parameters=(ParameterDef("REGION", required=True, options=("eu", "us")),)
)


def _gate_job(index: int, count: int) -> JobDef:
    shard = (("SEMAPHORE_JOB_INDEX", str(index)), ("SEMAPHORE_JOB_COUNT", str(count))) if count > 1 else ()
    return JobDef(name=f"gate - {index}/{count}" if count > 1 else "gate", commands=(), env_vars=shard, hold=True)


def _project(*, shards: int = 1, test_exit: int = 0, after_gate: bool = False) -> ProjectDef:
    """Build -> Tests (90 s) and Build -> Gate (the held job running semaphore-gate); optionally Publish after Gate."""
    blocks = [
        BlockDef("Build", (job("build", duration=20),), dependencies=()),
        BlockDef("Tests", (job("unit", duration=90, exit_code=test_exit),), dependencies=("Build",)),
        BlockDef("Gate", tuple(_gate_job(i, shards) for i in range(1, shards + 1)), dependencies=("Build",)),
    ]
    if after_gate:
        blocks.append(BlockDef("Publish", (job("publish", duration=5),), dependencies=("Gate",)))
    main = pipeline(blocks=tuple(blocks), promotions=(PRODUCTION,))
    return project(main=main, deploy=pipeline(job("deploy", duration=120), name="Deploy"))


def _start(definition: ProjectDef) -> tuple[SemaphoreSimulator, str]:
    sim = SemaphoreSimulator(ScenarioDef(projects=(definition,)), token=CANARY).start()
    _, ppl_id = sim.world.start_workflow("app")
    return sim, ppl_id


def _gate_jobs(sim: SemaphoreSimulator, ppl_id: str) -> list[JobRecord]:
    for _ in range(200):
        jobs = [j for j in sim.world.pipeline(ppl_id).jobs if j.definition.hold]
        if jobs and all(j.state == "running" for j in jobs):
            return jobs
        sim.advance(1)
    raise AssertionError("the gate jobs never started")


def _in_job(sim: SemaphoreSimulator, record: JobRecord) -> dict[str, str]:
    """The environment of the process running in ``record``: Semaphore's job variables, the URL and the token."""
    return clean_env(sim, **dict(record.env_vars))


def test_the_gate_promotes_its_own_pipeline_with_override_once_the_other_jobs_passed() -> None:
    sim, ppl_id = _start(_project())
    with sim:
        (gate,) = _gate_jobs(sim, ppl_id)
        run = gate_here("--json", "promote", "Production", "--param", "REGION=eu", sim=sim, env=_in_job(sim, gate))
        assert run.code == 0, run.err
        (record,) = sim.world.promotions(ppl_id)
        assert record.override
        assert all(j.result == "passed" for j in sim.world.pipeline(ppl_id).jobs if not j.definition.hold)
        doc = json.loads(run.out)
        (promotion,) = doc["promotions"]
        assert promotion["own_pipeline"] is True
        assert promotion["action"] == "triggered"
        assert "not waiting for the promoted pipeline" in run.err


def test_only_the_last_shard_promotes() -> None:
    sim, ppl_id = _start(_project(shards=3))
    with sim:
        shards = _gate_jobs(sim, ppl_id)
        first = gate_here("promote", "Production", "--param", "REGION=eu", sim=sim, env=_in_job(sim, shards[0]))
        assert first.code == 0, first.err
        assert "only the last shard" in first.out
        assert sim.world.promotions(ppl_id) == []
        for done in shards[:-1]:  # they exited after saying so: their jobs end passed
            sim.world.release(done.job_id)
        last = gate_here("promote", "Production", "--param", "REGION=eu", sim=sim, env=_in_job(sim, shards[-1]))
        assert last.code == 0, last.err
        assert len(sim.world.promotions(ppl_id)) == 1


def test_a_block_after_the_gate_is_a_usage_error() -> None:
    sim, ppl_id = _start(_project(after_gate=True))
    with sim:
        (gate,) = _gate_jobs(sim, ppl_id)
        run = gate_here("promote", "Production", "--param", "REGION=eu", sim=sim, env=_in_job(sim, gate))
        assert run.code == 2
        assert "'Publish'" in run.err
        assert sim.world.promotions(ppl_id) == []


def test_a_red_pipeline_is_not_promoted_and_the_gate_exits_with_its_verdict() -> None:
    sim, ppl_id = _start(_project(test_exit=1))
    with sim:
        (gate,) = _gate_jobs(sim, ppl_id)
        run = gate_here("promote", "Production", "--param", "REGION=eu", sim=sim, env=_in_job(sim, gate))
        assert run.code == 1
        assert "not promoted" in run.out
        assert sim.world.promotions(ppl_id) == []


def test_a_rerun_reuses_the_same_promotion_unless_forced() -> None:
    sim, ppl_id = _start(_project(shards=1))
    with sim:
        (gate,) = _gate_jobs(sim, ppl_id)
        sim.world.release(gate.job_id)
        env = clean_env(sim)  # another job: the pipeline is not its own
        args = ("promote", "Production", "--pipeline", ppl_id, "--param", "REGION=eu")
        assert gate_here(*args, sim=sim, env=env).code == 0
        again = gate_here("--json", *args, sim=sim, env=env)
        assert again.code == 0, again.err
        assert json.loads(again.out)["promotions"][0]["action"] == "reused"
        assert len(sim.world.promotions(ppl_id)) == 1
        other_region = gate_here(*args[:-1], "REGION=us", sim=sim, env=env)
        assert other_region.code == 0
        assert len(sim.world.promotions(ppl_id)) == 2
        forced = gate_here(*args, "--force", sim=sim, env=env)
        assert forced.code == 0
        assert len(sim.world.promotions(ppl_id)) == 3
