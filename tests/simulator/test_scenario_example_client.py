"""The bundled release train rehearsed the way a user's gate runs it: our client and waiting functions against the
simulator, on the simulator's clock (an hour of simulated time costs milliseconds).

The simulator's own tests read raw HTTP (helpers.py) so that client and simulator cannot hide each other's mistakes;
this file is the other half, the scenario as a user meets it.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import pytest

import pytest_semaphore.simulator as simulator_package
from pytest_semaphore.client import SemaphoreClient
from pytest_semaphore.simulator import SemaphoreSimulator
from pytest_semaphore.waiting import Pacing, wait_for_pipeline, wait_for_promotion

EXAMPLE = Path(simulator_package.__file__).parent / "examples" / "release-train"


@pytest.fixture
def rehearsal(request: pytest.FixtureRequest) -> Iterator[tuple[SemaphoreSimulator, SemaphoreClient]]:
    scenario = EXAMPLE / request.param
    with SemaphoreSimulator(scenario) as sim:
        client = SemaphoreClient(sim.url, token=sim.token, sleep=sim.advance, monotonic=sim.monotonic)
        try:
            yield sim, client
        finally:
            client.close()


@pytest.mark.parametrize("rehearsal", ["scenario.yml"], indirect=True)
def test_the_green_train_passes_and_production_is_promoted_with_parameters(
    rehearsal: tuple[SemaphoreSimulator, SemaphoreClient],
) -> None:
    sim, client = rehearsal
    (train,) = client.list_pipelines("release-train")
    pacing = Pacing(sleep=sim.advance, monotonic=sim.monotonic, rng=random.Random(4))
    done = wait_for_pipeline(client, train.ppl_id, timeout=3600, pacing=pacing)
    assert (done.state, done.result) == ("done", "passed")

    result = wait_for_promotion(
        client,
        train.ppl_id,
        "Production",
        parameters={"REGION": "us-east-1", "RELEASE_NOTE": "faster checkout"},
        timeout=3600,
        pacing=Pacing(sleep=sim.advance, monotonic=sim.monotonic, rng=random.Random(5)),
    )
    assert result.outcome.value == "passed"
    assert result.pipeline.name == "Deploy to production"
    promoted = sim.world.pipeline(result.pipeline.ppl_id)
    assert dict(promoted.env_vars) == {"REGION": "us-east-1", "RELEASE_NOTE": "faster checkout"}
    names = {p.name for p in client.list_pipelines("release-train")}
    assert names == {"Release train", "Deploy to staging", "Deploy to production"}  # staging came automatically


@pytest.mark.parametrize("rehearsal", ["failing.yml"], indirect=True)
def test_the_red_train_fails_on_the_configured_job(rehearsal: tuple[SemaphoreSimulator, SemaphoreClient]) -> None:
    sim, client = rehearsal
    (train,) = client.list_pipelines("release-train")
    pacing = Pacing(sleep=sim.advance, monotonic=sim.monotonic)
    done = wait_for_pipeline(client, train.ppl_id, timeout=3600, detailed=True, pacing=pacing)
    assert (done.result, done.result_reason) == ("failed", "test")
    failed = [job.name for block in done.blocks for job in block.jobs if job.result == "failed"]
    assert failed == ["Unit tests - 2/3"]
    assert client.list_promotions(train.ppl_id) == []
