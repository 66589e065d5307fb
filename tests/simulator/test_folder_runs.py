"""Where a loaded ``.semaphore`` folder's workflow runs: the branch, tag or pull request the user chose, else the
checkout's current branch when the folder's parent is a git repository, else ``master``."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pytest

import pytest_semaphore.simulator as simulator_package
from pytest_semaphore.simulator import SemaphoreSimulator
from pytest_semaphore.simulator.scenario import current_branch, load_scenario
from pytest_semaphore.simulator.serve import serve

PIPELINE = """\
version: v1.0
name: CI
agent: {machine: {type: e1-standard-2}}
blocks: [{name: Build, task: {jobs: [{name: Build, commands: [make]}]}}]
"""


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "shop"
    (root / ".semaphore").mkdir(parents=True)
    (root / ".semaphore" / "semaphore.yml").write_text(PIPELINE, encoding="utf-8")
    return root


def branch_of(path: Path, branch: str | None = None, tag: str | None = None, pull_request: str | None = None) -> str:
    with SemaphoreSimulator(path, branch=branch, tag=tag, pull_request=pull_request) as sim:
        (workflow,) = sim.world.workflows(sim.world.project("shop").project_id)
        return workflow.branch_name


def test_without_git_or_a_choice_the_run_is_on_master(repo: Path) -> None:
    assert branch_of(repo) == "master"
    assert branch_of(repo / ".semaphore") == "master"


def test_the_checkouts_current_branch_is_the_default(repo: Path) -> None:
    (repo / ".git").mkdir()
    (repo / ".git" / "HEAD").write_text("ref: refs/heads/main\n", encoding="utf-8")
    assert branch_of(repo) == "main"
    assert branch_of(repo / ".semaphore") == "main"


def test_a_worktree_checkout_is_followed_through_its_gitdir_file(repo: Path, tmp_path: Path) -> None:
    gitdir = tmp_path / "main-repo" / ".git" / "worktrees" / "shop"
    gitdir.mkdir(parents=True)
    (gitdir / "HEAD").write_text("ref: refs/heads/feature/login\n", encoding="utf-8")
    (repo / ".git").write_text(f"gitdir: {gitdir}\n", encoding="utf-8")
    assert current_branch(repo) == "feature/login"
    assert branch_of(repo) == "feature/login"


def test_a_detached_head_or_a_git_folder_further_up_keeps_master(repo: Path, tmp_path: Path) -> None:
    (repo / ".git").mkdir()
    (repo / ".git" / "HEAD").write_text("6e45bd0a7c1f00000000000000000000deadbeef\n", encoding="utf-8")
    assert branch_of(repo) == "master"
    nested = tmp_path / "outer"
    (nested / ".git").mkdir(parents=True)
    (nested / ".git" / "HEAD").write_text("ref: refs/heads/main\n", encoding="utf-8")
    inner = nested / "examples" / "shop"
    (inner / ".semaphore").mkdir(parents=True)
    (inner / ".semaphore" / "semaphore.yml").write_text(PIPELINE, encoding="utf-8")
    # like the bundled examples inside this repository: only the folder's own parent counts
    with SemaphoreSimulator(inner) as sim:
        assert [w.branch_name for w in sim.world.workflows(sim.world.project("shop").project_id)] == ["master"]


def test_the_bundled_example_runs_on_master_although_this_repository_is_a_checkout() -> None:
    example = Path(simulator_package.__file__).parent / "examples" / "release-train"
    definition = load_scenario(example / ".semaphore")
    assert [run.branch for run in definition.runs] == ["master"]


def test_a_chosen_branch_tag_or_pull_request(repo: Path) -> None:
    (repo / ".git").mkdir()
    (repo / ".git" / "HEAD").write_text("ref: refs/heads/main\n", encoding="utf-8")
    assert branch_of(repo, branch="develop") == "develop"
    assert branch_of(repo, tag="v1.2.3") == "refs/tags/v1.2.3"
    assert branch_of(repo, pull_request="17") == "pull-request-17"
    with SemaphoreSimulator(repo, tag="v1.2.3") as sim:
        (pipeline,) = sim.world.pipelines()
        assert (pipeline.tag, pipeline.pull_request) == ("v1.2.3", None)


def test_choosing_two_or_choosing_for_a_scenario_file_is_an_error(repo: Path, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not branch and tag"):
        load_scenario(repo, branch="main", tag="v1")
    scenario = tmp_path / "scenario.yml"
    scenario.write_text("projects: [{name: shop, repository: shop}]\n", encoding="utf-8")
    with pytest.raises(ValueError, match="says where each workflow runs in its `runs`"):
        SemaphoreSimulator(scenario, branch="main")


def test_simulate_takes_the_tag_and_prints_where_the_workflow_runs(repo: Path) -> None:
    out, err = io.StringIO(), io.StringIO()
    assert serve(repo, speed=50, out=out, err=err, wait=lambda: None, tag="v1.2.3") == 0, err.getvalue()
    assert " on refs/tags/v1.2.3: pipeline " in out.getvalue()
    out, err = io.StringIO(), io.StringIO()
    assert serve(None, speed=50, out=out, err=err, wait=lambda: None, branch="main") == 2
    assert "a scenario file says where each workflow runs" in err.getvalue()
    assert out.getvalue() == ""


def test_simulate_refuses_a_branch_and_a_tag_together(repo: Path) -> None:
    command = [sys.executable, "-m", "pytest_semaphore.cli", "simulate", str(repo), "--branch", "main", "--tag", "v1"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 2
    assert "not allowed with argument" in done.stderr
    assert "Traceback" not in done.stderr
