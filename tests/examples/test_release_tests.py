"""examples/release-tests, the shop's end-to-end release suite, rehearsed with the plugin against the simulator.

Run as its docstring says (``--semaphore-simulate --semaphore-simulate-scenario ...``), in a pytest subprocess of
its own: green on the all-green scenario (the build passes, production deploys); red on the failing one, each test
naming the failed job. docs/recipes.md includes these files verbatim.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ..support.environment import drop_semaphore_variables

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
SUITE = EXAMPLES / "release-tests"
SCENARIOS = EXAMPLES / "deployment-gate"


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No Semaphore variable of the developer's reaches the suite, and nothing is written into examples/."""
    drop_semaphore_variables(monkeypatch)
    monkeypatch.setenv("PYTHONDONTWRITEBYTECODE", "1")


def rehearse(pytester: pytest.Pytester, scenario: str) -> pytest.RunResult:
    return pytester.runpytest_subprocess(
        str(SUITE),
        *("-c", os.devnull, "--rootdir", str(SUITE), "-p", "no:cacheprovider"),
        *("--semaphore-simulate", "--semaphore-simulate-scenario", str(SCENARIOS / scenario)),
    )


def test_the_suite_passes_on_a_green_build_and_deploys_production(pytester: pytest.Pytester) -> None:
    result = rehearse(pytester, "scenario.yml")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["PROMOTION 'Production' of *: triggered -> * (passed)"])


def test_the_suite_fails_on_a_red_build_naming_the_failed_job(pytester: pytest.Pytester) -> None:
    result = rehearse(pytester, "failing.yml")
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(['E * (Shop release) failed: Semaphore job "Unit tests - 2/2" * exited with code 1'])
    assert "PROMOTION" not in result.stdout.str()  # nothing was deployed
