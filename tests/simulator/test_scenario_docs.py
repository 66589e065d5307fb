"""docs/scenarios.md shows the bundled example verbatim and its snippets load: the docs cannot drift from the files,
and the packaging ships every example file (dot-folders included)."""

from __future__ import annotations

import glob
import os
import re
from pathlib import Path

import pytest

import pytest_semaphore.simulator as simulator_package
from pytest_semaphore.simulator.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "scenarios.md"
PACKAGE = Path(simulator_package.__file__).resolve().parent.parent  # the pytest_semaphore package folder
EXAMPLE = PACKAGE / "simulator" / "examples" / "release-train"
FENCE = re.compile(r'^```yaml(?: title="(?P<title>[^"]+)")?\n(?P<body>.*?)^```$', re.MULTILINE | re.DOTALL)


def fenced_blocks() -> list[tuple[str | None, str]]:
    return [(match["title"], match["body"]) for match in FENCE.finditer(DOC.read_text(encoding="utf-8"))]


def example_files() -> list[str]:
    found = []
    for folder, _, files in os.walk(EXAMPLE):
        found += [Path(folder, name).relative_to(EXAMPLE).as_posix() for name in files]
    return sorted(found)


def test_the_docs_show_every_example_file_verbatim() -> None:
    titled = {title: body for title, body in fenced_blocks() if title is not None}
    assert sorted(titled) == example_files()
    for name, body in titled.items():
        assert body == (EXAMPLE / name).read_text(encoding="utf-8"), name


@pytest.mark.parametrize("scenario", ["scenario.yml", "failing.yml"])
def test_the_files_as_shown_in_the_docs_load_the_bundled_scenario(tmp_path: Path, scenario: str) -> None:
    for title, body in fenced_blocks():
        if title is not None:
            target = tmp_path / title
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(body, encoding="utf-8")
    from_docs = load_scenario(tmp_path / scenario)
    assert from_docs == load_scenario(EXAMPLE / scenario)
    assert [project.name for project in from_docs.projects] == ["release-train"]


def test_the_untitled_snippets_load(tmp_path: Path) -> None:
    snippets = [body for title, body in fenced_blocks() if title is None]
    assert len(snippets) == 2
    inline, faults = snippets
    scenario = load_scenario(_write(tmp_path / "inline.yml", inline))
    assert sorted(scenario.projects[0].pipelines) == [
        ".semaphore/broken.yml",
        ".semaphore/release.yml",
        ".semaphore/semaphore.yml",
    ]
    with_project = f"projects:\n  - name: x\n    repository: {EXAMPLE}\n{faults}"
    assert [fault.kind for fault in load_scenario(_write(tmp_path / "faults.yml", with_project)).faults] == [
        "status",
        "rate_limit",
    ]


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_the_run_it_snippet_runs_as_written_and_does_what_its_comment_says() -> None:
    python = re.compile(r"^```python\n(?P<body>.*?)^```$", re.MULTILINE | re.DOTALL)
    (run_it,) = [m["body"] for m in python.finditer(DOC.read_text(encoding="utf-8")) if "examples" in m["body"]]
    namespace: dict[str, object] = {}
    exec(compile(run_it, str(DOC), "exec"), namespace)  # copied into a user's file, it must run as it stands
    sim = namespace["sim"]
    assert isinstance(sim, simulator_package.SemaphoreSimulator)
    done = {(p.name, p.result) for p in sim.world.pipelines()}
    assert done == {("Release train", "passed"), ("Deploy to staging", "passed")}


def test_the_package_data_patterns_ship_every_example_file() -> None:
    tomllib = pytest.importorskip("tomllib")
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = config["tool"]["setuptools"]["package-data"]["pytest_semaphore"]
    shipped: set[str] = set()
    for pattern in patterns:  # setuptools expands package data with glob(recursive=True), which skips dot-folders
        for match in glob.glob(str(PACKAGE / pattern), recursive=True):
            path = Path(match)
            if path.is_file() and EXAMPLE in path.parents:
                shipped.add(path.relative_to(EXAMPLE).as_posix())
    assert shipped == set(example_files())
