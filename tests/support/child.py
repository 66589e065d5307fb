"""A child process a test talks to while it runs: its output read as it comes, waited on by content, always reaped.

Why: a test that signals a running command must know *when* the command is in the state it signals it in. The only
honest moment is when the command says so, so the test waits for a marker line of its output (with a generous bound,
so a hung child fails the test instead of hanging the suite) rather than for an amount of time. Threads read stdout
and stderr as they come (a child filling one pipe while the test reads the other would otherwise deadlock), and
leaving the ``with`` block kills a child still running, reaps it and closes both pipes, whatever went wrong: a pipe
left open would surface as a ``ResourceWarning`` (an error under ``filterwarnings = error``) in some later test.
"""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import IO

__all__ = ["Child"]

#: Bound of every wait on a child: far more than a healthy child needs on a loaded machine, finite so a hung child
#: fails its test.
PATIENCE = 120.0


class Child:
    """``with Child(command, cwd=..., env=...) as child``: ``child.wait_for("marker")``, ``child.send_signal(...)``,
    ``child.finish()`` for the exit code and the whole output."""

    def __init__(self, command: Sequence[str], *, cwd: Path, env: Mapping[str, str] | None = None) -> None:
        self.command = list(command)
        self.process = subprocess.Popen(
            self.command,
            cwd=cwd,
            env=None if env is None else dict(env),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            encoding="utf-8",
            errors="replace",
        )
        self._changed = threading.Condition()
        self._out: list[str] = []
        self._err: list[str] = []
        self._open = 2
        self._readers = [
            threading.Thread(target=self._pump, args=(self.process.stdout, self._out), daemon=True),
            threading.Thread(target=self._pump, args=(self.process.stderr, self._err), daemon=True),
        ]
        for reader in self._readers:
            reader.start()

    def _pump(self, stream: IO[str] | None, into: list[str]) -> None:
        assert stream is not None
        try:
            for line in iter(stream.readline, ""):
                with self._changed:
                    into.append(line)
                    self._changed.notify_all()
        except (OSError, ValueError):  # the pipe was closed under us: the child is gone
            pass
        finally:
            with self._changed:
                self._open -= 1
                self._changed.notify_all()

    @property
    def stdout(self) -> str:
        with self._changed:
            return "".join(self._out)

    @property
    def stderr(self) -> str:
        with self._changed:
            return "".join(self._err)

    def wait_for(self, marker: str, *, timeout: float = PATIENCE) -> str:
        """The first line of stdout containing ``marker``, once the child has printed it. ``AssertionError`` with
        everything printed so far if the child ends, closes stdout or stays silent for ``timeout`` seconds first."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                found = next((line for line in self._out if marker in line), None)
                if found is not None:
                    return found
                left = deadline - time.monotonic()
                if self._open == 0 or left <= 0:
                    why = "ended" if self._open == 0 else f"did not print it within {timeout:g} s"
                    raise AssertionError(
                        f"waiting for {marker!r}: the child {why}\n--- stdout\n{''.join(self._out)}"
                        f"--- stderr\n{''.join(self._err)}"
                    )
                self._changed.wait(left)

    def send_signal(self, signum: int) -> None:
        self.process.send_signal(signum)

    def finish(self, *, timeout: float = PATIENCE) -> subprocess.CompletedProcess[str]:
        """Wait for the child to end (``AssertionError`` with its output if it does not within ``timeout``); its
        exit code and whole output."""
        try:
            code = self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(
                f"the child did not end within {timeout:g} s\n--- stdout\n{self.stdout}--- stderr\n{self.stderr}"
            ) from None
        for reader in self._readers:
            reader.join(timeout)
        return subprocess.CompletedProcess(self.command, code, self.stdout, self.stderr)

    def close(self) -> None:
        """Kill the child if it still runs, reap it, close its pipes."""
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        for reader in self._readers:
            reader.join(PATIENCE)
        for stream in (self.process.stdout, self.process.stderr):
            if stream is not None:
                stream.close()

    def __enter__(self) -> Child:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()
