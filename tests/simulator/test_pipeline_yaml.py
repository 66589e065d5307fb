"""Semaphore pipeline files read into definitions: each construct from a real file, and every kind of bad file."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from pytest_semaphore.simulator.definitions import JobDef, PipelineDef
from pytest_semaphore.simulator.pipeline_yaml import (
    ParsedPipeline,
    load_pipeline_file,
    parse_pipeline,
    resolve_pipeline_file,
)
from pytest_semaphore.simulator.yamlsource import ScenarioError, parse_document

HEADER = """\
version: v1.0
name: CI
agent:
  machine:
    type: e1-standard-2
    os_image: ubuntu2004
"""


def load(tmp_path: Path, body: str, *, header: str = HEADER, name: str = "semaphore.yml") -> ParsedPipeline:
    folder = tmp_path / ".semaphore"
    folder.mkdir(exist_ok=True)
    path = folder / name
    path.write_text(header + textwrap.dedent(body), encoding="utf-8")
    return load_pipeline_file(path, f".semaphore/{name}")


def jobs(pipeline: PipelineDef, block: int = 0) -> list[JobDef]:
    return list(pipeline.blocks[block].jobs)


def test_a_simple_pipeline(tmp_path: Path) -> None:
    parsed = load(
        tmp_path,
        """
        blocks:
          - name: Build
            task:
              jobs:
                - name: Compile
                  commands:
                    - checkout
                    - make build
        """,
    )
    definition = parsed.definition
    assert definition.name == "CI"
    assert [block.name for block in definition.blocks] == ["Build"]
    assert definition.blocks[0].dependencies is None
    (job,) = jobs(definition)
    assert job.name == "Compile"
    assert [command.directive for command in job.commands] == ["checkout", "make build"]
    assert all(command.exit_code == 0 for command in job.commands)
    assert definition.promotions == ()


def test_parallel_jobs_get_semaphores_names_and_index_variables(tmp_path: Path) -> None:
    # Names as documented ("Parallel job - 1/4") and as plumber's JobMatrix.Handler builds them.
    parsed = load(
        tmp_path,
        """
        blocks:
          - name: Tests
            task:
              jobs:
                - name: Parallel job
                  parallelism: 4
                  env_vars:
                    - name: RAILS_ENV
                      value: test
                  commands:
                    - make test PARTITION=$SEMAPHORE_JOB_INDEX
                - name: Single
                  parallelism: 1
                  commands: [true]
        """.replace("[true]", "['true']"),
    )
    all_jobs = jobs(parsed.definition)
    assert [job.name for job in all_jobs] == [
        "Parallel job - 1/4",
        "Parallel job - 2/4",
        "Parallel job - 3/4",
        "Parallel job - 4/4",
        "Single - 1/1",
    ]
    assert all_jobs[2].env_vars == (("RAILS_ENV", "test"), ("SEMAPHORE_JOB_COUNT", "4"), ("SEMAPHORE_JOB_INDEX", "3"))
    assert [site.base_name for site, _ in parsed.job_sites] == ["Parallel job"] * 4 + ["Single"]


def test_matrix_jobs_get_one_job_per_combination_named_like_semaphore(tmp_path: Path) -> None:
    parsed = load(
        tmp_path,
        """
        blocks:
          - name: Elixir + Erlang
            task:
              jobs:
                - name: Elixir + Erlang matrix
                  commands:
                    - echo $ELIXIR $ERLANG
                  matrix:
                    - env_var: ELIXIR
                      values: ["1.3", "1.4"]
                    - env_var: ERLANG
                      values: ["19", "20", "21"]
        """,
    )
    all_jobs = jobs(parsed.definition)
    # The first axis varies slowest (JobMatrix.Cartesian.product).
    assert [job.name for job in all_jobs] == [
        "Elixir + Erlang matrix - ELIXIR=1.3, ERLANG=19",
        "Elixir + Erlang matrix - ELIXIR=1.3, ERLANG=20",
        "Elixir + Erlang matrix - ELIXIR=1.3, ERLANG=21",
        "Elixir + Erlang matrix - ELIXIR=1.4, ERLANG=19",
        "Elixir + Erlang matrix - ELIXIR=1.4, ERLANG=20",
        "Elixir + Erlang matrix - ELIXIR=1.4, ERLANG=21",
    ]
    assert all_jobs[4].env_vars == (("ELIXIR", "1.4"), ("ERLANG", "20"))


def test_nameless_blocks_and_jobs_get_semaphores_names(tmp_path: Path) -> None:
    parsed = load(
        tmp_path,
        """
        blocks:
          - task:
              jobs:
                - commands: [make a]
                - name: Nameless 1
                  commands: [make b]
                - commands: [make c]
          - name: Nameless block 2
            task:
              jobs:
                - commands: [make d]
          - task:
              jobs:
                - commands: [make e]
        """,
    )
    definition = parsed.definition
    # BlocksGodfather / JobsGodfather: the next free "Nameless block N" / "Nameless N".
    assert [block.name for block in definition.blocks] == ["Nameless block 1", "Nameless block 2", "Nameless block 3"]
    assert [job.name for job in jobs(definition)] == ["Nameless 2", "Nameless 1", "Nameless 3"]


def test_blocks_without_dependencies_keep_the_implicit_order(tmp_path: Path) -> None:
    parsed = load(
        tmp_path,
        """
        blocks:
          - name: A
            task: {jobs: [{name: a, commands: [a]}]}
          - name: B
            task: {jobs: [{name: b, commands: [b]}]}
        """,
    )
    assert [block.dependencies for block in parsed.definition.blocks] == [None, None]


def test_explicit_dependencies(tmp_path: Path) -> None:
    parsed = load(
        tmp_path,
        """
        blocks:
          - name: A
            dependencies: []
            task: {jobs: [{name: a, commands: [a]}]}
          - name: B
            dependencies: []
            task: {jobs: [{name: b, commands: [b]}]}
          - name: C
            dependencies: [A, B]
            task: {jobs: [{name: c, commands: [c]}]}
        """,
    )
    assert [block.dependencies for block in parsed.definition.blocks] == [(), (), ("A", "B")]


def test_prologues_and_environment_variables_reach_every_job(tmp_path: Path) -> None:
    parsed = load(
        tmp_path,
        """
        global_job_config:
          prologue:
            commands: [checkout]
          env_vars:
            - {name: LEVEL, value: global}
            - {name: KEEP, value: kept}
        blocks:
          - name: Tests
            task:
              prologue:
                commands: [cache restore]
              env_vars:
                - {name: LEVEL, value: task}
              jobs:
                - name: Unit
                  env_vars:
                    - {name: LEVEL, value: job}
                  commands: [make unit]
                - name: Lint
                  commands: [make lint]
        """,
    )
    unit, lint = jobs(parsed.definition)
    assert [c.directive for c in unit.commands] == ["checkout", "cache restore", "make unit"]
    assert dict(unit.env_vars) == {"LEVEL": "job", "KEEP": "kept"}
    assert dict(lint.env_vars) == {"LEVEL": "task", "KEEP": "kept"}


def test_commands_file_is_read_next_to_the_pipeline(tmp_path: Path) -> None:
    (tmp_path / ".semaphore").mkdir()
    (tmp_path / ".semaphore" / "build.sh").write_text("make deps\n\n  make build  \n", encoding="utf-8")
    parsed = load(
        tmp_path,
        """
        blocks:
          - name: Build
            task:
              jobs:
                - name: Build
                  commands_file: build.sh
        """,
    )
    assert [c.directive for c in jobs(parsed.definition)[0].commands] == ["make deps", "make build"]


def test_promotions_with_parameters_and_auto_promotion(tmp_path: Path) -> None:
    parsed = load(
        tmp_path,
        """
        blocks:
          - name: Build
            task: {jobs: [{name: Build, commands: [make]}]}
        promotions:
          - name: Staging
            pipeline_file: staging.yml
            auto_promote:
              when: "branch = 'master' AND result = 'passed'"
          - name: Production
            pipeline_file: /deploy/production.yml
            parameters:
              env_vars:
                - name: REGION
                  description: Where to deploy
                  options: [eu-west-1, us-east-1]
                  default_value: eu-west-1
                  required: true
                - name: RELEASE_NOTE
                - name: DRY_RUN
                  required: false
          - name: Always
            pipeline_file: ../.semaphore/always.yml
            auto_promote:
              when: true
        """,
    )
    staging, production, always = parsed.definition.promotions
    assert staging.pipeline_file == ".semaphore/staging.yml"
    assert production.pipeline_file == "deploy/production.yml"
    assert always.pipeline_file == ".semaphore/always.yml"
    assert staging.auto_promote is not None
    assert production.auto_promote is None
    assert staging.auto_promote({"branch": "master", "result": "passed"}) is True
    assert staging.auto_promote({"branch": "dev", "result": "passed"}) is False
    assert always.auto_promote is not None
    assert always.auto_promote({}) is True
    region, note, dry_run = production.parameters
    assert (region.name, region.required, region.default, region.options, region.description) == (
        "REGION",
        True,
        "eu-west-1",
        ("eu-west-1", "us-east-1"),
        "Where to deploy",
    )
    # Without `required`, a parameter is required (plumber/spec/test/pipelines/v1.0-promotion_parameters.yml).
    assert (note.name, note.required, note.default, note.options) == ("RELEASE_NOTE", True, None, ())
    assert (dry_run.name, dry_run.required) == ("DRY_RUN", False)
    assert len(parsed.promotion_lines) == 3
    assert all(isinstance(line, int) for line in parsed.promotion_lines)


def test_the_deprecated_auto_promote_on(tmp_path: Path) -> None:
    parsed = load(
        tmp_path,
        """
        blocks:
          - name: Build
            task: {jobs: [{name: Build, commands: [make]}]}
        promotions:
          - name: Staging
            pipeline_file: p1.yml
            auto_promote_on:
              - result: passed
                branch: [master, ^release/]
              - result: failed
                result_reason: malformed
        """,
    )
    rule = parsed.definition.promotions[0].auto_promote
    assert rule is not None
    # gofer matches the patterns against the branch name as the API shows it
    assert rule({"branch_name": "master", "result": "passed", "result_reason": "test"})
    assert rule({"branch_name": "release/1", "result": "passed"})
    assert not rule({"branch_name": "dev", "result": "passed"})
    assert rule({"branch_name": "dev", "result": "failed", "result_reason": "malformed"})
    assert not rule({"branch_name": "dev", "result": "failed", "result_reason": "test"})


def test_auto_promote_on_matches_tag_builds_by_their_ref_and_an_empty_reason_means_any(tmp_path: Path) -> None:
    parsed = load(
        tmp_path,
        """
        blocks:
          - name: Build
            task: {jobs: [{name: Build, commands: [make]}]}
        promotions:
          - name: Release
            pipeline_file: p1.yml
            auto_promote_on:
              - result: PASSED
                result_reason: ""
                branch: ["^refs/tags/v1.*"]
        """,
    )
    rule = parsed.definition.promotions[0].auto_promote
    assert rule is not None
    tag_build = {"branch": "", "tag": "v1.2.3", "branch_name": "refs/tags/v1.2.3", "result": "passed"}
    assert rule({**tag_build, "result_reason": "test"})
    assert rule({**tag_build, "result_reason": ""})
    assert not rule({**tag_build, "branch_name": "refs/tags/v2.0", "result_reason": "test"})
    assert not rule({**tag_build, "result": "failed", "result_reason": "test"})


def test_a_pipeline_without_a_name_is_called_pipeline_and_parameters_may_name_one(tmp_path: Path) -> None:
    blocks = "blocks:\n  - name: Build\n    task: {jobs: [{name: Build, commands: [make]}]}\n"
    nameless = load(tmp_path, blocks, header=HEADER.replace("name: CI\n", ""))
    assert nameless.definition.name == "Pipeline"
    named = load(
        tmp_path,
        header=HEADER.replace("name: CI\n", "") + "name: Deploy to ${{ parameters.ENVIRONMENT }}\n",
        body=blocks,
    )
    assert named.definition.name == "Deploy to ${{ parameters.ENVIRONMENT }}"  # filled in when it runs


def test_block_conditions_fail_fast_and_after_pipeline_are_read(tmp_path: Path) -> None:
    parsed = load(
        tmp_path,
        """
        fail_fast:
          stop: {when: "branch = 'master'"}
          cancel: {when: true}
        blocks:
          - name: Docs
            run: {when: "change_in('/docs/')"}
            task: {jobs: [{name: Docs, commands: [make docs]}]}
          - name: Deploy
            skip: {when: "branch != 'master'"}
            task: {jobs: [{name: Deploy, commands: [make deploy]}]}
        after_pipeline:
          task:
            env_vars: [{name: WHO, value: after}]
            jobs:
              - name: Notify
                commands: [./notify]
              - name: Publish
                parallelism: 2
                commands: [./publish]
        """,
    )
    docs, deploy = parsed.definition.blocks
    assert docs.run is not None
    assert docs.skip is None
    assert docs.run({"changed_files": "docs/index.md"})
    assert not docs.run({"changed_files": "src/x.py"})
    assert deploy.skip is not None
    assert deploy.skip({"branch": "dev"})
    assert not deploy.skip({"branch": "master"})
    stop, cancel = parsed.definition.fail_fast_stop, parsed.definition.fail_fast_cancel
    assert stop is not None
    assert stop({"branch": "master"})
    assert not stop({"branch": "dev"})
    assert cancel is not None
    assert cancel({})
    after = parsed.definition.after_pipeline
    assert [job.name for job in after] == ["Notify", "Publish - 1/2", "Publish - 2/2"]
    assert ("WHO", "after") in after[0].env_vars
    assert [site.block for site, _ in parsed.job_sites][-3:] == ["After pipeline"] * 3


def test_settings_without_effect_in_a_simulation_are_accepted(tmp_path: Path) -> None:
    parsed = load(
        tmp_path,
        """
        execution_time_limit: {hours: 2}
        queue: [{name: deploys, scope: project, processing: serialized, when: "branch = 'master'"}]
        auto_cancel: {running: {when: "branch != 'master'"}, queued: {when: true}}
        global_job_config:
          secrets: [{name: dockerhub}]
          epilogue: {always: {commands: [echo bye]}}
          priority: [{value: 10, when: true}, {value: 20, when: "change_in('/src/')"}]
        blocks:
          - name: Build
            execution_time_limit: {minutes: 10}
            task:
              agent: {machine: {type: e1-standard-4}}
              secrets: [{name: aws}]
              epilogue:
                always: {commands: [echo done]}
                on_fail: {commands: [echo failed]}
              jobs:
                - name: Build
                  priority: [{value: 70, when: "branch = 'master'"}]
                  execution_time_limit: {minutes: 5}
                  commands: [make]
        """,
    )
    assert [job.name for job in jobs(parsed.definition)] == ["Build"]


@pytest.mark.parametrize(
    ("current", "target", "expected"),
    [
        (".semaphore/semaphore.yml", "deploy.yml", ".semaphore/deploy.yml"),
        (".semaphore/semaphore.yml", "./cd/deploy.yml", ".semaphore/cd/deploy.yml"),
        (".semaphore/semaphore.yml", "/ops/deploy.yml", "ops/deploy.yml"),
        (".semaphore/cd/deploy.yml", "../semaphore.yml", ".semaphore/semaphore.yml"),
        ("semaphore.yml", "deploy.yml", "deploy.yml"),
    ],
)
def test_promotion_targets_resolve_like_semaphore(current: str, target: str, expected: str) -> None:
    assert resolve_pipeline_file(current, target) == expected


def test_a_promotion_target_outside_the_repository_is_refused() -> None:
    with pytest.raises(ValueError, match="outside the repository"):
        resolve_pipeline_file(".semaphore/semaphore.yml", "../../x.yml")


# --- bad files -------------------------------------------------------------------------------------------------------

JOB = "    task: {jobs: [{name: j, commands: [x]}]}\n"
ONE_JOB = HEADER + "blocks:\n  - name: A\n    task:\n      jobs:\n        - name: j\n"  # its settings follow

BAD_FILES = [
    pytest.param(
        HEADER + "blocks:\n  - name: A\n" + JOB + "colour: blue\n", 10, "unknown key `colour`", id="unknown-top-key"
    ),
    pytest.param(
        HEADER + "blocks:\n  - name: A\n" + JOB + "promotion: []\n", 10, "did you mean `promotions`", id="typo"
    ),
    pytest.param(HEADER + "blocks:\n  - name: A\n" + JOB + "fail_fast: {}\n", 10, "needs `stop` or", id="fail-fast"),
    pytest.param(
        HEADER + "blocks:\n  - name: A\n" + JOB + "fail_fast: {stop: {}}\n", 10, "needs a `when`", id="fail-fast-when"
    ),
    pytest.param(
        HEADER + "blocks:\n  - name: A\n    skip: {when: \"brnch = 'x'\"}\n" + JOB,
        9,
        "the `when` of the `skip` of block 'A': unknown keyword 'brnch'",
        id="skip",
    ),
    pytest.param(
        HEADER + "blocks:\n  - name: A\n    skip: {when: true}\n    run: {when: true}\n" + JOB,
        9,
        "both `run` and `skip`",
        id="run-and-skip",
    ),
    pytest.param(
        HEADER + "blocks:\n  - name: A\n" + JOB + "after_pipeline: {jobs: [{commands: [x]}]}\n",
        10,
        "unknown key `jobs` in `after_pipeline`",
        id="after-pipeline",
    ),
    pytest.param(
        HEADER + "blocks:\n  - name: A\n" + JOB + "after_pipeline: {task: {jobs: [{name: j}]}}\n",
        10,
        "job 'j' of block 'After pipeline' needs exactly one of `commands`",
        id="after-pipeline-job",
    ),
    pytest.param(
        HEADER.replace("name: CI", "name: 'CI %{{ parameters.X }}'") + "blocks:\n  - name: A\n" + JOB,
        2,
        "may hold `${{ parameters.NAME }}`; any other expression",
        id="name-expression",
    ),
    pytest.param(
        HEADER
        + "blocks:\n  - name: A\n"
        + JOB
        + "promotions:\n  - name: Docs\n    pipeline_file: docs.yml\n    auto_promote:\n"
        + "      when: \"branch = 'master' and change_in('/docs/', {on_tag: false})\"\n",
        14,
        "unknown change_in() option 'on_tag'",
        id="change-in",
    ),
    pytest.param(
        HEADER
        + "blocks:\n  - name: A\n"
        + JOB
        + "promotions:\n  - name: Docs\n    pipeline_file: docs.yml\n    auto_promote:\n"
        + "      when: \"branch = 'master' andd result = 'passed'\"\n",
        14,
        "position 19",
        id="when-syntax",
    ),
    pytest.param(
        HEADER + "blocks:\n  - name: A\n" + JOB + "promotions:\n  - name: P\n    pipeline_file: p.yml\n"
        "    deployment_target: [Production]\n",
        13,
        "the `deployment_target` of promotion 'P'",
        id="deployment-target",
    ),
    pytest.param(HEADER.replace("v1.0", "v2.0") + "blocks:\n  - name: A\n" + JOB, 1, "must be v1.0", id="version"),
    pytest.param(
        HEADER.replace("version: v1.0\n", "") + "blocks:\n  - name: A\n" + JOB, 1, "missing `version`", id="no-version"
    ),
    pytest.param("version: v1.0\nname: X\nblocks:\n  - name: A\n" + JOB, 1, "missing `agent`", id="no-agent"),
    pytest.param(HEADER, 1, "missing `blocks`", id="no-blocks"),
    pytest.param(HEADER + "blocks: []\n", 7, "at least one block", id="empty-blocks"),
    pytest.param(HEADER + "blocks:\n  - name: A\n    task:\n\tjobs: []\n", 10, "invalid YAML", id="tab"),
    pytest.param(HEADER + "blocks:\n  - name: A\n" + JOB + "name: Again\n", 10, "duplicate key `name`", id="dup-key"),
    pytest.param(
        HEADER + "blocks:\n  - name: A\n" + JOB + "  - name: A\n" + JOB,
        10,
        "two blocks with the same name",
        id="dup-block",
    ),
    pytest.param(
        HEADER + "blocks:\n  - name: A\n    task: {jobs: [{name: j, commands: [x]}, {name: j, commands: [y]}]}\n",
        9,
        "two jobs named 'j'",
        id="dup-job",
    ),
    pytest.param(
        ONE_JOB + "          parallelism: '%{{ 2 }}'\n          commands: [x]\n",
        12,
        "`parallelism` as a string (a parameter expression) is not supported",
        id="parallelism-expression",
    ),
    pytest.param(
        ONE_JOB + "          parallelism: 0\n          commands: [x]\n",
        12,
        "at least 1",
        id="parallelism-zero",
    ),
    pytest.param(
        ONE_JOB + "          parallelism: 2\n"
        "          matrix: [{env_var: A, values: ['1']}]\n          commands: [x]\n",
        13,
        "both `parallelism` and `matrix`",
        id="parallelism-and-matrix",
    ),
    pytest.param(
        ONE_JOB + "          matrix: [{env_var: PY, values: [3.10, 3.11]}]\n          commands: [x]\n",
        12,
        "quote it",
        id="matrix-numbers",
    ),
    pytest.param(
        ONE_JOB,
        11,
        "exactly one of `commands`",
        id="no-commands",
    ),
    pytest.param(
        HEADER + "blocks:\n  - name: A\n    dependencies: []\n" + JOB + "  - name: B\n" + JOB,
        11,
        "either every block declares `dependencies` or none",
        id="mixed-dependencies",
    ),
    pytest.param(
        HEADER + "blocks:\n  - name: A\n    dependencies: [Bild]\n" + JOB,
        9,
        "depends on 'Bild'",
        id="unknown-dependency",
    ),
    pytest.param(
        HEADER + "blocks:\n  - name: A\n    dependencies: [B]\n" + JOB + "  - name: B\n    dependencies: [A]\n" + JOB,
        11,
        "cycle: A -> B -> A",
        id="cycle",
    ),
    pytest.param(
        HEADER + "blocks:\n  - name: A\n" + JOB + "promotions: []\n",
        10,
        "at least one promotion",
        id="empty-promotions",
    ),
    pytest.param(
        HEADER + "blocks:\n  - name: A\n" + JOB + "promotions:\n  - name: P\n    pipeline_file: ../../x.yml\n",
        12,
        "outside the repository",
        id="outside",
    ),
    pytest.param(
        HEADER + "blocks:\n  - name: A\n" + JOB + "promotions:\n  - name: P\n    pipeline_file: p.yml\n"
        "    parameters:\n      env_vars:\n        - name: X\n          required: yes please\n",
        16,
        "true or false",
        id="required-not-bool",
    ),
    pytest.param(
        HEADER + "blocks:\n  - name: A\n    task:\n      boosters: []\n      jobs: [{name: j, commands: [x]}]\n",
        10,
        "boosters",
        id="boosters",
    ),
    pytest.param(
        ONE_JOB + "          commands_file: nope.sh\n",
        12,
        "cannot read commands_file",
        id="missing-commands-file",
    ),
    pytest.param(
        HEADER + "queue: {name: q, scope: everywhere}\nblocks:\n  - name: A\n" + JOB,
        7,
        "`queue.scope` must be project or organization",
        id="queue-scope",
    ),
    pytest.param(
        HEADER + "auto_cancel: {running: {}}\nblocks:\n  - name: A\n" + JOB, 7, "needs a `when`", id="auto-cancel"
    ),
    pytest.param(  # Semaphore's WhenValidator parses every `when`, even where the simulator gives it no effect
        HEADER + "queue: {name: q, when: \"branch = 'master' andd true\"}\nblocks:\n  - name: A\n" + JOB,
        7,
        "the `when` of `queue`: expected 'and' or 'or' before 'andd'",
        id="queue-when-syntax",
    ),
    pytest.param(
        HEADER + "auto_cancel:\n  queued:\n    when: \"Branch != 'master'\"\nblocks:\n  - name: A\n" + JOB,
        9,
        "lowercase or UPPERCASE",
        id="auto-cancel-when-case",
    ),
    pytest.param(
        ONE_JOB + "          commands: [x]\n          priority: [{value: 101, when: true}]\n",
        13,
        "at most 100",
        id="priority",
    ),
    pytest.param(
        HEADER + "blocks:\n  - name: A\n    run: {when: \"changed('/lib')\"}\n" + JOB,
        9,
        "the function changed() is not supported by the simulator",
        id="run",
    ),
    pytest.param(
        ONE_JOB + "          parallelism: 10000000000\n          commands: [x]\n",
        12,
        "at most 50",
        id="parallelism-huge",
    ),
    pytest.param(
        ONE_JOB + "          commands: [x]\n"
        "          matrix:\n" + "".join(f"            - {{env_var: V{i}, values: [a, b, c, d]}}\n" for i in range(12)),
        13,
        "expands to 16777216 jobs; the simulator runs at most 1000",
        id="matrix-too-big",
    ),
    pytest.param(
        HEADER + "blocks:\n  - name: Deploy to ${{parameters.ENV}}\n" + JOB,
        8,
        "a block `name` with a parameter expression is not supported",
        id="block-name-expression",
    ),
    pytest.param(
        HEADER + "blocks:\n  - name: A\n    task: {jobs: [{name: 'Ping ${{parameters.HOST}}', commands: [x]}]}\n",
        9,
        "a job `name` with a parameter expression is not supported",
        id="job-name-expression",
    ),
    pytest.param(
        HEADER.replace("e1-standard-2", "'${{parameters.MACHINE}}'") + "blocks:\n  - name: A\n" + JOB,
        5,
        "`agent.machine.type` with a parameter expression is not supported",
        id="agent-expression",
    ),
    pytest.param(
        ONE_JOB + "          commands_file: ../../etc/hostname\n",
        12,
        "`commands_file` '../../etc/hostname' points outside the repository",
        id="commands-file-outside",
    ),
    pytest.param(HEADER + "? [a, b]\n: 1\n", 7, "mapping keys must be strings", id="list-as-key"),
    pytest.param(HEADER + "? {a: 1}\n: 1\n", 7, "mapping keys must be strings", id="mapping-as-key"),
    pytest.param("- just\n- a list\n", 1, "must be a mapping", id="not-a-mapping"),
    pytest.param("", None, "empty", id="empty-file"),
]


@pytest.mark.parametrize(("text", "line", "fragment"), BAD_FILES)
def test_bad_pipeline_files_name_the_file_the_line_and_the_problem(
    tmp_path: Path, text: str, line: int | None, fragment: str
) -> None:
    with pytest.raises(ScenarioError) as caught:
        load(tmp_path, text, header="")
    error = caught.value
    assert error.path == str(tmp_path / ".semaphore" / "semaphore.yml")
    assert error.line == line, str(error)
    assert fragment in str(error)
    assert str(error).startswith(f"{error.path}:{line}: " if line is not None else f"{error.path}: ")


@pytest.mark.parametrize("opening", ["[", "{a: "])
def test_nesting_too_deep_for_the_parser_is_an_error_not_a_crash(tmp_path: Path, opening: str) -> None:
    closing = "]" if opening == "[" else "}"
    with pytest.raises(ScenarioError) as caught:
        load(tmp_path, "blocks: " + opening * 1000 + closing * 1000 + "\n")
    assert caught.value.path == str(tmp_path / ".semaphore" / "semaphore.yml")
    assert "nested too deeply" in str(caught.value)


def test_commands_file_with_a_leading_slash_is_read_from_the_repository_root(tmp_path: Path) -> None:
    (tmp_path / "ci").mkdir()
    (tmp_path / "ci" / "setup.sh").write_text("make deps\n", encoding="utf-8")
    (tmp_path / ".semaphore").mkdir()
    (tmp_path / ".semaphore" / "test.sh").write_text("make test\n", encoding="utf-8")
    parsed = load(
        tmp_path,
        """
        blocks:
          - name: Test
            task:
              prologue: {commands_file: /ci/setup.sh}
              jobs:
                - {name: Test, commands_file: ../.semaphore/test.sh}
        """,
    )
    assert [c.directive for c in jobs(parsed.definition)[0].commands] == ["make deps", "make test"]


def test_a_matrix_of_exactly_the_limit_expands(tmp_path: Path) -> None:
    axes = "".join(
        f"            - {{env_var: V{i}, values: ['0','1','2','3','4','5','6','7','8','9']}}\n" for i in range(3)
    )
    parsed = load(
        tmp_path,
        "blocks:\n  - name: M\n    task:\n      jobs:\n        - name: m\n          commands: [x]\n"
        "          matrix:\n" + axes,
    )
    names = [job.name for job in jobs(parsed.definition)]
    assert len(names) == 1000 == len(set(names))
    assert (names[0], names[-1]) == ("m - V0=0, V1=0, V2=0", "m - V0=9, V1=9, V2=9")


def test_unicode_names_are_kept_as_written(tmp_path: Path) -> None:
    parsed = load(
        tmp_path,
        """
        blocks:
          - name: Блок 🚀
            task:
              jobs:
                - name: 日本語
                  parallelism: 2
                  commands: [echo ünïcode]
        """,
        header=HEADER.replace("name: CI", "name: Déploiement"),
    )
    assert parsed.definition.name == "Déploiement"
    assert parsed.definition.blocks[0].name == "Блок 🚀"
    assert [job.name for job in jobs(parsed.definition)] == ["日本語 - 1/2", "日本語 - 2/2"]


def test_the_agent_machine_reaches_the_jobs_and_a_task_agent_overrides_it(tmp_path: Path) -> None:
    parsed = load(
        tmp_path,
        """
        blocks:
          - name: Cloud
            task: {jobs: [{name: a, commands: [a]}]}
          - name: Own hardware
            task:
              agent:
                machine:
                  type: s1-gpu-box
              jobs: [{name: b, commands: [b]}]
        """,
    )
    cloud, own = (jobs(parsed.definition, index)[0] for index in (0, 1))
    assert (cloud.machine_type, cloud.os_image) == ("e1-standard-2", "ubuntu2004")
    assert own.machine_type == "s1-gpu-box"


def test_anchors_merge_keys_and_a_byte_order_mark(tmp_path: Path) -> None:
    parsed = load(
        tmp_path,
        """
        blocks:
          - name: Tests
            task:
              env_vars: &common
                - {name: A, value: "1"}
              jobs:
                - &unit
                  name: Unit
                  commands: [make unit]
                - <<: *unit
                  name: Unit again
          - name: Again
            task:
              env_vars: *common
              jobs: [{name: j, commands: [x]}]
        """,
        header="\ufeff" + HEADER,
    )
    assert [job.name for job in jobs(parsed.definition)] == ["Unit", "Unit again"]
    assert [c.directive for c in jobs(parsed.definition)[1].commands] == ["make unit"]
    assert jobs(parsed.definition, 1)[0].env_vars == (("A", "1"),)


def test_a_recursive_anchor_is_an_error_not_a_crash(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="recursive anchor"):
        load(tmp_path, "blocks: &loop\n  - name: A\n    task: {jobs: *loop}\n")


_KEYS = sorted(
    {"version", "name", "agent", "blocks", "task", "jobs", "commands", "parallelism", "matrix", "env_var", "values"}
    | {"dependencies", "promotions", "pipeline_file", "parameters", "env_vars", "auto_promote", "when", "machine"}
    | {"type", "prologue", "value", "options", "required", "default_value", "skip", "execution_time_limit", "minutes"}
)
_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-3, 60), st.sampled_from(["v1.0", "A", "x", "branch = 'master'", ""])
)
_documents = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(_KEYS), inner, max_size=4),
    max_leaves=25,
)


@given(_documents)
def test_any_document_is_either_a_pipeline_or_a_scenario_error(document: object) -> None:
    """Whatever the shape, the reader answers with a definition or a ScenarioError, never a raw exception."""
    root = parse_document(yaml.safe_dump(document), "fuzz.yml")
    result: ParsedPipeline | ScenarioError
    try:
        result = parse_pipeline(root, ".semaphore/semaphore.yml", inline=True)
    except ScenarioError as error:
        result = error
    if isinstance(result, ScenarioError):
        assert result.path == "fuzz.yml"
        assert result.line is not None
    else:
        assert result.definition.blocks
