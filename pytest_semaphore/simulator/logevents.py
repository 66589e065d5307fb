"""Job log events encoded byte for byte as the Semaphore agent writes them.

The agent serialises each event with Go's ``encoding/json`` (``eventlogger/logger.go``), and the API copies those
lines into its response unchanged. Clients therefore meet Go's escaping (``<`` as ``\\u003c``, U+2028 escaped) and,
because command output is arbitrary bytes, even invalid UTF-8. Encoding here, once, lets the world keep ready-made
lines and the HTTP layer splice them into ``{ "events": [...] }`` without re-encoding.
"""

from __future__ import annotations

import re

__all__ = ["LogLine", "cmd_finished", "cmd_output", "cmd_started", "go_json_string", "job_finished", "job_started"]

_ESCAPES = {
    b'"': b'\\"',
    b"\\": b"\\\\",
    b"\n": b"\\n",
    b"\r": b"\\r",
    b"\t": b"\\t",
    b"<": b"\\u003c",
    b">": b"\\u003e",
    b"&": b"\\u0026",
    b"\xe2\x80\xa8": b"\\u2028",
    b"\xe2\x80\xa9": b"\\u2029",
}
_NEEDS_ESCAPE = re.compile(rb'[\x00-\x1f"\\<>&]|\xe2\x80[\xa8\xa9]')


def _escape(match: re.Match[bytes]) -> bytes:
    text = match.group(0)
    known = _ESCAPES.get(text)
    if known is not None:
        return known
    return b"\\u%04x" % text[0]


def go_json_string(value: str | bytes) -> bytes:
    """A JSON string literal as Go writes it; bytes outside ASCII (valid UTF-8 or not) are copied raw."""
    raw = value.encode("utf-8", "surrogateescape") if isinstance(value, str) else value
    return b'"' + _NEEDS_ESCAPE.sub(_escape, raw) + b'"'


class LogLine:
    """One encoded event plus what ``plain_logs.json`` keeps of it (directive line or raw output)."""

    __slots__ = ("kind", "offset", "plain", "raw")

    def __init__(self, offset: float, kind: str, raw: bytes, plain: bytes = b"") -> None:
        self.offset = offset
        self.kind = kind
        self.raw = raw
        self.plain = plain


def job_started(offset: float, timestamp: int) -> LogLine:
    return LogLine(offset, "job_started", b'{"event":"job_started","timestamp":%d}' % timestamp)


def cmd_started(offset: float, timestamp: int, directive: str) -> LogLine:
    raw = b'{"event":"cmd_started","timestamp":%d,"directive":%s}' % (timestamp, go_json_string(directive))
    return LogLine(offset, "cmd_started", raw, directive.encode("utf-8", "surrogateescape") + b"\n")


def cmd_output(offset: float, timestamp: int, output: str | bytes) -> LogLine:
    raw = b'{"event":"cmd_output","timestamp":%d,"output":%s}' % (timestamp, go_json_string(output))
    plain = output.encode("utf-8", "surrogateescape") if isinstance(output, str) else output
    return LogLine(offset, "cmd_output", raw, plain)


def cmd_finished(
    offset: float, timestamp: int, directive: str, exit_code: int, started_at: int, finished_at: int
) -> LogLine:
    raw = b'{"event":"cmd_finished","timestamp":%d,"directive":%s,"exit_code":%d,"started_at":%d,"finished_at":%d}' % (
        timestamp,
        go_json_string(directive),
        exit_code,
        started_at,
        finished_at,
    )
    return LogLine(offset, "cmd_finished", raw)


def job_finished(offset: float, timestamp: int, result: str) -> LogLine:
    raw = b'{"event":"job_finished","timestamp":%d,"result":%s}' % (timestamp, go_json_string(result))
    return LogLine(offset, "job_finished", raw)
