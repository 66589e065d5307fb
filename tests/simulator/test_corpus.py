"""A corpus of repository-shaped ``.semaphore`` folders (``corpus/``), written the way public repositories write
theirs, loaded and run to the end: job names, the order blocks ran in and the promotions are what Semaphore would do.

Every run is also checked for the rules that hold in any pipeline: no block starts before its dependencies are done,
a skipped or canceled block runs no job, ``after_pipeline`` jobs start once the pipeline is done.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from pytest_semaphore.simulator import SemaphoreSimulator
from pytest_semaphore.simulator.scenario import ScenarioError, load_scenario
from pytest_semaphore.simulator.world import PipelineRecord

CORPUS = Path(__file__).with_name("corpus")
#: Long enough for every corpus pipeline and the promotions it triggers.
HOUR = 3600.0


def check_pipeline_rules(pipeline: PipelineRecord) -> None:
    assert pipeline.done, f"{pipeline.yaml_file} is still {pipeline.state}"
    by_name = {block.name: block for block in pipeline.blocks}
    for block in pipeline.blocks:
        assert block.done
        if block.result_reason in ("skipped", "fast_failing") and block.result != "stopped":
            assert block.jobs == [], f"{block.name} is {block.result}/{block.result_reason} but ran jobs"
            continue
        for dependency in (by_name[name] for name in block.dependencies):
            finished = [job.finished_at for job in dependency.jobs if job.finished_at is not None]
            for job in block.jobs:
                assert job.started_at is not None
                assert all(job.started_at >= moment for moment in finished), (block.name, dependency.name)
    if pipeline.after_task is not None:
        assert pipeline.done_at is not None
        assert all(job.created_at >= pipeline.done_at for job in pipeline.after_task.jobs)
        assert all(job.state == "finished" for job in pipeline.after_task.jobs)


@contextmanager
def ran(
    source: Path, *, branch: str | None = None, tag: str | None = None, pull_request: str | None = None
) -> Iterator[SemaphoreSimulator]:
    """``source`` loaded (on the ref chosen) and run for an hour; every pipeline obeys the general rules."""
    with SemaphoreSimulator(source, branch=branch, tag=tag, pull_request=pull_request) as sim:
        sim.advance(HOUR)
        for pipeline in sim.world.pipelines():
            check_pipeline_rules(pipeline)
        yield sim


def initial(sim: SemaphoreSimulator) -> PipelineRecord:
    return next(p for p in sim.world.pipelines() if not p.promotion_of)


def jobs_by_block(pipeline: PipelineRecord) -> dict[str, list[str]]:
    return {block.name: [job.name for job in block.jobs] for block in pipeline.blocks}


def outcomes(pipeline: PipelineRecord) -> dict[str, tuple[str | None, str | None]]:
    return {block.name: (block.result, block.result_reason) for block in pipeline.blocks}


def promoted(sim: SemaphoreSimulator, pipeline: PipelineRecord) -> list[tuple[str, str, bool, str, str | None]]:
    """(promotion, status, automatic, promoted pipeline's name, its result), oldest first."""
    found = []
    for record in pipeline.promotions:
        child = sim.world.pipeline(record.scheduled_pipeline_id) if record.scheduled_pipeline_id else None
        found.append(
            (record.name, record.status, record.auto, child.name if child else "", child.result if child else None)
        )
    return found


def scenario_over(tmp_path: Path, folder: str, run: dict[str, Any], jobs: dict[str, Any] | None = None) -> Path:
    """A scenario file whose one project is a corpus folder, with job outcomes and one run (JSON is YAML)."""
    project = {"name": folder, "repository": str(CORPUS / folder), "jobs": jobs or {}}
    path = tmp_path / "scenario.yml"
    path.write_text(json.dumps({"projects": [project], "runs": [run]}), encoding="utf-8")
    return path


# --- go-service: matrix, skip, after_pipeline, auto_promote_on on master and tags, a deployment target -----------

GO_TESTS = [
    "go test - GO_VERSION=1.20, DB=postgres",
    "go test - GO_VERSION=1.20, DB=mysql",
    "go test - GO_VERSION=1.21, DB=postgres",
    "go test - GO_VERSION=1.21, DB=mysql",
]


def test_go_service_on_master_builds_the_image_and_goes_to_staging() -> None:
    with ran(CORPUS / "go-service", branch="master") as sim:
        pipeline = initial(sim)
        assert (pipeline.name, pipeline.result, pipeline.result_reason) == ("Go service", "passed", "test")
        assert jobs_by_block(pipeline) == {"Lint": ["golangci-lint"], "Test": GO_TESTS, "Docker": ["Build image"]}
        assert promoted(sim, pipeline) == [("Staging", "passed", True, "Deploy to staging", "passed")]
        assert pipeline.after_task is not None
        assert [job.name for job in pipeline.after_task.jobs] == ["Publish results"]
        commands = pipeline.blocks[1].jobs[0].commands
        assert commands == ["sem-version go 1.21", "checkout", "make test"]  # the global prologue first
        assert ("GO111MODULE", "on") in pipeline.blocks[1].jobs[0].definition.env_vars


def test_go_service_on_a_tag_goes_to_staging_through_the_tag_pattern() -> None:
    with ran(CORPUS / "go-service", tag="v2.0.0") as sim:
        pipeline = initial(sim)
        assert pipeline.branch_name == "refs/tags/v2.0.0"
        assert outcomes(pipeline)["Docker"] == ("passed", "test")
        assert promoted(sim, pipeline) == [("Staging", "passed", True, "Deploy to staging", "passed")]


def test_go_service_on_a_feature_branch_skips_the_image_and_promotes_nothing() -> None:
    with ran(CORPUS / "go-service", branch="feature/retry") as sim:
        pipeline = initial(sim)
        assert outcomes(pipeline)["Docker"] == ("passed", "skipped")
        assert jobs_by_block(pipeline)["Docker"] == []
        assert promoted(sim, pipeline) == []
        sim.world.trigger_promotion(pipeline.ppl_id, "Production", parameters={"REGION": "us-east-1"})
        sim.advance(60)
        assert promoted(sim, pipeline) == [("Production", "passed", False, "Deploy to production", "passed")]
        production = sim.world.pipeline(pipeline.promotions[0].scheduled_pipeline_id)
        assert ("REGION", "us-east-1") in production.env_vars


# --- rails-app: parallelism, change_in, fail_fast stop, a parameterised promoted name, after_pipeline there -------


def test_rails_app_on_main_deploys_to_staging_and_notifies(tmp_path: Path) -> None:
    scenario = scenario_over(tmp_path, "rails-app", {"branch": "main", "changed_files": ["app/models/user.rb"]})
    with ran(scenario) as sim:
        pipeline = initial(sim)
        assert jobs_by_block(pipeline) == {
            "Setup": ["bundle install"],
            "Frontend": [],
            "RSpec": ["RSpec - 1/4", "RSpec - 2/4", "RSpec - 3/4", "RSpec - 4/4"],
        }
        assert outcomes(pipeline)["Frontend"] == ("passed", "skipped")  # no JavaScript changed
        assert promoted(sim, pipeline) == [("Deploy", "passed", True, "Deploy to staging", "passed")]
        deploy = sim.world.pipeline(pipeline.promotions[0].scheduled_pipeline_id)
        assert deploy.after_task is not None
        (notify,) = deploy.after_task.jobs
        assert ("SEMAPHORE_PIPELINE_RESULT", "passed") in notify.env_vars


def test_rails_app_on_a_branch_fails_fast_when_a_shard_fails(tmp_path: Path) -> None:
    scenario = scenario_over(
        tmp_path,
        "rails-app",
        {"branch": "feature/signup", "changed_files": ["app/javascript/signup.js"]},
        jobs={
            "Jest": {"duration": 300},
            **{f"RSpec - {shard}/4": {"duration": 100} for shard in (1, 3, 4)},
            "RSpec - 2/4": {"result": "failed", "duration": 40},
        },
    )
    with ran(scenario) as sim:
        pipeline = initial(sim)
        assert (pipeline.result, pipeline.result_reason) == ("failed", "test")
        assert outcomes(pipeline) == {
            "Setup": ("passed", "test"),
            "Frontend": ("stopped", "fast_failing"),  # Jest was running: fail_fast stop on branches
            "RSpec": ("failed", "test"),
        }
        # the other shards are stopped when the second fails, not left to finish
        rspec = pipeline.blocks[2].jobs
        assert [job.result for job in rspec] == ["stopped", "failed", "stopped", "stopped"]
        assert {job.finished_at for job in rspec} == {rspec[1].finished_at}
        assert promoted(sim, pipeline) == []


# --- monorepo: no pipeline name, nameless jobs, change_in per service with exclude, an absolute promotion path ----


@pytest.mark.parametrize(
    ("changed", "api", "web", "released"),
    [
        (["services/api/handler.go"], ("passed", "test"), ("passed", "skipped"), True),
        (["services/api/docs/README.md"], ("passed", "skipped"), ("passed", "skipped"), True),
        (["services/web/src/app.ts", "services/api/x.go"], ("passed", "test"), ("passed", "test"), True),
        (["lib/strings.c"], ("passed", "skipped"), ("passed", "skipped"), False),
    ],
)
def test_monorepo_runs_the_services_that_changed(
    tmp_path: Path, changed: list[str], api: tuple[str, str], web: tuple[str, str], released: bool
) -> None:
    scenario = scenario_over(tmp_path, "monorepo", {"branch": "main", "changed_files": changed})
    with ran(scenario) as sim:
        pipeline = initial(sim)
        assert pipeline.name == "Pipeline"
        assert jobs_by_block(pipeline)["Shared"] == ["Nameless 1", "Nameless 2"]
        assert outcomes(pipeline)["API"] == api
        assert outcomes(pipeline)["Web"] == web
        assert outcomes(pipeline)["Integration"] == ("passed", "test")
        expected = [("Release", "passed", True, "Release", "passed")] if released else []
        assert promoted(sim, pipeline) == expected
        if released:
            assert sim.world.pipeline(pipeline.promotions[0].scheduled_pipeline_id).yaml_file == "ops/release.yml"


# --- self-hosted-cli: self-hosted agents, a task agent with containers, a run condition on tags --------------------


def test_self_hosted_cli_on_a_tag_signs_and_publishes() -> None:
    with ran(CORPUS / "self-hosted-cli", tag="v1.4.0") as sim:
        pipeline = initial(sim)
        assert jobs_by_block(pipeline) == {
            "Build": ["Build - GOOS=linux", "Build - GOOS=darwin", "Build - GOOS=windows"],
            "Test on ARM": ["Test - 1/2", "Test - 2/2"],
            "Sign": ["cosign"],
        }
        machines = {job.name: job.definition.machine_type for job in pipeline.jobs}
        assert machines["Build - GOOS=linux"] == "s1-linux-amd64"
        assert machines["Test - 2/2"] == "s1-linux-arm64"
        assert machines["cosign"] == "e1-standard-2"
        assert all(job.self_hosted for job in pipeline.jobs if job.name != "cosign")
        assert promoted(sim, pipeline) == [("Publish", "passed", True, "Publish stable", "passed")]


def test_self_hosted_cli_on_master_neither_signs_nor_publishes() -> None:
    with ran(CORPUS / "self-hosted-cli", branch="master") as sim:
        pipeline = initial(sim)
        assert outcomes(pipeline)["Sign"] == ("passed", "skipped")
        assert promoted(sim, pipeline) == []


# --- platform: fail_fast cancel, skip on pull requests, auto-promotion on failure, a deployment target -----------


def test_platform_on_main_deploys_its_default_service() -> None:
    with ran(CORPUS / "platform", branch="main") as sim:
        pipeline = initial(sim)
        assert outcomes(pipeline) == {"Unit": ("passed", "test"), "E2E": ("passed", "test")}
        assert promoted(sim, pipeline) == [("Deploy", "passed", True, "Deploy api", "passed")]


def test_platform_on_a_pull_request_skips_e2e() -> None:
    with ran(CORPUS / "platform", pull_request="5") as sim:
        pipeline = initial(sim)
        assert pipeline.branch_name == "pull-request-5"
        assert outcomes(pipeline)["E2E"] == ("passed", "skipped")
        assert promoted(sim, pipeline) == []


def test_platform_failing_on_main_rolls_back(tmp_path: Path) -> None:
    scenario = scenario_over(tmp_path, "platform", {"branch": "main"}, jobs={"Unit": {"result": "failed"}})
    with ran(scenario) as sim:
        pipeline = initial(sim)
        assert outcomes(pipeline) == {"Unit": ("failed", "test"), "E2E": ("canceled", "fast_failing")}
        assert promoted(sim, pipeline) == [("Rollback", "passed", True, "Rollback", "passed")]


# --- what is still refused ----------------------------------------------------------------------------------------


def test_a_folder_using_what_cannot_be_simulated_is_refused_with_file_line_and_feature() -> None:
    folder = CORPUS / "unsupported"
    with pytest.raises(ScenarioError) as caught:
        load_scenario(folder)
    message = str(caught.value)
    assert message.startswith(f"{folder / '.semaphore' / 'semaphore.yml'}:14: ")
    assert "`filters` in a block is not supported by the simulator" in message
