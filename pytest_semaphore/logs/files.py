"""Full job logs on disk: a file name safe whatever the job is called, and a writer that appears whole or not at all.

The excerpt builder writes every cleaned, redacted block here as it streams; the file is a temporary one beside its
final name until the log has been read to the end (``pytest_semaphore.atomic``), so a broken download leaves nothing.
"""

from __future__ import annotations

import hashlib
import os
import re
import unicodedata
from pathlib import Path
from typing import Protocol

from ..atomic import AtomicFile
from ..errors import ConfigurationError, ReportError

__all__ = ["DEFAULT_MAX_LOG_BYTES", "FullLogWriter", "LogSink", "open_full_log", "safe_log_filename"]

#: Size cap of a saved full log; what goes beyond is cut with a note (the excerpt still shows the end).
DEFAULT_MAX_LOG_BYTES = 64 * 1024 * 1024

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
            self._out.write(head + note.encode("utf-8"))
            self.written += len(head)
            self.truncated = True
            return
        self._out.write(data)
        self.written += len(data)

    def commit(self) -> Path:
        return self._out.commit()

    def discard(self) -> None:
        self._out.discard()


def open_full_log(
    log_dir: str | os.PathLike[str] | None, job_name: str, job_id: str, max_log_bytes: int | None
) -> FullLogWriter | None:
    """The writer for a job's full log in ``log_dir`` (``None`` without one); an unusable directory is a setting
    to fix, so it is a :class:`~pytest_semaphore.errors.ConfigurationError` naming it."""
    if log_dir is None:
        return None
    try:
        return FullLogWriter(Path(log_dir) / safe_log_filename(job_name, job_id or job_name), max_bytes=max_log_bytes)
    except ReportError as exc:  # the directory cannot be made or written to: a setting to fix, not a bad log
        message = f"cannot save full job logs in {log_dir} ({exc}); choose a writable directory"
        raise ConfigurationError(message) from None
