"""Job logs into something a person on call can read: the failing command, its exit code and its last lines.

Semaphore's log events record every command with its exit code (``cmd_started`` / ``cmd_output`` /
``cmd_finished``), so instead of cutting a fixed tail off the whole log we can show *the* command that failed: the
first ``cmd_finished`` with a non-zero exit code, or, when the job failed without one (killed by its time limit,
stopped), the last command it ran.

Three properties drive the design:

* **Streaming.** Logs reach hundreds of megabytes. Events are consumed one at a time (models, or the raw dicts of
  ``logstream.iter_raw_events``, which skip a model per ``cmd_output`` event); output is processed in
  blocks of whole lines, and only the last ``tail_lines`` lines of the current command (plus those of the failing
  one) are kept. Memory is bounded by the excerpt, not by the log. The full log is written to disk as it streams.
* **Clean text.** Semaphore's Test Reports read JUnit with Go's strict XML parser: one ESC byte makes the whole file
  unreadable. ANSI sequences and every character XML 1.0 forbids (and the C1 controls it discourages) are removed;
  ``\\r`` progress lines are collapsed to their final state.
* **No secrets.** The API token, the values of environment variables whose names look secret (ours and the job's
  ``spec.env_vars``), and user patterns are redacted. Output fragments are *not* line-aligned, so redaction runs
  only after fragments are joined into whole lines: a secret split across two ``cmd_output`` events is still found.

The excerpt is ordered for Semaphore's test-results reader, which keeps only the **last 1000 characters** of an
output field: the job, the command and its exit code are repeated in a final line that always fits in 1000 bytes.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import re
import unicodedata
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from .atomic import AtomicFile
from .errors import ConfigurationError, ReportError
from .models import LogEvent, ModelError

if TYPE_CHECKING:
    from .models import EnvVar, Job, Pipeline

__all__ = [
    "DEFAULT_MAX_LINE_CHARS",
    "DEFAULT_MAX_LOG_BYTES",
    "DEFAULT_TAIL_LINES",
    "REDACTED",
    "Excerpt",
    "ExcerptBuilder",
    "FullLogWriter",
    "Redactor",
    "clean_text",
    "events_to_text",
    "excerpt_from_events",
    "excerpt_from_text",
    "fetch_excerpt",
    "fetch_failed_excerpts",
    "looks_secret",
    "safe_log_filename",
]

#: How many lines of the failing command's output an excerpt keeps.
DEFAULT_TAIL_LINES = 100
#: Longer lines are cut (a minified bundle or a base64 blob on one line must not eat the excerpt).
DEFAULT_MAX_LINE_CHARS = 4000
#: Size cap of a saved full log; what goes beyond is cut with a note (the excerpt still shows the end).
DEFAULT_MAX_LOG_BYTES = 64 * 1024 * 1024
#: What a secret is replaced with.
REDACTED = "[REDACTED]"
#: Secrets shorter than this, found by variable *name*, are not redacted: "true", "1", "en_US" would wreck the log.
MIN_SECRET_CHARS = 6
#: The excerpt's final line (job, command, exit code) is kept under this many UTF-8 bytes, well inside the
#: 1000 characters Semaphore's test-results reader keeps, whether it counts bytes or characters.
SUMMARY_BUDGET_BYTES = 900

_BLOCK_CHARS = 64 * 1024

# CSI (colours, cursor moves), OSC (titles, hyperlinks; ended by BEL or ST, or by the end of the line), DCS/SOS/PM/APC
# strings, and two-byte escapes (charset selection, keypad modes). Never spans a newline, so cleaning whole-line
# blocks independently is exact.
_ANSI = r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b\n]*(?:\x07|\x1b\\)?|[PX^_][^\x1b\n]*(?:\x1b\\)?|[ -/]*[0-~])"
# Everything XML 1.0 forbids (C0 controls but tab/newline/CR, lone surrogates, U+FFFE/U+FFFF), plus DEL and the C1
# controls, which XML 1.0 discourages and which are terminal noise in a log anyway.
_ILLEGAL = "[^\t\n\r\x20-\x7e\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]"
# Two compiled passes, not one alternation: sre scans a lone character class far faster (measured 2x on 20 MB).
_ANSI_RE = re.compile(_ANSI)
_ILLEGAL_RE = re.compile(_ILLEGAL)


def _final_state(line: str) -> str:
    """A line redrawn with ``\r`` (a progress bar) as a terminal would leave it: its last non-empty segment."""
    return line.rstrip("\r").rpartition("\r")[2]


def _collapse_cr(text: str) -> str:
    """Collapse every line containing ``\r`` to its final state; lines without one are copied untouched.

    A loop over ``\r``-bearing lines rather than a regular expression: a pattern like ``[^\r\n]*\r`` is
    retried at every position of every line, which made cleaning ten times slower than parsing the log.
    """
    pieces: list[str] = []
    append, find, rfind = pieces.append, text.find, text.rfind
    position = 0
    carriage = find("\r")
    while carriage >= 0:
        start = rfind("\n", 0, carriage) + 1
        end = find("\n", carriage)
        if end < 0:
            end = len(text)
        append(text[position:start])
        append(text[start:end].rstrip("\r").rpartition("\r")[2])  # _final_state, inlined: one call per line
        position = end
        carriage = find("\r", end)
    append(text[position:])
    return "".join(pieces)


def clean_text(text: str) -> str:
    """Remove ANSI sequences and XML-forbidden characters; collapse ``\\r`` progress lines to their final state.

    ``"10%\\r50%\\r100%\\n"`` becomes ``"100%\\n"``; ``\\r\\n`` becomes ``\\n``. The result is safe in any XML
    text or attribute value, with either junitparser backend, and for Go's strict ``encoding/xml``.
    """
    if "\x1b" in text:  # first, so that a progress line's "\r\x1b[K" erase code does not hide its final state
        text = _ANSI_RE.sub("", text)
    if "\r" in text:
        text = text.replace("\r\n", "\n")  # CRLF line endings (common) at C speed; lone CRs are progress bars
        if "\r" in text:
            text = _collapse_cr(text)
    return _remove_illegal(text)


#: The characters ``_ILLEGAL_RE`` matches below U+0080: C0 controls except tab, newline and CR, and DEL.
_ASCII_ILLEGAL = bytes([*range(0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F])


def _remove_illegal(text: str) -> str:
    """``_ILLEGAL_RE.sub("", text)``, five times faster for ASCII text (most log blocks) via ``bytes.translate``."""
    if text.isascii():  # O(1) in CPython
        data = text.encode("ascii")
        kept = data.translate(None, _ASCII_ILLEGAL)
        return text if len(kept) == len(data) else kept.decode("ascii")
    return _ILLEGAL_RE.sub("", text)


def _clean_line(text: str) -> str:
    """``clean_text`` for a single-line value (a name, a command): newlines become spaces."""
    return " ".join(clean_text(text).split("\n")).strip()


# --------------------------------------------------------------------------------------------------- redaction

# Matched against the upper-cased variable name. Strong words match anywhere (GITHUB_TOKEN, DB_PASSWORD,
# AWS_SECRET_ACCESS_KEY, NPMAPIKEY); short, ambiguous words (KEY, PASS, AUTH...) only as a whole ``_``-separated
# component, so MONKEY_COUNT or KEEP_CACHE are not taken for secrets.
_SECRET_NAME_RE = re.compile(
    r"TOKEN|SECRET|PASSW(?:OR)?D|PASSPHRASE|CREDENTIAL|PRIVATE|APIKEY|ACCESSKEY|SIGNINGKEY"
    r"|(?:^|_)(?:KEYS?|PASS|PWD|AUTH|JWT|DSN|COOKIE|SESSION|SIGNATURE|CERT|SALT|PAT)(?:_|$)"
)
_NOT_SECRET_NAMES = frozenset({"PWD", "OLDPWD"})


def looks_secret(name: str) -> bool:
    """Whether an environment variable's *name* says its value is a secret (``DEPLOY_TOKEN``, ``DB_PASSWORD``)."""
    upper = name.upper()
    if upper in _NOT_SECRET_NAMES:
        return False
    return _SECRET_NAME_RE.search(upper) is not None


def _shared_prefix_length(texts: Sequence[str]) -> int:
    """How many leading characters all ``texts`` share (those of the smallest and largest decide it)."""
    first, last = min(texts), max(texts)
    for index, (a, b) in enumerate(zip(first, last, strict=False)):  # the shorter one bounds the prefix
        if a != b:
            return index
    return len(first)


class Redactor:
    """Replace secrets in text with ``[REDACTED]``.

    Literal secrets are matched with one compiled alternation (longest first, so a secret that contains another is
    hidden whole); ``patterns`` are user regular expressions; ``hook`` is any ``str -> str`` callable (the plugin's
    ``pytest_semaphore_redact`` hook goes here) applied last. The redactor is called on blocks of *whole lines*.

    The ``repr`` never shows a secret: only how many there are.
    """

    def __init__(
        self,
        secrets: Iterable[str] = (),
        patterns: Iterable[str | re.Pattern[str]] = (),
        hook: Callable[[str], str] | None = None,
        *,
        placeholder: str = REDACTED,
    ) -> None:
        literals: set[str] = set()
        for secret in secrets:
            for form in (secret, clean_text(secret)):
                # A multi-line secret (a private key) is matched line by line, as the log is.
                literals.update(part for part in form.split("\n") if part.strip())
        self._literals = tuple(sorted(literals, key=lambda s: (-len(s), s)))
        # Two ways to find literal secrets, chosen by what is fast. When they share a prefix, sre's literal-prefix
        # search makes one alternation fast. Random tokens share none: then sre tries every alternative at nearly
        # every position (20 random secrets: 8 ms per MB, as slow as parsing the log), while one C substring
        # search per secret costs 0.1 ms per MB each. ``_scan`` picks the second way.
        self._scan = _shared_prefix_length(self._literals) < 3 if self._literals else False
        self._literal_re = re.compile("|".join(re.escape(s) for s in self._literals)) if self._literals else None
        compiled: list[re.Pattern[str]] = []
        for pattern in patterns:
            if isinstance(pattern, re.Pattern):
                compiled.append(pattern)
                continue
            try:
                compiled.append(re.compile(pattern))
            except re.error as exc:
                raise ConfigurationError(
                    f"redaction pattern {pattern!r} is not a valid regular expression ({exc}); "
                    "fix or remove it (patterns use Python's re syntax)"
                ) from None
        self._patterns = tuple(compiled)
        self._hook = hook
        self.placeholder = placeholder

    @classmethod
    def for_job(
        cls,
        *,
        token: str | None = None,
        job: Job | None = None,
        job_env_vars: Iterable[EnvVar] | Mapping[str, str] = (),
        env: Mapping[str, str] | None = None,
        patterns: Iterable[str | re.Pattern[str]] = (),
        hook: Callable[[str], str] | None = None,
        extra_secrets: Iterable[str] = (),
    ) -> Redactor:
        """The standard redactor: the API token, secret-looking variables of ``env`` (default: ``os.environ``) and
        of the job's ``spec.env_vars``, ``extra_secrets``, user ``patterns`` and the plugin's ``hook``."""
        secrets: list[str] = [s for s in extra_secrets if s]
        if token:
            secrets.append(token)
        pairs: list[tuple[str, str]] = list((os.environ if env is None else env).items())
        if job is not None:
            pairs.extend((v.name, v.value) for v in job.env_vars)
        if isinstance(job_env_vars, Mapping):
            pairs.extend(job_env_vars.items())
        else:
            pairs.extend((v.name, v.value) for v in job_env_vars)
        for name, value in pairs:
            if looks_secret(name) and len(value.strip()) >= MIN_SECRET_CHARS:
                secrets += (value, value.strip())  # a shell prints "  v  " as "v": hide both forms
        return cls(secrets, patterns, hook)

    def __bool__(self) -> bool:
        return bool(self._literal_re or self._patterns or self._hook)

    def __repr__(self) -> str:
        hook = self._hook is not None
        return f"Redactor(<{len(self._literals)} secrets>, <{len(self._patterns)} patterns>, hook={hook})"

    def __call__(self, text: str) -> str:
        if self._scan:
            # Longest first, as the alternation would: a secret containing another is hidden whole.
            for secret in self._literals:
                if secret in text:
                    text = text.replace(secret, self.placeholder)
        elif self._literal_re is not None:
            text = self._literal_re.sub(self.placeholder, text)
        for pattern in self._patterns:
            text = pattern.sub(self.placeholder, text)
        if self._hook is not None:
            text = self._hook(text)
            if not isinstance(text, str):
                raise TypeError(f"the redaction hook must return a str, it returned {type(text).__name__}")
            text = clean_text(text)
        return text

    def trim_partial(self, head: str) -> str:
        """Drop the end of a *cut* line if it could be the start of a literal secret.

        A line longer than the line limit is cut; if a secret straddles the cut, the part before the cut would not
        match any more and would leak. (Patterns cannot be checked this way; the cut is rare and far from them.)
        """
        for secret in self._literals:
            for size in range(min(len(secret) - 1, len(head)), 0, -1):
                if head.endswith(secret[:size]):
                    head = head[:-size]
                    break
        return head


_NO_REDACTION = Redactor()


# --------------------------------------------------------------------------------------------------- file names

_UNSAFE_NAME_RE = re.compile(r"[^A-Za-z0-9._-]+")
_UUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


def _slug(text: str, limit: int) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[-.]*\.[-.]*", ".", _UNSAFE_NAME_RE.sub("-", ascii_text)).strip(".-_")  # no "..", no ".-."
    return slug[:limit].rstrip(".-_")


def safe_log_filename(job_name: str, job_id: str, *, suffix: str = ".log") -> str:
    """A file name for a job's full log that is safe whatever the job is called, and unique per job.

    Job names are user text (``../../etc``, ``a/b``, NUL, emoji, 10,000 characters); job ids come from the server.
    The name keeps a readable ASCII slug of the job name (at most 60 characters), then the job id when it is a UUID,
    or a slug of it plus a hash of the exact id otherwise, so two different ids never share a file.
    """
    name_part = _slug(job_name, 60) or "job"
    if _UUID_RE.match(job_id):
        id_part = job_id.lower()
    else:
        digest = hashlib.sha256(job_id.encode("utf-8", "surrogatepass")).hexdigest()[:12]
        id_part = f"{_slug(job_id, 40) or 'id'}-{digest}"
    return f"{name_part}-{id_part}{suffix}"


class LogSink(Protocol):
    """Where the full log's cleaned text goes, block by block."""

    def write(self, text: str) -> None: ...


class FullLogWriter:
    """Write a job's full, cleaned, redacted log to ``path`` atomically, up to ``max_bytes``.

    Text goes to a temporary file beside ``path`` and is renamed into place by :meth:`commit`, so a reader never
    sees half a log and a failed download leaves no file behind. Past ``max_bytes`` the log is cut with a note.
    """

    def __init__(self, path: str | os.PathLike[str], *, max_bytes: int | None = DEFAULT_MAX_LOG_BYTES) -> None:
        if max_bytes is not None and max_bytes <= 0:
            raise ConfigurationError(f"the full-log size cap must be positive, got {max_bytes}")
        self.path = Path(path)
        self.max_bytes = max_bytes
        self.written = 0
        self.truncated = False
        self._out = AtomicFile(self.path, what="full log")

    def write(self, text: str) -> None:
        if self.truncated:
            return
        data = text.encode("utf-8", "replace")
        if self.max_bytes is not None and self.written + len(data) > self.max_bytes:
            room = self.max_bytes - self.written
            head = data[:room].decode("utf-8", "ignore").encode("utf-8")
            note = (
                f"\n[... full log cut here: it reached the size limit of {self.max_bytes} bytes; "
                "raise the limit to keep more. The excerpt shows the end of the failing command ...]\n"
            )
            self._out.file.write(head + note.encode("utf-8"))
            self.written += len(head)
            self.truncated = True
            return
        self._out.file.write(data)
        self.written += len(data)

    def commit(self) -> Path:
        return self._out.commit()

    def discard(self) -> None:
        self._out.discard()


# --------------------------------------------------------------------------------------------------- excerpts


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
        name = _clean_line(self.job_name)  # an Excerpt may be built by hand or deserialised: clean again
        directive = None if self.directive is None else _clean_line(self.directive)
        for name_limit, cmd_limit in ((120, 400), (60, 200), (30, 80), (16, 30)):
            line = self._summary(_shorten_middle(name, name_limit), directive, cmd_limit)
            if len(line.encode("utf-8")) <= SUMMARY_BUDGET_BYTES:
                return line
        return line.encode("utf-8")[:SUMMARY_BUDGET_BYTES].decode("utf-8", "ignore")

    def _summary(self, name: str, directive: str | None, cmd_limit: int) -> str:
        job = f'Semaphore job "{name}"'
        if self.job_id:
            job += f" ({_shorten_middle(_clean_line(self.job_id), 80)})"
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
    """

    def __init__(
        self,
        *,
        job_name: str = "",
        job_id: str = "",
        tail_lines: int = DEFAULT_TAIL_LINES,
        redactor: Redactor | None = None,
        sink: LogSink | None = None,
        max_line_chars: int = DEFAULT_MAX_LINE_CHARS,
        job_result: str | None = None,
        block_chars: int = _BLOCK_CHARS,
    ) -> None:
        if tail_lines < 1:
            raise ConfigurationError(f"the excerpt needs at least one line, got tail_lines={tail_lines}")
        if max_line_chars < 80:
            raise ConfigurationError(f"max_line_chars must be at least 80, got {max_line_chars}")
        self._redactor = redactor if redactor is not None else _NO_REDACTION
        self.job_name = _clean_line(self._redactor(job_name)) if job_name else ""
        self.job_id = _clean_line(job_id)
        self._tail_lines = tail_lines
        self._sink = sink
        self._max_line = max_line_chars
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
            directive = _clean_line(self._redactor(event.directive or ""))
            self._current = _Command(directive, self._tail_lines)
            self._write_full(f"$ {directive}\n")
        elif kind == "cmd_finished":
            if self._current is None:  # a finish without a start: keep its facts anyway
                self._current = _Command(_clean_line(self._redactor(event.directive or "")), self._tail_lines)
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
        head = self._redactor.trim_partial(rest[: self._max_line])
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


def _open_sink(
    log_dir: str | os.PathLike[str] | None, job_name: str, job_id: str, max_log_bytes: int | None
) -> FullLogWriter | None:
    if log_dir is None:
        return None
    try:
        return FullLogWriter(Path(log_dir) / safe_log_filename(job_name, job_id or job_name), max_bytes=max_log_bytes)
    except ReportError as exc:  # the directory cannot be made or written to: a setting to fix, not a bad log
        message = f"cannot save full job logs in {log_dir} ({exc}); choose a writable directory"
        raise ConfigurationError(message) from None


def _run(feed: Callable[[ExcerptBuilder], None], options: _Options) -> Excerpt:
    """The one way an excerpt is made: open the full log (if any), feed the builder, then commit or discard.

    A failure while streaming (the connection dropped, a parse error) leaves no half-written full log behind.
    """
    sink = _open_sink(options.log_dir, options.job_name, options.job_id, options.max_log_bytes)
    builder = ExcerptBuilder(
        job_name=options.job_name,
        job_id=options.job_id,
        tail_lines=options.tail_lines,
        redactor=options.redactor,
        sink=sink,
        max_line_chars=options.max_line_chars,
        job_result=options.job_result,
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


@dataclass(frozen=True)
class _Options:
    """The options both front doors share (see :func:`excerpt_from_events`)."""

    job_name: str
    job_id: str
    job_result: str | None
    tail_lines: int
    redactor: Redactor | None
    log_dir: str | os.PathLike[str] | None
    max_log_bytes: int | None
    max_line_chars: int


def excerpt_from_events(
    events: Iterable[LogEvent | Mapping[str, Any]],
    *,
    job_name: str = "",
    job_id: str = "",
    job_result: str | None = None,
    tail_lines: int = DEFAULT_TAIL_LINES,
    redactor: Redactor | None = None,
    log_dir: str | os.PathLike[str] | None = None,
    max_log_bytes: int | None = DEFAULT_MAX_LOG_BYTES,
    max_line_chars: int = DEFAULT_MAX_LINE_CHARS,
) -> Excerpt:
    """Stream ``events`` into an :class:`Excerpt`.

    ``events`` are :class:`LogEvent` models (``client.job_log(job_id)``, ``logstream.iter_events``) or raw event
    mappings (``client.job_log_events_raw(job_id)``, ``logstream.iter_raw_events``), which parse in half the time
    (no model per event) and give the same excerpt: a raw event is validated as the model would be (a malformed one
    raises the model's ``ModelError``).

    With ``log_dir``, the full cleaned and redacted log is saved there as :func:`safe_log_filename` and the
    excerpt's ``log_path`` names it. ``job_result`` is what the caller already knows (the log's ``job_finished``
    event wins when present).
    """
    options = _Options(job_name, job_id, job_result, tail_lines, redactor, log_dir, max_log_bytes, max_line_chars)
    return _run(lambda builder: builder.feed_many(events), options)


def excerpt_from_text(
    chunks: Iterable[str | bytes] | str | bytes,
    *,
    job_name: str = "",
    job_id: str = "",
    job_result: str | None = None,
    tail_lines: int = DEFAULT_TAIL_LINES,
    redactor: Redactor | None = None,
    log_dir: str | os.PathLike[str] | None = None,
    max_log_bytes: int | None = DEFAULT_MAX_LOG_BYTES,
    max_line_chars: int = DEFAULT_MAX_LINE_CHARS,
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

    options = _Options(job_name, job_id, job_result, tail_lines, redactor, log_dir, max_log_bytes, max_line_chars)
    return _run(feed, options)


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


def fetch_failed_excerpts(
    client: Any,
    pipeline: Pipeline,
    *,
    log_dir: str | os.PathLike[str] | None = None,
    include_stopped: bool = True,
    **options: Any,
) -> dict[str, Excerpt]:
    """Excerpts of every job of ``pipeline`` (a detailed describe) that failed (or was stopped), keyed by job id.

    A job whose log cannot be had (never started, no permission, the API down) still gets an :class:`Excerpt`, with
    no lines and the reason in words: a gate report must not lose the failure because a log was missing.
    """
    from .errors import SemaphoreError

    wanted = ("failed", "stopped") if include_stopped else ("failed",)
    excerpts: dict[str, Excerpt] = {}
    for job in pipeline.jobs:
        if not job.finished or job.result not in wanted:
            continue
        try:
            excerpts[job.job_id] = fetch_excerpt(client, job.job_id, job_name=job.name, log_dir=log_dir, **options)
        except SemaphoreError as exc:
            excerpts[job.job_id] = Excerpt(
                job_name=_clean_line(job.name),
                job_id=job.job_id,
                directive=None,
                exit_code=None,
                job_result=job.result,
                lines=(),
                total_lines=0,
                reason=f"log unavailable: {_clean_line(str(exc))[:300]}",
            )
    return excerpts


def _client_secrets(client: Any) -> tuple[str, ...]:
    """What the client says a log redactor must hide (its API token), through its public ``redaction_values``.

    A client without the method (a test double, another implementation) gives nothing rather than an error.
    """
    values = getattr(client, "redaction_values", None)
    if not callable(values):
        return ()
    return tuple(v for v in values() if isinstance(v, str) and v)


def fetch_excerpt(
    client: Any,
    job_id: str,
    *,
    job: Job | None = None,
    job_name: str | None = None,
    redactor: Redactor | None = None,
    patterns: Sequence[str | re.Pattern[str]] = (),
    hook: Callable[[str], str] | None = None,
    log_dir: str | os.PathLike[str] | None = None,
    tail_lines: int = DEFAULT_TAIL_LINES,
    max_log_bytes: int | None = DEFAULT_MAX_LOG_BYTES,
) -> Excerpt:
    """Convenience for the plugin and the CLI: describe the job, stream its log, build the excerpt.

    The job's ``spec.env_vars`` (from ``describe_job``) and the client's token are added to the redactor unless
    one is given.
    """
    if job is None:
        job = client.describe_job(job_id)
    if redactor is None:
        redactor = Redactor.for_job(extra_secrets=_client_secrets(client), job=job, patterns=patterns, hook=hook)
    # The raw event stream (plain dicts, no model per event) when the client has it: the excerpt builder validates
    # what it reads, so the result is the same, in about a third less time for a large log (bench/logs_excerpt.py).
    raw = getattr(client, "job_log_events_raw", None)
    events: Iterable[LogEvent | Mapping[str, Any]] = raw(job_id) if callable(raw) else client.job_log(job_id)
    try:
        return excerpt_from_events(
            events,
            job_name=job_name or (job.name if job is not None else "") or job_id,
            job_id=job_id,
            job_result=job.result if job is not None else None,
            tail_lines=tail_lines,
            redactor=redactor,
            log_dir=log_dir,
            max_log_bytes=max_log_bytes,
        )
    except ModelError as exc:
        # A malformed event found where the builder read it: the same error ``client.job_log`` raises for one
        # (an APIError naming the request), so callers such as fetch_failed_excerpts need not know which path ran.
        from .client.baseurl import API_PREFIX
        from .errors import APIError

        detail = f"the log could not be read: {redactor(str(exc))}"
        raise APIError("GET", f"{API_PREFIX}/logs/{job_id}", 0, detail=detail) from None
    finally:
        # The stream holds the HTTP response: close it now, not whenever the abandoned generator is collected.
        close = getattr(events, "close", None)
        if callable(close):
            close()
