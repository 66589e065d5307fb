"""Every code block in the docs either runs in a test or says it is an illustration.

A page's reader cannot tell a block that a test runs from one written from memory, so the page says which it is, in
an HTML comment on the line before the fence (invisible on a code host and in the built site):

* ``<!-- tested: tests/path/test_file.py -->``: that test runs the block (or, for output, produces it and compares);
  the file must exist and name the page;
* ``<!-- illustration -->``: the block shows a shape (a command for a real organisation, a tree, an excerpt of
  output) and is not run.

MyST directives (``{toctree}``, ``{include}``, ``{literalinclude}``, ``{automodule}``...) are not code blocks: a
``{literalinclude}`` shows a file verbatim, and Sphinx's ``-W`` build fails when the file is missing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
#: The pages users read: the site's sources and the top-level Markdown files (two of which the site includes).
PAGES = sorted(
    [*(ROOT / "docs").glob("*.md")] + [ROOT / name for name in ("README.md", "CONTRIBUTING.md", "CHANGELOG.md")]
)
FENCE = re.compile(r"^(?P<indent>\s*)(?P<fence>`{3,}|~{3,})(?P<info>.*)$")
MARK = re.compile(r"^\s*<!-- (?:(?P<illustration>illustration)|tested: (?P<test>\S+)) -->\s*$")
CODE_DIRECTIVES = ("{code-block}", "{code}", "{sourcecode}")


@dataclass(frozen=True)
class Block:
    page: Path
    line: int  # 1-based line of the opening fence
    info: str
    mark: re.Match[str] | None

    def __str__(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line} ({self.info or 'no language'})"


def code_blocks(page: Path) -> list[Block]:
    """The page's fenced code blocks (not directives), each with the marker comment before it, if any."""
    lines = page.read_text(encoding="utf-8").splitlines()
    blocks = []
    closing: str | None = None
    for number, line in enumerate(lines, start=1):
        match = FENCE.match(line)
        if closing is not None:
            if match and match["fence"].startswith(closing) and not match["info"].strip():
                closing = None
            continue
        if not match:
            continue
        closing = match["fence"]
        info = match["info"].strip()
        if info.startswith("{") and not info.startswith(CODE_DIRECTIVES):
            continue
        before = [text for text in lines[: number - 1] if text.strip()]
        blocks.append(Block(page, number, info, MARK.match(before[-1]) if before else None))
    return blocks


ALL = [block for page in PAGES for block in code_blocks(page)]


def test_the_pages_have_code_blocks_of_both_kinds() -> None:
    assert len(ALL) > 40
    assert any(b.mark and b.mark["test"] for b in ALL)
    assert any(b.mark and b.mark["illustration"] for b in ALL)


def test_every_code_block_is_marked() -> None:
    unmarked = [str(b) for b in ALL if b.mark is None]
    assert not unmarked, (
        "code blocks without '<!-- tested: tests/... -->' or '<!-- illustration -->' on the line before them:\n"
        + "\n".join(unmarked)
    )


@pytest.mark.parametrize(
    "test_file", sorted({b.mark["test"] for b in ALL if b.mark and b.mark["test"]}), ids=lambda path: path
)
def test_a_named_test_exists_and_reads_the_page(test_file: str) -> None:
    path = ROOT / test_file
    assert path.is_file(), f"{test_file} is named by a docs block but does not exist"
    pages = {b.page.name for b in ALL if b.mark and b.mark["test"] == test_file}
    text = path.read_text(encoding="utf-8")
    for page in pages:
        assert page in text, f"{test_file} is said to run blocks of {page} but never names that page"


def test_the_fence_reader_sees_nested_fences_and_directives(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(
        "<!-- illustration -->\n````markdown\n```python\nnot a block\n```\n````\n\n"
        "```{literalinclude} x.py\n```\n\ntext\n\n```sh\nunmarked\n```\n",
        encoding="utf-8",
    )
    blocks = code_blocks(page)
    assert [(b.line, b.info, b.mark is not None) for b in blocks] == [(2, "markdown", True), (13, "sh", False)]
