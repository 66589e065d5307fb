"""Blocks of the docs pages that no other test runs: they run here, or their output is produced and compared."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from pytest_semaphore.plugin import FACE as PYTEST
from pytest_semaphore.settings import Settings, SettingsError
from pytest_semaphore.simulator import SemaphoreSimulator
from pytest_semaphore.simulator.pipeline_yaml import load_pipeline_file

from ..support.environment import drop_semaphore_variables

ROOT = Path(__file__).resolve().parents[2]
#: What running the examples may leave behind, which is not part of them.
CACHES = {"__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache", ".hypothesis"}


def blocks(page: str, language: str) -> list[str]:
    text = (ROOT / page).read_text(encoding="utf-8")
    return re.findall(rf"^```{language}\n(.*?)^```$", text, flags=re.MULTILINE | re.DOTALL)


def test_readme_test_command_is_the_one_ci_runs() -> None:
    """README.md's test command, character for character, is what .ci/run runs."""
    (command,) = [b.strip() for b in blocks("README.md", "sh") if "pytest" in b]
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert command in ci


def test_configuration_md_shows_the_message_a_bad_timeout_gets() -> None:
    (shown,) = blocks("docs/configuration.md", "text")
    with pytest.raises(SettingsError) as caught:
        Settings.resolve(PYTEST, cli={"semaphore_timeout": "soon"}, environ={})
    assert str(caught.value) == shown.strip()


def test_scenarios_md_bundled_example_runs_as_pasted() -> None:
    (example,) = [b for b in blocks("docs/scenarios.md", "python") if "examples" in b]
    namespace: dict[str, object] = {}
    exec(compile(example, "docs/scenarios.md", "exec"), namespace)
    sim = namespace["sim"]
    assert isinstance(sim, SemaphoreSimulator)
    # its comment: ten simulated minutes, the train passes and Staging is promoted automatically
    done = {(p.name, p.result) for p in sim.world.pipelines()}
    assert done == {("Release train", "passed"), ("Deploy to staging", "passed")}


def test_recipes_md_includes_every_example_file_verbatim() -> None:
    """Each file of examples/ is shown by a ``{literalinclude}`` (which Sphinx fails on when the file is missing)."""
    included = set(
        re.findall(r"^```\{literalinclude\} \.\./(\S+)$", (ROOT / "docs" / "recipes.md").read_text("utf-8"), re.M)
    )
    examples = {
        path.relative_to(ROOT).as_posix()
        for path in (ROOT / "examples").rglob("*")
        if path.is_file() and not any(part in CACHES for part in path.parts)
    }
    assert included == examples


@pytest.mark.parametrize("page", ["docs/quickstart.md", "README.md"])
def test_the_first_release_test_passes_when_rehearsed_as_shown(
    page: str, pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The release test of the quickstart and the README, run with the command line they give, in a pytest
    subprocess against the simulator's bundled release train."""
    drop_semaphore_variables(monkeypatch)
    (test_file,) = [b for b in blocks(page, "python") if "def test_" in b]
    if page == "README.md":  # the command is the block's first line, a comment: "# pytest ...   (rehearsal; ...)"
        found = re.match(r"# (pytest .*?)\s{2,}\(", test_file)
        assert found is not None
        command = found.group(1)
    else:
        (command,) = [b.strip() for b in blocks(page, "sh") if "--semaphore-simulate" in b]
    pytester.makepyfile(test_release=test_file)
    args = shlex.split(command)
    assert args == ["pytest", "test_release.py", "--semaphore-simulate"]
    result = pytester.runpytest_subprocess(*args[1:], "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)


def test_readme_simulator_example_prints_what_its_comment_says(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (example,) = [b for b in blocks("README.md", "python") if "SemaphoreSimulator(" in b]
    monkeypatch.chdir(ROOT)  # its scenario path is relative to a clone's root
    exec(compile(example, "README.md", "exec"), {})
    promised = re.search(r"print\(.*\)\s+# (.*)", example)
    assert promised is not None
    assert capsys.readouterr().out.strip() == promised.group(1)


def test_readme_gate_block_is_a_valid_block_of_a_pipeline(tmp_path: Path) -> None:
    """README's gate block, put after a Tests block of a pipeline file, is read as Semaphore would read it."""
    (gate_block,) = blocks("README.md", "yaml")
    header = (
        "version: v1.0\nname: Release\nagent:\n  machine:\n    type: e1-standard-2\n    os_image: ubuntu2204\n"
        "blocks:\n  - name: Tests\n    dependencies: []\n"
        "    task:\n      jobs:\n        - name: Unit\n          commands: [make test]\n"
    )
    path = tmp_path / ".semaphore" / "semaphore.yml"
    path.parent.mkdir()
    path.write_text(header + gate_block, encoding="utf-8")
    pipeline = load_pipeline_file(path, ".semaphore/semaphore.yml").definition
    gate = pipeline.blocks[-1]
    assert (gate.name, gate.dependencies) == ("Gate", ("Tests",))
    assert gate.jobs[0].commands[-1].directive == "semaphore-gate promote Production --param REGION=eu-west-1"
