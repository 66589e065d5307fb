"""Incremental parser for job log bodies: ``{ "events": [ {...}, {...} ] }`` read chunk by chunk.

Why not ``json.loads(response.content)``: a job log can be hundreds of megabytes (the cloud endpoint returns the whole
log every time, ``docs/semaphore-api.md`` section 1, "Logs"), and a gate must not hold all of it, plus the decoded
text, plus every event, in memory at once. This parser keeps at most one network chunk plus the largest single event
in memory and yields :class:`~pytest_semaphore.models.LogEvent` objects as soon as they are complete
(:func:`iter_events`), or, for consumers of millions of events that read only a field or two, the plain ``dict``
objects the decoder built (:func:`iter_raw_events`): building a frozen model per event cost more than parsing the
event, and the excerpt builder validates the few fields it reads itself.

Why it is fast: nothing here walks the body character by character in Python. Runs of complete events are handed to
the C-accelerated ``json`` decoder in one call (the text up to the last ``}`` of a chunk, wrapped in ``[...]``; that
parse can only succeed when the cut fell between two events, because a cut inside a string or inside a nested object
leaves the wrapped text unbalanced), and whenever that batch parse does not apply the parser falls back to
``json.JSONDecoder.raw_decode`` one event at a time on a sliding buffer.

Both body shapes are read: the API's ``{ "events": [...] }`` and loghub2's ``{"events": [...], "next": N}`` (self-hosted
jobs); top-level keys other than ``events`` are collected into the optional ``trailer`` dict. Bytes that are not
valid UTF-8 are decoded with U+FFFD replacement by an incremental decoder, so a multi-byte character split across two
chunks is decoded correctly. A body that ends early raises :class:`LogStreamError` saying so, never a bare
``JSONDecodeError``.
"""

from __future__ import annotations

import codecs
import dataclasses
import json
from collections.abc import Iterable, Iterator
from typing import Any, NoReturn

from ..models import LogEvent, ModelError

__all__ = ["LogStreamError", "LogStreamParser", "iter_events", "iter_raw_events"]

_WHITESPACE = " \t\n\r"
_VALUE_START = frozenset('{["-0123456789tfnNI')
#: A parse error further than this from the end of the buffer cannot be explained by "more bytes are coming".
_INCOMPLETE_SLACK = 8
_ONLY_DICTS = {dict}
#: What ``json`` raises on text that is not JSON we can use: malformed (``JSONDecodeError`` is a ``ValueError``), a
#: number of thousands of digits (``ValueError``), nesting deeper than the interpreter's recursion limit.
JSON_ERRORS = (ValueError, RecursionError)


class LogStreamError(ModelError):
    """The log body is not a ``{"events": [...]}`` document: malformed, truncated, or not JSON at all.

    A :class:`~pytest_semaphore.models.ModelError`, so the client turns it into an ``APIError`` naming the request.
    """


# Parser states.
_START = 0  # before the top-level "{"
_KEY = 1  # after "{" or ",": a key (or "}" right after "{")
_COLON = 2  # after a key
_VALUE = 3  # after ":"
_AFTER_VALUE = 4  # after a top-level value: "," or "}"
_ARRAY_FIRST = 5  # after "events": [  -> "]" or an event
_ELEMENT = 6  # where an event must start
_ARRAY_AFTER = 7  # after an event: "," or "]"
_END = 8  # after the closing "}": only whitespace

_STATE_NAMES = {
    _START: "before the opening '{'",
    _KEY: "inside the top-level object (expecting a key)",
    _COLON: "after a top-level key",
    _VALUE: "after a top-level key (expecting its value)",
    _AFTER_VALUE: "inside the top-level object",
    _ARRAY_FIRST: "inside the events array",
    _ELEMENT: "inside the events array (an event was cut off)",
    _ARRAY_AFTER: "inside the events array (before its closing ']')",
    _END: "after the end",
}


class LogStreamParser:
    """Push parser: :meth:`feed` bytes, get the events completed so far; :meth:`close` at the end of the body.

    :func:`iter_events` is the pull-style wrapper most callers want; this class exists for callers that receive bytes
    from somewhere other than an iterator (and for the tests, which feed a body split at every possible byte).
    """

    def __init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._json = json.JSONDecoder()
        self._buf = ""
        self._pos = 0
        self._pending: list[str] = []  # text received since the last parse attempt, joined only for the next one
        self._pending_len = 0
        self.joined = 0
        """Characters copied into the working buffer so far: linear in the body's size (bounded by about three
        times its characters), whatever the chunking. The tests and ``bench/`` read it."""
        self._state = _START
        self._key: str | None = None
        self._retry_len = 0  # do not retry a failed raw_decode before this much text is pending
        self._bytes = 0
        self._events = 0
        self._seen_events_key = False
        self._eof = False
        self._error: LogStreamError | None = None
        self.trailer: dict[str, Any] = {}
        """Top-level keys other than ``events`` (loghub's ``next``), filled as they are read."""

    @property
    def buffered(self) -> int:
        """Characters held for events not yet complete: bounded by one chunk plus (twice) the largest event."""
        return len(self._buf) - self._pos + self._pending_len

    # ----------------------------------------------------------------------------------------------- public

    def feed(self, chunk: bytes) -> list[LogEvent]:
        """Add the next bytes of the body; return the events they completed (possibly none)."""
        return list(map(_to_event, self.feed_raw(chunk)))

    def close(self) -> list[LogEvent]:
        """Declare the end of the body and return the last events.

        An incomplete or malformed end raises :class:`LogStreamError`, but only once the events that were complete
        before it have been returned: call ``close()`` until it returns ``[]`` (or raises), as :func:`iter_events`
        does, so that a caller sees every event the body really contained.
        """
        return list(map(_to_event, self.close_raw()))

    def feed_raw(self, chunk: bytes) -> list[dict[str, Any]]:
        """:meth:`feed` without the :class:`LogEvent` models: the events as the JSON decoder built them.

        Each is guaranteed to be a JSON object (a ``dict``); its fields are *not* validated. This is for consumers
        that read one or two fields of millions of events (``logs.ExcerptBuilder``), for which building a model per
        event was the larger part of the time; they validate what they use (see :func:`iter_raw_events`).
        """
        if self._eof:
            raise LogStreamError("log body: feed() called after close()")
        self._bytes += len(chunk)
        text = self._decoder.decode(chunk)
        if text:
            self._pending.append(text)
            self._pending_len += len(text)
        # An event larger than a chunk is not re-joined (nor re-parsed) on every chunk: only once the text pending
        # has doubled since the last attempt, so one huge event costs O(size), not O(size * chunks).
        if self.buffered < self._retry_len:
            return []
        self._join()
        return self._run()

    def _join(self) -> None:
        """Move the pending text into the working buffer (after what is left of it) for a parse attempt."""
        if self._pending:
            self._buf = self._buf[self._pos :] + "".join(self._pending)
            self._pos = 0
            self.joined += len(self._buf)
            self._pending.clear()
            self._pending_len = 0

    def close_raw(self) -> list[dict[str, Any]]:
        """:meth:`close` without the models (see :meth:`feed_raw`)."""
        if self._error is not None:
            error, self._error = self._error, None
            raise error
        if self._eof:
            return []
        tail = self._decoder.decode(b"", final=True)
        if tail:
            self._pending.append(tail)
        self._join()
        self._eof = True
        self._retry_len = 0
        events = self._run()
        failure: LogStreamError | None = None
        if self._state != _END:
            if self._bytes == 0:
                failure = LogStreamError('log body is empty: expected a JSON object like {"events": [...]}')
            else:
                failure = LogStreamError(
                    f"log body ended early after {self._bytes} bytes and {self._events} events, "
                    f"{_STATE_NAMES[self._state]}: the response was truncated"
                )
        elif not self._seen_events_key:
            failure = LogStreamError("log body has no 'events' array: expected a JSON object like {\"events\": [...]}")
        if failure is not None:
            if not events:
                raise failure
            self._error = failure
        return events

    # ----------------------------------------------------------------------------------------------- machinery

    def _run(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        buf = self._buf
        pos = self._pos
        n = len(buf)
        state = self._state
        blocked = -1
        while True:
            # Skip whitespace (a slice-free loop: runs are short between tokens).
            while pos < n and buf[pos] in _WHITESPACE:
                pos += 1
            if pos >= n:
                break
            ch = buf[pos]
            if state in (_ELEMENT, _ARRAY_FIRST):
                if state == _ARRAY_FIRST and ch == "]":
                    pos += 1
                    state = _AFTER_VALUE
                    continue
                # Fast path: every complete event up to the last "}" in one C-level parse.
                last = buf.rfind("}", pos)
                if last > blocked:
                    batch, cut = self._batch(buf, pos, last)
                    # Whatever happens, a cut at this "}" failed or was cut shorter: never try it again in this run.
                    blocked = last
                    if batch is not None:
                        if set(map(type, batch)) != _ONLY_DICTS:  # C-level check, no Python loop per event
                            self._not_object(buf, pos, next(v for v in batch if type(v) is not dict))
                        out.extend(batch)
                        self._events += len(batch)
                        pos = cut
                        state = _ARRAY_AFTER
                        continue
                value, end = self._decode_one(buf, pos, "an event")
                if end < 0:
                    break
                if type(value) is not dict:
                    self._not_object(buf, pos, value)
                out.append(value)
                self._events += 1
                pos = end
                state = _ARRAY_AFTER
            elif state == _ARRAY_AFTER:
                if ch == ",":
                    pos += 1
                    state = _ELEMENT
                elif ch == "]":
                    pos += 1
                    state = _AFTER_VALUE
                else:
                    self._fail(buf, pos, "expected ',' or ']' after an event")
            elif state == _START:
                if ch != "{":
                    self._fail(buf, pos, 'expected a JSON object like {"events": [...]}')
                pos += 1
                state = _KEY
            elif state == _KEY:
                if ch == "}" and self._key is None:
                    pos += 1
                    state = _END
                    continue
                key, end = self._decode_one(buf, pos, "a key")
                if end < 0:
                    break
                if not isinstance(key, str):
                    self._fail(buf, pos, "expected a quoted key")
                self._key = key
                pos = end
                state = _COLON
            elif state == _COLON:
                if ch != ":":
                    self._fail(buf, pos, "expected ':' after a key")
                pos += 1
                state = _VALUE
            elif state == _VALUE:
                if self._key == "events":
                    if ch != "[":
                        self._fail(buf, pos, "'events' must be a JSON array")
                    self._seen_events_key = True
                    pos += 1
                    state = _ARRAY_FIRST
                else:
                    value, end = self._decode_one(buf, pos, f"the value of {self._key!r}")
                    if end < 0:
                        break
                    self.trailer[str(self._key)] = value
                    pos = end
                    state = _AFTER_VALUE
            elif state == _AFTER_VALUE:
                if ch == ",":
                    pos += 1
                    state = _KEY
                elif ch == "}":
                    pos += 1
                    state = _END
                else:
                    self._fail(buf, pos, "expected ',' or '}' in the top-level object")
            else:  # _END
                self._fail(buf, pos, "unexpected data after the end of the JSON object")
        self._state = state
        # Drop what was consumed so memory stays bounded by one chunk plus the event being assembled.
        if pos:
            self._buf = buf[pos:]
            self._pos = 0
        return out

    def _batch(self, buf: str, pos: int, last: int) -> tuple[list[Any] | None, int]:
        """Parse the events in ``buf[pos:last + 1]`` at once; on failure retry with a cut before the error.

        A cut inside an event's string or nested object makes ``[...]`` unbalanced, so a successful parse proves the
        cut fell between events. The decoder's error position moves the cut strictly backwards on each retry.
        """
        for _ in range(3):
            try:
                batch = self._json.decode("[" + buf[pos : last + 1] + "]")
            except json.JSONDecodeError as exc:
                last = buf.rfind("}", pos, pos + exc.pos - 1)
                if last < 0:
                    return None, pos
                continue
            except JSON_ERRORS:  # the one-event path below says which event and why
                return None, pos
            if isinstance(batch, list):
                return batch, last + 1
            return None, pos
        return None, pos

    def _decode_one(self, buf: str, pos: int, what: str) -> tuple[Any, int]:
        """``raw_decode`` one value at ``pos``; ``(None, -1)`` when it may simply need more bytes."""
        n = len(buf)
        try:
            value, end = self._json.raw_decode(buf, pos)
        except json.JSONDecodeError as exc:
            # Errors that more bytes could cure: an open string, or a value/delimiter/escape missing at the very end.
            # Anything else (a control character, a bad escape mid-buffer, a stray token) is wrong whatever follows.
            msg = exc.msg
            incomplete = buf[pos] in _VALUE_START and (
                msg.startswith("Unterminated string")
                or (exc.pos >= n - _INCOMPLETE_SLACK and msg.startswith(("Expecting", "Invalid \\uXXXX")))
            )
            if self._eof or not incomplete:
                if self._eof and incomplete:
                    return None, -1  # close() reports the truncation with the byte count
                self._fail(buf, exc.pos, f"invalid JSON in {what}: {exc.msg}")
            # Retry only once the pending text has doubled: an event much larger than a chunk costs O(size), not
            # O(size * chunks).
            self._pos = pos
            self._retry_len = 2 * (n - pos)
            return None, -1
        except JSON_ERRORS:
            self._fail(buf, pos, f"{what} has a number of thousands of digits or nesting too deep to read")
        if end >= n and not self._eof and isinstance(value, (int, float)) and not isinstance(value, bool):
            # A number at the very end may continue in the next chunk; as for an open string, try again only once
            # the pending text has doubled (a number of thousands of digits arriving a byte at a time).
            self._pos = pos
            self._retry_len = 2 * (n - pos)
            return None, -1
        self._retry_len = 0
        return value, end

    def _not_object(self, buf: str, pos: int, value: object) -> NoReturn:
        try:
            shown = f" {value!r:.60}"
        except RecursionError:  # a list nested near the recursion limit parses, but cannot be repr'd
            shown = ""
        self._fail(buf, pos, f"each event must be a JSON object, found {type(value).__name__}{shown}")

    def _fail(self, buf: str, pos: int, message: str) -> NoReturn:
        excerpt = buf[max(0, pos - 20) : pos + 40]
        raise LogStreamError(f"log body is not valid: {message} near {excerpt!r} (after {self._events} events)")


_FIELDS = ("event", "timestamp", "directive", "output", "exit_code", "started_at", "finished_at", "result", "raw")
_OPTIONAL = ("directive", "output", "exit_code", "started_at", "finished_at", "result")
_KNOWN_KEYS = frozenset(_FIELDS[:-1])
_STR_OR_NONE = frozenset({str, type(None)})
_INT_OR_NONE = frozenset({int, type(None)})
# The fast constructor below fills the instance dict of the frozen dataclass directly with the event's own keys
# (about 2x cheaper than the generated __init__, which matters for millions of events). Fields the event does not
# carry fall back to the class attributes dataclasses leaves for defaulted fields (None here). It is only used while
# LogEvent is exactly the plain dataclass it was written for; any change to its fields, defaults or layout switches
# back to the ordinary constructor.
_FAST_OK = (
    tuple(f.name for f in dataclasses.fields(LogEvent)) == _FIELDS
    and not hasattr(LogEvent, "__slots__")
    and "__post_init__" not in vars(LogEvent)
    and all(name in vars(LogEvent) and vars(LogEvent)[name] is None for name in _OPTIONAL)
)
_new = object.__new__


def _to_event(value: object) -> LogEvent:
    """Build a LogEvent; agent events that already have the right types skip the general validation."""
    if _FAST_OK and type(value) is dict and value.keys() <= _KNOWN_KEYS:
        get = value.get
        event = get("event")
        result = get("result")
        if (
            type(event) is str
            and event
            and type(get("timestamp")) is int
            and type(get("output")) in _STR_OR_NONE
            and type(get("directive")) in _STR_OR_NONE
            and type(get("exit_code")) in _INT_OR_NONE
            and type(get("started_at")) in _INT_OR_NONE
            and type(get("finished_at")) in _INT_OR_NONE
            and (result is None or (type(result) is str and result.islower() and result.strip() == result))
        ):
            obj = _new(LogEvent)
            fields = obj.__dict__
            fields.update(value)
            fields["raw"] = value
            return obj
    return LogEvent.from_api(value)


def iter_raw_events(chunks: Iterable[bytes], *, trailer: dict[str, Any] | None = None) -> Iterator[dict[str, Any]]:
    """:func:`iter_events` without the models: each event as the plain ``dict`` the C JSON decoder built.

    Same streaming, memory bound and errors for the body's *shape* (every event is a JSON object), but the fields
    are not checked: a consumer validates what it reads, e.g. with ``LogEvent.from_api(event)`` for anything
    unusual. Building a frozen model for each of millions of ``cmd_output`` events cost more than parsing them;
    ``logs.excerpt_from_events`` takes these dicts directly.
    """
    parser = LogStreamParser()
    if trailer is not None:
        parser.trailer = trailer
    for chunk in chunks:
        if chunk:
            yield from parser.feed_raw(chunk)
    while True:
        events = parser.close_raw()
        if not events:
            return
        yield from events


def iter_events(chunks: Iterable[bytes], *, trailer: dict[str, Any] | None = None) -> Iterator[LogEvent]:
    """Yield the log events of a body that arrives as ``chunks`` (e.g. ``response.iter_content(65536)``).

    Memory is bounded by one chunk plus the largest single event, never the whole body. ``trailer``, when given, is
    filled with the top-level keys other than ``events`` (loghub2's ``next``) as they are read.
    Raises :class:`LogStreamError` for a malformed, empty or truncated body.
    """
    parser = LogStreamParser()
    if trailer is not None:
        parser.trailer = trailer
    for chunk in chunks:
        if chunk:
            yield from parser.feed(chunk)
    while True:
        events = parser.close()
        if not events:
            return
        yield from events
