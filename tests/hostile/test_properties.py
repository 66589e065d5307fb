"""Generated hostile logs against the public log, JUnit and report functions (strategies in ``strategies.py``).

Each property is one of our promises, stated for every input hypothesis can build: a secret interrupted or split
any way is never shown, cleaned text carries no control or bidirectional character, a malformed event raises only
``ModelError``, Markdown mentions no one, and an over-long line never reaches an excerpt whole.
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import example, given
from hypothesis import strategies as st

from pytest_semaphore.logs import (
    DEFAULT_MAX_LINE_CHARS,
    Excerpt,
    ExcerptOptions,
    Redactor,
    clean_text,
    events_to_text,
    excerpt_from_events,
    excerpt_from_text,
)
from pytest_semaphore.models import ModelError, Pipeline
from pytest_semaphore.report import render_summary
from tests.support import api_payloads as P

from .corpus import FORBIDDEN
from .strategies import hostile_line, hostile_log, interrupted, malformed_event, noise, secrets, visible


def _pipeline(job_name: str) -> Pipeline:
    block = P.block()
    block["jobs"][0]["name"] = job_name
    return Pipeline.from_api(P.pipeline_describe("done", "failed", blocks=[block]))


def _assert_clean(text: str, secret: str) -> None:
    assert secret not in text
    assert FORBIDDEN.search(text) is None


@given(st.data(), secrets)
def test_an_interrupted_secret_is_whole_once_cleaned_and_then_redacted(data: st.DataObject, secret: str) -> None:
    text = data.draw(interrupted(secret))
    assert clean_text(text) == secret  # what the attack relies on: cleaning joins it back
    assert Redactor([secret])(clean_text(text)) == "[REDACTED]"


@given(st.data(), secrets)
def test_a_hostile_log_shows_no_secret_anywhere(data: st.DataObject, secret: str) -> None:
    """Excerpt, saved full log, the whole log as text, JUnit report and both summaries, for a log hiding the secret
    every way at once."""
    from pytest_semaphore.junit import write_pipeline_report

    events = data.draw(hostile_log(secret))
    job_name = data.draw(interrupted(secret))
    with tempfile.TemporaryDirectory() as work:
        excerpt = excerpt_from_events(
            events,
            job_name=job_name,
            job_id=P.JOB_ID,
            redactor=Redactor([secret]),
            options=ExcerptOptions(log_dir=work),
        )
        assert excerpt.log_path is not None
        _assert_clean(Path(excerpt.log_path).read_text(encoding="utf-8"), secret)
        report = Path(work) / "report.xml"
        write_pipeline_report(report, _pipeline("build"), excerpts={P.JOB_ID: excerpt})
        _assert_clean(report.read_text(encoding="utf-8"), secret)
    _assert_clean(excerpt.render(), secret)
    _assert_clean("".join(events_to_text(events, redactor=Redactor([secret]))), secret)
    for fmt in ("markdown", "html"):
        _assert_clean(render_summary([_pipeline("build")], fmt=fmt, excerpts={P.JOB_ID: excerpt}), secret)


@given(st.lists(malformed_event(), min_size=1, max_size=5))
def test_a_malformed_event_raises_only_model_error(events: list[Any]) -> None:
    try:
        excerpt = excerpt_from_events([{"event": "cmd_started", "timestamp": 1, "directive": "x"}, *events])
    except ModelError:
        return
    assert FORBIDDEN.search(excerpt.render()) is None


@given(st.lists(st.one_of(visible, noise, st.sampled_from(["\r", "\n", "\r\n"])), max_size=30).map("".join))
def test_cleaning_leaves_no_forbidden_character_and_is_idempotent(text: str) -> None:
    cleaned = clean_text(text)
    assert FORBIDDEN.search(cleaned) is None
    assert "\x1b" not in cleaned
    assert clean_text(cleaned) == cleaned


@given(st.data(), secrets, st.integers(DEFAULT_MAX_LINE_CHARS, 3 * DEFAULT_MAX_LINE_CHARS))
def test_plain_text_lines_are_cut_and_secrets_stay_hidden(data: st.DataObject, secret: str, run: int) -> None:
    line = data.draw(hostile_line(secret))
    chunks = ["y" * run, line, "tail\n"]
    excerpt = excerpt_from_text(chunks, redactor=Redactor([secret]))
    _assert_clean(excerpt.render(), secret)
    assert all(len(kept) <= DEFAULT_MAX_LINE_CHARS + 60 for kept in excerpt.lines)


_CODE = re.compile(r"(`+)(?:(?!\1).)*?\1|^(`{3,}).*?^\2", re.DOTALL | re.MULTILINE)


@example("`@0")  # an escaped backtick before a mention once read as the start of a code span
@given(st.lists(st.one_of(visible, noise, st.sampled_from(["@team", "@org/squad", "**@x**"])), max_size=8).map("".join))
def test_markdown_mentions_no_one_and_shows_no_control(name: str) -> None:
    excerpt = Excerpt(name, P.JOB_ID, name, 1, "failed", (name,), 1, "non-zero exit code")
    markdown = render_summary([_pipeline(name)], fmt="markdown", excerpts={P.JOB_ID: excerpt})
    outside_code = _CODE.sub("", markdown.replace("\\`", ""))  # an escaped backtick opens no code span
    assert re.search(r"@[\w-]", outside_code) is None
    assert FORBIDDEN.search(markdown) is None
