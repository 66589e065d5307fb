"""The ``semaphore_simulator`` fixture, exercised the way users meet it: in a pytest run of their own (pytester)."""

from __future__ import annotations

import pytest


def test_fixture_serves_an_empty_world_with_a_manual_clock(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import http.client

        def test_it(semaphore_simulator):
            sim = semaphore_simulator
            assert sim.url.startswith("http://127.0.0.1:")
            assert sim.monotonic() == 0.0
            sim.advance(5)
            assert sim.monotonic() == 5.0
            host, port = sim.url[len("http://"):].split(":")
            conn = http.client.HTTPConnection(host, int(port), timeout=5)
            conn.request("GET", "/api/v1alpha/projects", headers={"Authorization": "Token " + sim.token})
            response = conn.getresponse()
            assert (response.status, response.read()) == (200, b"[]")
            conn.close()
        """
    )
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)


def test_overriding_the_scenario_fixture_gives_a_world_per_test(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(
        """
        import pytest
        from pytest_semaphore.simulator.definitions import (
            BlockDef, JobDef, PipelineDef, ProjectDef, RunDef, ScenarioDef,
        )

        @pytest.fixture
        def semaphore_simulator_scenario():
            pipeline = PipelineDef("Build", (BlockDef("B", (JobDef("j"),)),))
            return ScenarioDef(
                projects=(ProjectDef("shop", {".semaphore/semaphore.yml": pipeline}),),
                runs=(RunDef("shop"),),
            )
        """
    )
    pytester.makepyfile(
        """
        def test_first(semaphore_simulator):
            (pipeline,) = semaphore_simulator.world.pipelines()
            semaphore_simulator.advance(60)
            assert semaphore_simulator.world.pipeline(pipeline.ppl_id).result == "passed"

        def test_second_starts_fresh(semaphore_simulator):
            (pipeline,) = semaphore_simulator.world.pipelines()
            assert pipeline.state == "initializing"
            assert semaphore_simulator.monotonic() == 0.0
        """
    )
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)


def test_a_wrong_scenario_type_is_a_clear_error(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(
        """
        import pytest

        @pytest.fixture
        def semaphore_simulator_scenario():
            return 42
        """
    )
    pytester.makepyfile("def test_it(semaphore_simulator):\n    pass\n")
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*semaphore_simulator_scenario must return None, a ScenarioDef*not int*"])


@pytest.mark.slow  # starts a pytest with two xdist workers in subprocesses
def test_the_fixture_under_xdist_gives_each_test_its_own_server(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import http.client
        import pytest

        @pytest.mark.parametrize("n", range(4))
        def test_it(semaphore_simulator, n, tmp_path_factory):
            sim = semaphore_simulator
            sim.advance(n)
            assert sim.monotonic() == n  # no other test moves this clock
            host, port = sim.url[len("http://"):].split(":")
            conn = http.client.HTTPConnection(host, int(port), timeout=5)
            conn.request("GET", "/api/v1alpha/projects", headers={"Authorization": "Token " + sim.token})
            assert (conn.getresponse().status, len(sim.requests)) == (200, 1)
            conn.close()
            (tmp_path_factory.getbasetemp().parent / f"url-{n}").write_text(sim.url)
        """
    )
    result = pytester.runpytest_subprocess("-n", "2", "-p", "no:cacheprovider", "-W", "error")
    result.assert_outcomes(passed=4)
    urls = {path.read_text() for path in pytester.path.glob("**/url-*")}
    assert len(urls) == 4  # four servers, one per test, on distinct ports
