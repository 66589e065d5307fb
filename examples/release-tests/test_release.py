"""End-to-end release tests of the shop (examples/deployment-gate): a push to main is built, tested and deployed.

Against your organisation (SEMAPHORE_ORGANIZATION_URL and SEMAPHORE_API_TOKEN set):

    pytest examples/release-tests --junitxml=report.xml

Rehearsed against the simulator, no account needed (a failing build: failing.yml):

    pytest examples/release-tests --semaphore-simulate \
        --semaphore-simulate-scenario examples/deployment-gate/scenario.yml
"""

from collections.abc import Callable

from pytest_semaphore import SemaphoreClient
from pytest_semaphore.models import Pipeline
from pytest_semaphore.waiting import PromoteResult

PROJECT = "shop"
MAIN = "refs/heads/main"


def test_a_push_to_main_is_built_tested_and_deployed(
    semaphore_run_workflow: Callable[..., Pipeline], semaphore_promote: Callable[..., PromoteResult]
) -> None:
    build = semaphore_run_workflow(PROJECT, MAIN)  # waits; fails the test, naming the failed job, unless it passed
    deploy = semaphore_promote(
        "Production", pipeline=build.ppl_id, parameters={"REGION": "eu-west-1", "RELEASE_NOTE": "release test"}
    )
    assert deploy.pipeline is not None  # waited for: the promoted pipeline, done
    assert deploy.pipeline.name == "Deploy to production"
    assert deploy.pipeline.result == "passed"


def test_the_gate_runs_only_for_release_tags(
    semaphore_run_workflow: Callable[..., Pipeline], semaphore_client: SemaphoreClient
) -> None:
    build = semaphore_run_workflow(PROJECT, MAIN)
    blocks = {b.name: b for b in semaphore_client.describe_pipeline(build.ppl_id, detailed=True).blocks}
    assert blocks["Gate"].result_reason == "skipped"
    assert semaphore_client.list_promotions(build.ppl_id) == []
