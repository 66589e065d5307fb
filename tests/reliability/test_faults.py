"""The fast part of the fault campaign (``campaign.py``): seeded gates through ``semaphore-gate wait``/``promote``
and through a pytest session, every fault kind at every error rate, each verdict checked against the world.
``bench/reliability_soak.py`` runs thousands of the same cases over an hour of simulated gates.
"""

from __future__ import annotations

import pytest

from pytest_semaphore import SemaphoreClient
from pytest_semaphore.simulator import SemaphoreSimulator
from pytest_semaphore.simulator.definitions import FaultDef
from pytest_semaphore.waiting import Outcome, Pacing, describe_detailed, promote, wait_for_promotion

from .campaign import FAULT_KINDS, PYTEST_CONFTEST, RATES, Case, run_case, run_pytest_case

#: Seeds that found a wrong answer once (kept, whatever the kind or rate they draw).
FOUND = (208, 230, 263)


def check(case: Case) -> None:
    result = run_case(case)
    assert result.right, (case, result.code, sorted(result.expected), result.promotions, result.stderr)


@pytest.mark.parametrize("kind", sorted(FAULT_KINDS))
def test_semaphore_gate_gives_the_truth_or_api_unavailable(kind: str) -> None:
    for rate in RATES:
        for seed in range(3):
            check(Case.draw(seed * 1000 + int(rate * 100), kind=kind, rate=rate))


@pytest.mark.parametrize("seed", FOUND)
def test_the_cases_that_found_a_wrong_answer(seed: int) -> None:
    check(Case.draw(seed))


@pytest.mark.parametrize("seed", range(8))
def test_a_pytest_gate_gives_the_truth_or_names_api_unavailable(
    seed: int, pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    def session(source: str, args: list[str], plugin: object) -> tuple[int, str]:
        monkeypatch.setenv("SEMAPHORE_API_TOKEN", "unused-the-client-fixture-is-given")
        pytester.makeconftest(PYTEST_CONFTEST)
        pytester.makepyfile(test_gate=source)
        result = pytester.runpytest("-p", "no:cacheprovider", *args, plugins=[plugin])
        return int(result.ret), result.stdout.str()

    case = Case.draw(seed, command="wait", rate=0.25)
    result = run_pytest_case(case, session)
    assert result.right, (case, result.code, result.truth, result.output)


def test_a_trigger_that_never_landed_is_sent_again_within_the_patience() -> None:
    """Every send of the client's bounded attempts answers 502 and none lands: an outage, not an unknown outcome;
    the gate keeps trying within its patience and the promotion is triggered once."""
    with SemaphoreSimulator(Case.draw(0, command="promote").calm().scenario()) as sim:
        _, ppl_id = sim.world.start_workflow("app")
        sim.add_fault(FaultDef("POST /api/v1alpha/promotions", "status", status=502, count=8))
        pacing = Pacing(sleep=sim.advance, monotonic=sim.monotonic, patience=300)
        with SemaphoreClient(sim.url, sim.token, sleep=sim.advance, monotonic=sim.monotonic) as client:
            result = promote(client, ppl_id, "Production", parameters={"REGION": "eu"}, wait=False, pacing=pacing)
        sends = [r for r in sim.requests if r.method == "POST" and r.path.endswith("/promotions")]
        assert len(sends) == 9  # 8 refused, the ninth landed
        assert len(sim.world.promotions(ppl_id)) == 1
        assert result.promotion is not None


def test_wait_for_promotion_sends_its_trigger_within_the_patience_too() -> None:
    with SemaphoreSimulator(Case.draw(1, command="promote").calm().scenario()) as sim:
        _, ppl_id = sim.world.start_workflow("app")
        sim.advance(3600)
        sim.add_fault(FaultDef("POST /api/v1alpha/promotions", "status", status=503, count=8))
        pacing = Pacing(sleep=sim.advance, monotonic=sim.monotonic, patience=300)
        with SemaphoreClient(sim.url, sim.token, sleep=sim.advance, monotonic=sim.monotonic) as client:
            done = wait_for_promotion(client, ppl_id, "Production", parameters={"REGION": "eu"}, pacing=pacing)
        assert done.outcome is Outcome.PASSED
        assert len(sim.world.promotions(ppl_id)) == 1


def test_the_details_of_a_done_pipeline_are_asked_within_the_patience() -> None:
    """A done pipeline read from a list has no jobs: its details are asked through 20 503s (more than the client's
    own retries), within the patience."""
    with SemaphoreSimulator(Case.draw(0, command="wait").calm("failed").scenario()) as sim:
        _, ppl_id = sim.world.start_workflow("app")
        sim.advance(3600)
        with SemaphoreClient(sim.url, sim.token, sleep=sim.advance, monotonic=sim.monotonic) as client:
            summary = client.describe_pipeline(ppl_id)
            assert not summary.blocks
            sim.add_fault(FaultDef("GET /api/v1alpha/pipelines/*", "status", status=503, count=20))
            pacing = Pacing(sleep=sim.advance, monotonic=sim.monotonic)
            (detailed,) = describe_detailed(client, [summary], pacing=pacing)
    assert [job.name for block in detailed.blocks for job in block.jobs] == ["build"]
