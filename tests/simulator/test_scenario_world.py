"""Scenario and pipeline files run through the simulated world and read back over HTTP (``http.client``, never our
client): job names, dependencies, every ``when`` operator, parameters, promotions into other files, the bundled
example end to end."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

import pytest_semaphore.simulator as simulator_package
from pytest_semaphore.simulator import SemaphoreSimulator

from .helpers import Raw

API = "/api/v1alpha"
EXAMPLE = Path(simulator_package.__file__).parent / "examples" / "release-train"


@contextmanager
def running(scenario: str | Path) -> Iterator[tuple[SemaphoreSimulator, Raw]]:
    with SemaphoreSimulator(scenario) as sim:
        raw = Raw(sim.url, sim.token)
        try:
            yield sim, raw
        finally:
            raw.close()


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def pipelines(raw: Raw, project: str) -> list[dict[str, Any]]:
    project_id = raw.get(f"{API}/projects/{project}").json()["metadata"]["id"]
    listed: list[dict[str, Any]] = raw.get(f"{API}/pipelines?project_id={project_id}").json()
    return listed


def describe(raw: Raw, ppl_id: str) -> dict[str, Any]:
    response = raw.get(f"{API}/pipelines/{ppl_id}?detailed=true")
    assert response.status == 200
    described: dict[str, Any] = response.json()
    return described


def job_names(described: dict[str, Any]) -> dict[str, list[str]]:
    return {block["name"]: [job["name"] for job in block["jobs"]] for block in described["blocks"]}


def promotions(raw: Raw, ppl_id: str) -> list[dict[str, Any]]:
    listed: list[dict[str, Any]] = raw.get(f"{API}/promotions?pipeline_id={ppl_id}").json()
    return listed


def log_text(raw: Raw, job_id: str) -> str:
    events = raw.get(f"{API}/logs/{job_id}").json()["events"]
    return "".join(event.get("output", "") for event in events if event["event"] == "cmd_output")


def job_id(described: dict[str, Any], name: str) -> str:
    found: str = next(job["job_id"] for block in described["blocks"] for job in block["jobs"] if job["name"] == name)
    return found


def test_parallel_and_matrix_jobs_carry_semaphores_names_in_the_api(tmp_path: Path) -> None:
    path = write(
        tmp_path / "scenario.yml",
        """
        projects:
          - name: shop
            pipelines:
              semaphore.yml:
                name: CI
                blocks:
                  - name: Tests
                    task:
                      jobs:
                        - name: RSpec
                          parallelism: 3
                          commands: [bundle exec rspec]
                        - name: Matrix
                          matrix:
                            - {env_var: RUBY, values: ["3.2", "3.3"]}
                            - {env_var: DB, values: [pg, mysql]}
                          commands: [make]
                  - task:
                      jobs:
                        - commands: [make package]
            jobs:
              RSpec - 2/3: {result: failed}
        runs:
          - branch: master
        """,
    )
    with running(path) as (sim, raw):
        (listed,) = pipelines(raw, "shop")
        sim.advance(60)
        described = describe(raw, listed["ppl_id"])
        assert job_names(described) == {
            "Tests": [
                "RSpec - 1/3",
                "RSpec - 2/3",
                "RSpec - 3/3",
                "Matrix - RUBY=3.2, DB=pg",
                "Matrix - RUBY=3.2, DB=mysql",
                "Matrix - RUBY=3.3, DB=pg",
                "Matrix - RUBY=3.3, DB=mysql",
            ],
            "Nameless block 1": [],  # the first nameless block; canceled (its implicit dependency failed), no jobs
        }
        results = {job["name"]: job["result"] for job in described["blocks"][0]["jobs"]}
        assert results["RSpec - 2/3"] == "FAILED"
        assert results["RSpec - 1/3"] == results["Matrix - RUBY=3.3, DB=mysql"] == "PASSED"
        assert described["pipeline"]["result"] == "failed"
        spec = raw.get(f"{API}/jobs/{job_id(described, 'RSpec - 3/3')}").json()["spec"]
        env = {item["name"]: item["value"] for item in spec["env_vars"]}
        assert (env["SEMAPHORE_JOB_COUNT"], env["SEMAPHORE_JOB_INDEX"]) == ("3", "3")


def _timing_repository(root: Path, dependencies: bool) -> None:
    deps = {"A": "dependencies: []", "B": "dependencies: []", "C": "dependencies: [A, B]"} if dependencies else {}
    blocks = "".join(
        f"""
          - name: {name}
            {deps.get(name, "")}
            task:
              jobs:
                - name: job {name}
                  commands: [make {name}]
        """
        for name in "ABC"
    )
    write(
        root / ".semaphore" / "semaphore.yml",
        "version: v1.0\nname: Timing\nagent: {machine: {type: e1-standard-2}}\nblocks:" + textwrap.dedent(blocks),
    )
    write(
        root / "scenario.yml",
        """
        projects:
          - name: timing
            repository: .
            jobs:
              job A: {duration: 10}
              job B: {duration: 30}
              job C: {duration: 5}
        runs: [{branch: master}]
        """,
    )


@pytest.mark.parametrize("dependencies", [True, False], ids=["explicit", "implicit"])
def test_block_dependencies_decide_when_blocks_start(tmp_path: Path, dependencies: bool) -> None:
    _timing_repository(tmp_path, dependencies)
    with running(tmp_path / "scenario.yml") as (sim, raw):
        (listed,) = pipelines(raw, "timing")
        sim.advance(200)
        assert describe(raw, listed["ppl_id"])["pipeline"]["result"] == "passed"
        blocks = {block.name: block for block in sim.world.pipeline(listed["ppl_id"]).blocks}
        a, b, c = (blocks[name].jobs[0] for name in "ABC")
        assert a.started_at is not None
        assert b.started_at is not None
        assert c.started_at is not None
        assert a.finished_at is not None
        assert b.finished_at is not None
        if dependencies:  # A and B together, C after both
            assert a.started_at == b.started_at
            assert c.started_at >= max(a.finished_at, b.finished_at)
        else:  # one after the other, in file order
            assert b.started_at >= a.finished_at
            assert c.started_at >= b.finished_at


WHEN_PIPELINE = """\
version: v1.0
name: Gate
agent: {machine: {type: e1-standard-2}}
blocks:
  - name: Test
    task: {jobs: [{name: test, commands: [make test]}]}
promotions:
  - {name: eq, pipeline_file: deploy.yml, auto_promote: {when: "branch = 'master'"}}
  - {name: ne, pipeline_file: deploy.yml, auto_promote: {when: "branch != 'master'"}}
  - {name: match, pipeline_file: deploy.yml, auto_promote: {when: "tag =~ '^v1\\\\.'"}}
  - {name: no-match, pipeline_file: deploy.yml, auto_promote: {when: "branch !~ '^dev/'"}}
  - {name: pr, pipeline_file: deploy.yml, auto_promote: {when: "pull_request = '7'"}}
  - {name: and, pipeline_file: deploy.yml, auto_promote: {when: "result = 'passed' AND result_reason = 'test'"}}
  - {name: or, pipeline_file: deploy.yml, auto_promote: {when: "tag = 'v1.2.0' OR pull_request = '7'"}}
  - {name: left-to-right, pipeline_file: deploy.yml, auto_promote: {when: "true or false and branch = 'x'"}}
  - {name: parens, pipeline_file: deploy.yml, auto_promote: {when: "true or (false and branch = 'x')"}}
  - {name: failed, pipeline_file: deploy.yml, auto_promote: {when: "result = 'failed'"}}
  - {name: literal, pipeline_file: deploy.yml, auto_promote: {when: true}}
  - {name: manual, pipeline_file: deploy.yml}
"""
DEPLOY_PIPELINE = """\
version: v1.0
name: Deploy
agent: {machine: {type: e1-standard-2}}
blocks:
  - name: Deploy
    task: {jobs: [{name: deploy, commands: [make deploy]}]}
"""


@pytest.mark.parametrize(
    ("run", "expected"),
    [
        ("branch: master", {"eq", "no-match", "and", "parens", "literal"}),
        ("branch: dev/login", {"ne", "and", "parens", "literal"}),
        ("branch: feature", {"ne", "no-match", "and", "parens", "literal"}),
        # On a tag or pull request build, `branch` is empty (pipeline YAML reference, auto_promote).
        ("tag: v1.2.0", {"ne", "match", "no-match", "and", "or", "parens", "literal"}),
        ("pull_request: '7'", {"ne", "no-match", "pr", "and", "or", "parens", "literal"}),
    ],
)
def test_each_when_operator_decides_auto_promotion(tmp_path: Path, run: str, expected: set[str]) -> None:
    write(tmp_path / ".semaphore" / "semaphore.yml", WHEN_PIPELINE)
    write(tmp_path / ".semaphore" / "deploy.yml", DEPLOY_PIPELINE)
    write(tmp_path / "scenario.yml", f"projects: [{{name: gate, repository: .}}]\nruns:\n  - {run}\n")
    with running(tmp_path / "scenario.yml") as (sim, raw):
        gate = next(p for p in pipelines(raw, "gate") if p["name"] == "Gate")
        sim.advance(120)
        triggered = promotions(raw, gate["ppl_id"])
        assert {item["name"] for item in triggered} == expected
        assert all(item["triggered_by"] == "Pipeline Done request" for item in triggered)
        assert all(item["status"] == "passed" for item in triggered)
        scheduled = {item["scheduled_pipeline_id"] for item in triggered}
        names = {p["ppl_id"]: p["name"] for p in pipelines(raw, "gate")}
        assert {names[ppl_id] for ppl_id in scheduled} == {"Deploy"}


PARAMETER_SCENARIO = """\
projects:
  - name: shop
    pipelines:
      semaphore.yml:
        name: Build
        blocks:
          - name: Build
            task: {jobs: [{name: build, commands: [make]}]}
        promotions:
          - name: Deploy
            pipeline_file: /ops/deploy.yml
            parameters:
              env_vars:
                - {name: TARGET, options: [staging, production], default_value: staging, required: true}
                - {name: TICKET}  # required when `required` is left out, as on Semaphore
                - {name: NOTE, required: false}
      /ops/deploy.yml:
        name: Deploy ${TARGET}
        blocks:
          - name: Deploy
            task: {jobs: [{name: deploy, commands: [./deploy]}]}
runs: [{branch: master}]
"""


def test_parameters_with_options_and_required_ones(tmp_path: Path) -> None:
    path = write(tmp_path / "scenario.yml", PARAMETER_SCENARIO)
    with running(path) as (sim, raw):
        (build,) = pipelines(raw, "shop")
        sim.advance(60)

        def trigger(**parameters: str) -> int:
            form = urlencode({"name": "Deploy", "pipeline_id": build["ppl_id"], **parameters})
            return raw.post_form(f"{API}/promotions", form).status

        assert trigger(TARGET="moon", TICKET="REL-1") == 500  # not one of the options: gofer's BAD_PARAM
        assert trigger(TARGET="production") == 500  # the required TICKET is missing
        assert trigger(TARGET="production", TICKET="REL-2") == 200
        assert trigger(TICKET="REL-3", NOTE="hotfix") == 200  # TARGET falls back to its default
        sim.advance(30)
        deploys = [sim.world.pipeline(item["scheduled_pipeline_id"]) for item in promotions(raw, build["ppl_id"])]
        assert [(p.yaml_file, p.name) for p in deploys] == [("ops/deploy.yml", "Deploy ${TARGET}")] * 2
        assert sorted((dict(p.env_vars) for p in deploys), key=lambda env: env["TICKET"]) == [
            {"TARGET": "production", "TICKET": "REL-2"},
            {"TARGET": "staging", "TICKET": "REL-3", "NOTE": "hotfix"},
        ]
        described = describe(raw, deploys[0].ppl_id)["pipeline"]
        assert (described["working_directory"], described["yaml_file_name"]) == ("ops", "deploy.yml")
        assert described["promotion_of"] == build["ppl_id"]


def test_a_malformed_pipeline_in_a_scenario_fails_as_on_semaphore(tmp_path: Path) -> None:
    path = write(
        tmp_path / "scenario.yml",
        """
        projects:
          - name: shop
            pipelines:
              semaphore.yml: {malformed: "Unknown key 'blokcs' at line 4"}
        runs: [{branch: master}]
        """,
    )
    with running(path) as (sim, raw):
        (listed,) = pipelines(raw, "shop")
        sim.advance(10)
        described = describe(raw, listed["ppl_id"])["pipeline"]
        assert (described["state"], described["result"], described["result_reason"]) == ("done", "failed", "malformed")
        assert described["error_description"] == "Unknown key 'blokcs' at line 4"


# --- the bundled example -----------------------------------------------------------------------------------------


def test_the_bundled_release_train_runs_end_to_end() -> None:
    with running(EXAMPLE / "scenario.yml") as (sim, raw):
        (train,) = pipelines(raw, "release-train")
        assert train["name"] == "Release train"
        sim.advance(600)
        described = describe(raw, train["ppl_id"])
        assert (described["pipeline"]["state"], described["pipeline"]["result"]) == ("done", "passed")
        assert job_names(described) == {
            "Build": ["Build"],
            "Tests": ["Unit tests - 1/3", "Unit tests - 2/3", "Unit tests - 3/3", "Lint"],
        }
        assert "Build finished: dist/app.tar.gz" in log_text(raw, job_id(described, "Build"))
        assert len(log_text(raw, job_id(described, "Lint"))) >= 20000

        # Staging was promoted automatically (master, passed) into staging.yml and passed too.
        (staging,) = promotions(raw, train["ppl_id"])
        assert (staging["name"], staging["status"], staging["triggered_by"]) == (
            "Staging",
            "passed",
            "Pipeline Done request",
        )
        staged = describe(raw, staging["scheduled_pipeline_id"])
        assert staged["pipeline"]["yaml_file_name"] == "staging.yml"
        assert (staged["pipeline"]["name"], staged["pipeline"]["result"]) == ("Deploy to staging", "passed")
        assert job_names(staged) == {"Deploy": ["Deploy to staging"], "Smoke tests": ["Smoke tests"]}

        # Production is manual and takes parameters: REGION (options, required, with a default), RELEASE_NOTE.
        form = urlencode({"name": "Production", "pipeline_id": train["ppl_id"], "REGION": "us-east-1"})
        assert raw.post_form(f"{API}/promotions", form).status == 200
        sim.advance(120)
        production = next(p for p in promotions(raw, train["ppl_id"]) if p["name"] == "Production")
        shipped = describe(raw, production["scheduled_pipeline_id"])
        assert (shipped["pipeline"]["name"], shipped["pipeline"]["result"]) == ("Deploy to production", "passed")
        assert dict(sim.world.pipeline(production["scheduled_pipeline_id"]).env_vars) == {"REGION": "us-east-1"}
        deploy_job = job_id(shipped, "Deploy to production")
        assert "release-train-deploy-secret" in log_text(raw, deploy_job)  # the secret a gate must redact
        spec = raw.get(f"{API}/jobs/{deploy_job}").json()["spec"]
        assert {"name": "DEPLOY_TOKEN", "value": "release-train-deploy-secret"} in spec["env_vars"]


def test_the_bundled_failing_variant_stops_the_train() -> None:
    with running(EXAMPLE / "failing.yml") as (sim, raw):
        (train,) = pipelines(raw, "release-train")
        sim.advance(600)
        described = describe(raw, train["ppl_id"])
        assert (described["pipeline"]["result"], described["pipeline"]["result_reason"]) == ("failed", "test")
        results = {job["name"]: job["result"] for block in described["blocks"] for job in block["jobs"]}
        assert results == {
            "Build": "PASSED",
            "Unit tests - 1/3": "PASSED",
            "Unit tests - 2/3": "FAILED",
            "Unit tests - 3/3": "PASSED",
            "Lint": "PASSED",
        }
        failed = job_id(described, "Unit tests - 2/3")
        events = raw.get(f"{API}/logs/{failed}").json()["events"]
        finished = [e for e in events if e["event"] == "cmd_finished"]
        assert (finished[-1]["directive"], finished[-1]["exit_code"]) == ("make test PARTITION=$SEMAPHORE_JOB_INDEX", 1)
        assert "assert 119 == 120" in log_text(raw, failed)
        assert promotions(raw, train["ppl_id"]) == []  # result = 'passed' is false: no staging


def test_the_bundled_semaphore_folder_loads_on_its_own() -> None:
    with running(EXAMPLE / ".semaphore") as (sim, raw):
        (train,) = pipelines(raw, "release-train")
        sim.advance(600)
        assert describe(raw, train["ppl_id"])["pipeline"]["result"] == "passed"
        assert [p["name"] for p in promotions(raw, train["ppl_id"])] == ["Staging"]


def test_the_bundled_example_as_json_runs_the_same(tmp_path: Path) -> None:
    import yaml

    document = yaml.safe_load((EXAMPLE / "scenario.yml").read_text(encoding="utf-8"))
    document["projects"][0]["repository"] = str(EXAMPLE)
    path = tmp_path / "scenario.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    with running(path) as (sim, raw):
        (train,) = pipelines(raw, "release-train")
        sim.advance(600)
        assert describe(raw, train["ppl_id"])["pipeline"]["result"] == "passed"
