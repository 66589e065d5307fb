"""What the session leaves behind: the summary (Markdown or HTML by suffix), the JSON result, the JUnit attachment
by ``--semaphore-attach``, and nothing heavy imported when the plugin is not used."""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest

from .conftest import FAILING_TRAIN

TWO_TESTS = """
def test_fails(wait_for_pipeline, semaphore_ppl_id):
    wait_for_pipeline(semaphore_ppl_id)

def test_expects_failure(wait_for_pipeline, semaphore_ppl_id):
    wait_for_pipeline(semaphore_ppl_id, expect="failed")
"""


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    pytester.makepyfile(test_inner=TWO_TESTS)
    result = pytester.runpytest(
        "--semaphore-simulate", f"--semaphore-simulate-scenario={FAILING_TRAIN}", "--junitxml=out.xml", *args
    )
    result.assert_outcomes(passed=1, failed=1)
    return result


def system_outs(pytester: pytest.Pytester) -> dict[str, str]:
    cases = ET.parse(pytester.path / "out.xml").getroot().iter("testcase")
    return {str(c.get("name")): c.findtext("system-out") or "" for c in cases}


def test_summary_and_json(pytester: pytest.Pytester) -> None:
    run(pytester, "--semaphore-report=gate.md", "--semaphore-json=result.json", "--semaphore-log-dir=logs")
    summary = (pytester.path / "gate.md").read_text()
    assert "Unit tests - 2/3" in summary
    assert "make test PARTITION=$SEMAPHORE_JOB_INDEX" in summary
    document = json.loads((pytester.path / "result.json").read_text())
    assert document["version"] == 1
    assert document["exitstatus"] == 1
    [pipeline] = document["pipelines"]
    assert (pipeline["outcome"], pipeline["role"]) == ("failed", "test")
    assert pipeline["failed_jobs"][0]["name"] == "Unit tests - 2/3"
    [log] = (pytester.path / "logs").iterdir()  # the full log of the failed job, attached by its path as given
    assert f"[[ATTACHMENT|logs/{log.name}]]" in system_outs(pytester)["test_fails"]
    assert "assert 119 == 120" in log.read_text()


def test_html_summary_by_suffix(pytester: pytest.Pytester) -> None:
    run(pytester, "--semaphore-report=gate.html")
    assert (pytester.path / "gate.html").read_text().lstrip().lower().startswith("<!doctype html")


@pytest.mark.parametrize(
    ("attach", "attached"),
    [("failed", {"test_fails"}), ("all", {"test_fails", "test_expects_failure"}), ("none", set())],
)
def test_attach_decides_which_testcases_get_excerpts(
    pytester: pytest.Pytester, attach: str, attached: set[str]
) -> None:
    run(pytester, f"--semaphore-attach={attach}")
    outs = system_outs(pytester)
    assert {name for name, out in outs.items() if "assert 119 == 120" in out} == attached


HEAVY = ("requests", "jinja2", "junitparser", "yaml", "urllib3", "pytest_semaphore.client", "pytest_semaphore.waiting")


def test_unconfigured_the_plugin_imports_nothing_heavy(pytester: pytest.Pytester) -> None:
    """A conftest reports what is imported once the session ran with the plugin loaded but unused."""
    pytester.makeconftest(
        f"""
        import sys

        def pytest_unconfigure(config):
            assert config.pluginmanager.hasplugin("semaphore")
            loaded = [name for name in {HEAVY!r} if name in sys.modules]
            with open("loaded.txt", "w") as out:
                out.write(",".join(loaded))
        """
    )
    pytester.makepyfile(test_inner="def test_nothing():\n    pass\n")
    result = pytester.runpytest_subprocess("-p", "no:httpserver", "-p", "no:hypothesispytest")
    result.assert_outcomes(passed=1)
    assert (pytester.path / "loaded.txt").read_text() == ""


def test_importing_the_plugin_module_is_cheap() -> None:
    code = f"import sys, pytest_semaphore.plugin; print([m for m in {HEAVY!r} if m in sys.modules])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
