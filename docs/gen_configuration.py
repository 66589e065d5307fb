"""Write the configuration reference table of docs/configuration.md from the settings table in the code.

The table sits between two marker comments; everything else on the page is prose. ``tests/docs`` fails when the page
and the code disagree (an option the page does not list, or one it lists that no longer exists), naming the options,
and says to run this script:

    python docs/gen_configuration.py          # rewrite the table
    python docs/gen_configuration.py --check  # exit 1 if the page is out of date
"""

from __future__ import annotations

import sys
from pathlib import Path

from pytest_semaphore.cli.parsing import FACE as COMMAND
from pytest_semaphore.plugin import FACE as PYTEST
from pytest_semaphore.settings import FIELDS, Face, Field

PAGE = Path(__file__).resolve().parent / "configuration.md"
BEGIN = "<!-- begin generated: python docs/gen_configuration.py -->"
END = "<!-- end generated -->"


def _default(field: Field) -> str:
    if field.kind == "flag":
        return "off" if not field.default else "on"
    if field.default is None or field.default == []:
        return ""
    value = field.default
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return f"`{value}`"


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _spellings(face: Face, name: str) -> str:
    return f"`{face.options[name]}`" if name in face.options else ""


def rows() -> dict[str, str]:
    """One Markdown table row per setting, keyed by the setting's name."""
    table = {}
    for name, field in FIELDS.items():
        cells = [
            f"`{name}`",
            _spellings(PYTEST, name),
            f"`{PYTEST.ini[name]}`" if name in PYTEST.ini else "",
            _spellings(COMMAND, name),
            f"`{field.env}`" if field.env else "",
            _default(field),
            _cell(field.accepted),
            _cell(field.help),
        ]
        table[name] = "| " + " | ".join(cells) + " |"
    return table


def render() -> str:
    header = (
        "| setting | pytest | ini | `semaphore-gate` | environment | default | accepted | what it does |\n"
        "| --- | --- | --- | --- | --- | --- | --- | --- |\n"
    )
    return header + "\n".join(rows().values()) + "\n"


def current() -> str:
    """The table as the page has it now."""
    text = PAGE.read_text(encoding="utf-8")
    start, end = text.index(BEGIN) + len(BEGIN), text.index(END)
    return text[start:end].strip("\n") + "\n"


def write() -> None:
    text = PAGE.read_text(encoding="utf-8")
    start, end = text.index(BEGIN) + len(BEGIN), text.index(END)
    PAGE.write_text(text[:start] + "\n" + render() + text[end:], encoding="utf-8")


if __name__ == "__main__":
    if sys.argv[1:] == ["--check"]:
        sys.exit(0 if current() == render() else 1)
    write()
