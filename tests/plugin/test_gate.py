"""``--semaphore-promote`` in a gate job that promotes its own pipeline: three parallel shards promote once, with
override; a block depending on the gate is refused; a rerun reuses the promotion instead of deploying twice.

The pipeline's "Gate" block holds jobs defined with ``hold=True``: they stay running, standing for the jobs running
these inner pytest sessions, which get each job's own environment (``SEMAPHORE_JOB_ID``, its shard). Everything
else in the pipeline is already done (the simulator's clock is moved ahead), so the gate decides at once. What was
triggered is read from the simulator's world.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from pytest_semaphore.simulator import SemaphoreSimulator
from pytest_semaphore.simulator.definitions import (
    BlockDef,
    JobDef,
    ParameterDef,
    PromotionDef,
    ScenarioDef,
)
from pytest_semaphore.simulator.records import Timings
from pytest_semaphore.simulator.world import JobRecord

from ..integration.waiting_support import job, pipeline, project
from .conftest import CANARY

PRODUCTION = PromotionDef("production", ".semaphore/deploy.yml", parameters=(ParameterDef("REGION", required=True),))


def gate_scenario(*, shards: int, after_gate: bool = False) -> ScenarioDef:
    """Build -> Tests, and Build -> Gate (``shards`` held jobs); optionally Publish after Gate. No shards: no Gate
    block (a pipeline that ends by itself)."""
    gate_jobs = tuple(
        JobDef(
            name=f"gate - {i}/{shards}",
            commands=(),
            env_vars=(("SEMAPHORE_JOB_INDEX", str(i)), ("SEMAPHORE_JOB_COUNT", str(shards))),
            hold=True,
        )
        for i in range(1, shards + 1)
    )
    blocks = [
        BlockDef("Build", (job("build", duration=20),), dependencies=()),
        BlockDef("Tests", (job("unit", duration=60),), dependencies=("Build",)),
    ]
    if gate_jobs:
        blocks.append(BlockDef("Gate", gate_jobs, dependencies=("Build",)))
    if after_gate:
        blocks.append(BlockDef("Publish", (job("publish", duration=5),), dependencies=("Gate",)))
    main = pipeline(blocks=tuple(blocks), promotions=(PRODUCTION,))
    return ScenarioDef(projects=(project(main=main, deploy=pipeline(job("deploy", duration=30))),))


@pytest.fixture
def simulator() -> Iterator[SemaphoreSimulator]:
    # Semaphore handles a triggered promotion within a quarter of a second here (2 s by default): the inner session,
    # polling on the real clock, still sees it processing at its first look and handled at its next (2 s later),
    # instead of racing the 2 s default and most often losing, which cost a 3 s poll more per session.
    timings = Timings(promotion=0.25)
    with SemaphoreSimulator(ScenarioDef(projects=()), token=CANARY, speed=1.0, timings=timings) as running:
        yield running


def start(simulator: SemaphoreSimulator, scenario: ScenarioDef) -> tuple[str, list[JobRecord]]:
    """Start the gate's pipeline and move time until its other jobs are done and the gate's shards are running."""
    for definition in scenario.projects:
        simulator.world.add_project(definition)
    _, ppl_id = simulator.world.start_workflow("app")
    simulator.advance(600)
    shards = [j for j in simulator.world.pipeline(ppl_id).jobs if j.definition.hold]
    assert all(j.state == "running" for j in shards)
    return ppl_id, shards


def gate_session(
    pytester: pytest.Pytester, simulator: SemaphoreSimulator, ppl_id: str, shard: JobRecord | None, *args: str
) -> pytest.RunResult:
    """One shard's pytest session, in that job's environment (as Semaphore sets it); no shard: a job elsewhere."""
    pytester.makepyfile(test_inner="def test_release():\n    pass\n")
    env = {
        **(dict(shard.env_vars) if shard is not None else {}),
        "SEMAPHORE_ORGANIZATION_URL": simulator.url,
        "SEMAPHORE_API_TOKEN": CANARY,
        "SEMAPHORE_PIPELINE_ID": ppl_id,
    }
    with pytest.MonkeyPatch.context() as mp:
        for name, value in env.items():
            mp.setenv(name, value)
        result = pytester.runpytest_subprocess(
            "--semaphore-promote=production", "--semaphore-promote-param=REGION=eu", *args
        )
    assert CANARY not in result.stdout.str() + result.stderr.str()
    return result


def manual(simulator: SemaphoreSimulator, ppl_id: str) -> list[tuple[str, bool, dict[str, str]]]:
    return [(r.name, r.override, r.parameters) for r in simulator.world.promotions(ppl_id) if not r.auto]


def test_three_parallel_shards_promote_their_own_pipeline_once(
    pytester: pytest.Pytester, simulator: SemaphoreSimulator
) -> None:
    ppl_id, shards = start(simulator, gate_scenario(shards=3))
    for shard in shards[:2]:
        result = gate_session(pytester, simulator, ppl_id, shard)
        assert result.ret == 0
        result.stdout.fnmatch_lines(["semaphore: *shard*"])
        assert manual(simulator, ppl_id) == []
        simulator.world.release(shard.job_id)  # the shard's job ends after its tests
    last = gate_session(pytester, simulator, ppl_id, shards[2])
    assert last.ret == 0, last.stdout.str()
    assert manual(simulator, ppl_id) == [("production", True, {"REGION": "eu"})]
    last.stdout.fnmatch_lines(["*PROMOTION 'production' of * triggered*"])


def test_a_rerun_reuses_the_promotion_unless_forced(pytester: pytest.Pytester, simulator: SemaphoreSimulator) -> None:
    """Promoting a done pipeline from a job elsewhere (no ``SEMAPHORE_JOB_ID`` of it), twice: the second run finds
    the first promotion, with the same parameters, and reuses it; ``--semaphore-promote-force`` triggers again."""
    ppl_id, _ = start(simulator, gate_scenario(shards=0))
    assert gate_session(pytester, simulator, ppl_id, None, "--semaphore-promote-no-wait").ret == 0
    simulator.advance(60)  # the promotion is processed and schedules its pipeline
    rerun = gate_session(pytester, simulator, ppl_id, None, "--semaphore-promote-no-wait")
    assert rerun.ret == 0
    rerun.stdout.fnmatch_lines(["*PROMOTION 'production' of * reused*"])
    assert manual(simulator, ppl_id) == [("production", False, {"REGION": "eu"})]
    forced = gate_session(pytester, simulator, ppl_id, None, "--semaphore-promote-no-wait", "--semaphore-promote-force")
    assert forced.ret == 0
    assert len(manual(simulator, ppl_id)) == 2


def test_a_block_depending_on_the_gate_is_refused(pytester: pytest.Pytester, simulator: SemaphoreSimulator) -> None:
    ppl_id, [shard] = start(simulator, gate_scenario(shards=1, after_gate=True))
    result = gate_session(pytester, simulator, ppl_id, shard)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stdout.fnmatch_lines(["*Publish*"])
    assert manual(simulator, ppl_id) == []
