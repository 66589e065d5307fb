"""The excerpt: which command of a job failed, how, and its last lines, built from a stream of any size.

Semaphore's log events record every command with its exit code (``cmd_started`` / ``cmd_output`` /
``cmd_finished``), so instead of cutting a fixed tail off the whole log the excerpt shows *the* command that failed:
the first ``cmd_finished`` with a non-zero exit code, or, when the job failed without one (killed by its time limit,
stopped), the last command it ran.

Events are consumed one at a time (models, or the raw dicts of ``logstream.iter_raw_events``, which skip a model per
``cmd_output`` event); output is processed in blocks of whole lines, and only the last ``tail_lines`` lines of the
current command (plus those of the failing one) are kept: memory is bounded by the excerpt, not by the log.

The excerpt is ordered for Semaphore's test-results reader, which keeps only the **last 1000 characters** of an
output field: the job, the command and its exit code are repeated in a final line that always fits in 1000 bytes.
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..errors import ConfigurationError
from ..models import LogEvent
from .clean import clean_line, clean_text
from .files import DEFAULT_MAX_LOG_BYTES, LogSink, open_full_log
from .redact import NO_REDACTION, Redactor

__all__ = [
    "DEFAULT_MAX_LINE_CHARS",
    "DEFAULT_OPTIONS",
    "DEFAULT_TAIL_LINES",
    "SUMMARY_BUDGET_BYTES",
    "Excerpt",
    "ExcerptBuilder",
    "ExcerptOptions",
    "events_to_text",
    "excerpt_from_events",
    "excerpt_from_text",
]

#: How many lines of the failing command's output an excerpt keeps.
DEFAULT_TAIL_LINES = 100
#: Longer lines are cut (a minified bundle or a base64 blob on one line must not eat the excerpt).
DEFAULT_MAX_LINE_CHARS = 4000
#: The excerpt's final line (job, command, exit code) is kept under this many UTF-8 bytes, well inside the
#: 1000 characters Semaphore's test-results reader keeps, whether it counts bytes or characters.
SUMMARY_BUDGET_BYTES = 900

_BLOCK_CHARS = 64 * 1024


@dataclass(frozen=True)
class ExcerptOptions:
    """How excerpts are made, the same for every job: one object for the plugin, the command and a script.

    Checked when made, so a bad setting fails before any log is fetched. Per-job facts (name, id, result) and a
    ready-made :class:`Redactor` are arguments of the functions instead.
    """

    tail_lines: int = DEFAULT_TAIL_LINES
    """How many lines of the chosen command's output the excerpt keeps."""
    max_line_chars: int = DEFAULT_MAX_LINE_CHARS
    """Longer lines are cut with a note (at least 80)."""
    log_dir: str | os.PathLike[str] | None = None
    """Where the full cleaned, redacted log is saved (as :func:`safe_log_filename`); ``None`` saves nothing."""
    max_log_bytes: int | None = DEFAULT_MAX_LOG_BYTES
    """Size cap of a saved full log (``None`` for no cap); past it the file ends with a note."""
    patterns: Sequence[str | re.Pattern[str]] = field(default=())
    """User regular expressions to redact (Python ``re`` syntax), on top of the token and secret variables."""
    hook: Callable[[str], str] | None = None
    """Any ``str -> str`` applied last to every block (the plugin's ``pytest_semaphore_redact`` hook)."""

    def __post_init__(self) -> None:
        if self.tail_lines < 1:
            raise ConfigurationError(f"the excerpt needs at least one line, got tail_lines={self.tail_lines}")
        if self.max_line_chars < 80:
            raise ConfigurationError(f"max_line_chars must be at least 80, got {self.max_line_chars}")
        if self.max_log_bytes is not None and self.max_log_bytes <= 0:
            raise ConfigurationError(f"the full-log size cap must be positive, got {self.max_log_bytes}")
        object.__setattr__(self, "patterns", tuple(self.patterns))  # frozen all the way down

    def redactor(self) -> Redactor:
        """The redaction these options ask for alone: their ``patterns`` and ``hook`` (nothing by default)."""
        if not self.patterns and self.hook is None:
            return NO_REDACTION
        return Redactor(patterns=self.patterns, hook=self.hook)


#: The defaults, made once.
DEFAULT_OPTIONS = ExcerptOptions()


def _shorten_middle(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    keep = max(limit - 5, 2)
    return text[: keep // 2] + " ... " + text[len(text) - (keep - keep // 2) :]


@dataclass(frozen=True)
class Excerpt:
    """What a person needs from a job's log: which command failed, how, and its last lines (cleaned, redacted)."""

    job_name: str
    job_id: str
    directive: str | None
    """The command, or ``None`` when the log had no commands (a plain-text log)."""
    exit_code: int | None
    """``None`` when the command never finished (the job was stopped or killed while it ran)."""
    job_result: str | None
    """``passed``, ``failed``, ``stopped`` from the log's ``job_finished`` event (or the caller), else ``None``."""
    lines: tuple[str, ...]
    total_lines: int
    """How many output lines that command printed in all (``lines`` are the last of them)."""
    reason: str
    """Why this command was chosen: ``"non-zero exit code"``, ``"last command of a failed job"``, ``"last command"``."""
    log_path: str | None = None
    log_truncated: bool = False

    @property
    def failed(self) -> bool:
        return (self.exit_code not in (None, 0)) or self.job_result in ("failed", "stopped")

    def summary(self) -> str:
        """One line naming the job, the command and its exit code, at most ``SUMMARY_BUDGET_BYTES`` in UTF-8."""
        name = clean_line(self.job_name)  # an Excerpt may be built by hand or deserialised: clean again
        directive = None if self.directive is None else clean_line(self.directive)
        for name_limit, cmd_limit in ((120, 400), (60, 200), (30, 80), (16, 30)):
            line = self._summary(_shorten_middle(name, name_limit), directive, cmd_limit)
            if len(line.encode("utf-8")) <= SUMMARY_BUDGET_BYTES:
                return line
        return line.encode("utf-8")[:SUMMARY_BUDGET_BYTES].decode("utf-8", "ignore")

    def _summary(self, name: str, directive: str | None, cmd_limit: int) -> str:
        job = f'Semaphore job "{name}"'
        if self.job_id:
            job += f" ({_shorten_middle(clean_line(self.job_id), 80)})"
        outcome = self.job_result or "ended"
        if directive is None:
            return f"{job} {outcome}: no command output was found in its log"
        cmd = "`" + _shorten_middle(directive, cmd_limit) + "`"
        if self.exit_code is None:
            return f"{job} {outcome}: command {cmd} did not finish (no exit code)"
        verb = "failed" if self.exit_code != 0 else outcome
        return f"{job} {verb}: command {cmd} exited with code {self.exit_code}"

    def render(self) -> str:
        """The excerpt as text: a header, the last lines, and the summary again as the very last line.

        Semaphore keeps only the last 1000 characters of an output field, so the last line alone says which job,
        which command and which exit code.
        """
        head = [self.summary() + f" [{self.reason}]"]
        if self.log_path:
            head.append(f"Full log: {self.log_path}" + (" (cut at the size limit)" if self.log_truncated else ""))
        if self.directive is not None or self.lines:
            shown = len(self.lines)
            what = "its output" if self.directive is not None else "the log"
            head.append(f"--- last {shown} of {self.total_lines} lines of {what} ---")
        body = list(self.lines)
        tail = ["--- end of output ---"] if (self.directive is not None or self.lines) else []
        tail.append(">>> " + self.summary())
        return clean_text("\n".join([*head, *body, *tail]))


class _Command:
    __slots__ = ("directive", "exit_code", "finished", "tail", "total_lines")

    def __init__(self, directive: str | None, tail_lines: int) -> None:
        self.directive = directive
        self.exit_code: int | None = None
        self.finished = False
        self.tail: deque[str] = deque(maxlen=tail_lines)
        self.total_lines = 0


class ExcerptBuilder:
    """Consume a job's log (events or plain text) incrementally and build its :class:`Excerpt`.

    Output text is buffered until a block of about 64 KiB is available, then the whole lines in it are cleaned and
    redacted together (regular expressions over a block are far cheaper than per line), written to the full log,
    and the last ``tail_lines`` of them kept for the current command. At most one partial line is carried over; a
    line longer than ``max_line_chars`` is cut, a ``\\r`` progress line is collapsed first, so memory stays bounded.

    ``options`` gives ``tail_lines``, ``max_line_chars`` and, when no ``redactor`` is passed, the redaction
    ``patterns`` and ``hook``; the full log goes to ``sink`` (the front doors open it from ``options.log_dir``).
    """

    def __init__(
        self,
        *,
        job_name: str = "",
        job_id: str = "",
        job_result: str | None = None,
        redactor: Redactor | None = None,
        sink: LogSink | None = None,
        options: ExcerptOptions | None = None,
        block_chars: int = _BLOCK_CHARS,
    ) -> None:
        options = options if options is not None else DEFAULT_OPTIONS
        self._redactor = redactor if redactor is not None else options.redactor()
        self.job_name = self._redactor(clean_line(job_name)) if job_name else ""
        self.job_id = clean_line(job_id)
        self._tail_lines = options.tail_lines
        self._sink = sink
        self._max_line = options.max_line_chars
        self._job_result = job_result
        self._block_chars = max(block_chars, 1)  # tests use tiny blocks to exercise every boundary
        self._pending: list[str] = []
        self._pending_len = 0
        self._skip_to_newline = False
        self._current: _Command | None = None
        self._last: _Command | None = None
        self._failing: _Command | None = None

    # -- input

    def feed(self, event: LogEvent | Mapping[str, Any]) -> None:
        """One event: a :class:`LogEvent`, or a raw event mapping (``logstream.iter_raw_events``), validated here."""
        if not isinstance(event, LogEvent):
            event = LogEvent.from_api(event)
        kind = event.event
        if kind == "cmd_output":
            if event.output:
                self._output(event.output)
        elif kind == "cmd_started":
            self._end_command()
            directive = self._redactor(clean_line(event.directive or ""))
            self._current = _Command(directive, self._tail_lines)
            self._write_full(f"$ {directive}\n")
        elif kind == "cmd_finished":
            if self._current is None:  # a finish without a start: keep its facts anyway
                self._current = _Command(self._redactor(clean_line(event.directive or "")), self._tail_lines)
            self._flush_line()
            self._current.exit_code = event.exit_code
            self._current.finished = True
            if event.exit_code not in (None, 0):
                self._write_full(f"[exit code {event.exit_code}]\n")
            self._end_command()
        elif kind == "job_finished":
            self._end_command()
            if event.result:
                self._job_result = event.result
                self._write_full(f"[job {event.result}]\n")

    def feed_many(self, events: Iterable[LogEvent | Mapping[str, Any]]) -> None:
        """:meth:`feed` for a whole stream, with ``cmd_output`` (nearly every event) handled inline.

        A log has millions of events; a method call and a few attribute lookups per event were a third of the time.
        Raw events (the plain dicts of ``logstream.iter_raw_events``) skip the model altogether when they are the
        ordinary ``{"event": "cmd_output", "timestamp": <int>, "output": <str>}``, the only shape for which the
        model would be a plain copy; anything else goes through :meth:`feed`, which builds (and so validates) a
        :class:`LogEvent`. Both inputs therefore give the same excerpt and the same errors.
        """
        feed, drain = self.feed, self._drain
        pending = self._pending  # _drain and _flush_line keep this very list object
        append = pending.append
        block = self._block_chars
        size = self._pending_len
        fast = self._current is not None and not self._skip_to_newline
        for event in events:
            if type(event) is dict:
                output = event.get("output")
                if not (
                    fast
                    and type(output) is str
                    and len(event) == 3
                    and event.get("event") == "cmd_output"
                    and type(event.get("timestamp")) is int
                ):
                    output = None
            elif fast and isinstance(event, LogEvent) and event.event == "cmd_output":
                output = event.output or ""
            else:
                output = None
            if output is None:
                self._pending_len = size
                feed(event)
                size = self._pending_len
                fast = self._current is not None and not self._skip_to_newline
            elif output:
                append(output)
                size += len(output)
                if size >= block:
                    self._pending_len = size
                    drain()
                    size = self._pending_len
                    fast = not self._skip_to_newline
        self._pending_len = size

    def feed_text(self, text: str) -> None:
        """Plain-text log input (``plain_logs.json``): all of it is the output of one unnamed command."""
        if text:
            self._output(text)

    def finish(self, *, log_path: str | None = None, log_truncated: bool = False) -> Excerpt:
        self._end_command()
        chosen: _Command | None
        if self._failing is not None:
            chosen, reason = self._failing, "non-zero exit code"
        elif self._job_result in ("failed", "stopped"):
            chosen, reason = self._last, "last command of a failed job"
        else:
            chosen, reason = self._last, "last command"
        if chosen is None:
            chosen = _Command(None, 1)
            reason = "no commands"
        return Excerpt(
            job_name=self.job_name,
            job_id=self.job_id,
            directive=chosen.directive,
            exit_code=chosen.exit_code,
            job_result=self._job_result,
            lines=tuple(chosen.tail),
            total_lines=chosen.total_lines,
            reason=reason,
            log_path=log_path,
            log_truncated=log_truncated,
        )

    # -- internals

    def _end_command(self) -> None:
        if self._current is None:
            if self._pending:  # output without a command (plain text, or before the first cmd_started)
                self._current = _Command(None, self._tail_lines)
            else:
                return
        self._flush_line()
        cmd = self._current
        self._current = None
        self._skip_to_newline = False
        if cmd.finished and cmd.exit_code not in (None, 0) and self._failing is None:
            self._failing = cmd
        self._last = cmd

    def _output(self, text: str) -> None:
        if self._current is None:
            self._current = _Command(None, self._tail_lines)
        if self._skip_to_newline:
            newline = text.find("\n")
            if newline < 0:
                return
            text = text[newline + 1 :]
            self._skip_to_newline = False
            if not text:
                return
        self._pending.append(text)
        self._pending_len += len(text)
        if self._pending_len >= self._block_chars:
            self._drain()

    def _drain(self) -> None:
        text = "".join(self._pending)
        cut = text.rfind("\n") + 1
        # A "\r\n" must not be split from its "\n": the cut is just after a "\n", so nothing to do.
        complete, rest = text[:cut], text[cut:]
        if len(rest) > self._max_line:
            rest = self._shrink(rest)
        self._pending.clear()  # the same list object: feed_many holds a reference to it
        if rest:
            self._pending.append(rest)
        self._pending_len = len(rest)
        if complete:
            self._emit(complete)

    def _shrink(self, rest: str) -> str:
        """A partial line over the limit: keep a progress line's final state, else cut the line here."""
        if "\r" in rest:
            stripped = rest.rstrip("\r")
            last_cr = stripped.rfind("\r")
            if last_cr >= 0:
                rest = stripped[last_cr + 1 :] + rest[len(stripped) :]
        if len(rest) <= self._max_line:
            return rest
        # Cleaned before trimming: a secret's start cut by a NUL or a colour code is recognisable only once whole.
        head = self._redactor.trim_partial(clean_text(rest[: self._max_line]))
        self._emit(head + " [... rest of this line cut: longer than the line limit ...]\n")
        self._skip_to_newline = True
        return ""

    def _flush_line(self) -> None:
        if self._pending:
            text = "".join(self._pending)
            self._pending.clear()
            self._pending_len = 0
            if text:
                self._emit(text if text.endswith("\n") else text + "\n")

    def _emit(self, block: str) -> None:
        """Clean, redact and record a block of whole lines (it ends with a newline)."""
        block = self._redactor(clean_text(block))
        if not block:
            return
        if self._sink is not None:
            self._sink.write(block)
        cmd = self._current
        if cmd is None:
            cmd = self._current = _Command(None, self._tail_lines)
        cmd.total_lines += block.count("\n")
        n = self._tail_lines
        parts = block.rsplit("\n", n + 1)
        lines = parts[1:-1] if len(parts) == n + 2 else parts[:-1]
        limit = self._max_line
        cmd.tail.extend(line if len(line) <= limit else line[:limit] + " [... cut ...]" for line in lines)

    def _write_full(self, text: str) -> None:
        if self._sink is not None:
            self._sink.write(text)


# --------------------------------------------------------------------------------------------------- front doors


def _run(
    feed: Callable[[ExcerptBuilder], None],
    *,
    job_name: str,
    job_id: str,
    job_result: str | None,
    redactor: Redactor | None,
    options: ExcerptOptions | None,
) -> Excerpt:
    """The one way an excerpt is made: open the full log (if any), feed the builder, then commit or discard.

    A failure while streaming (the connection dropped, a parse error) leaves no half-written full log behind.
    """
    options = options if options is not None else DEFAULT_OPTIONS
    redactor = redactor if redactor is not None else options.redactor()
    # The file is named after the job as the excerpt shows it (cleaned, then redacted): a secret in a job name must
    # not reach the log's path, which reports print.
    shown_name = redactor(clean_line(job_name)) if job_name else ""
    sink = open_full_log(options.log_dir, shown_name, job_id, options.max_log_bytes)
    builder = ExcerptBuilder(
        job_name=job_name, job_id=job_id, job_result=job_result, redactor=redactor, sink=sink, options=options
    )
    try:
        feed(builder)
        excerpt = builder.finish()
    except BaseException:
        if sink is not None:
            sink.discard()
        raise
    if sink is None:
        return excerpt
    path = sink.commit()
    return dataclasses.replace(excerpt, log_path=str(path), log_truncated=sink.truncated)


def excerpt_from_events(
    events: Iterable[LogEvent | Mapping[str, Any]],
    *,
    job_name: str = "",
    job_id: str = "",
    job_result: str | None = None,
    redactor: Redactor | None = None,
    options: ExcerptOptions | None = None,
) -> Excerpt:
    """Stream ``events`` into an :class:`Excerpt`.

    ``events`` are :class:`LogEvent` models (``client.job_log(job_id)``, ``logstream.iter_events``) or raw event
    mappings (``client.job_log_events_raw(job_id)``, ``logstream.iter_raw_events``), which parse in half the time
    (no model per event) and give the same excerpt: a raw event is validated as the model would be (a malformed one
    raises the model's ``ModelError``).

    With ``options.log_dir``, the full cleaned and redacted log is saved there as :func:`safe_log_filename` and the
    excerpt's ``log_path`` names it. ``job_result`` is what the caller already knows (the log's ``job_finished``
    event wins when present). Without a ``redactor``, the ``options``' patterns and hook are the redaction.
    """
    return _run(
        lambda builder: builder.feed_many(events),
        job_name=job_name,
        job_id=job_id,
        job_result=job_result,
        redactor=redactor,
        options=options,
    )


def excerpt_from_text(
    chunks: Iterable[str | bytes] | str | bytes,
    *,
    job_name: str = "",
    job_id: str = "",
    job_result: str | None = None,
    redactor: Redactor | None = None,
    options: ExcerptOptions | None = None,
) -> Excerpt:
    """The same for a plain-text log (``/jobs/:id/plain_logs.json``): no commands, so the excerpt is its tail.

    ``bytes`` are decoded as UTF-8 incrementally, invalid sequences replaced (a multi-byte character split across
    chunks is kept whole).
    """
    import codecs

    pieces: Iterable[str | bytes] = [chunks] if isinstance(chunks, (str, bytes)) else chunks

    def feed(builder: ExcerptBuilder) -> None:
        decoder = codecs.getincrementaldecoder("utf-8")("replace")
        for piece in pieces:
            builder.feed_text(decoder.decode(piece) if isinstance(piece, bytes) else piece)
        builder.feed_text(decoder.decode(b"", final=True))

    return _run(feed, job_name=job_name, job_id=job_id, job_result=job_result, redactor=redactor, options=options)


def events_to_text(
    events: Iterable[LogEvent | Mapping[str, Any]], *, redactor: Redactor | None = None
) -> Iterator[str]:
    """The whole log as cleaned, redacted text, in blocks (``$ command`` lines, output, ``[exit code N]`` notes).

    A generator: nothing is held beyond one block, so it can feed a terminal or a file of any size.
    """

    class _Collector:
        def __init__(self) -> None:
            self.blocks: list[str] = []

        def write(self, text: str) -> None:
            self.blocks.append(text)

    collector = _Collector()
    builder = ExcerptBuilder(redactor=redactor, sink=collector)
    for event in events:
        builder.feed(event)
        if collector.blocks:
            yield from collector.blocks
            collector.blocks.clear()
    builder.finish()
    yield from collector.blocks
