"""The plugin's hooks, implemented in an inner ``conftest.py``: called with the documented arguments, and effective
(what they return changes what is shown and attached)."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest

from .conftest import FAILING_TRAIN

WAIT_TEST = """
def test_release(wait_for_pipeline, semaphore_ppl_id):
    wait_for_pipeline(semaphore_ppl_id)
"""


def run_failing(pytester: pytest.Pytester, conftest: str) -> pytest.RunResult:
    pytester.makeconftest(conftest)
    pytester.makepyfile(test_inner=WAIT_TEST)
    result = pytester.runpytest(
        "--semaphore-simulate", f"--semaphore-simulate-scenario={FAILING_TRAIN}", "--junitxml=out.xml"
    )
    result.assert_outcomes(failed=1)
    return result


def system_out(pytester: pytest.Pytester) -> str:
    [case] = ET.parse(pytester.path / "out.xml").getroot().iter("testcase")
    return case.findtext("system-out") or ""


def test_redact_hook_hides_text_everywhere(pytester: pytest.Pytester) -> None:
    result = run_failing(
        pytester,
        """
        def pytest_semaphore_redact(text):
            return text.replace("test_total_includes_vat", "[internal]")
        """,
    )
    assert "test_total_includes_vat" not in result.stdout.str()
    assert "FAILED tests/test_checkout.py::[internal] - assert 119 == 120" in result.stdout.str()
    assert "[internal]" in system_out(pytester)
    assert "test_total_includes_vat" not in system_out(pytester)


def test_log_excerpt_hook_changes_the_excerpt(pytester: pytest.Pytester) -> None:
    run_failing(
        pytester,
        """
        import dataclasses

        def pytest_semaphore_log_excerpt(excerpt):
            return dataclasses.replace(excerpt, lines=("only this line",), total_lines=1)
        """,
    )
    out = system_out(pytester)
    assert "only this line" in out
    assert "assert 119 == 120" not in out


def test_log_excerpt_hook_can_drop_it(pytester: pytest.Pytester) -> None:
    result = run_failing(pytester, "def pytest_semaphore_log_excerpt(excerpt):\n    return False\n")
    assert "Semaphore job logs" not in result.stdout.str()
    assert "assert 119 == 120" not in system_out(pytester)
    result.stdout.fnmatch_lines(['E   *PipelineFailed: pipeline * failed: Semaphore job "Unit tests - 2/3" (*) failed'])


def test_pipeline_done_and_promotion_triggered_are_called(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(
        """
        import json

        calls = []

        def pytest_semaphore_pipeline_done(pipeline, outcome):
            calls.append(["done", pipeline.ppl_id, outcome.value, pipeline.done])

        def pytest_semaphore_promotion_triggered(pipeline, name, parameters):
            calls.append(["promotion", pipeline.ppl_id, name, dict(parameters)])

        def pytest_unconfigure(config):
            with open("calls.json", "w") as out:
                json.dump(calls, out)
        """
    )
    pytester.makepyfile(
        test_inner="""
        def test_release(wait_for_pipeline, semaphore_ppl_id):
            wait_for_pipeline(semaphore_ppl_id)
        """
    )
    result = pytester.runpytest(
        "--semaphore-simulate", "--semaphore-promote=Production", "--semaphore-promote-param=REGION=us-east-1"
    )
    assert result.ret == 0
    calls = json.loads((pytester.path / "calls.json").read_text())
    kinds = [c[0] for c in calls]
    assert kinds == ["done", "promotion", "done"]  # the test's wait, the trigger, the promoted pipeline
    first, promotion, promoted = calls
    assert first[2:] == ["passed", True]
    assert promotion[1:] == [first[1], "Production", {"REGION": "us-east-1"}]
    assert promoted[1] != first[1]
    assert promoted[2] == "passed"
