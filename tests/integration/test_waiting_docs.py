"""The simulator examples of docs/waiting.md run as pasted and print what their comments say."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[2] / "docs" / "waiting.md"


def _examples() -> list[str]:
    """The python blocks that bring their own world (the others need a Semaphore account and a pipeline id)."""
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.DOTALL)
    return [block for block in blocks if "SemaphoreSimulator(" in block]


def test_the_page_has_the_manual_clock_and_the_real_time_example() -> None:
    examples = _examples()
    assert len(examples) == 2
    assert "Pacing(sleep=sim.advance" in examples[0]
    assert "Pacing.at_speed(" in examples[1]


@pytest.mark.parametrize("index", [0, 1], ids=["manual-clock", "at-speed"])
def test_an_example_prints_what_its_comment_promises(index: int, capsys: pytest.CaptureFixture[str]) -> None:
    example = _examples()[index]
    exec(compile(example, str(DOC), "exec"), {})
    printed = capsys.readouterr().out.strip()
    promised = re.search(r"print\(.*\)\s+# (.*)", example)
    assert promised is not None
    assert printed.startswith("passed")
    assert printed == promised.group(1).split(",")[0].strip()
