"""With pytest-xdist (``-n 2``): workers reach the controller's simulator, their excerpts reach the controller's
terminal and JUnit report, and session actions happen once, on the controller."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest

from .conftest import FAILING_TRAIN
from .test_session_actions import WORLD_PROBE, manual_promotions

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
