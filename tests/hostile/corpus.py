"""The cases of the hostile corpus, as data: what goes in, and the one error (if any) allowed out.

Large inputs are *factories* (called inside the measured region, generating their pieces one at a time), so a case
of 16 MiB proves the code under test holds less than that, not that the test could allocate it.
"""

from __future__ import annotations

import gzip
import json
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pytest_semaphore.client import SemaphoreClient
from pytest_semaphore.errors import (
    APIError,
    APIUnavailable,
    ConfigurationError,
    OutcomeUnknown,
    ReportError,
    SemaphoreError,
)
from pytest_semaphore.models import ModelError
from tests.support import api_payloads as P
from tests.support.scripted_server import Action, Raw, Reply, Truncated

MiB = 1 << 20

#: The secret every redaction case hides (given to the redactor as a literal, as the API token is).
SECRET = "hunter2-Secret-Value-9f8e"
#: Characters that must never reach an excerpt, a saved log, a report or a summary: XML-forbidden and C1 controls,
#: DEL, bidirectional controls, lone surrogates and the two non-characters.
FORBIDDEN = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff\ufffe\uffff]"
)


def cut(separator: str, at: int = 7) -> str:
    """The secret with ``separator`` inside it: what a log shows when a NUL, BEL or colour code interrupts it."""
    return SECRET[:at] + separator + SECRET[at:]


# --------------------------------------------------------------------------------------------------- log events


def started(directive: Any, timestamp: Any = 1) -> dict[str, Any]:
    return {"event": "cmd_started", "timestamp": timestamp, "directive": directive}


def output(text: Any) -> dict[str, Any]:
    return {"event": "cmd_output", "timestamp": 1, "output": text}


def finished(directive: Any = "cmd", exit_code: Any = 1) -> dict[str, Any]:
    return {"event": "cmd_finished", "timestamp": 2, "directive": directive, "exit_code": exit_code}


Events = Callable[[], Iterator[Any]]


def events(*items: Any) -> Events:
    return lambda: iter(items)


def printed(*texts: str) -> Events:
    """A failed ``env`` command that printed ``texts``, one ``cmd_output`` event each."""
    return events(started("env"), *(output(text) for text in texts), finished("env", 1))


def huge_line(total: int, piece: int = MiB) -> Events:
    """One line of ``total`` characters arriving in ``piece``-sized events, never held whole by the case."""

    def generate() -> Iterator[dict[str, Any]]:
        yield started("cat blob.min.js")
        for _ in range(total // piece):
            yield output("x" * piece)
        yield output(f" {SECRET}\n")  # past the cut: the tail of an over-long line is dropped, never shown
        yield finished("cat blob.min.js", 1)

    return generate


def progress_redraws(count: int) -> Events:
    """A progress bar redrawn ``count`` times on one line, one event per redraw, then a final newline."""

    def generate() -> Iterator[dict[str, Any]]:
        yield started("download")
        for number in range(count):
            yield output(f"\r{number % 100:3d}% [{'#' * (number % 50):50s}]")
        yield output("\rdone\n")
        yield finished("download", 3)

    return generate


def nested_list(depth: int) -> Any:
    value: Any = []
    for _ in range(depth):
        value = [value]
    return value


@dataclass(frozen=True)
class LogCase:
    """A job log as events, fed to ``excerpt_from_events`` with a full log saved and ``SECRET`` to hide."""

    name: str
    events: Events
    job_name: str = "build"
    error: type[Exception] | None = None
    """The one documented error this log may raise (a malformed event is a ``ModelError``), or ``None``."""
    redacts: bool = False
    """The input carries ``SECRET`` (whole once cleaned): ``[REDACTED]`` must appear and the secret nowhere."""
    peak: int = 4 * MiB
    """Bound on traced memory while the excerpt is made."""
    max_log_bytes: int = 64 * MiB


ALL_CONTROLS = "".join(chr(c) for c in (*range(0x20), *range(0x7F, 0xA0)))
BIDI = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"

LOG_CASES = [
    LogCase(
        "secret cut by NUL in a directive",
        events(started("deploy --key " + cut("\x00")), finished(None, 1)),
        redacts=True,
    ),
    LogCase("secret cut by BEL in a finish without a start", events(finished("login " + cut("\x07"), 2)), redacts=True),
    LogCase(
        "secret cut by a colour code in output",
        printed(f"KEY={cut(chr(27) + '[31m')}\n"),
        redacts=True,
    ),
    LogCase(
        "secret split across two events",
        printed(SECRET[:5], SECRET[5:] + "\n"),
        redacts=True,
    ),
    LogCase(
        "secret split across events and by NUL",
        printed(SECRET[:5] + "\x00", SECRET[5:] + "\n"),
        redacts=True,
    ),
    LogCase(
        "secret cut by a bidi override",
        printed(cut("\u202e") + "\n"),
        redacts=True,
    ),
    LogCase(
        "secret cut by DEL and a C1 control",
        printed(cut("\x7f", 3) + "\n" + cut("\x9b", 12) + "\n"),
        redacts=True,
    ),
    LogCase(
        "secret redrawn by a progress line",
        printed(f"{SECRET[:4]}\r{SECRET}\n"),
        redacts=True,
    ),
    LogCase(
        "secret cut by an ANSI reset in the job name",
        events(started("true"), finished("true", 1)),
        job_name="deploy " + cut("\x1b[0m"),
        redacts=True,
    ),
    LogCase(
        "secret cut by an OSC title in a directive",
        events(started("echo " + cut("\x1b]0;title\x07")), finished(None, 1)),
        redacts=True,
    ),
    LogCase(
        "secret cut by NUL where an over-long line is cut",
        events(started("x"), output("z" * 3980 + cut("\x00") + "z" * 70_000), output("\n"), finished("x", 1)),
    ),
    LogCase(
        "bidi overrides in output",
        events(started("ls"), output("invoice\u202efdp.exe\n\u2066admin\u2069\n"), finished("ls", 1)),
    ),
    LogCase(
        "bidi controls in the job name and directive",
        events(started("rm \u202e-rf /\u202c"), finished(None, 1)),
        job_name="\u2067deploy\u2069" + BIDI,
    ),
    LogCase(
        "every C0 and C1 control in output", events(started("cat"), output(ALL_CONTROLS * 3 + "\n"), finished("cat", 1))
    ),
    LogCase(
        "lone surrogates and non-characters",
        events(started("cat"), output("\ud800a\udfffb\ufffe\uffff\n"), finished("cat", 1)),
    ),
    LogCase("a 16 MiB line in 1 MiB events", huge_line(16 * MiB), peak=8 * MiB),
    LogCase("200,000 progress redraws", progress_redraws(200_000)),
    LogCase(
        "an unterminated OSC over 2 MiB",
        events(started("x"), output("\x1b]0;" + "a" * 2 * MiB + "\n"), finished("x", 1)),
        peak=16 * MiB,
    ),
    LogCase("a 1 MiB directive", events(started("make " + "y" * MiB), finished(None, 2)), peak=16 * MiB),
    LogCase(
        "a full log past its cap",
        events(started("yes"), *([output("y\n" * 4096)] * 64), finished("yes", 1)),
        max_log_bytes=64 * 1024,
    ),
    LogCase(
        "unknown events and extra fields",
        events({"event": "cmd_teleported", "timestamp": 1}, {**started("ok"), "extra": [1]}, finished("ok", 0)),
    ),
    LogCase("a timestamp in the year 99999", events(started("x", 3_093_527_980_800), finished("x", 1))),
    LogCase("exit code of superscript digits", events(started("x"), finished("x", "\u00b2")), error=ModelError),
    LogCase("exit code of Arabic-Indic digits", events(started("x"), finished("x", "\u0663")), error=ModelError),
    LogCase("exit code of 5,000 digits as text", events(started("x"), finished("x", "9" * 5000)), error=ModelError),
    LogCase("exit code past 64 bits", events(started("x"), finished("x", 10**30)), error=ModelError),
    LogCase("output nested 10,000 lists deep", events(started("x"), output(nested_list(10_000))), error=ModelError),
    LogCase("a directive that is an object", events(started({"$": "x"})), error=ModelError),
    LogCase("an event that is not an object", events(started("x"), ["cmd_output", "text"]), error=ModelError),
    LogCase("an exit code of NaN", events(started("x"), finished("x", float("nan"))), error=ModelError),
]

# --------------------------------------------------------------------------------------------------- log text


@dataclass(frozen=True)
class TextCase:
    """A plain-text log (``plain_logs.json``) as chunks, fed to ``excerpt_from_text``."""

    name: str
    chunks: Callable[[], Iterator[str | bytes]]
    peak: int = 4 * MiB


def _split_multibyte() -> Iterator[bytes]:
    data = "caf\u00e9 \u2603 \U0001f600 ok\n".encode()
    yield from (data[i : i + 1] for i in range(len(data)))  # every multi-byte character split between chunks


def _cr_storm() -> Iterator[str]:
    for _ in range(64):
        yield "\r50%" * 32_768  # 4 MiB of redraws on one line, 128 KiB at a time
    yield "\r100%\n"


TEXT_CASES = [
    TextCase(
        "invalid UTF-8 and split multi-byte characters",
        lambda: iter([b"\xff\xfe\xc3(", b"\xed\xa0\x80\n", *_split_multibyte()]),
    ),
    TextCase("8 MiB of carriage-return redraws on one line", _cr_storm),
    TextCase("1 MiB of NUL bytes", lambda: iter([b"\x00" * MiB, b"\n"])),
    TextCase("bidi and ANSI in plain text", lambda: iter(["\x1b[1m\u202eevil\u202c\x1b[0m\n"])),
]

# --------------------------------------------------------------------------------------------------- JUnit files

_DTD = '<!DOCTYPE testsuites [<!ENTITY e SYSTEM "file:///etc/hostname">]>'
_BODY = '<testsuites><testsuite name="s"><testcase classname="c" name="t">&e;</testcase></testsuite></testsuites>'
_PLAIN = '<testsuites><testsuite name="s"><testcase classname="c" name="t"/></testsuite></testsuites>'
_LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    + "".join(f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10 if i > 1 else "&lol;" * 10}">' for i in range(1, 10))
    + ']><testsuites name="&lol9;"/>'
)


def declared(encoding: str, rest: str = _DTD + _BODY) -> str:
    return f'<?xml version="1.0" encoding="{encoding}"?>{rest}'


@dataclass(frozen=True)
class ReportCase:
    """A JUnit file handed to ``attach_logs``: refused with a ``ReportError``, or rewritten without any DTD."""

    name: str
    data: bytes
    refused: bool | None = True
    """``None``: either outcome is fine (it depends on the XML backend), but only as a ``ReportError``."""


REPORT_CASES = [
    ReportCase("UTF-32 LE without a byte order mark", declared("UTF-32").encode("utf-32-le")),
    ReportCase("UTF-32 BE without a byte order mark", declared("UTF-32").encode("utf-32-be")),
    ReportCase("UTF-32 with a byte order mark", declared("UTF-32").encode("utf-32")),
    ReportCase("UTF-16 LE without a byte order mark", declared("UTF-16").encode("utf-16-le")),
    ReportCase("UTF-16 BE without a byte order mark", declared("UTF-16").encode("utf-16-be")),
    ReportCase("UTF-16 with a byte order mark", declared("UTF-16").encode("utf-16")),
    ReportCase("UTF-16 LE, no declaration, DOCTYPE first", (_DTD + _BODY).encode("utf-16-le")),
    ReportCase("UTF-7 hides the DOCTYPE's brackets", declared("UTF-7", "+ADw-!DOCTYPE x+AD4-" + _PLAIN).encode()),
    ReportCase("EBCDIC declared", declared("cp037").encode("ascii")),
    ReportCase("UTF-16 declared in a file that is ASCII", declared("UTF-16").encode("ascii")),
    ReportCase("an unusual byte order (2143)", b"\x00\x3c\x00\x00" + b"\x00" * 32),
    ReportCase("billion laughs", _LAUGHS.encode()),
    ReportCase("DOCTYPE behind a UTF-8 byte order mark", b"\xef\xbb\xbf" + (_DTD + _BODY).encode()),
    ReportCase("DOCTYPE behind 200 KiB of comment", ("<!--" + "c" * 200 * 1024 + "-->" + _DTD + _BODY).encode()),
    ReportCase("DOCTYPE behind a processing instruction", ('<?pi "?>" ?>' + _DTD + _BODY).encode()),
    ReportCase("no root element in the first MiB", ("<!--" + "c" * (MiB + 10) + "-->").encode()),
    ReportCase("not a JUnit root", b"<html><body/></html>"),
    ReportCase(
        "an external parameter entity",
        b'<!DOCTYPE x [<!ENTITY % p SYSTEM "http://127.0.0.1:9/x">%p;]>' + _PLAIN.encode(),
    ),
    ReportCase("UTF-16 LE report without a DTD is read", declared("UTF-16", _PLAIN).encode("utf-16-le"), refused=False),
    ReportCase("UTF-16 report with a byte order mark is read", _PLAIN.encode("utf-16"), refused=False),
    ReportCase(
        "latin-1 report is read",
        declared("ISO-8859-1", _PLAIN.replace('"t"', '"t\u00e9"')).encode("latin-1"),
        refused=False,
    ),
    ReportCase(
        "elements nested 1,000 deep are read",
        ("<testsuites>" + "<a>" * 1000 + "</a>" * 1000 + "</testsuites>").encode(),
        refused=False,
    ),
    ReportCase(
        "elements nested 100,000 deep",
        ("<testsuites>" + "<a>" * 100_000 + "</a>" * 100_000 + "</testsuites>").encode(),
        refused=None,
    ),
]

# --------------------------------------------------------------------------------------------------- special files


def _fifo(directory: Path) -> Path:
    path = directory / "report.xml"
    os.mkfifo(path)
    return path


def _directory(directory: Path) -> Path:
    path = directory / "report.xml"
    path.mkdir()
    return path


@dataclass(frozen=True)
class FileCase:
    """A path that is not an ordinary file where one is expected: refused at once with ``error``, never blocking."""

    name: str
    make: Callable[[Path], Path]
    use: str
    """``"report"`` (attach_logs to it), ``"log_dir"`` (save full logs there) or ``"template"`` (a summary template)."""
    error: type[Exception] = ReportError
    needs: str | None = field(default=None)
    """A path that must exist for the case to apply (``/dev/zero``)."""


FILE_CASES = [
    FileCase("a report that is a FIFO nobody writes to", _fifo, "report"),
    FileCase("a report that is a character device", lambda _: Path("/dev/zero"), "report", needs="/dev/zero"),
    FileCase("a report that is a directory", _directory, "report"),
    FileCase("a full-log directory that is a FIFO", _fifo, "log_dir", ConfigurationError),
    FileCase("a summary template that is a FIFO", _fifo, "template"),
]

# --------------------------------------------------------------------------------------------------- Markdown


@dataclass(frozen=True)
class MarkdownCase:
    """Names a job, a pipeline and a command may carry, rendered in a summary meant for a pull request."""

    name: str
    job_name: str = "build"
    pipeline_error: str = ""
    directive: str = "make"


MARKDOWN_CASES = [
    MarkdownCase("a team mention in a job name", job_name="deploy @acme/oncall now"),
    MarkdownCase("a user mention in the pipeline's error", pipeline_error="blame @someone and @everyone"),
    MarkdownCase("a mention next to Markdown syntax", job_name="**@admin**|[@x](http://e)"),
    MarkdownCase("bidi overrides in a job name", job_name="\u202etset\u202c @\u2066ops\u2069"),
]

# --------------------------------------------------------------------------------------------------- the simulator


@dataclass(frozen=True)
class WireCase:
    """Raw bytes sent to the simulator: ``status`` is what the real edge or backend answers, and the request must
    be in ``sim.requests`` with it. ``{project}`` and ``{pipeline}`` in the request are replaced by the ids of the
    demo project and of a pipeline started in it."""

    name: str
    request: bytes
    status: int
    page_number: str | None = None
    """For list answers: the ``page-number`` header expected (the default page for a number past 32 bits)."""


def post(length: bytes) -> bytes:
    return b"POST /api/v1alpha/plumber-workflows HTTP/1.1\r\nHost: sim\r\nContent-Length: " + length + b"\r\n\r\n"


def get(target: str) -> bytes:
    return f"GET {target} HTTP/1.1\r\nHost: sim\r\n\r\n".encode()


WORKFLOWS = "/api/v1alpha/plumber-workflows?project_id={project}"
WIRE_CASES = [
    WireCase("Content-Length of superscript digits", post(b"\xb2\xb3"), 400),
    WireCase("Content-Length of a superscript one", post(b"\xb9"), 400),
    WireCase("Content-Length of 5,000 digits", post(b"9" * 5000), 400),
    WireCase("Content-Length of 5,000 zeros: an empty body", post(b"0" * 5000), 400),
    WireCase("Content-Length with a sign", post(b"+5"), 400),
    WireCase("Content-Length in hexadecimal", post(b"0x10"), 400),
    WireCase("Content-Length past the body limit", post(b"18446744073709551615"), 413),
    WireCase("Content-Length past 64 bits by one", post(b"18446744073709551616"), 400),
    WireCase("a page of 5,000 digits", get(WORKFLOWS + "&page=" + "7" * 5000), 200, page_number="1"),
    WireCase("a page just past 32 bits", get(WORKFLOWS + "&page=2147483648"), 200, page_number="1"),
    WireCase("a page of superscript digits", get(WORKFLOWS + "&page=%C2%B2"), 200, page_number="1"),
    WireCase("a page size of 5,000 digits", get(WORKFLOWS + "&page_size=" + "5" * 5000), 200, page_number="1"),
    WireCase("a projects page of 5,000 digits", get("/api/v1alpha/projects?page=" + "3" * 5000), 200),
    WireCase("a jobs page size of Arabic-Indic digits", get("/api/v1alpha/jobs?states=RUNNING&page_size=%D9%A3"), 400),
    WireCase("a jobs page size of 5,000 digits", get("/api/v1alpha/jobs?states=RUNNING&page_size=" + "9" * 5000), 400),
    WireCase(
        "a promotions page of 5,000 digits",
        get("/api/v1alpha/promotions?pipeline_id={pipeline}&page=" + "9" * 5000),
        400,
    ),
]

# --------------------------------------------------------------------------------------------------- client answers
# A scripted server's steps and one public call of SemaphoreClient: whatever the server sends (headers, bodies,
# broken framing, redirect URLs), only the documented error may escape, in a bounded number of requests.

Call = Callable[[SemaphoreClient], object]

NESTED = b"[" * 100_000 + b"]" * 100_000
"""Nesting far past the interpreter's recursion limit: ``json.loads`` raises ``RecursionError``."""
HUGE_NUMBER = b"1" * 5000
"""More digits than ``int()`` accepts (4300): ``json.loads`` raises ``ValueError``."""
SUPERSCRIPT_TWO = "\u00b2"
"""Passes ``str.isdigit()``, refused by ``int()``; one latin-1 byte in a header."""
Y99999 = "Fri, 31 Dec 99999 23:59:59 GMT"


@dataclass(frozen=True)
class ClientCase:
    """A scripted server's answers to one public client call: the documented error it must raise (``None``: it
    must succeed), in at most ``max_requests`` requests, without quoting the token. ``options`` go to the client."""

    name: str
    steps: list[Action]
    call: Call
    raises: type[SemaphoreError] | None
    max_requests: int = 3
    options: dict[str, object] = field(default_factory=dict)


def describe(client: SemaphoreClient) -> object:
    return client.describe_pipeline(P.PPL_ID)


def list_pipelines(client: SemaphoreClient) -> object:
    return client.list_pipelines(P.PROJECT_ID)


def log(client: SemaphoreClient) -> object:
    return list(client.job_log_events_raw(P.JOB_ID))


def log_models(client: SemaphoreClient) -> object:
    return list(client.job_log(P.JOB_ID))


def _json(data: object) -> bytes:
    return json.dumps(data).encode()


DESCRIBED = _json(P.pipeline_describe())
LISTED = _json([P.pipeline_listed()])


def _503(headers: dict[str, str]) -> list[Action]:
    return [Reply(503, b"busy", headers)] * 3


_HEADER_ANSWERS: list[ClientCase] = [
    ClientCase("retry-after superscript", _503({"Retry-After": SUPERSCRIPT_TWO}), describe, APIUnavailable),
    ClientCase("retry-after 5000 digits", _503({"Retry-After": "9" * 5000}), describe, APIUnavailable),
    ClientCase("retry-after 400 digits", _503({"Retry-After": "9" * 400}), describe, APIUnavailable),
    ClientCase("retry-after year 99999", _503({"Retry-After": Y99999}), describe, APIUnavailable),
    ClientCase("retry-after negative", _503({"Retry-After": "-5"}), describe, APIUnavailable),
    ClientCase(
        "retry-after on 429, year 99999", [Reply(429, b"", {"Retry-After": Y99999})] * 3, describe, APIUnavailable
    ),
    ClientCase(
        "total-pages superscript",
        [Reply(200, LISTED, {"page-number": "1", "total-pages": SUPERSCRIPT_TWO})],
        list_pipelines,
        None,
        max_requests=1,
    ),
    ClientCase(
        "total-pages 5000 digits",
        [Reply(200, LISTED, {"page-number": "1", "total-pages": "9" * 5000})],
        list_pipelines,
        None,
        max_requests=1,
    ),
    ClientCase(
        "page-number superscript",
        [Reply(200, LISTED, {"page-number": SUPERSCRIPT_TWO, "total-pages": "9"})],
        list_pipelines,
        None,
        max_requests=1,
    ),
]

_BODY_ANSWERS: list[ClientCase] = [
    ClientCase("nested JSON body", [Reply(200, NESTED)], describe, APIError, max_requests=1),
    ClientCase("nested JSON error body", [Reply(400, NESTED)], describe, APIError, max_requests=1),
    ClientCase("nested JSON 503 body", [Reply(503, NESTED)] * 3, describe, APIUnavailable),
    ClientCase("5000-digit number", [Reply(200, b'{"pipeline": ' + HUGE_NUMBER + b"}")], describe, APIError, 1),
    ClientCase("5000-digit error message", [Reply(404, b'{"message": ' + HUGE_NUMBER + b"}")], describe, APIError, 1),
    ClientCase(
        "int64 string of superscripts",
        [Reply(200, _json({"jobs": [{**P.job(), "metadata": {**P.job()["metadata"], "create_time": "\u00b2" * 4}}]}))],
        lambda c: c.list_jobs(["RUNNING"]),
        APIError,
        max_requests=1,
    ),
    ClientCase(
        "log event nested deep",
        [Reply(200, b'{"events": [{"event": "cmd_output", "output": ' + NESTED + b"}]}")],
        log,
        APIError,
        max_requests=1,
    ),
    ClientCase(
        "log event with a 5000-digit timestamp",
        [Reply(200, b'{"events": [{"event": "cmd_output", "timestamp": ' + HUGE_NUMBER + b"}]}")],
        log,
        APIError,
        max_requests=1,
    ),
    ClientCase(
        "log event timestamp in superscripts",
        [Reply(200, _json({"events": [{"event": "job_started", "timestamp": SUPERSCRIPT_TWO * 3}]}))],
        log_models,
        APIError,
        max_requests=1,
    ),
    ClientCase("log body a 5000-digit number", [Reply(200, HUGE_NUMBER)], log, APIError, max_requests=1),
    ClientCase("log trailer nested deep", [Reply(200, b'{"next": ' + NESTED + b', "events": []}')], log, APIError, 1),
]


def _raw_head(status_line: str, *headers: str, body: bytes = b"") -> Raw:
    return Raw(("\r\n".join([status_line, *headers, "Connection: close"]) + "\r\n\r\n").encode("latin-1") + body)


def _redirect(location: str) -> list[Action]:
    return [_raw_head("HTTP/1.1 302 Found", f"Location: {location}", "Content-Length: 0")]


_SERVER_ANSWERS: list[ClientCase] = [
    ClientCase("garbage instead of HTTP", [Raw(b"\x00\xff garbage\r\n\r\n")] * 3, describe, APIUnavailable),
    ClientCase("HTTP/0.9 style bare body", [Raw(b'{"pipeline": {}}')] * 3, describe, APIUnavailable),
    ClientCase(
        "status line of 5000 digits", [_raw_head("HTTP/1.1 " + "9" * 5000 + " X")] * 3, describe, APIUnavailable
    ),
    ClientCase(
        "content-length in superscripts",
        [_raw_head("HTTP/1.1 200 OK", "Content-Length: \u00b2\u00b2", body=DESCRIBED)],
        describe,
        None,
        max_requests=1,
    ),
    ClientCase(
        "content-length of 5000 digits",
        [_raw_head("HTTP/1.1 200 OK", "Content-Length: " + "9" * 5000, body=DESCRIBED)],
        describe,
        None,
        max_requests=1,
    ),
    ClientCase(
        "two different content-lengths",
        [_raw_head("HTTP/1.1 200 OK", "Content-Length: 2", "Content-Length: 9", body=DESCRIBED)] * 3,
        describe,
        APIUnavailable,
    ),
    ClientCase(
        "chunk size of 5000 digits",
        [_raw_head("HTTP/1.1 200 OK", "Transfer-Encoding: chunked", body=b"9" * 5000 + b"\r\nx")] * 3,
        describe,
        APIUnavailable,
    ),
    ClientCase(
        "a 70 KB header line",
        [_raw_head("HTTP/1.1 200 OK", "X-Big: " + "a" * 70_000, body=DESCRIBED)] * 3,
        describe,
        APIUnavailable,
    ),
    ClientCase(
        "two hundred headers",
        [_raw_head("HTTP/1.1 200 OK", *(f"X-{i}: {i}" for i in range(200)), body=DESCRIBED)] * 3,
        describe,
        APIUnavailable,
    ),
    ClientCase(
        "declared longer than sent",
        [Truncated(200, DESCRIBED[:50], declared=len(DESCRIBED))] * 3,
        describe,
        APIUnavailable,
    ),
    ClientCase(
        "gzip never asked for",
        [Reply(200, gzip.compress(DESCRIBED), {"Content-Encoding": "gzip"})],
        describe,
        APIError,
        max_requests=1,
    ),
    ClientCase(
        "an unknown content-encoding on a log",
        [Reply(200, b'{"events": []}', {"Content-Encoding": "br"})],
        log,
        APIError,
        max_requests=1,
    ),
    ClientCase("a body in UTF-16", [Reply(200, DESCRIBED.decode().encode("utf-16"))], describe, APIError, 1),
    ClientCase("a byte-order mark is fine", [Reply(200, b"\xef\xbb\xbf" + DESCRIBED)], describe, None, 1),
    ClientCase("an answer over the cap", [Reply(200, DESCRIBED)], describe, APIError, 1, {"max_answer_bytes": 100}),
    ClientCase(
        "a run accepted with a gzip answer is uncertain, never a failure",
        [Reply(200, gzip.compress(b'{"workflow_id": "w", "pipeline_id": "p"}'), {"Content-Encoding": "gzip"})],
        lambda c: c.run_workflow(P.PROJECT_ID, "refs/heads/main"),
        OutcomeUnknown,
        max_requests=1,
    ),
    ClientCase(
        "a run accepted with an answer over the cap is uncertain",
        [Reply(200, b'{"workflow_id": "w", "pipeline_id": "p"}' + b" " * 200)],
        lambda c: c.run_workflow(P.PROJECT_ID, "refs/heads/main"),
        OutcomeUnknown,
        max_requests=1,
        options={"max_answer_bytes": 100},
    ),
]

_REDIRECTS: list[ClientCase] = [
    ClientCase("redirect to a %zz host", _redirect("https://lo%zzghub.example/logs/x?jwt=J"), log, APIError, 1),
    ClientCase("redirect to a %zz path", _redirect("http://127.0.0.1:1/%zz?jwt=J"), log, APIUnavailable, 1),
    ClientCase("redirect to an empty label", _redirect("https://loghub..example/x?jwt=J"), log, APIError, 1),
    ClientCase("redirect to a * host", _redirect("https://*.example/x?jwt=J"), log, APIError, 1),
    ClientCase("redirect with a tab in the host", _redirect("https://log\thub.example/x"), log, APIError, 1),
    ClientCase("redirect with a space in the host", _redirect("https://log hub.example/x"), log, APIError, 1),
    ClientCase("redirect to port 99999", _redirect("https://loghub.example:99999/x"), log, APIError, 1),
    ClientCase("redirect to ftp", _redirect("ftp://loghub.example/x"), log, APIError, 1),
    ClientCase("redirect to plain http elsewhere", _redirect("http://loghub.example/x?jwt=J"), log, APIError, 1),
    ClientCase("redirect with user info", _redirect("https://u:p@loghub.example/x"), log, APIError, 1),
    ClientCase("redirect with a backslash", _redirect("https://loghub.example\\@127.0.0.1/x"), log, APIError, 1),
    ClientCase("redirect on an API call", _redirect("/api/v1alpha/pipelines/x"), describe, APIError, 1),
]

CLIENT_CASES: list[ClientCase] = [*_HEADER_ANSWERS, *_BODY_ANSWERS, *_SERVER_ANSWERS, *_REDIRECTS]


__all__ = [
    "BIDI",
    "CLIENT_CASES",
    "FILE_CASES",
    "FORBIDDEN",
    "LOG_CASES",
    "MARKDOWN_CASES",
    "REPORT_CASES",
    "SECRET",
    "TEXT_CASES",
    "WIRE_CASES",
    "ClientCase",
    "FileCase",
    "LogCase",
    "MarkdownCase",
    "ReportCase",
    "TextCase",
    "WireCase",
    "cut",
]
