"""The fixtures against the embedded simulator: verdicts, failure messages, excerpts in the terminal and in JUnit.

Inner sessions run in-process with ``--semaphore-simulate`` (the bundled release train, or its failing twin), so each
pipeline is a real one of the simulator, waited for over HTTP in simulated time.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from .conftest import FAILING_TRAIN, RELEASE_TRAIN


def run(pytester: pytest.Pytester, scenario: object, *args: str) -> pytest.RunResult:
    return pytester.runpytest("--semaphore-simulate", f"--semaphore-simulate-scenario={scenario}", *args)


def junit_case(xml_path: str, name: str) -> ET.Element:
    for case in ET.parse(xml_path).getroot().iter("testcase"):
        if case.get("name") == name:
            return case
    raise AssertionError(f"no testcase {name} in {xml_path}")


def test_a_passing_pipeline_returns_the_done_pipeline(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_inner="""
        def test_release(wait_for_pipeline, semaphore_ppl_id):
            pipeline = wait_for_pipeline(semaphore_ppl_id)
            assert (pipeline.state, pipeline.result) == ("done", "passed")
        """
    )
    result = run(pytester, RELEASE_TRAIN)
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*= semaphore =*", "PASSED * Release train (*; test test_inner.py::test_release)*"])


def test_a_failing_pipeline_fails_the_test_naming_job_command_and_exit_code(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_inner="""
        def test_release(wait_for_pipeline, semaphore_ppl_id):
            wait_for_pipeline(semaphore_ppl_id)
        """
    )
    result = run(pytester, FAILING_TRAIN, "--junitxml=out.xml")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "E       pytest_semaphore.errors.PipelineFailed: pipeline * (Release train) failed: "
            'Semaphore job "Unit tests - 2/3" (*) failed: command `make test PARTITION=$SEMAPHORE_JOB_INDEX` '
            "exited with code 1",
            "*- Semaphore job logs -*",
            "FAILED tests/test_checkout.py::test_total_includes_vat - assert 119 == 120",
        ]
    )
    case = junit_case(str(pytester.path / "out.xml"), "test_release")
    out = case.findtext("system-out") or ""
    # the default junit_logging=no writes no output of its own: this is the plugin's attachment
    assert "FAILED tests/test_checkout.py::test_total_includes_vat" in out
    assert out.rstrip().splitlines()[-1].startswith('>>> Semaphore job "Unit tests - 2/3"')
    properties = {p.get("name"): p.get("value") for p in case.iter("property")}
    assert properties["semaphore_pipeline_result"] == "failed"
    assert (properties["semaphore_job_url"] or "").startswith("http://127.0.0.1:")


@pytest.mark.parametrize(
    ("expect", "outcome"),
    [('"failed"', "passed"), ('{"failed", "error"}', "passed"), ("None", "passed"), ('"passed"', "failed")],
)
def test_expect_decides_which_verdicts_pass(pytester: pytest.Pytester, expect: str, outcome: str) -> None:
    pytester.makepyfile(
        test_inner=f"""
        def test_release(wait_for_pipeline, semaphore_ppl_id):
            assert wait_for_pipeline(semaphore_ppl_id, expect={expect}).result == "failed"
        """
    )
    run(pytester, FAILING_TRAIN).assert_outcomes(**{outcome: 1})


def test_an_unknown_expectation_names_the_accepted_values(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_inner="""
        def test_release(wait_for_pipeline, semaphore_ppl_id):
            wait_for_pipeline(semaphore_ppl_id, expect="green")
        """
    )
    result = run(pytester, RELEASE_TRAIN)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["*expect: 'green' is not an outcome; accepted: passed, failed, stopped, canceled, error*"]
    )


def manual_clock(pytester: pytest.Pytester, scenario: object) -> None:
    """An inner conftest giving the fixtures a simulator on a manual clock: waits move its time, so a timeout or
    an outage is reached exactly, however loaded the machine is."""
    pytester.makeconftest(
        f"""
        import pytest
        from pytest_semaphore import SemaphoreClient
        from pytest_semaphore.waiting import Pacing

        @pytest.fixture
        def semaphore_simulator_scenario():
            return {str(scenario)!r}

        @pytest.fixture
        def semaphore_client(semaphore_simulator):
            sim = semaphore_simulator
            with SemaphoreClient(sim.url, sim.token, sleep=sim.advance, monotonic=sim.monotonic) as client:
                yield client

        @pytest.fixture
        def semaphore_pacing(semaphore_simulator, semaphore_settings):
            sim = semaphore_simulator
            return Pacing(sleep=sim.advance, monotonic=sim.monotonic, patience=semaphore_settings.patience)

        @pytest.fixture
        def first_ppl_id(semaphore_client):
            return semaphore_client.list_pipelines(project="release-train")[0].ppl_id
        """
    )


def test_a_timeout_is_not_reported_as_a_failed_pipeline(pytester: pytest.Pytester) -> None:
    manual_clock(pytester, RELEASE_TRAIN)
    pytester.makepyfile(
        test_inner="""
        def test_release(wait_for_pipeline, first_ppl_id):
            wait_for_pipeline(first_ppl_id, timeout=5)
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["E   *WaitTimeout: not a pipeline verdict: timed out after 5 s waiting for pipeline *"]
    )
    assert "PipelineFailed" not in result.stdout.str()


def test_the_timeout_option_applies_to_every_wait(pytester: pytest.Pytester) -> None:
    manual_clock(pytester, RELEASE_TRAIN)
    pytester.makepyfile(
        test_inner="""
        def test_release(wait_for_pipeline, first_ppl_id):
            wait_for_pipeline(first_ppl_id)
        """
    )
    result = pytester.runpytest("--semaphore-timeout=7")
    result.stdout.fnmatch_lines(["*not a pipeline verdict: timed out after 7 s*"])


def test_an_api_outage_is_not_reported_as_a_failed_pipeline(pytester: pytest.Pytester) -> None:
    manual_clock(pytester, RELEASE_TRAIN)
    pytester.makepyfile(
        test_inner="""
        from pytest_semaphore.simulator.definitions import FaultDef

        def test_release(wait_for_pipeline, first_ppl_id, semaphore_simulator):
            semaphore_simulator.add_fault(FaultDef(route="GET /api/v1alpha/pipelines/*", kind="status", status=503))
            wait_for_pipeline(first_ppl_id)
        """
    )
    result = pytester.runpytest("--semaphore-patience=30")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["E   *APIUnavailable: not a pipeline verdict: *503*"])
    assert "PipelineFailed" not in result.stdout.str()


def test_run_workflow_starts_and_waits(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_inner="""
        def test_release(semaphore_run_workflow):
            pipeline = semaphore_run_workflow("release-train", "refs/heads/master")
            assert pipeline.result == "passed"
            assert pipeline.branch_name == "master"

        def test_no_wait(semaphore_run_workflow, semaphore_client):
            started = semaphore_run_workflow("release-train", "refs/heads/master", wait=False)
            assert semaphore_client.describe_pipeline(started.ppl_id).ppl_id == started.ppl_id
        """
    )
    run(pytester, RELEASE_TRAIN).assert_outcomes(passed=2)


def test_no_configuration_errors_the_test_naming_how_to_configure(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_inner="""
        def test_release(semaphore_client):
            pass
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        [
            "talking to Semaphore needs the Semaphore URL (SEMAPHORE_ORGANIZATION_URL or --semaphore-url) "
            "and an API token (SEMAPHORE_API_TOKEN or --semaphore-token or --semaphore-token-file); "
            "or rehearse against the embedded simulator with --semaphore-simulate",
            "*short test summary*",
        ]
    )
    assert "During handling" not in result.stdout.str()


def test_configuration_fixtures_can_be_overridden_in_conftest(pytester: pytest.Pytester) -> None:
    """A user's own simulator (manual clock) through overridden ``semaphore_client`` and ``semaphore_pacing``."""
    manual_clock(pytester, FAILING_TRAIN)
    pytester.makepyfile(
        test_inner="""
        def test_release(wait_for_pipeline, first_ppl_id, semaphore_simulator):
            assert wait_for_pipeline(first_ppl_id, expect="failed").result == "failed"
            assert semaphore_simulator.monotonic() > 60  # the wait moved the manual clock
        """
    )
    pytester.runpytest().assert_outcomes(passed=1)


def test_semaphore_promote_returns_the_gates_result(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_inner="""
        def test_promote(semaphore_promote, semaphore_ppl_id):
            result = semaphore_promote("Production", parameters={"REGION": "us-east-1"})
            assert (result.action.value, result.ppl_id) == ("triggered", semaphore_ppl_id)
            assert result.pipeline.result == "passed"
            assert result.promotion.scheduled_pipeline_id == result.pipeline.ppl_id

        def test_refused(semaphore_promote):
            semaphore_promote("Production", parameters={"REGION": "mars"})  # not an option: Semaphore answers 500
        """
    )
    result = run(pytester, RELEASE_TRAIN)
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["E   *APIError: POST /api/v1alpha/promotions -> HTTP 500 *"])
    assert "waiting/gate.py" not in result.stdout.str()  # the engine's frames are not shown
    result.stdout.fnmatch_lines(["PASSED * Deploy to production (*; promoted by 'Production')*"])


def test_under_simulate_the_simulator_fixture_is_the_sessions(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_inner="""
        def test_same(semaphore_simulator, semaphore_client, semaphore_ppl_id):
            assert semaphore_client.base_url == semaphore_simulator.url
            assert semaphore_simulator.world.pipelines()[0].ppl_id == semaphore_ppl_id
        """
    )
    run(pytester, RELEASE_TRAIN).assert_outcomes(passed=1)
