"""Session actions: ``--semaphore-wait-for`` before the tests, ``--semaphore-promote`` after a green session.

The inner sessions rehearse against the embedded simulator (``--semaphore-simulate``). What the simulator's world
recorded (which promotions were triggered, with which parameters) is read by a probe in the inner ``conftest.py``
after the plugin's own end-of-session work, so the checks do not rely on what the plugin says it did.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pytest_semaphore.simulator import SemaphoreSimulator

from .conftest import FAILING_TRAIN, RELEASE_TRAIN

WORLD_PROBE = """
import json
import pytest
from pytest_semaphore.plugin import RUNTIME_KEY

@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session):
    simulator = session.config.stash[RUNTIME_KEY].simulator
    world = simulator.world
    promotions = [
        {"of": r.pipeline_id, "name": r.name, "status": r.status, "override": r.override,
         "parameters": r.parameters, "auto": r.auto, "scheduled": r.scheduled_pipeline_id}
        for p in world.pipelines() for r in world.promotions(p.ppl_id)
    ]
    with open("world.json", "w") as out:
        json.dump({"promotions": promotions}, out)
"""

GREEN_TEST = """
def test_release():
    pass
"""


def first_ppl_id(scenario: Path) -> str:
    """The pipeline the scenario's first run starts: ids come from the scenario's seed, so a second simulator over
    the same scenario (the inner session's) makes the same one."""
    with SemaphoreSimulator(scenario) as simulator:
        return simulator.world.pipelines()[0].ppl_id


def manual_promotions(pytester: pytest.Pytester) -> list[dict[str, Any]]:
    world = json.loads((pytester.path / "world.json").read_text())
    return [p for p in world["promotions"] if not p["auto"]]


def test_wait_for_waits_before_any_test(pytester: pytest.Pytester) -> None:
    ppl_id = first_ppl_id(RELEASE_TRAIN)
    pytester.makepyfile(
        test_inner=f"""
        def test_sees_it_done(semaphore_client):
            assert semaphore_client.describe_pipeline({ppl_id!r}).state == "done"
        """
    )
    result = pytester.runpytest("--semaphore-simulate", f"--semaphore-wait-for={ppl_id}")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines([f"semaphore: waiting for 1 pipeline(s) before the tests: {ppl_id}"])
    result.stdout.fnmatch_lines([f"PASSED {ppl_id} Release train (*; wait-for)*"])


def test_a_failed_wait_for_ends_the_session_before_any_test(pytester: pytest.Pytester) -> None:
    ppl_id = first_ppl_id(FAILING_TRAIN)
    pytester.makepyfile(
        test_inner="""
        def test_must_not_run():
            open("ran", "w").close()
        """
    )
    result = pytester.runpytest(
        "--semaphore-simulate", f"--semaphore-simulate-scenario={FAILING_TRAIN}", f"--semaphore-wait-for={ppl_id}"
    )
    assert result.ret == 1
    assert not (pytester.path / "ran").exists()
    result.stdout.fnmatch_lines(
        [
            "*= Semaphore job logs =*",
            "FAILED tests/test_checkout.py::test_total_includes_vat - assert 119 == 120",
            "*= semaphore =*",
            f"FAILED {ppl_id} Release train (*; wait-for)*",
            f'ERROR (failed) pipeline {ppl_id} (Release train) failed: Semaphore job "Unit tests - 2/3"*exit* 1',
        ]
    )
    assert "semaphore failed" in result.stdout.lines[-1]


def test_promotes_after_a_green_session(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(WORLD_PROBE)
    pytester.makepyfile(test_inner=GREEN_TEST)
    result = pytester.runpytest(
        "--semaphore-simulate",
        "--semaphore-promote=Production",
        "--semaphore-promote-param=REGION=us-east-1",
        "--semaphore-json=result.json",
    )
    assert result.ret == 0
    [promotion] = manual_promotions(pytester)
    assert (promotion["name"], promotion["status"]) == ("Production", "passed")
    assert promotion["parameters"]["REGION"] == "us-east-1"
    document = json.loads((pytester.path / "result.json").read_text())
    promoted = [p for p in document["pipelines"] if p["role"] == "promoted"]
    assert [p["ppl_id"] for p in promoted] == [promotion["scheduled"]]
    assert promoted[0]["outcome"] == "passed"
    assert document["errors"] == []


@pytest.mark.parametrize(
    ("test_body", "expected_status"),
    [("assert False", 1), ("import pytest; pytest.skip('no')", 0), ("raise KeyboardInterrupt", 2)],
)
def test_nothing_is_promoted_after_a_failure_an_interrupt_or_no_test(
    pytester: pytest.Pytester, test_body: str, expected_status: int
) -> None:
    pytester.makeconftest(WORLD_PROBE)
    pytester.makepyfile(test_inner=f"def test_release():\n    {test_body}\n")
    # a subprocess: an in-process session re-raises the inner KeyboardInterrupt into this one
    result = pytester.runpytest_subprocess("--semaphore-simulate", "--semaphore-promote=Production")
    assert result.ret == expected_status
    assert manual_promotions(pytester) == []
    result.stdout.fnmatch_lines(["semaphore: not promoting 'Production': *"])


def test_a_red_promoted_pipeline_fails_the_session(pytester: pytest.Pytester) -> None:
    """A promotion whose pipeline fails is a failed gate: exit 1 and the kind in the last line."""
    scenario = pytester.path / "scenario.yml"
    scenario.write_text(
        FAILING_TRAIN.read_text()
        .replace("repository: .", f"repository: {FAILING_TRAIN.parent}")
        .replace("Unit tests - 2/3:", "Deploy to production:")
    )
    pytester.makepyfile(test_inner=GREEN_TEST)
    result = pytester.runpytest(
        "--semaphore-simulate",
        f"--semaphore-simulate-scenario={scenario}",
        "--semaphore-promote=Production",
        "--semaphore-promote-override",
    )
    assert result.ret == 1
    result.stdout.fnmatch_lines(["*Deploy to production*exited with code 1*"])
    assert "semaphore failed" in result.stdout.lines[-1]


def test_a_failed_wait_for_is_recorded_in_the_words_and_fields_semaphore_gate_uses(pytester: pytest.Pytester) -> None:
    """The JSON ``errors`` entry is the core's (as ``semaphore-gate --json`` writes it): the refusal explained once,
    the error's type, and no pipeline last seen (the id never appeared)."""
    pytester.makepyfile(test_inner=GREEN_TEST)
    result = pytester.runpytest(
        "--semaphore-simulate", "--semaphore-wait-for=0000dead-beef-4000-8000-000000000000", "--semaphore-json=r.json"
    )
    assert result.ret == 1
    [error] = json.loads((pytester.path / "r.json").read_text())["errors"]
    assert error["kind"] == "error"
    assert error["type"] == "NotFoundError"
    assert error["message"].startswith("not found (the id does not exist, or this token may not see it): GET ")
    assert error["message"].count("not found (") == 1
    assert error["last_seen"] is None
    result.stdout.fnmatch_lines(["ERROR (error) not found (the id does not exist, or this token may not see it): *"])
