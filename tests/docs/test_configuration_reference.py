"""docs/configuration.md lists every setting of the code's table, and nothing else, as the code describes it."""

from __future__ import annotations

import re

from pytest_semaphore.cli.parsing import FACE as COMMAND
from pytest_semaphore.plugin import FACE as PYTEST
from pytest_semaphore.settings import FIELDS

from .scripts import docs_script


def listed(table: str) -> set[str]:
    return set(re.findall(r"^\| `([a-z_]+)` \|", table, flags=re.MULTILINE))


def test_the_reference_lists_exactly_the_settings_of_the_code() -> None:
    on_page = listed(docs_script("gen_configuration").current())
    missing, extra = set(FIELDS) - on_page, on_page - set(FIELDS)
    assert not missing, f"settings the reference does not list: {sorted(missing)}; run python docs/gen_configuration.py"
    assert not extra, f"the reference lists settings that do not exist: {sorted(extra)}; run docs/gen_configuration.py"


def test_the_reference_lists_exactly_the_options_and_ini_keys_of_each_face() -> None:
    table = docs_script("gen_configuration").current()
    on_page = set(re.findall(r"`(--[a-z-]+|semaphore_[a-z_]+)`", table))
    code = {*COMMAND.options.values(), *PYTEST.options.values(), *PYTEST.ini.values()}
    missing, extra = code - on_page, on_page - code
    assert not missing, f"options the reference does not list: {sorted(missing)}; run python docs/gen_configuration.py"
    assert not extra, f"the reference lists options or ini keys that do not exist: {sorted(extra)}"


def test_every_row_says_what_the_code_says() -> None:
    gen = docs_script("gen_configuration")
    assert gen.current() == gen.render(), "docs/configuration.md is out of date: run python docs/gen_configuration.py"


def test_the_reader_of_the_table_sees_an_added_and_a_removed_setting() -> None:
    table = docs_script("gen_configuration").render()
    assert listed(table) == set(FIELDS)
    fewer = "\n".join(line for line in table.splitlines() if not line.startswith("| `timeout` |"))
    assert "timeout" not in listed(fewer)
    assert "bogus" in listed(table + "| `bogus` | | | | |\n")
