"""Job logs into something a person on call can read: the failing command, its exit code and its last lines.

Three properties drive the design (docs/logs.md tells the whole story):

* **Streaming.** Logs reach hundreds of megabytes. Events are consumed one at a time, output is processed in blocks
  of whole lines, and only the last lines of the current and of the failing command are kept; the full log is
  written to disk as it streams.
* **Clean text.** Semaphore's Test Reports read JUnit with Go's strict XML parser, so ANSI sequences and every
  character XML 1.0 forbids are removed and ``\\r`` progress lines are collapsed to their final state.
* **No secrets.** The API token, secret-looking environment values and user patterns are redacted, after output
  fragments are joined into whole lines.

The parts, each doing one thing:

* :mod:`.clean`: ANSI and control-character cleaning (``clean_text``);
* :mod:`.redact`: what a secret is and how it is hidden (``Redactor``, ``looks_secret``);
* :mod:`.files`: full logs on disk (``safe_log_filename``, ``FullLogWriter``, written atomically);
* :mod:`.excerpt`: the builder, ``Excerpt``, ``ExcerptOptions`` and the functions taking plain data;
* :mod:`.fetch`: excerpts fetched through a client (``LogSource``, ``fetch_excerpt``, ``fetch_failed_excerpts``).
"""

from __future__ import annotations

from .clean import clean_text
from .excerpt import (
    DEFAULT_MAX_LINE_CHARS,
    DEFAULT_TAIL_LINES,
    SUMMARY_BUDGET_BYTES,
    Excerpt,
    ExcerptBuilder,
    ExcerptOptions,
    events_to_text,
    excerpt_from_events,
    excerpt_from_text,
)
from .fetch import LogSource, fetch_excerpt, fetch_failed_excerpts
from .files import DEFAULT_MAX_LOG_BYTES, FullLogWriter, LogSink, safe_log_filename
from .redact import MIN_SECRET_CHARS, REDACTED, Redactor, looks_secret

__all__ = [
    "DEFAULT_MAX_LINE_CHARS",
    "DEFAULT_MAX_LOG_BYTES",
    "DEFAULT_TAIL_LINES",
    "MIN_SECRET_CHARS",
    "REDACTED",
    "SUMMARY_BUDGET_BYTES",
    "Excerpt",
    "ExcerptBuilder",
    "ExcerptOptions",
    "FullLogWriter",
    "LogSink",
    "LogSource",
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
