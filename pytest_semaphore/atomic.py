"""Files that appear whole or not at all: JUnit reports, gate summaries and saved job logs.

A gate that dies half-way (a timeout, Ctrl-C, a full disk) must not leave a half-written report for Semaphore's
strict test-results parser, nor clobber the report pytest wrote. Everything is written to a temporary file beside
the target and renamed into place (``os.replace`` is atomic within a directory); on any failure the temporary file
is removed and the target is left as it was. One mechanism for every writer, so they cannot drift apart.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from types import TracebackType
from typing import IO

from .errors import ReportError

__all__ = ["AtomicFile"]

#: Permissions of a new file: readable by the CI's artifact uploader whoever runs it (a temporary file is 0600).
NEW_FILE_MODE = 0o644


class AtomicFile:
    """A binary file that replaces ``path`` when committed, keeping the permissions of the file it replaces.

    Use as a context manager (committed on a clean exit, discarded on an exception) or call :meth:`commit` /
    :meth:`discard` yourself when the writing spans several calls (a streamed log). ``what`` names the file in
    errors ("report", "summary", "full log"); every ``OSError`` becomes a :class:`ReportError` naming the path.
    """

    def __init__(self, path: str | os.PathLike[str], *, what: str) -> None:
        self.path = Path(path)
        self.what = what
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp_name = tempfile.mkstemp(dir=self.path.parent, prefix=f".{self.path.name[:60]}.", suffix=".tmp")
        except OSError as exc:
            raise ReportError(f"{self.path}: cannot write the {what} there ({exc.strerror or exc})") from None
        self._tmp = Path(tmp_name)
        self.file: IO[bytes] = os.fdopen(fd, "wb")
        self._open = True

    def write(self, data: bytes) -> None:
        """Write to the temporary file; a failure (a full disk, a file size limit) throws the temporary file away
        and is a :class:`ReportError` naming the target, so a writer spanning several calls needs no handler."""
        try:
            self.file.write(data)
        except OSError as exc:
            self.discard()
            raise ReportError(f"{self.path}: cannot write the {self.what} ({exc.strerror or exc})") from None

    def commit(self) -> Path:
        """Close the temporary file and rename it into place (idempotent once done)."""
        if not self._open:
            return self.path
        self._open = False
        try:
            self.file.close()
            try:
                mode = self.path.stat().st_mode & 0o7777
            except FileNotFoundError:
                mode = NEW_FILE_MODE
            os.chmod(self._tmp, mode)
            os.replace(self._tmp, self.path)
        except OSError as exc:  # a directory in the way, a full disk: say where, leave nothing behind
            self._tmp.unlink(missing_ok=True)
            raise ReportError(f"{self.path}: cannot write the {self.what} ({exc.strerror or exc})") from None
        return self.path

    def discard(self) -> None:
        """Throw the temporary file away; the target is untouched (idempotent)."""
        if not self._open:
            return
        self._open = False
        with contextlib.suppress(OSError):  # closing flushes: on a full disk that fails again, for unwanted data
            self.file.close()
        self._tmp.unlink(missing_ok=True)

    def __enter__(self) -> AtomicFile:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc_type is None:
            self.commit()
            return
        self.discard()
        if isinstance(exc, OSError):
            raise ReportError(f"{self.path}: cannot write the {self.what} ({exc.strerror or exc})") from None
