"""Fixtures for the simulator's own tests: a started simulator over the standard world and a raw connection."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from pytest_semaphore.simulator import SemaphoreSimulator

from .helpers import Raw, standard_scenario


@pytest.fixture
def sim() -> Iterator[SemaphoreSimulator]:
    with SemaphoreSimulator(standard_scenario(), token="sim-test-token") as simulator:
        yield simulator


@pytest.fixture
def raw(sim: SemaphoreSimulator) -> Iterator[Raw]:
    connection = Raw(sim.url, sim.token)
    yield connection
    connection.close()


@pytest.fixture
def project_id(sim: SemaphoreSimulator) -> str:
    return sim.world.project("demo").project_id
