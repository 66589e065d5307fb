"""docs/plugin.md documents every option, ini key, environment variable, fixture and hook the plugin has."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

from pytest_semaphore import hooks
from pytest_semaphore.plugin import FACE
from pytest_semaphore.settings import FIELDS

DOC = (Path(__file__).parents[2] / "docs" / "plugin.md").read_text(encoding="utf-8")


def test_every_option_ini_key_and_variable_is_in_the_reference() -> None:
    rows = [line for line in DOC.splitlines() if line.startswith("| `--semaphore-")]
    for name, option in FACE.options.items():
        [row] = [r for r in rows if r.startswith((f"| `{option}`", f"| `{option} "))]
        if name in FACE.ini:
            assert f"`{FACE.ini[name]}`" in row
        if FIELDS[name].env:
            assert f"`{FIELDS[name].env}`" in row
    assert len(rows) == len(FACE.options)


def test_every_fixture_and_hook_is_documented() -> None:
    import pytest_semaphore.plugin as plugin

    fixtures = [
        name
        for name, value in vars(plugin).items()
        if type(value).__name__ == "FixtureFunctionDefinition" or hasattr(value, "_pytestfixturefunction")  # 9, 8
    ]
    assert "wait_for_pipeline" in fixtures
    for name in fixtures:
        assert re.search(rf"\| `{name}` \|", DOC), name
    for name, _ in inspect.getmembers(hooks, inspect.isfunction):
        if name.startswith("pytest_semaphore_"):
            assert f"def {name}(" in DOC, name
