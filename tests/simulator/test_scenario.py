"""Scenario files read into definitions: each part of the format from a file, YAML and JSON alike, and bad files."""

from __future__ import annotations

import json
import tempfile
import textwrap
from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from pytest_semaphore.simulator import SemaphoreSimulator
from pytest_semaphore.simulator.definitions import FaultDef, JobDef, ProjectDef, RunDef, ScenarioDef
from pytest_semaphore.simulator.scenario import ScenarioError, load_scenario

PIPELINE = """\
version: v1.0
name: CI
agent:
  machine:
    type: e1-standard-2
blocks:
  - name: Test
    task:
      jobs:
        - name: Unit
          parallelism: 2
          commands: [checkout, make unit]
        - name: Lint
          commands: [make lint]
promotions:
  - name: Deploy
    pipeline_file: deploy.yml
    auto_promote:
      when: "branch = 'master' and result = 'passed'"
"""
DEPLOY = """\
version: v1.0
name: Deploy
agent:
  machine:
    type: e1-standard-2
blocks:
  - name: Deploy
    task:
      jobs:
        - name: Ship
          commands: [make ship]
"""


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def repository(root: Path) -> Path:
    write(root / ".semaphore" / "semaphore.yml", PIPELINE)
    write(root / ".semaphore" / "deploy.yml", DEPLOY)
    write(root / ".semaphore" / "unused.yml", "this: is not even a pipeline\n")
    return root


def job(project: ProjectDef, name: str, pipeline: str = ".semaphore/semaphore.yml") -> JobDef:
    return next(j for block in project.pipelines[pipeline].blocks for j in block.jobs if j.name == name)


def test_a_scenario_pointing_at_a_repository(tmp_path: Path) -> None:
    repository(tmp_path / "repo")
    path = write(
        tmp_path / "scenario.yml",
        """
        seed: 42
        organization: acme
        projects:
          - name: shop
            id: 6b8c0a52-0000-4000-8000-000000000001
            repository: repo
        runs:
          - branch: master
          - branch: feature/x
            commit_sha: abc123
          - tag: v1.0.0
          - pull_request: "17"
            triggered_by: api
        """,
    )
    scenario = load_scenario(path)
    assert (scenario.seed, scenario.organization) == (42, "acme")
    (project,) = scenario.projects
    assert project.name == "shop"
    assert project.project_id == "6b8c0a52-0000-4000-8000-000000000001"
    # Only files reachable through promotions are read: unused.yml (not a pipeline) is never looked at.
    assert sorted(project.pipelines) == [".semaphore/deploy.yml", ".semaphore/semaphore.yml"]
    assert project.initial_pipeline_file == ".semaphore/semaphore.yml"
    assert project.pipelines[".semaphore/semaphore.yml"].promotions[0].pipeline_file == ".semaphore/deploy.yml"
    assert scenario.runs == (
        RunDef("shop", "master"),
        RunDef("shop", "feature/x", commit_sha="abc123"),
        RunDef("shop", "master", tag="v1.0.0"),
        RunDef("shop", "master", pull_request="17", triggered_by="api"),
    )
    assert scenario.faults == ()


def test_a_semaphore_folder_given_directly(tmp_path: Path) -> None:
    repository(tmp_path / "shop")
    write(
        tmp_path / "scenario.yml",
        """
        projects:
          - name: shop
            semaphore: shop/.semaphore
        """,
    )
    (project,) = load_scenario(tmp_path / "scenario.yml").projects
    assert sorted(project.pipelines) == [".semaphore/deploy.yml", ".semaphore/semaphore.yml"]


@pytest.mark.parametrize("which", ["repository", "semaphore-folder"])
def test_loading_a_folder_runs_every_job_green_on_master(tmp_path: Path, which: str) -> None:
    root = repository(tmp_path / "shop")
    scenario = load_scenario(root if which == "repository" else root / ".semaphore")
    (project,) = scenario.projects
    assert project.name == "shop"
    assert sorted(project.pipelines) == [".semaphore/deploy.yml", ".semaphore/semaphore.yml"]
    assert scenario.runs == (RunDef("shop", "master"),)
    unit = job(project, "Unit - 1/2")
    assert unit.result is None
    assert all(c.exit_code == 0 for c in unit.commands)


def test_job_outcomes(tmp_path: Path) -> None:
    repository(tmp_path)
    path = write(
        tmp_path / "scenario.yml",
        """
        projects:
          - name: shop
            repository: .
            defaults:
              duration: 10
            jobs:
              Unit - 2/2:
                result: failed
                duration: 30
                exit_code: 2
                fail_at: checkout
                log:
                  - "E   assert 1 == 2"
                  - "1 failed"
              Unit - 1/2:
                log: |
                  collected 10 items
                  10 passed
                log_bytes: 5000
              Lint:
                result: stopped
              Ship:
                secrets:
                  - name: DEPLOY_TOKEN
                    value: hunter2
        """,
    )
    (project,) = load_scenario(path).projects
    failed = job(project, "Unit - 2/2")
    assert [(c.directive, c.exit_code) for c in failed.commands] == [("checkout", 2), ("make unit", 0)]
    assert failed.commands[0].output == ("E   assert 1 == 2\n", "1 failed\n")
    assert failed.commands[0].duration == 30  # the whole duration up to the failing command
    passed = job(project, "Unit - 1/2")
    assert passed.result is None
    assert all(c.exit_code == 0 for c in passed.commands)
    assert passed.commands[-1].output == ("collected 10 items\n", "10 passed\n")
    assert passed.duration == pytest.approx(10)
    assert passed.log_bytes == 5000
    assert passed.env_vars == (("SEMAPHORE_JOB_COUNT", "2"), ("SEMAPHORE_JOB_INDEX", "1"))
    assert job(project, "Lint").result == "stopped"
    ship = job(project, "Ship", ".semaphore/deploy.yml")
    assert ("DEPLOY_TOKEN", "hunter2") in ship.env_vars
    assert ship.commands[0].directive == 'echo "$DEPLOY_TOKEN"'
    assert ship.commands[0].output == ("hunter2\n",)
    assert ship.duration == pytest.approx(10)


def test_an_outcome_for_a_parallel_job_name_applies_to_all_its_jobs(tmp_path: Path) -> None:
    repository(tmp_path)
    path = write(
        tmp_path / "scenario.yml",
        """
        projects:
          - name: shop
            repository: .
            jobs:
              - name: Unit
                block: Test
                pipeline: semaphore.yml
                result: failed
        """,
    )
    (project,) = load_scenario(path).projects
    assert [job(project, f"Unit - {i}/2").commands[-1].exit_code for i in (1, 2)] == [1, 1]
    assert job(project, "Lint").commands[-1].exit_code == 0


INLINE_YAML = """
description: inline pipelines, faults and extras
seed: 3
projects:
  - name: api
    pipelines:
      semaphore.yml:
        name: Build
        blocks:
          - name: Build
            task:
              jobs:
                - name: Compile
                  matrix:
                    - env_var: PY
                      values: ["3.10", "3.12"]
                  commands: [make]
        promotions:
          - name: Release
            pipeline_file: release.yml
            auto_promote:
              when: "tag =~ '^v'"
      release.yml:
        name: Release
        blocks:
          - name: Publish
            task:
              jobs:
                - name: Publish
                  commands: [make publish]
      broken.yml:
        malformed: "Unknown key 'blokcs'"
    jobs:
      Compile - PY=3.12:
        result: failed
runs:
  - project: api
    tag: v2.0.0
  - pipeline_file: broken.yml
faults:
  - route: "GET /api/v1alpha/pipelines/*"
    kind: status
    status: 502
    count: 2
  - route: /api/v1alpha/logs/*
    kind: rate_limit
    retry_after: 3
    rate: 0.5
    after: 1
  - route: "POST /api/v1alpha/promotions"
    kind: reset_after
extras:
  note: kept as plain data
  numbers: [1, 2]
"""


def test_inline_pipelines_faults_and_extras(tmp_path: Path) -> None:
    scenario = load_scenario(write(tmp_path / "scenario.yml", INLINE_YAML))
    (project,) = scenario.projects
    assert sorted(project.pipelines) == [".semaphore/broken.yml", ".semaphore/release.yml", ".semaphore/semaphore.yml"]
    assert project.pipelines[".semaphore/broken.yml"].malformed == "Unknown key 'blokcs'"
    assert [j.name for j in project.pipelines[".semaphore/semaphore.yml"].blocks[0].jobs] == [
        "Compile - PY=3.10",
        "Compile - PY=3.12",
    ]
    assert job(project, "Compile - PY=3.12").commands[-1].exit_code == 1
    assert scenario.runs == (
        RunDef("api", "master", tag="v2.0.0"),
        RunDef("api", "master", pipeline_file=".semaphore/broken.yml"),
    )
    assert scenario.faults == (
        FaultDef("GET /api/v1alpha/pipelines/*", "status", status=502, count=2),
        FaultDef("/api/v1alpha/logs/*", "rate_limit", rate=0.5, retry_after=3.0, after=1),
        FaultDef("POST /api/v1alpha/promotions", "reset_after"),
    )
    assert scenario.extras == {"note": "kept as plain data", "numbers": [1, 2]}


def test_the_json_form_of_a_scenario_loads_the_same_definitions(tmp_path: Path) -> None:
    from_yaml = load_scenario(write(tmp_path / "scenario.yml", INLINE_YAML))
    document = yaml.safe_load(INLINE_YAML)
    json_path = tmp_path / "scenario.json"
    json_path.write_text(json.dumps(document, indent=2), encoding="utf-8")
    from_json = load_scenario(json_path)
    assert isinstance(from_json, ScenarioDef)
    assert from_json == from_yaml  # compiled `when` conditions compare by their syntax tree


def test_a_bad_scenario_starts_no_simulator(tmp_path: Path) -> None:
    path = write(tmp_path / "scenario.yml", "projects:\n  - name: x\n    pipelines: {}\n")
    with pytest.raises(ScenarioError, match="empty `pipelines`"):
        SemaphoreSimulator(path)


# --- bad files ---------------------------------------------------------------------------------------------------

BAD_SCENARIOS = [
    pytest.param(
        "early_promotions: later\nprojects: [{name: x, repository: repo}]\n",
        1,
        "`early_promotions` must be defer (the promoted pipeline starts when its parent is done) or start",
        id="early-promotions",
    ),
    pytest.param(
        "projects: [{name: x, repository: repo}]\nruns:\n  - branch: main\n    tag: v1\n",
        4,
        "a run is on a branch, a tag or a pull request, not on both branch and tag",
        id="branch-and-tag",
    ),
    pytest.param(
        "projects: [{name: x, repository: repo}]\nruns:\n  - changed_files: {src: app.py}\n",
        3,
        "`changed_files` (a list of paths)",
        id="changed-files-not-a-list",
    ),
    pytest.param("projects: []\nrunz: []\n", 2, "unknown key `runz` in a scenario (did you mean `runs`?)", id="typo"),
    pytest.param("seed: 1\n", 1, "needs `projects`", id="no-projects"),
    pytest.param("projects: []\n", 1, "at least one project", id="empty-projects"),
    pytest.param("projects:\n  - repository: repo\n", 2, "needs a `name`", id="no-name"),
    pytest.param("projects:\n  - name: x\n", 2, "exactly one of `repository`", id="no-source"),
    pytest.param(
        "projects:\n  - name: x\n    repository: repo\n    semaphore: repo/.semaphore\n",
        2,
        "exactly one of",
        id="two-sources",
    ),
    pytest.param("projects:\n  - name: x\n    repository: nowhere\n", 3, "is not a folder", id="missing-folder"),
    pytest.param(
        "projects:\n  - name: x\n    repository: repo\n    jobs:\n      Unti - 1/2: {result: failed}\n",
        5,
        "no job 'Unti - 1/2' (did you mean 'Unit - 1/2'?)",
        id="unknown-job",
    ),
    pytest.param(
        "projects:\n  - name: x\n    repository: repo\n    jobs:\n      Lint: {result: broken}\n",
        5,
        "`result` must be one of passed, failed, stopped",
        id="bad-result",
    ),
    pytest.param(
        "projects:\n  - name: x\n    repository: repo\n    jobs:\n      Lint: {fail_at: 1}\n",
        5,
        "only make sense with `result: failed`",
        id="fail-at-without-failure",
    ),
    pytest.param(
        "projects:\n  - name: x\n    repository: repo\n    jobs:\n      Lint: {result: failed, fail_at: 3}\n",
        5,
        "past the last",
        id="fail-at-too-far",
    ),
    pytest.param(
        "projects:\n  - name: x\n    repository: repo\n    jobs:\n      Lint: {result: failed, fail_at: make it}\n",
        5,
        "no command 'make it'",
        id="fail-at-unknown-command",
    ),
    pytest.param(
        "projects:\n  - name: x\n    repository: repo\n    jobs:\n      - {name: Unit, result: failed}\n"
        "      - {name: Unit - 1/2, result: passed}\n",
        6,
        "already has an outcome (line 5)",
        id="two-outcomes",
    ),
    pytest.param(
        "projects:\n  - name: x\n    repository: repo\n    jobs:\n      Lint: {duration: -1}\n",
        5,
        "at least 0",
        id="negative-duration",
    ),
    pytest.param(
        "projects:\n  - name: x\n    repository: repo\n    jobs:\n      Lint: {log_bytes: 1000000000000}\n",
        5,
        "`log_bytes` must be at most 100000000",  # a terabyte would be built in memory when the job ran
        id="log-bytes-huge",
    ),
    pytest.param(
        "projects:\n  - name: x\n    repository: repo\n    jobs:\n      Lint: {secrets: {name: TOKEN}}\n",
        5,
        "needs `name`",
        id="secret-without-value",
    ),
    pytest.param(
        "projects:\n  - name: x\n    repository: repo\nruns:\n  - project: y\n", 5, "no project 'y'", id="run-project"
    ),
    pytest.param(
        "projects:\n  - name: x\n    repository: repo\nruns:\n  - pipeline_file: nope.yml\n",
        5,
        "no pipeline .semaphore/nope.yml",
        id="run-pipeline",
    ),
    pytest.param(
        "projects:\n  - name: x\n    repository: repo\nruns:\n  - branch: 7\n", 5, "must be a string", id="run-branch"
    ),
    pytest.param(
        "projects:\n  - name: x\n    repository: repo\nruns:\n  - branch: 2024-01-31\n",
        5,
        "must be a string, got a date (2024-01-31) (quote it)",  # YAML reads an unquoted date as a date
        id="run-branch-date",
    ),
    pytest.param(
        "projects:\n  - name: x\n    repository: repo\nfaults:\n  - {route: /api/v1alpha/x, kind: explode}\n",
        5,
        "`kind` must be one of",
        id="fault-kind",
    ),
    pytest.param(
        "projects:\n  - name: x\n    repository: repo\nfaults:\n  - {route: pipelines, kind: status}\n",
        5,
        "`route` must be",
        id="fault-route",
    ),
    pytest.param(
        "projects:\n  - name: x\n    repository: repo\nfaults:\n  - {route: /x, kind: status, rate: 1.5}\n",
        5,
        "at most 1",
        id="fault-rate",
    ),
    pytest.param(
        "projects:\n  - name: x\n    repository: repo\n  - name: x\n    repository: repo\n",
        4,
        "two projects are named 'x'",
        id="duplicate-project",
    ),
    pytest.param(
        "projects:\n  - name: x\n    pipelines:\n      semaphore.yml:\n        name: A\n        blocks:\n"
        "          - {name: B, task: {jobs: [{name: J, commands: [x]}]}}\n        promotions:\n"
        "          - {name: P, pipeline_file: gone.yml}\n",
        9,
        "points to .semaphore/gone.yml, which is not among the project's `pipelines`",
        id="inline-promotion-target",
    ),
    pytest.param(
        "projects:\n  - name: x\n    pipelines:\n      semaphore.yml:\n        name: A\n        blocks: []\n",
        6,
        "at least one block",
        id="inline-pipeline-error",
    ),
    pytest.param("projects:\n  - name: x\n    repository: repo\n  bad indent\n", 4, "invalid YAML", id="yaml-syntax"),
    pytest.param(
        "projects:\n  - name: x\n    repository: repo\n    initial_pipeline_file: ../../etc/ci.yml\n",
        4,
        "'../../etc/ci.yml' points outside the repository",
        id="initial-file-outside",
    ),
    pytest.param(
        "projects:\n  - name: x\n    repository: repo\nruns:\n  - pipeline_file: /../x.yml\n",
        5,
        "points outside the repository",
        id="run-pipeline-outside",
    ),
    pytest.param(
        "projects:\n  - name: x\n    repository: repo\n    jobs:\n      ? [Lint]\n      : {result: failed}\n",
        5,
        "mapping keys must be strings",
        id="list-as-key",
    ),
    pytest.param(PIPELINE, 1, "this is a pipeline file, not a scenario", id="pipeline-file"),
]


@pytest.mark.parametrize(("text", "line", "fragment"), BAD_SCENARIOS)
def test_bad_scenarios_name_the_file_the_line_and_the_problem(
    tmp_path: Path, text: str, line: int, fragment: str
) -> None:
    repository(tmp_path / "repo")
    path = write(tmp_path / "scenario.yml", text)
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    assert caught.value.path == str(path)
    assert caught.value.line == line, str(caught.value)
    assert fragment in str(caught.value)
    assert str(caught.value).startswith(f"{path}:{line}: ")


def test_promotions_that_form_a_cycle_load_each_file_once(tmp_path: Path) -> None:
    # a.yml promotes to b.yml, which promotes back to a.yml (by its path from the repository root).
    root = repository(tmp_path)
    write(
        root / ".semaphore" / "deploy.yml",
        DEPLOY + "promotions:\n  - name: Again\n    pipeline_file: /.semaphore/semaphore.yml\n",
    )
    (project,) = load_scenario(root).projects
    assert sorted(project.pipelines) == [".semaphore/deploy.yml", ".semaphore/semaphore.yml"]
    (again,) = project.pipelines[".semaphore/deploy.yml"].promotions
    assert again.pipeline_file == ".semaphore/semaphore.yml"


@pytest.mark.parametrize(
    ("source", "initial", "expected"),
    [
        ("repository: repo", "deploy.yml", ".semaphore/deploy.yml"),
        ("repository: repo", "/.semaphore/deploy.yml", ".semaphore/deploy.yml"),
        ("semaphore: repo/.semaphore", "deploy.yml", ".semaphore/deploy.yml"),
        ("semaphore: repo/.semaphore", ".semaphore/deploy.yml", ".semaphore/deploy.yml"),
    ],
)
def test_initial_pipeline_file_is_named_the_same_way_whatever_the_source(
    tmp_path: Path, source: str, initial: str, expected: str
) -> None:
    repository(tmp_path / "repo")
    path = write(tmp_path / "s.yml", f"projects:\n  - name: x\n    {source}\n    initial_pipeline_file: {initial}\n")
    (project,) = load_scenario(path).projects
    assert project.initial_pipeline_file == expected
    assert list(project.pipelines) == [expected]  # deploy.yml promotes nowhere: semaphore.yml is not read


def test_a_laughs_bomb_in_extras_loads_without_copying_the_aliases(tmp_path: Path) -> None:
    # Six levels (a million "lol"s once expanded) rather than a billion, so that a regression fails this test
    # instead of exhausting the machine: the identity checks show that no alias is copied, whatever the depth.
    repository(tmp_path / "repo")
    levels = ["  l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"]
    levels += [f"  l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 10)}]\n" for i in range(1, 6)]
    path = write(tmp_path / "s.yml", "projects: [{name: x, repository: repo}]\nextras:\n" + "".join(levels))
    extras = load_scenario(path).extras
    assert all(item is extras["l4"] for item in extras["l5"])  # type: ignore[attr-defined]
    assert extras["l1"][0] is extras["l0"]  # type: ignore[index]


def test_a_json_scenario_nested_too_deeply_is_an_error_not_a_crash(tmp_path: Path) -> None:
    path = tmp_path / "scenario.json"
    path.write_text('{"projects": ' + "[" * 100000 + "]" * 100000 + "}", encoding="utf-8")
    with pytest.raises(ScenarioError, match="nested too deeply") as caught:
        load_scenario(path)
    assert caught.value.path == str(path)


def test_errors_inside_a_pipeline_file_name_that_file(tmp_path: Path) -> None:
    root = repository(tmp_path / "repo")
    write(root / ".semaphore" / "deploy.yml", DEPLOY.replace("commands: [make ship]", "comands: [make ship]"))
    path = write(tmp_path / "scenario.yml", "projects:\n  - name: x\n    repository: repo\n")
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    assert caught.value.path == str(root / ".semaphore" / "deploy.yml")
    assert caught.value.line == 11
    assert "unknown key `comands`" in str(caught.value)
    assert "did you mean `commands`" in str(caught.value)


def test_a_promotion_to_a_missing_file_is_reported_where_it_is_named(tmp_path: Path) -> None:
    root = repository(tmp_path / "repo")
    (root / ".semaphore" / "deploy.yml").unlink()
    with pytest.raises(ScenarioError) as caught:
        load_scenario(root)
    assert caught.value.path == str(root / ".semaphore" / "semaphore.yml")
    assert caught.value.line == 17
    assert "promotion 'Deploy' points to .semaphore/deploy.yml, which does not exist" in str(caught.value)


def test_json_syntax_errors_give_the_line(tmp_path: Path) -> None:
    path = tmp_path / "scenario.json"
    path.write_text('{\n  "projects": [\n    {"name": "x",}\n  ]\n}\n', encoding="utf-8")
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    assert caught.value.line == 3
    assert "invalid JSON" in str(caught.value)


def test_json_type_errors_give_the_line_too(tmp_path: Path) -> None:
    repository(tmp_path / "repo")
    path = tmp_path / "scenario.json"
    path.write_text('{\n  "projects": [\n    {"name": "x", "repository": "repo"}\n  ],\n  "seed": "seven"\n}\n')
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    assert caught.value.line == 5
    assert "`seed` must be a whole number" in str(caught.value)


@pytest.mark.parametrize("name", ["missing.yml", "empty-folder"])
def test_missing_files_and_folders_without_pipelines(tmp_path: Path, name: str) -> None:
    if name == "empty-folder":
        (tmp_path / name).mkdir()
    with pytest.raises(ScenarioError) as caught:
        load_scenario(tmp_path / name)
    assert caught.value.path == str(tmp_path / name)


def test_an_empty_scenario_file(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="the file is empty"):
        load_scenario(write(tmp_path / "scenario.yml", "# nothing yet\n"))


def test_fail_at_counts_the_jobs_own_commands_even_with_secrets(tmp_path: Path) -> None:
    repository(tmp_path)
    path = write(
        tmp_path / "scenario.yml",
        """
        projects:
          - name: shop
            repository: .
            jobs:
              Unit - 1/2:
                result: failed
                fail_at: 1
                duration: 8
                secrets: {name: TOKEN, value: s3cret}
        """,
    )
    (project,) = load_scenario(path).projects
    failed = job(project, "Unit - 1/2")
    assert [(c.directive, c.exit_code) for c in failed.commands] == [
        ('echo "$TOKEN"', 0),
        ("checkout", 1),
        ("make unit", 0),
    ]
    assert [c.duration for c in failed.commands[:2]] == [4, 4]


def test_tab_indented_json_keeps_its_line_numbers(tmp_path: Path) -> None:
    repository(tmp_path / "repo")
    path = tmp_path / "scenario.json"
    document = {"projects": [{"name": "x", "repository": "repo"}], "seed": "seven"}
    path.write_text(json.dumps(document, indent="\t"), encoding="utf-8")
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    assert caught.value.line == 8


def _paths(value: object, prefix: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    found = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _paths(item, (*prefix, index))
    return found


def _replaced(value: object, path: tuple[object, ...], new: object) -> object:
    if not path:
        return new
    head, rest = path[0], path[1:]
    if isinstance(value, dict):
        return {key: _replaced(item, rest, new) if key == head else item for key, item in value.items()}
    assert isinstance(value, list)
    return [_replaced(item, rest, new) if index == head else item for index, item in enumerate(value)]


_BASE = yaml.safe_load(INLINE_YAML)
_odd_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-2, 3),
    st.floats(allow_nan=True),
    st.sampled_from(["", "x", "failed", "Compile", "release.yml", "GET /x", "status"]),
    st.lists(st.sampled_from(["a", "b"]), max_size=2),
    st.dictionaries(st.sampled_from(["name", "result", "when", "kind", "route", "value"]), st.just("x"), max_size=2),
)


@given(st.sampled_from(_paths(_BASE)), _odd_values)
def test_a_scenario_with_any_value_replaced_loads_or_says_where_it_is_wrong(
    path: tuple[object, ...], new: object
) -> None:
    """Every corner of a valid scenario replaced by an odd value: a definition or a ScenarioError with a line."""
    with tempfile.TemporaryDirectory() as folder:
        target = Path(folder) / "scenario.yml"
        target.write_text(yaml.safe_dump(_replaced(_BASE, path, new)), encoding="utf-8")
        result: ScenarioDef | ScenarioError
        try:
            result = load_scenario(target)
        except ScenarioError as error:
            result = error
        if isinstance(result, ScenarioError):
            assert result.path == str(target)
            assert result.line is not None


def test_runs_declare_their_changed_files_and_scenarios_their_early_promotions(tmp_path: Path) -> None:
    repository(tmp_path / "repo")
    path = write(
        tmp_path / "scenario.yml",
        """\
        early_promotions: start
        projects: [{name: x, repository: repo}]
        runs:
          - {branch: main, changed_files: [/src/app.py, docs/index.md]}
          - {tag: v1.0}
        """,
    )
    definition = load_scenario(path)
    assert definition.early_promotions == "start"
    assert [run.changed_files for run in definition.runs] == [("src/app.py", "docs/index.md"), None]
    assert load_scenario(repository(tmp_path / "other")).early_promotions == "defer"
