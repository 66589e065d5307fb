"""Hostile failures that need more than one input to show: a malformed log among good ones (over HTTP, through the
real client), a full disk while a log is saved, a DTD that gets past the first look, a hook that rebuilds a secret."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from pytest_semaphore.client import SemaphoreClient
from pytest_semaphore.errors import ReportError
from pytest_semaphore.junit import attach_logs, xmlio
from pytest_semaphore.logs import Redactor, fetch_failed_excerpts
from pytest_semaphore.models import Pipeline
from tests.support import api_payloads as P
from tests.support.scripted_server import RecordedRequest, Reply, ScriptedServer

from .corpus import SECRET, cut

TOKEN = "hostile-token-5e1f0c"
GOOD, DEEP, DIGITS = (f"{n}c88c3a0-1d2e-4f5a-8b9c-0d1e2f3a4b5c" for n in "abd")
GOOD_LOG = json.dumps(
    {
        "events": [
            {"event": "cmd_started", "timestamp": 1, "directive": "make"},
            {"event": "cmd_finished", "timestamp": 2, "directive": "make", "exit_code": 2},
        ]
    }
).encode()
BAD_LOGS = {
    DEEP: b'{"events": [' + b"[" * 100_000 + b"]" * 100_000 + b"]}",  # nested past the recursion limit
    DIGITS: b'{"events": [{"event": "cmd_finished", "timestamp": 1, "exit_code": ' + b"9" * 5000 + b"}]}",
}


def _answer(request: RecordedRequest) -> Reply:
    job_id = request.path.rsplit("/", 1)[-1]
    if request.path.startswith("/api/v1alpha/jobs/"):
        return Reply(200, json.dumps(P.job(job_id, result="FAILED")).encode(), {"content-type": "application/json"})
    return Reply(200, BAD_LOGS.get(job_id, GOOD_LOG), {"content-type": "application/json"})


def test_one_malformed_log_costs_only_its_own_excerpt() -> None:
    """Three failed jobs, two of whose logs are malformed JSON (too deep for the decoder, a number too long for
    ``int()``): each of those gets an excerpt saying why, and the good one keeps its real excerpt."""
    jobs = [
        {"name": f"job {job_id[0]}", "index": i, "job_id": job_id, "status": "FINISHED", "result": "FAILED"}
        for i, job_id in enumerate((DEEP, GOOD, DIGITS))
    ]
    block = {**P.block(), "jobs": jobs}
    pipeline = Pipeline.from_api(P.pipeline_describe("done", "failed", blocks=[block]))
    with ScriptedServer(fallback=_answer) as server, SemaphoreClient(server.url, TOKEN, timeout=5) as client:
        excerpts = fetch_failed_excerpts(client, pipeline)
    assert list(excerpts) == [DEEP, GOOD, DIGITS]
    assert excerpts[GOOD].directive == "make"
    assert excerpts[GOOD].exit_code == 2
    for job_id in (DEEP, DIGITS):
        assert excerpts[job_id].lines == ()
        assert excerpts[job_id].reason.startswith("log unavailable:"), excerpts[job_id].reason
        assert TOKEN not in excerpts[job_id].render()


# --------------------------------------------------------------------------------------------------- a full disk

#: Run in a child whose file size limit is 64 KiB (``RLIMIT_FSIZE``): past it every write fails with ``EFBIG``, as
#: a full disk fails with ``ENOSPC``, at the operating system and not in a mock.
_LIMITED = textwrap.dedent(
    """
    import json, os, resource, signal, sys
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (65536, 65536))
    from pytest_semaphore.atomic import AtomicFile
    from pytest_semaphore.errors import ReportError
    from pytest_semaphore.logs import ExcerptOptions, excerpt_from_text
    work, what = sys.argv[1], sys.argv[2]
    outcome = {}
    if what == "full log":
        try:
            excerpt_from_text("a line of log output\\n" * 50_000, job_name="j", options=ExcerptOptions(log_dir=work))
        except ReportError as exc:
            outcome["error"] = str(exc)
    else:  # a write that fits the buffer, whose flush at close fails: discard twice
        out = AtomicFile(os.path.join(work, "summary.md"), what="summary")
        out.file.write(b"x" * 4096)
        resource.setrlimit(resource.RLIMIT_FSIZE, (1024, 1024))
        out.discard()
        out.discard()
        outcome["discarded"] = True
    outcome["left"] = sorted(os.listdir(work))
    print(json.dumps(outcome))
    """
)


def _limited(tmp_path: Path, what: str) -> dict[str, Any]:
    result = subprocess.run(
        [sys.executable, "-c", _LIMITED, str(tmp_path), what], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    outcome: dict[str, Any] = json.loads(result.stdout)
    return outcome


@pytest.mark.skipif(sys.platform == "win32", reason="RLIMIT_FSIZE is POSIX")
def test_a_full_disk_while_saving_a_log_is_a_report_error_and_leaves_nothing(tmp_path: Path) -> None:
    outcome = _limited(tmp_path, "full log")
    assert "cannot write the full log" in outcome["error"]
    assert "File too large" in outcome["error"]
    assert outcome["left"] == []


@pytest.mark.skipif(sys.platform == "win32", reason="RLIMIT_FSIZE is POSIX")
def test_discard_after_a_failed_flush_leaves_nothing_and_can_be_repeated(tmp_path: Path) -> None:
    outcome = _limited(tmp_path, "discard")
    assert outcome == {"discarded": True, "left": []}


# --------------------------------------------------------------------------------------------------- DTDs


@pytest.mark.parametrize("backend", ["lxml", "stdlib"])
def test_a_dtd_that_passes_the_prolog_check_is_refused_on_what_was_parsed(tmp_path: Path, backend: str) -> None:
    """The second decision alone (the first one switched off): whatever the parser parsed decides."""
    report = tmp_path / "r.xml"
    report.write_text('<!DOCTYPE testsuite [<!ENTITY e "expanded">]><testsuite name="s">&e;</testsuite>')
    script = textwrap.dedent(
        f"""
        import sys
        {'sys.modules["lxml"] = None' if backend == "stdlib" else "import lxml"}
        from pytest_semaphore.errors import ReportError
        from pytest_semaphore.junit import attach_logs, xmlio
        xmlio._check_prolog = lambda path: None
        try:
            attach_logs(sys.argv[1], {{}})
        except ReportError as exc:
            print(xmlio.xml_backend(), "refused:", exc)
        """
    )
    if backend == "lxml":
        pytest.importorskip("lxml")
    result = subprocess.run(
        [sys.executable, "-c", script, str(report)], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"{backend} refused:")
    assert "document type declaration" in result.stdout
    assert "<!DOCTYPE" in report.read_text()  # left as it was


def test_the_prolog_check_names_an_encoding_it_cannot_read(tmp_path: Path) -> None:
    report = tmp_path / "r.xml"
    report.write_bytes(b'<?xml version="1.0" encoding="UTF-7"?>+ADw-!DOCTYPE x+AD4-<testsuite/>')
    with pytest.raises(ReportError, match=r"encoding this check cannot read \(encoding='UTF-7'\).*UTF-8"):
        attach_logs(report, {})
    assert xmlio.xml_backend() in ("lxml", "stdlib")


# --------------------------------------------------------------------------------------------------- the hook


def test_a_hook_that_rebuilds_a_secret_with_control_characters_is_redacted_again() -> None:
    """The hook's answer is cleaned, and cleaning may join a secret back together: it is searched again."""
    redactor = Redactor([SECRET], hook=lambda text: text.replace("PLACE", cut("\x00")))
    assert redactor("a PLACE b\n") == "a [REDACTED] b\n"
