"""The hostile corpus run: each case may raise only the error it names, stays within its counted bounds, and leaves
output that keeps our promises (no secret, no control or bidi character, no DTD, no live mention, no token quoted)."""

from __future__ import annotations

import random
import re
import socket
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import pytest

from pytest_semaphore.client import SemaphoreClient
from pytest_semaphore.errors import ReportError, SemaphoreError
from pytest_semaphore.junit import LogAttachment, TestTarget, attach_logs, read_report, write_pipeline_report
from pytest_semaphore.logs import (
    SUMMARY_BUDGET_BYTES,
    Excerpt,
    ExcerptOptions,
    Redactor,
    excerpt_from_events,
    excerpt_from_text,
)
from pytest_semaphore.models import Pipeline
from pytest_semaphore.report import render_summary
from pytest_semaphore.simulator import SemaphoreSimulator
from tests.simulator.helpers import standard_scenario
from tests.support import api_payloads as P
from tests.support.scripted_server import ScriptedServer

from .corpus import (
    CLIENT_CASES,
    FILE_CASES,
    FORBIDDEN,
    LOG_CASES,
    MARKDOWN_CASES,
    REPORT_CASES,
    SECRET,
    TEXT_CASES,
    WIRE_CASES,
    ClientCase,
    FileCase,
    LogCase,
    MarkdownCase,
    ReportCase,
    TextCase,
    WireCase,
)

T = TypeVar("T")
REDACTOR = Redactor([SECRET])


def traced(action: Callable[[], T]) -> tuple[T, int]:
    """Run ``action`` and return its result with the peak of memory traced meanwhile (all threads)."""
    tracemalloc.start()
    try:
        result = action()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return result, peak


def ids(cases: list[Any]) -> list[str]:
    return [case.name for case in cases]


def clean_and_secret_free(text: str) -> None:
    assert SECRET[:10] not in text  # not even its start (where a line too long for the excerpt is cut)
    found = FORBIDDEN.search(text)
    assert found is None, f"U+{ord(found.group()):04X} survived at {found.start()}"


def failed_pipeline(job_name: str, error: str = "") -> Pipeline:
    block = P.block()
    block["jobs"][0]["name"] = job_name
    payload = P.pipeline_describe("done", "failed", blocks=[block])
    payload["pipeline"]["error_description"] = error
    return Pipeline.from_api(payload)


# --------------------------------------------------------------------------------------------------- logs


@pytest.mark.parametrize("case", LOG_CASES, ids=ids(LOG_CASES))
def test_log_events(case: LogCase, tmp_path: Path) -> None:
    options = ExcerptOptions(log_dir=tmp_path, max_log_bytes=case.max_log_bytes)

    def make() -> Excerpt:
        return excerpt_from_events(
            case.events(), job_name=case.job_name, job_id=P.JOB_ID, redactor=REDACTOR, options=options
        )

    if case.error is not None:
        with pytest.raises(case.error):
            make()
        assert list(tmp_path.iterdir()) == []  # no full log, not even a temporary one
        return
    excerpt, peak = traced(make)
    assert peak <= case.peak, f"{peak:,} bytes traced"
    rendered = excerpt.render()
    clean_and_secret_free(rendered)
    assert len(excerpt.summary().encode()) <= SUMMARY_BUDGET_BYTES
    assert excerpt.log_path is not None
    saved = Path(excerpt.log_path).read_text(encoding="utf-8")
    clean_and_secret_free(saved)
    assert len(saved.encode()) <= case.max_log_bytes + 200  # the cap, plus its closing note
    if case.redacts:
        assert "[REDACTED]" in rendered
    # The same excerpt in each report that carries it: the JUnit failure message and text, and the summary.
    # (The pipeline's own job names come from the user's YAML, not from a log: the case's name is the excerpt's.)
    junit = tmp_path / "pipeline.xml"
    pipeline = failed_pipeline("build")
    write_pipeline_report(junit, pipeline, excerpts={P.JOB_ID: excerpt})
    clean_and_secret_free(junit.read_text(encoding="utf-8"))
    for fmt in ("markdown", "html"):
        clean_and_secret_free(render_summary([pipeline], fmt=fmt, excerpts={P.JOB_ID: excerpt}))


@pytest.mark.parametrize("case", TEXT_CASES, ids=ids(TEXT_CASES))
def test_log_text(case: TextCase) -> None:
    excerpt, peak = traced(lambda: excerpt_from_text(case.chunks(), job_name="plain", redactor=REDACTOR))
    assert peak <= case.peak, f"{peak:,} bytes traced"
    clean_and_secret_free(excerpt.render())


# --------------------------------------------------------------------------------------------------- JUnit files


@pytest.mark.parametrize("case", REPORT_CASES, ids=ids(REPORT_CASES))
def test_report_file(case: ReportCase, tmp_path: Path) -> None:
    report = tmp_path / "report.xml"
    report.write_bytes(case.data)
    attachment = {TestTarget("c", "t"): LogAttachment(properties=(("k", "v"),))}
    if case.refused:
        with pytest.raises(ReportError):
            attach_logs(report, attachment)
        assert report.read_bytes() == case.data  # left as it was
        assert [p.name for p in tmp_path.iterdir()] == ["report.xml"]
        return
    try:
        result, peak = traced(lambda: attach_logs(report, attachment))
    except ReportError:
        if case.refused is None:
            return
        raise
    assert peak <= 16 * 1024 * 1024
    rewritten = result.path.read_bytes()
    assert b"<!DOCTYPE" not in rewritten
    assert b"<!ENTITY" not in rewritten
    assert b"SYSTEM" not in rewritten
    read_report(result.path)  # and it reads back


# --------------------------------------------------------------------------------------------------- special files


@pytest.mark.parametrize("case", FILE_CASES, ids=ids(FILE_CASES))
def test_special_file(case: FileCase, tmp_path: Path) -> None:
    if case.needs is not None and not Path(case.needs).exists():
        pytest.skip(f"{case.needs} does not exist here")
    path = case.make(tmp_path)
    uses: dict[str, Callable[[], object]] = {
        "report": lambda: attach_logs(path, {}),
        "log_dir": lambda: excerpt_from_text("x\n", job_name="j", options=ExcerptOptions(log_dir=path)),
        "template": lambda: render_summary([failed_pipeline("j")], template=path),
    }
    with pytest.raises(case.error):  # at once: a blocking open would hang here (pytest-timeout ends it)
        uses[case.use]()


# --------------------------------------------------------------------------------------------------- Markdown

_CODE = re.compile(r"(`+)(?:(?!\1).)*?\1|^(`{3,}).*?^\2", re.DOTALL | re.MULTILINE)


@pytest.mark.parametrize("case", MARKDOWN_CASES, ids=ids(MARKDOWN_CASES))
def test_markdown_names(case: MarkdownCase) -> None:
    pipeline = failed_pipeline(case.job_name, case.pipeline_error)
    excerpt = Excerpt(case.job_name, P.JOB_ID, case.directive, 2, "failed", ("out",), 1, "non-zero exit code")
    markdown = render_summary([pipeline], fmt="markdown", excerpts={P.JOB_ID: excerpt})
    prose = _CODE.sub("", markdown)  # code spans and fences mention no one on any forge
    assert re.search(r"@[\w-]", prose) is None, prose
    for text in (markdown, render_summary([pipeline], fmt="html", excerpts={P.JOB_ID: excerpt})):
        clean_and_secret_free(text)


# --------------------------------------------------------------------------------------------------- the simulator


@pytest.fixture(scope="module")
def sim() -> Iterator[SemaphoreSimulator]:
    with SemaphoreSimulator(standard_scenario(), token="hostile-sim-token") as simulator:
        simulator.world.start_workflow("demo")
        yield simulator


def exchange(sim: SemaphoreSimulator, request: bytes) -> tuple[int, dict[str, str]]:
    """Send raw bytes, read one answer's status line and headers (the answer is small; the server closes or not)."""
    token = sim.token.encode()
    request = request.replace(b"\r\n\r\n", b"\r\nAuthorization: Token " + token + b"\r\n\r\n", 1)
    with socket.create_connection(("127.0.0.1", urlsplit(sim.url).port or 80), timeout=10) as conn:
        conn.sendall(request)
        data = b""
        while b"\r\n\r\n" not in data:
            piece = conn.recv(65536)
            assert piece, f"the connection closed without an answer: {data!r}"
            data += piece
    head = data.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in head[1:])
    return int(head[0].split()[1]), {k.lower(): v for k, v in headers.items()}


@pytest.mark.parametrize("case", WIRE_CASES, ids=ids(WIRE_CASES))
def test_simulator_wire(case: WireCase, sim: SemaphoreSimulator) -> None:
    project = sim.world.project("demo").project_id
    pipeline = sim.world.pipelines()[0].ppl_id
    request = case.request.replace(b"{project}", project.encode()).replace(b"{pipeline}", pipeline.encode())
    sim.clear_requests()
    status, headers = exchange(sim, request)
    assert status == case.status
    if case.page_number is not None:
        assert headers["page-number"] == case.page_number
    recorded = sim.requests
    assert [r.status for r in recorded] == [case.status]  # recorded once, with the answer it got
    assert recorded[0].error is None  # answered on purpose, not by the crash handler
    assert recorded[0].headers["authorization"] == "<redacted>"


# --------------------------------------------------------------------------------------------------- client answers

CLIENT_TOKEN = "canary-TOKEN-corpus-77c1"


def client_outcome(case: ClientCase, server: ScriptedServer) -> SemaphoreError | None:
    options = {"retries": 2, "sleep": lambda _: None, "rng": random.Random(0), "timeout": 5.0, **case.options}
    with SemaphoreClient(server.url, CLIENT_TOKEN, **options) as client:  # type: ignore[arg-type]
        try:
            case.call(client)
        except SemaphoreError as exc:
            return exc
    return None


@pytest.mark.parametrize("case", CLIENT_CASES, ids=ids(CLIENT_CASES))
def test_client_case(case: ClientCase) -> None:
    with ScriptedServer() as server:
        server.add(*case.steps)
        error = client_outcome(case, server)
    if case.raises is None:
        assert error is None, f"{case.name}: {error!r}"
    else:
        assert isinstance(error, case.raises), f"{case.name}: {error!r}"
        assert CLIENT_TOKEN not in str(error)
        assert CLIENT_TOKEN not in repr(error)
    assert 1 <= len(server.requests) <= case.max_requests
