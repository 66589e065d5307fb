"""Where ``semaphore-gate`` writes, and in which shape: people's text, plain progress lines, JSON, JSON lines.

Why one object: every subcommand reports the same few things (a pipeline changed, a promotion was triggered, a job
failed, the verdict) and the output options (``--json``, ``--jsonl``, ``-q``/``-v``, a terminal or not) must treat
them alike. The rules:

* ``--json``: one JSON document on stdout at the end; people's text goes to stderr.
* ``--jsonl``: one JSON object per line on stdout, one per event (a state change, a promotion triggered, the
  verdict); people's text goes to stderr.
* otherwise people's text on stdout; on a terminal a live view of the pipelines redrawn in place
  (:mod:`.live`), elsewhere one plain line per change (never one per poll) and no escape codes, so CI logs stay
  readable.
* ``-q`` drops the progress lines, ``-qq`` everything but errors; ``-v`` shows progress in the JSON modes too.
* errors always go to stderr, whatever the mode.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from ..models import Pipeline
    from .live import LiveView

__all__ = ["Output", "format_elapsed", "pipeline_label"]


def pipeline_label(pipeline: Pipeline) -> str:
    """How a pipeline is named in a line: its name and the first 8 characters of its id (enough to tell apart)."""
    return f"{pipeline.name or 'pipeline'} ({pipeline.ppl_id[:8]})"


def format_elapsed(seconds: float) -> str:
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m{seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


class Output:
    """The command's voice. ``monotonic`` is the waiting engine's clock, so elapsed times are simulated ones in a
    rehearsal and tests see the same lines every run."""

    def __init__(
        self,
        *,
        mode: str = "text",
        verbosity: int = 0,
        stdout: TextIO,
        stderr: TextIO,
        monotonic: Callable[[], float],
        live: bool | None = None,
    ) -> None:
        if mode not in ("text", "json", "jsonl"):
            raise ValueError(f"unknown output mode {mode!r}")
        self.mode = mode
        self.verbosity = verbosity
        self.stdout = stdout
        self.stderr = stderr
        self.monotonic = monotonic
        self.started = monotonic()
        self.people = stdout if mode == "text" else stderr
        if live is None:
            live = mode == "text" and verbosity >= 0 and _is_terminal(stdout)
        self.live = live
        self._lock = threading.RLock()
        self._seen: dict[str, tuple[object, ...]] = {}
        self._live: LiveView | None = None

    # ------------------------------------------------------------------------------------------------ words

    def elapsed(self) -> float:
        return self.monotonic() - self.started

    def use_clock(self, monotonic: Callable[[], float]) -> None:
        """Measure elapsed times on another clock from now on (the demo's simulators each have their own)."""
        with self._lock:
            self.monotonic = monotonic
            self.started = monotonic()

    def say(self, text: str) -> None:
        """Ordinary information: what is done, excerpts, the verdict (silenced by ``-qq``)."""
        if self.verbosity >= -1:
            self._write(self.people, text)

    def detail(self, text: str) -> None:
        """Information only ``-v`` asks for."""
        if self.verbosity > 0:
            self._write(self.people, text)

    def error(self, text: str) -> None:
        """Always printed, always on stderr."""
        self._write(self.stderr, text)

    def _write(self, stream: TextIO, text: str) -> None:
        with self._lock:
            if self._live is not None and stream is self.stdout:
                self._live.print_above(text)
            else:
                print(text, file=stream, flush=True)

    # ------------------------------------------------------------------------------------------------ events

    def event(self, name: str, /, **fields: Any) -> None:
        """One ``--jsonl`` line (nothing in the other modes): ``{"event": name, "elapsed": s, ...fields}``."""
        if self.mode != "jsonl":
            return
        record = {"event": name, "elapsed": round(self.elapsed(), 3), **fields}
        with self._lock:
            print(json.dumps(record, sort_keys=False, default=str), file=self.stdout, flush=True)

    def document(self, doc: Mapping[str, Any]) -> None:
        """The ``--json`` result (nothing in the other modes)."""
        if self.mode == "json":
            with self._lock:
                print(json.dumps(doc, indent=2, default=str), file=self.stdout, flush=True)

    # ------------------------------------------------------------------------------------------------ progress

    def watch(self, pipeline: Pipeline) -> None:
        """The ``on_change`` callback of every wait: one line (or event) per pipeline or job whose state changed."""
        with self._lock:
            for key, state, line, fields in _changes(pipeline):
                if self._seen.get(key) == state:
                    continue
                self._seen[key] = state
                self.event(fields.pop("kind"), **fields)
                if not self.live and self.mode == "text" and self.verbosity >= 0:
                    self.say(f"[{format_elapsed(self.elapsed()):>6}] {line}")
                elif self.mode != "text":
                    self.detail(line)
            if self.live:
                if self._live is None:
                    from .live import LiveView

                    self._live = LiveView(self.stdout, self.elapsed)
                self._live.update(pipeline)

    def close(self) -> None:
        """End the live view, if one is drawn (its last frame stays on the screen; the next wait starts another)."""
        with self._lock:
            if self._live is not None:
                self._live.close()
                self._live = None


def _changes(pipeline: Pipeline) -> list[tuple[str, tuple[object, ...], str, dict[str, Any]]]:
    """Every observable part of a pipeline: (key, state, plain line, event fields)."""
    label = pipeline_label(pipeline)
    state = pipeline.state or "unknown"
    if pipeline.done:
        state += f" {pipeline.result or 'without a result'}"
        if pipeline.result != "passed" and pipeline.result_reason:
            state += f" ({pipeline.result_reason})"
    out: list[tuple[str, tuple[object, ...], str, dict[str, Any]]] = [
        (
            pipeline.ppl_id,
            (pipeline.state, pipeline.result, pipeline.result_reason),
            f"{label}: {state}",
            {
                "kind": "pipeline",
                "ppl_id": pipeline.ppl_id,
                "wf_id": pipeline.wf_id,
                "name": pipeline.name,
                "state": pipeline.state,
                "result": pipeline.result,
                "result_reason": pipeline.result_reason,
            },
        )
    ]
    for block in pipeline.blocks:
        for job in block.jobs:
            job_state = job.status or "unknown"
            if job.finished:
                job_state += f" {job.result or ''}".rstrip()
            out.append(
                (
                    f"{pipeline.ppl_id}/{job.job_id or block.name + '/' + job.name}",
                    (job.status, job.result),
                    f"{label} > {block.name} > {job.name}: {job_state}",
                    {
                        "kind": "job",
                        "ppl_id": pipeline.ppl_id,
                        "block": block.name,
                        "name": job.name,
                        "job_id": job.job_id,
                        "status": job.status,
                        "result": job.result,
                    },
                )
            )
    if pipeline.done:  # the verdict comes after the jobs' last changes, as it happened
        out.append(out.pop(0))
    return out


def _is_terminal(stream: TextIO) -> bool:
    """A live view only where a person watches: a terminal that understands cursor movement."""
    try:
        tty = stream.isatty()
    except (AttributeError, ValueError):
        return False
    return tty and os.environ.get("TERM", "") not in ("", "dumb") and "CI" not in os.environ
