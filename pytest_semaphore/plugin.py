"""pytest glue: options, fixtures and report hooks. Thin by design: every decision lives in the core modules.

Heavy modules (requests, the simulator) are imported inside the fixtures that need them, so that a pytest run that
does not use the plugin pays almost nothing for it being installed.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from pytest_semaphore.simulator import SemaphoreSimulator


# --- the local simulator ----------------------------------------------------------------------------------------


@pytest.fixture
def semaphore_simulator_scenario() -> object:
    """The world ``semaphore_simulator`` starts with: ``None`` (empty), a ``ScenarioDef``, or a scenario path.

    Override this fixture in a ``conftest.py`` (or parametrize it) to give your tests their own projects and jobs.
    """
    return None


@pytest.fixture
def semaphore_simulator(semaphore_simulator_scenario: object) -> Iterator[SemaphoreSimulator]:
    """A running local Semaphore simulator with a manual clock, new for each test.

    Point a client at ``semaphore_simulator.url`` with ``semaphore_simulator.token``; move time with
    ``semaphore_simulator.advance(seconds)`` (or pass
    ``pacing=Pacing(sleep=semaphore_simulator.advance, monotonic=semaphore_simulator.monotonic)`` to waiting
    functions); read the truth from ``.world``.
    """
    from pytest_semaphore.simulator import SemaphoreSimulator
    from pytest_semaphore.simulator.definitions import ScenarioDef

    scenario = semaphore_simulator_scenario
    if scenario is not None and not isinstance(scenario, (ScenarioDef, str, os.PathLike)):
        raise pytest.UsageError(
            "semaphore_simulator_scenario must return None, a ScenarioDef or a scenario file path, "
            f"not {type(scenario).__name__}"
        )
    with SemaphoreSimulator(scenario) as simulator:
        yield simulator
