"""Golden tests of the pipeline features real repositories use, each run from pipeline files through the scenario
loader and read back over HTTP with Semaphore's states and result reasons (docs/scenarios.md lists them)."""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pytest_semaphore.simulator import SemaphoreSimulator

from .helpers import Raw

API = "/api/v1alpha"
AGENT = "version: v1.0\nagent: {machine: {type: e1-standard-2, os_image: ubuntu2004}}\n"


def write_repository(root: Path, files: dict[str, str]) -> Path:
    """A repository folder with the given ``.semaphore/`` files (each given a version and an agent)."""
    for name, text in files.items():
        path = root / ".semaphore" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(AGENT + textwrap.dedent(text), encoding="utf-8")
    return root


def write_scenario(root: Path, files: dict[str, str], scenario: str) -> Path:
    """A scenario file next to a repository folder ``repo`` holding ``files``."""
    write_repository(root / "repo", files)
    path = root / "scenario.yml"
    path.write_text(textwrap.dedent(scenario), encoding="utf-8")
    return path


@contextmanager
def simulator(path: Path, **options: Any) -> Iterator[tuple[SemaphoreSimulator, Raw]]:
    with SemaphoreSimulator(path, token="t", **options) as sim:
        raw = Raw(sim.url, "t")
        try:
            yield sim, raw
        finally:
            raw.close()


def first_pipeline(sim: SemaphoreSimulator) -> str:
    (project,) = sim.world.projects()
    (workflow,) = sim.world.workflows(project.project_id)
    return workflow.initial_ppl_id


def described(raw: Raw, ppl_id: str) -> dict[str, Any]:
    response = raw.get(f"{API}/pipelines/{ppl_id}?detailed=true")
    assert response.status == 200
    body: dict[str, Any] = response.json()
    return body


def block_outcomes(body: dict[str, Any]) -> dict[str, tuple[str, str | None, str | None, list[str]]]:
    """name -> (state, result, result_reason, job names) as the detailed describe shows each block."""
    return {
        b["name"]: (b["state"], b.get("result"), b.get("result_reason"), [j["name"] for j in b["jobs"]])
        for b in body["blocks"]
    }


# --- after_pipeline ------------------------------------------------------------------------------------------------

AFTER = {
    "semaphore.yml": """\
        name: Build
        blocks:
          - name: Test
            task: {jobs: [{name: Test, commands: [make test]}]}
        after_pipeline:
          task:
            jobs:
              - name: Publish test results
                commands: [test-results gen-pipeline-report]
        """
}


def test_after_pipeline_jobs_run_once_the_pipeline_is_done_and_never_change_its_result(tmp_path: Path) -> None:
    scenario = write_scenario(
        tmp_path,
        AFTER,
        """\
        projects:
          - name: app
            repository: repo
            jobs:
              Test: {result: failed}
              Publish test results: {result: failed, duration: 30}
        runs: [{branch: master}]
        """,
    )
    with simulator(scenario) as (sim, raw):
        ppl_id = first_pipeline(sim)
        sim.advance(5)  # the test job failed at 4.0: the pipeline is done, the after-pipeline job just started
        pipeline = sim.world.pipeline(ppl_id)
        assert (pipeline.state, pipeline.result, pipeline.result_reason) == ("done", "failed", "test")
        done_at = pipeline.done_at
        assert pipeline.after_task is not None
        (after_job,) = pipeline.after_task.jobs
        assert after_job.state in ("pending", "queued", "running")
        env = dict(after_job.env_vars)
        assert (env["SEMAPHORE_PIPELINE_RESULT"], env["SEMAPHORE_PIPELINE_RESULT_REASON"]) == ("failed", "test")
        sim.advance(60)
        assert (after_job.state, after_job.result) == ("finished", "failed")
        body = described(raw, ppl_id)
        assert (body["pipeline"]["state"], body["pipeline"]["result"]) == ("done", "failed")
        assert pipeline.done_at == done_at
        assert body["pipeline"]["with_after_task"] is True
        assert body["pipeline"]["after_task_id"] == pipeline.after_task.build_req_id != ""
        # The after-pipeline task is not a block of the pipeline; its jobs are jobs like any other.
        assert list(block_outcomes(body)) == ["Test"]
        job = raw.get(f"{API}/jobs/{after_job.job_id}").json()
        assert (job["metadata"]["name"], job["status"]["result"]) == ("Publish test results", "FAILED")


def test_a_pipeline_without_after_pipeline_says_so(tmp_path: Path) -> None:
    repo = write_repository(tmp_path, {"semaphore.yml": "blocks: [{name: A, task: {jobs: [{commands: [x]}]}}]\n"})
    with simulator(repo) as (sim, raw):
        ppl_id = first_pipeline(sim)
        sim.advance(10)
        pipeline = described(raw, ppl_id)["pipeline"]
        assert (pipeline["with_after_task"], pipeline["after_task_id"]) == (False, "")
        # no `name` in the file: Semaphore calls it "Pipeline"; and the nameless job is "Nameless 1"
        assert pipeline["name"] == "Pipeline"
        assert block_outcomes(described(raw, ppl_id))["A"] == ("done", "passed", "test", ["Nameless 1"])


# --- run / skip conditions and change_in ---------------------------------------------------------------------------

CONDITIONS = {
    "semaphore.yml": """\
        name: CI
        blocks:
          - name: Build
            task: {jobs: [{name: Build, commands: [make]}]}
          - name: Docs
            run: {when: "change_in('/docs/')"}
            task: {jobs: [{name: Docs, commands: [make docs]}]}
          - name: Deploy
            skip: {when: "branch != 'main'"}
            task: {jobs: [{name: Deploy, commands: [make deploy]}]}
          - name: Release
            run: {when: "tag =~ '^v'"}
            task: {jobs: [{name: Release, commands: [make release]}]}
          - name: Smoke
            task: {jobs: [{name: Smoke, commands: [make smoke]}]}
        """
}


def run_conditions(tmp_path: Path, run: str) -> dict[str, tuple[str, str | None, str | None, list[str]]]:
    scenario = write_scenario(tmp_path, CONDITIONS, f"projects: [{{name: app, repository: repo}}]\nruns: [{run}]\n")
    with simulator(scenario) as (sim, raw):
        ppl_id = first_pipeline(sim)
        sim.advance(60)
        body = described(raw, ppl_id)
        assert (body["pipeline"]["state"], body["pipeline"]["result"], body["pipeline"]["result_reason"]) == (
            "done",
            "passed",
            "test",
        )
        return block_outcomes(body)


def test_skipped_blocks_are_done_passed_skipped_without_jobs_and_the_next_ones_run(tmp_path: Path) -> None:
    outcomes = run_conditions(tmp_path, "{branch: feature, changed_files: [src/app.py]}")
    assert outcomes == {
        "Build": ("done", "passed", "test", ["Build"]),
        "Docs": ("done", "passed", "skipped", []),  # nothing under docs/ changed
        "Deploy": ("done", "passed", "skipped", []),  # not main
        "Release": ("done", "passed", "skipped", []),  # not a tag
        "Smoke": ("done", "passed", "test", ["Smoke"]),  # after skipped blocks, as after passed ones
    }


def test_conditions_that_hold_run_their_blocks(tmp_path: Path) -> None:
    outcomes = run_conditions(tmp_path, "{branch: main, changed_files: [docs/index.md]}")
    assert [name for name, outcome in outcomes.items() if outcome[2] == "skipped"] == ["Release"]
    assert outcomes["Docs"] == ("done", "passed", "test", ["Docs"])


def test_a_run_that_declares_no_changes_counts_everything_as_changed(tmp_path: Path) -> None:
    outcomes = run_conditions(tmp_path, "{branch: main}")
    assert outcomes["Docs"] == ("done", "passed", "test", ["Docs"])


def test_on_a_tag_change_in_is_true_and_tag_conditions_hold(tmp_path: Path) -> None:
    outcomes = run_conditions(tmp_path, "{tag: v1.2.3, changed_files: []}")
    assert outcomes["Docs"][2] == "test"  # change_in's on_tags defaults to true
    assert outcomes["Release"] == ("done", "passed", "test", ["Release"])
    assert outcomes["Deploy"][2] == "skipped"  # on a tag build `branch` is empty


# --- fail_fast -----------------------------------------------------------------------------------------------------


def fail_fast_pipeline(strategy: str) -> dict[str, str]:
    return {
        "semaphore.yml": f"""\
            name: CI
            fail_fast:
              {strategy}: {{when: "branch = 'main'"}}
            blocks:
              - name: Lint
                dependencies: []
                task: {{jobs: [{{name: Lint, commands: [make lint]}}]}}
              - name: Integration
                dependencies: []
                task: {{jobs: [{{name: Integration, commands: [make it]}}]}}
              - name: Package
                dependencies: [Lint, Integration]
                task: {{jobs: [{{name: Package, commands: [make dist]}}]}}
              - name: Later
                dependencies: [Lint]
                task: {{jobs: [{{name: Later, commands: [make later]}}]}}
            """
    }


FAIL_FAST_SCENARIO = """\
    projects:
      - name: app
        repository: repo
        jobs:
          Lint: {{result: failed, duration: 5}}
          Integration: {{duration: 100}}
    runs: [{{branch: {branch}}}]
    """


def test_fail_fast_stop_stops_the_running_blocks_and_cancels_the_rest(tmp_path: Path) -> None:
    scenario = write_scenario(tmp_path, fail_fast_pipeline("stop"), FAIL_FAST_SCENARIO.format(branch="main"))
    with simulator(scenario) as (sim, raw):
        ppl_id = first_pipeline(sim)
        sim.advance(10)  # Lint failed at 8.0; Integration would run until 103.0
        body = described(raw, ppl_id)
        assert (body["pipeline"]["state"], body["pipeline"]["result"], body["pipeline"]["result_reason"]) == (
            "done",
            "failed",
            "test",
        )
        outcomes = block_outcomes(body)
        assert outcomes["Lint"][:3] == ("done", "failed", "test")
        assert outcomes["Integration"][:3] == ("done", "stopped", "fast_failing")
        assert outcomes["Package"] == ("done", "canceled", "fast_failing", [])
        assert outcomes["Later"] == ("done", "canceled", "fast_failing", [])
        (integration,) = sim.world.pipeline(ppl_id).blocks[1].jobs
        assert (integration.state, integration.result) == ("finished", "stopped")


def test_fail_fast_cancel_lets_running_blocks_finish(tmp_path: Path) -> None:
    scenario = write_scenario(tmp_path, fail_fast_pipeline("cancel"), FAIL_FAST_SCENARIO.format(branch="main"))
    with simulator(scenario) as (sim, raw):
        ppl_id = first_pipeline(sim)
        sim.advance(10)
        assert sim.world.pipeline(ppl_id).state == "running"  # Integration goes on
        sim.advance(100)
        outcomes = block_outcomes(described(raw, ppl_id))
        assert outcomes["Integration"][:3] == ("done", "passed", "test")
        assert outcomes["Package"][:3] == ("done", "canceled", "fast_failing")
        assert outcomes["Later"][:3] == ("done", "canceled", "fast_failing")
        assert (sim.world.pipeline(ppl_id).result, sim.world.pipeline(ppl_id).result_reason) == ("failed", "test")


def test_fail_fast_whose_condition_does_not_hold_changes_nothing(tmp_path: Path) -> None:
    scenario = write_scenario(tmp_path, fail_fast_pipeline("stop"), FAIL_FAST_SCENARIO.format(branch="dev"))
    with simulator(scenario) as (sim, raw):
        ppl_id = first_pipeline(sim)
        sim.advance(200)
        outcomes = block_outcomes(described(raw, ppl_id))
        assert outcomes["Integration"][:3] == ("done", "passed", "test")
        assert outcomes["Package"][:3] == ("done", "canceled", "fast_failing")  # its dependency failed
        assert outcomes["Later"][:3] == ("done", "canceled", "fast_failing")


# --- promotions ----------------------------------------------------------------------------------------------------

RELEASE = {
    "semaphore.yml": """\
        name: CI
        queue: {name: releases, scope: project, processing: serialized}
        auto_cancel: {running: {when: "branch != 'main'"}}
        blocks:
          - name: Build
            task: {jobs: [{name: Build, commands: [make]}]}
        promotions:
          - name: Release (old form)
            pipeline_file: release.yml
            auto_promote_on:
              - result: passed
                branch: ["^refs/tags/v1.*"]
          - name: Release (when)
            pipeline_file: release.yml
            auto_promote:
              when: "result = 'passed' and tag =~ '^v1'"
          - name: Preview
            pipeline_file: preview.yml
            auto_promote_on:
              - result: passed
                result_reason: ""
                branch: ["^pull-request-"]
          - name: Deploy
            pipeline_file: deploy.yml
            deployment_target: Production
            parameters:
              env_vars:
                - name: ENVIRONMENT
                  options: [staging, production]
        """,
    "release.yml": "name: Release\nblocks: [{name: Publish, task: {jobs: [{name: Publish, commands: [make it]}]}}]\n",
    "preview.yml": "name: Preview\nblocks: [{name: Preview, task: {jobs: [{name: Preview, commands: [make up]}]}}]\n",
    "deploy.yml": """\
        name: Deploy to ${{ parameters.ENVIRONMENT }}
        blocks: [{name: Deploy, task: {jobs: [{name: Deploy, commands: [make deploy]}]}}]
        """,
}


def promotions_after(tmp_path: Path, **where: str | None) -> list[tuple[str, str, str, str]]:
    """(promotion, status, triggered_by, promoted pipeline's name) of a folder run, newest first."""
    with simulator(write_repository(tmp_path, RELEASE), **where) as (sim, raw):
        ppl_id = first_pipeline(sim)
        sim.advance(60)
        listed = raw.get(f"{API}/promotions?pipeline_id={ppl_id}").json()
        return [
            (
                p["name"],
                p["status"],
                p["triggered_by"],
                sim.world.pipeline(p["scheduled_pipeline_id"]).name if p["scheduled_pipeline_id"] else "",
            )
            for p in listed
        ]


def test_a_tag_build_auto_promotes_in_both_forms(tmp_path: Path) -> None:
    # gofer matches auto_promote_on's branch patterns against the branch name, refs/tags/v1.2.3 on a tag build
    assert sorted(promotions_after(tmp_path, tag="v1.2.3")) == [
        ("Release (old form)", "passed", "Pipeline Done request", "Release"),
        ("Release (when)", "passed", "Pipeline Done request", "Release"),
    ]


def test_a_branch_build_auto_promotes_neither_release(tmp_path: Path) -> None:
    assert promotions_after(tmp_path, branch="v1-maintenance") == []


def test_a_pull_request_build_auto_promotes_its_preview_whatever_the_reason(tmp_path: Path) -> None:
    assert promotions_after(tmp_path, pull_request="42") == [("Preview", "passed", "Pipeline Done request", "Preview")]


def test_a_promoted_pipeline_is_named_with_its_parameters(tmp_path: Path) -> None:
    with simulator(write_repository(tmp_path, RELEASE), branch="main") as (sim, raw):
        ppl_id = first_pipeline(sim)
        sim.advance(30)
        form = f"pipeline_id={ppl_id}&name=Deploy&ENVIRONMENT=production"
        assert raw.post_form(f"{API}/promotions", form).status == 200  # the deployment target lets anyone
        sim.advance(5)
        (promotion,) = raw.get(f"{API}/promotions?pipeline_id={ppl_id}").json()
        promoted = described(raw, promotion["scheduled_pipeline_id"])["pipeline"]
        assert promoted["name"] == "Deploy to production"
        assert {"name": "ENVIRONMENT", "value": "production"} in promoted["env_vars"]


# --- promotions of a pipeline that is not done -----------------------------------------------------------------


def trigger_while_running(raw: Raw, ppl_id: str, *, override: bool) -> tuple[int, Any]:
    body = {"pipeline_id": ppl_id, "name": "Deploy", "override": override, "ENVIRONMENT": "staging"}
    response = raw.post_json(f"{API}/promotions", body)
    return response.status, response.json()


LONG_BUILD = """\
    {early}projects:
      - name: app
        repository: repo
        jobs:
          Build: {{duration: 100}}
    runs: [{{branch: main}}]
    """


def test_promoting_a_running_pipeline_needs_override_and_then_waits_for_it_by_default(tmp_path: Path) -> None:
    scenario = write_scenario(tmp_path, RELEASE, LONG_BUILD.format(early=""))
    with simulator(scenario) as (sim, raw):
        ppl_id = first_pipeline(sim)
        sim.advance(10)  # Build runs until 103.0
        assert trigger_while_running(raw, ppl_id, override=False) == (
            409,
            {
                "code": "REFUSED",
                "message": "Triggering target when pipeline is not passed requires override confirmation.",
            },
        )
        assert trigger_while_running(raw, ppl_id, override=True) == (200, "Promotion successfully triggered.")
        sim.advance(30)
        (waiting,) = raw.get(f"{API}/promotions?pipeline_id={ppl_id}").json()
        assert (waiting["status"], waiting["override"], waiting["scheduled_pipeline_id"]) == ("processing", True, "")
        assert [p.yaml_file for p in sim.world.pipelines()] == [".semaphore/semaphore.yml"]
        sim.advance(70)  # the parent is done at 103.0: now the promoted pipeline starts
        parent = sim.world.pipeline(ppl_id)
        assert (parent.state, parent.result) == ("done", "passed")
        (processed,) = raw.get(f"{API}/promotions?pipeline_id={ppl_id}").json()
        assert processed["status"] == "passed"
        promoted = sim.world.pipeline(processed["scheduled_pipeline_id"])
        assert promoted.created_at == parent.done_at
        assert promoted.promotion_of == ppl_id


def test_a_scenario_can_let_the_promoted_pipeline_start_before_its_parent_is_done(tmp_path: Path) -> None:
    scenario = write_scenario(tmp_path, RELEASE, LONG_BUILD.format(early="early_promotions: start\n    "))
    with simulator(scenario) as (sim, raw):
        ppl_id = first_pipeline(sim)
        sim.advance(10)
        assert trigger_while_running(raw, ppl_id, override=True)[0] == 200
        sim.advance(30)
        (promotion,) = raw.get(f"{API}/promotions?pipeline_id={ppl_id}").json()
        assert promotion["status"] == "passed"
        promoted = sim.world.pipeline(promotion["scheduled_pipeline_id"])
        assert (promoted.state, promoted.result) == ("done", "passed")  # a 1-second deploy, done long before
        assert sim.world.pipeline(ppl_id).state == "running"


# --- auto_cancel -----------------------------------------------------------------------------------------------


def auto_cancel_world(tmp_path: Path, policy: str) -> Path:
    files = {
        "semaphore.yml": f"""\
            name: CI
            auto_cancel:
              {policy}: {{when: "branch != 'main'"}}
            blocks: [{{name: Test, task: {{jobs: [{{name: Test, commands: [make test]}}]}}}}]
            """
    }
    return write_scenario(tmp_path, files, "projects: [{name: app, repository: repo, jobs: {Test: {duration: 100}}}]\n")


def test_auto_cancel_running_stops_the_older_pipeline_of_the_branch(tmp_path: Path) -> None:
    with simulator(auto_cancel_world(tmp_path, "running")) as (sim, raw):
        _, first = sim.world.start_workflow("app", branch="feature")
        _, on_main = sim.world.start_workflow("app", branch="main")
        sim.advance(10)
        _, second = sim.world.start_workflow("app", branch="feature")
        _, main_again = sim.world.start_workflow("app", branch="main")
        sim.advance(5)
        stopped = described(raw, first)["pipeline"]
        assert (stopped["state"], stopped["result"], stopped["result_reason"]) == ("done", "stopped", "strategy")
        assert sim.world.pipeline(second).state == "running"
        assert sim.world.pipeline(on_main).state == "running"  # the condition does not hold on main
        sim.advance(200)
        assert [sim.world.pipeline(p).result for p in (second, on_main, main_again)] == ["passed"] * 3


def test_auto_cancel_queued_spares_a_running_pipeline_and_cancels_one_not_yet_running(tmp_path: Path) -> None:
    with simulator(auto_cancel_world(tmp_path, "queued")) as (sim, raw):
        _, running = sim.world.start_workflow("app", branch="feature")
        sim.advance(10)
        _, waiting = sim.world.start_workflow("app", branch="feature")
        sim.advance(0.1)  # the third enters the queue at 11.6, while the second is still queuing (11.5 to 12.0)
        _, newest = sim.world.start_workflow("app", branch="feature")
        sim.advance(5)
        canceled = described(raw, waiting)["pipeline"]
        assert (canceled["state"], canceled["result"], canceled["result_reason"]) == ("done", "canceled", "strategy")
        assert sim.world.pipeline(running).state == "running"
        sim.advance(200)
        assert [sim.world.pipeline(p).result for p in (running, newest)] == ["passed", "passed"]
