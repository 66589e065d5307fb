"""Gate summaries: Markdown and HTML content, escaping of hostile log text, user templates, bad templates."""

from __future__ import annotations

import datetime as dt
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

from pytest_semaphore.errors import ReportError
from pytest_semaphore.logs import Excerpt
from pytest_semaphore.models import Pipeline
from pytest_semaphore.report import render_summary, summary_context, write_summary

BASE = "https://org.semaphoreci.com"
XSS = '<script>alert("x")</script><img src=x onerror=alert(1)>'
WHEN = dt.datetime(2026, 1, 1, 12, 0, tzinfo=dt.timezone.utc)


def pipeline(result: str = "failed", name: str = "CI", reason: str = "test") -> Pipeline:
    return Pipeline.from_api(
        {
            "pipeline": {
                "ppl_id": "ppl-1",
                "wf_id": "wf-1",
                "name": name,
                "state": "done",
                "result": result,
                "result_reason": reason,
                "created_at": "2026-01-01 10:00:00.000000Z",
                "running_at": "2026-01-01 10:00:05.000000Z",
                "done_at": "2026-01-01 11:03:17.000000Z",
            },
            "blocks": [
                {
                    "name": "Tests",
                    "block_id": "b1",
                    "state": "done",
                    "result": result,
                    "jobs": [
                        {"name": f"unit {XSS}", "job_id": "j-unit", "status": "FINISHED", "result": result.upper()},
                        {"name": "lint", "job_id": "j-lint", "index": 1, "status": "FINISHED", "result": "PASSED"},
                    ],
                }
            ],
        }
    )


def excerpt() -> Excerpt:
    lines = ("collected 3 items", "```", XSS, "FAILED test_x.py::test_y - AssertionError")
    return Excerpt("unit", "j-unit", "pytest -x `tests`", 1, "failed", lines, 321, "non-zero exit code", "/l/u.log")


def test_markdown_lists_pipelines_and_failed_jobs_with_excerpts() -> None:
    text = render_summary([pipeline()], excerpts={"j-unit": excerpt()}, base_url=BASE, generated_at=WHEN)
    assert (
        "| CI | ✘ failed (test) | 1h 03m 12s | [open](https://org.semaphoreci.com/workflows/wf-1?pipeline_id=ppl-1) |"
        in text
    )
    assert "## Failed jobs" in text
    assert "exited with code **1**" in text
    assert "[job page](https://org.semaphoreci.com/jobs/j-unit)" in text
    assert "Last 4 of 321 lines:" in text
    # The excerpt contains a ``` run, so its fence is longer, and the block cannot be closed early.
    fence_open = text.index("````text\n")
    fence_close = text.index("\n````\n", fence_open)
    assert "FAILED test_x.py::test_y" in text[fence_open:fence_close]
    # Outside the fence, names are escaped: no raw HTML reaches a PR comment.
    outside = text[:fence_open] + text[fence_close:]
    assert re.search(r"(?<!\\)<(script|img)", outside) is None
    assert "Generated 2026-01-01 12:00:00 UTC" in text


def test_markdown_for_a_passed_gate_has_no_failed_section() -> None:
    text = render_summary([pipeline("passed")], base_url=BASE)
    assert "**✔ passed**" in text
    assert "Failed jobs" not in text


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attrs.extend(attrs)


def test_html_is_escaped_and_self_contained() -> None:
    html = render_summary(
        [pipeline(name=f"CI {XSS}")], fmt="html", excerpts={"j-unit": excerpt()}, base_url=BASE, generated_at=WHEN
    )
    parser = _Collector()
    parser.feed(html)
    assert "script" not in parser.tags
    assert "img" not in parser.tags
    assert not any(name.startswith("on") for name, _ in parser.attrs)
    assert "&lt;script&gt;" in html
    # Self-contained: nothing is loaded from elsewhere.
    assert not re.search(r"<(link|script|img|iframe)\b", html)
    assert "src=" not in html.replace("src=x", "")
    hrefs = [value for name, value in parser.attrs if name == "href"]
    assert hrefs
    assert all(h is not None and h.startswith(BASE) for h in hrefs)
    assert "FAILED test_x.py::test_y" in html


def test_javascript_base_url_never_becomes_a_link() -> None:
    html = render_summary([pipeline()], fmt="html", base_url="javascript:alert(1)//")
    assert "javascript:" not in html
    md = render_summary([pipeline()], base_url="javascript:alert(1)//")
    assert "javascript:" not in md


@pytest.mark.parametrize(
    ("results", "verdict", "exit_code"),
    [
        ([("passed", "test"), ("passed", "test")], "passed", 0),
        ([("passed", "test"), ("failed", "test")], "failed", 1),
        ([("failed", "malformed")], "error", 4),
        ([("stopped", "timeout"), ("failed", "test")], "error", 4),
        ([("canceled", "user"), ("passed", "test")], "canceled", 3),
    ],
)
def test_the_summary_verdict_is_the_gates_own(results: list[tuple[str, str]], verdict: str, exit_code: int) -> None:
    """One mapping for both faces: the summary never says "failed" where the gate exits 4, or the reverse."""
    from pytest_semaphore.waiting import Outcome, worst_outcome

    pipelines = [pipeline(result, name=f"P{i}", reason=reason) for i, (result, reason) in enumerate(results)]
    assert worst_outcome(pipelines) is Outcome(verdict)
    assert Outcome(verdict).exit_code == exit_code
    context = summary_context(pipelines, generated_at=WHEN)
    assert context["overall"] == verdict
    assert f"{context['overall_icon']} {verdict}" in render_summary(pipelines, generated_at=WHEN)


def test_context_is_plain_data() -> None:
    context = summary_context([pipeline()], excerpts={"j-unit": excerpt()}, base_url=BASE, generated_at=WHEN)
    assert context["overall"] == "failed"
    (job,) = context["failed_jobs"]
    assert (job["exit_code"], job["directive"], job["log_path"]) == (1, "pytest -x `tests`", "/l/u.log")
    assert context["pipelines"][0]["duration"] == "1h 03m 12s"


def test_user_template(tmp_path: Path) -> None:
    template = tmp_path / "mine.txt"
    template.write_text("{{ overall }}:{% for j in failed_jobs %} {{ j.name }}={{ j.exit_code }}{% endfor %}\n")
    out = render_summary([pipeline()], template=template, excerpts={"j-unit": excerpt()})
    assert out.startswith(f"failed: unit {XSS}=1")


def test_user_html_template_is_autoescaped_whatever_its_name(tmp_path: Path) -> None:
    template = tmp_path / "page.j2"
    template.write_text("<p>{{ failed_jobs[0].lines[2] }}</p>")
    out = render_summary([pipeline()], fmt="html", template=template, excerpts={"j-unit": excerpt()})
    assert out == "<p>&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;</p>"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("{% for x in %}", "line 1"),
        ("{{ no_such_name }}", "failed to render"),
    ],
)
def test_broken_templates_give_clear_errors(tmp_path: Path, body: str, message: str) -> None:
    template = tmp_path / "bad.md"
    template.write_text(body)
    with pytest.raises(ReportError, match=message):
        render_summary([pipeline()], template=template)


def test_missing_template_and_unknown_format(tmp_path: Path) -> None:
    with pytest.raises(ReportError, match="does not exist"):
        render_summary([pipeline()], template=tmp_path / "nope.j2")
    with pytest.raises(ReportError, match="unknown summary format 'pdf'"):
        render_summary([pipeline()], fmt="pdf")


def test_write_summary_picks_the_format_from_the_suffix_and_is_atomic(tmp_path: Path) -> None:
    html = write_summary(tmp_path / "out" / "summary.html", [pipeline()], excerpts={"j-unit": excerpt()})
    md = write_summary(tmp_path / "out" / "summary.md", [pipeline()])
    assert html.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert md.read_text(encoding="utf-8").startswith("# Semaphore gate summary")
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["summary.html", "summary.md"]


def test_jinja2_is_not_imported_until_a_summary_is_rendered() -> None:
    code = (
        "import sys, pytest_semaphore, pytest_semaphore.logs, pytest_semaphore.junit\n"
        "assert 'jinja2' not in sys.modules, 'jinja2 imported early'\n"
        "assert 'junitparser' not in sys.modules, 'junitparser imported early'\n"
        "import pytest_semaphore.report\n"
        "assert 'jinja2' not in sys.modules, 'report.py imports jinja2 at import time'\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr


def test_an_unwritable_summary_path_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(ReportError, match="cannot write the summary there"):
        write_summary(blocker / "summary.md", [pipeline()])


def hostile_world() -> tuple[Pipeline, Excerpt]:
    """Every text field of the summary carries markup, quotes, pipes and backticks."""
    bad = '"|`x`<script>alert(1)</script><img src=x onerror=alert(2)>'
    ppl = Pipeline.from_api(
        {
            "pipeline": {
                "ppl_id": "p" + bad,
                "wf_id": "w" + bad,
                "name": "CI" + bad,
                "state": "done",
                "result": "failed",
                "result_reason": "test" + bad,
                "error_description": "err" + bad,
            },
            "blocks": [
                {
                    "name": "B" + bad,
                    "block_id": "b",
                    "state": "done",
                    "result": "failed",
                    "jobs": [{"name": "j" + bad, "job_id": "j1" + bad, "status": "FINISHED", "result": "FAILED"}],
                }
            ],
        }
    )
    return ppl, Excerpt("j", "j1" + bad, "make" + bad, 2, "failed", ("```", bad, "~~~"), 3, "r", "/l/" + bad)


def test_html_escapes_every_field_and_links_only_http() -> None:
    ppl, ex = hostile_world()
    html = render_summary([ppl], fmt="html", excerpts={ex.job_id: ex}, base_url="https://x.io/a)b c", title="T<b>")
    parser = _Collector()
    parser.feed(html)
    assert not {"script", "img", "b"} & set(parser.tags)
    assert not any(name.startswith("on") for name, _ in parser.attrs)
    hrefs = [value or "" for name, value in parser.attrs if name == "href"]
    assert len(hrefs) == 3
    assert all(h.startswith("https://x.io/") for h in hrefs)


def test_markdown_table_and_links_survive_pipes_backticks_and_parentheses() -> None:
    ppl, ex = hostile_world()
    md = render_summary([ppl], excerpts={ex.job_id: ex}, base_url="https://x.io/a)b c")
    row = next(line for line in md.splitlines() if line.startswith("| CI"))
    assert len(re.findall(r"(?<!\\)\|", row)) == 5  # four cells: every pipe from the data is escaped
    fence_open = md.index("````text\n")
    outside = md[:fence_open] + md[md.index("\n````\n", fence_open) :]
    outside = re.sub(r"(?<!`)(`+)(?!`).*?(?<!`)\1(?!`)", "", outside)  # inline code spans are literal text
    assert re.search(r"(?<!\\)<(script|img)", outside) is None
    links = re.findall(r"\]\(([^)]*)\)", md)
    assert len(links) == 2
    assert all(link.startswith("https://x.io/a%29b%20c/") for link in links)


def test_a_directory_in_the_way_of_the_summary_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "summary.md").mkdir()
    with pytest.raises(ReportError, match=r"summary\.md: cannot write the summary"):
        write_summary(tmp_path / "summary.md", [pipeline()])
    assert [p.name for p in tmp_path.iterdir()] == ["summary.md"]
