"""With pytest-xdist (``-n 2``): workers reach the controller's simulator, their excerpts reach the controller's
terminal and JUnit report, and session actions happen once, on the controller."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest

from pytest_semaphore.simulator import SemaphoreSimulator

from .conftest import CANARY, FAILING_TRAIN
from .test_session_actions import WORLD_PROBE, first_ppl_id, manual_promotions

TWO_WAITS = """
import os

def test_fails(wait_for_pipeline, semaphore_ppl_id):
    wait_for_pipeline(semaphore_ppl_id)

def test_expects_the_failure(wait_for_pipeline, semaphore_ppl_id):
    assert wait_for_pipeline(semaphore_ppl_id, expect="failed").result == "failed"

def test_runs_in_a_worker():
    assert os.environ.get("PYTEST_XDIST_WORKER", "").startswith("gw")
"""


def test_workers_excerpts_reach_the_terminal_and_the_junit_report(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_inner=TWO_WAITS)
    result = pytester.runpytest_subprocess(
        "-n",
        "2",
        "--semaphore-simulate",
        f"--semaphore-simulate-scenario={FAILING_TRAIN}",
        "--junitxml=out.xml",
        "--semaphore-json=result.json",
    )
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*- Semaphore job logs -*",
            "FAILED tests/test_checkout.py::test_total_includes_vat - assert 119 == 120",
        ]
    )
    cases = {c.get("name"): c for c in ET.parse(pytester.path / "out.xml").getroot().iter("testcase")}
    assert "test_total_includes_vat" in (cases["test_fails"].findtext("system-out") or "")
    assert cases["test_expects_the_failure"].find("system-out") is None  # --semaphore-attach=failed
    document = json.loads((pytester.path / "result.json").read_text())
    assert [p["outcome"] for p in document["pipelines"]] == ["failed"]  # one pipeline, waited on twice
    assert document["pipelines"][0]["failed_jobs"][0]["exit_code"] == 1


def test_session_actions_happen_once_on_the_controller(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(WORLD_PROBE)
    pytester.makepyfile(test_inner="def test_a():\n    pass\n\ndef test_b():\n    pass\n")
    result = pytester.runpytest_subprocess(
        "-n",
        "2",
        "--semaphore-simulate",
        "--semaphore-promote=Production",
        "--semaphore-promote-param=REGION=eu-west-1",
    )
    assert result.ret == 0
    assert [p["name"] for p in manual_promotions(pytester)] == ["Production"]


def test_a_failed_wait_for_stops_the_session_before_the_workers_run_anything(pytester: pytest.Pytester) -> None:
    ppl_id = first_ppl_id(FAILING_TRAIN)
    pytester.makepyfile(test_inner="def test_must_not_run():\n    open('ran', 'w').close()\n")
    result = pytester.runpytest_subprocess(
        "-n",
        "2",
        "--semaphore-simulate",
        f"--semaphore-simulate-scenario={FAILING_TRAIN}",
        f"--semaphore-wait-for={ppl_id}",
    )
    assert result.ret == 1
    assert not (pytester.path / "ran").exists()
    assert "semaphore failed" in result.stdout.lines[-1]


def test_an_unconfigured_controller_still_attaches_the_workers_excerpts(pytester: pytest.Pytester) -> None:
    """Only the workers use the plugin (a fixture, with the token in the environment): the controller notices the
    first report carrying a pipeline and writes the JUnit attachment all the same."""
    with SemaphoreSimulator(FAILING_TRAIN, token=CANARY, speed=1.0) as simulator:
        simulator.advance(600)  # the pipeline is done: the workers' waits end at their first look
        ppl_id = simulator.world.pipelines()[0].ppl_id
        pytester.makepyfile(
            test_inner=f"""
            def test_fails(wait_for_pipeline):
                wait_for_pipeline({ppl_id!r})

            def test_other():
                pass
            """
        )
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("SEMAPHORE_ORGANIZATION_URL", simulator.url)
            mp.setenv("SEMAPHORE_API_TOKEN", CANARY)
            result = pytester.runpytest_subprocess("-n", "2", "--junitxml=out.xml")
    result.assert_outcomes(passed=1, failed=1)
    cases = {c.get("name"): c for c in ET.parse(pytester.path / "out.xml").getroot().iter("testcase")}
    assert "test_total_includes_vat" in (cases["test_fails"].findtext("system-out") or "")
    assert CANARY not in (pytester.path / "out.xml").read_text() + result.stdout.str()
