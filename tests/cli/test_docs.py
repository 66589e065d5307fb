"""docs/cli.md stays complete: every subcommand, option and exit code of the real parser is documented, and the
recipe's pipeline files are pipelines the simulator (which reads real ``.semaphore`` YAML) accepts."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest

from pytest_semaphore.cli import exitcodes
from pytest_semaphore.cli.parsing import build_parser
from pytest_semaphore.simulator.pipeline_yaml import load_pipeline_file

DOC = Path(__file__).resolve().parents[2] / "docs" / "cli.md"


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    raise AssertionError("no subcommands")


def test_every_subcommand_and_option_is_documented() -> None:
    text = DOC.read_text(encoding="utf-8")
    parser = build_parser()
    commands = _subparsers(parser)
    missing = []
    for name, sub in commands.items():
        if f"### `{name}`" not in text:
            missing.append(f"section for {name}")
        for action in sub._actions:
            for option in action.option_strings:
                if option.startswith("--") and option != "--help" and f"`{option}" not in text:
                    missing.append(f"{name} {option}")
    assert not missing, missing


def test_every_exit_code_is_in_the_table() -> None:
    text = DOC.read_text(encoding="utf-8")
    codes = {value for name, value in vars(exitcodes).items() if name.startswith("EXIT_")}
    documented = {int(m) for m in re.findall(r"^\| (\d+) \|", text, flags=re.MULTILINE)}
    assert documented == codes


@pytest.mark.parametrize("name", ["semaphore.yml", "production.yml"])
def test_the_recipes_pipeline_files_are_valid_pipelines(name: str, tmp_path: Path) -> None:
    blocks = re.findall(r"```yaml\n# \.semaphore/(\S+)\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.DOTALL)
    files = dict(blocks)
    folder = tmp_path / ".semaphore"
    folder.mkdir()
    for file_name, body in files.items():
        (folder / file_name).write_text(body, encoding="utf-8")
    parsed = load_pipeline_file(folder / name, f".semaphore/{name}")
    assert parsed.definition.blocks
