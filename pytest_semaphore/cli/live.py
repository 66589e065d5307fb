"""The live terminal view: the pipelines being waited on, their blocks and jobs with elapsed times, redrawn in place.

Standard library only (ANSI cursor movement that every terminal emulator in use understands): a progress library
would be a dependency for twenty lines of drawing. Used only when stdout is a terminal; CI logs get plain lines
(:mod:`.output`). A ticker thread redraws once a second so that elapsed times move while nothing else changes.
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, TextIO

from .output import format_elapsed, pipeline_label

if TYPE_CHECKING:
    from ..models import Pipeline

__all__ = ["LiveView"]

#: Cursor up one line, then erase from the cursor to the end of the screen.
_UP = "\x1b[1A"
_CLEAR_DOWN = "\r\x1b[J"
#: How often elapsed times are refreshed, in real seconds.
TICK = 1.0

_MARKS = {"passed": "ok", "failed": "FAILED", "stopped": "stopped", "canceled": "canceled"}


class LiveView:
    """A frame of lines that is erased and drawn again on every change (and every :data:`TICK`)."""

    def __init__(self, stream: TextIO, elapsed: Callable[[], float], *, tick: float | None = TICK) -> None:
        self.stream = stream
        self.elapsed = elapsed
        self._pipelines: dict[str, Pipeline] = {}
        self._since: dict[str, float] = {}  # job or pipeline key -> elapsed when first seen running
        self._ended: dict[str, float] = {}  # key -> elapsed when first seen finished
        self._drawn = 0
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._ticker: threading.Thread | None = None
        if tick:
            self._ticker = threading.Thread(target=self._tick, args=(tick,), name="semaphore-gate-live", daemon=True)
            self._ticker.start()

    def _tick(self, every: float) -> None:
        while not self._stop.wait(every):
            with self._lock:
                if self._pipelines:
                    self._draw()

    def update(self, pipeline: Pipeline) -> None:
        with self._lock:
            self._pipelines[pipeline.ppl_id] = pipeline
            now = self.elapsed()
            self._mark(pipeline.ppl_id, pipeline.state == "running" or pipeline.done, pipeline.done, now)
            for job in pipeline.jobs:
                key = f"{pipeline.ppl_id}/{job.job_id}"
                self._mark(key, job.status in ("running", "stopping", "finished"), job.finished, now)
            self._draw()

    def _mark(self, key: str, started: bool, ended: bool, now: float) -> None:
        if started:
            self._since.setdefault(key, now)
        if ended:
            self._ended.setdefault(key, now)

    def _clock(self, key: str) -> str:
        if key not in self._since:
            return ""
        end = self._ended.get(key, self.elapsed())
        return format_elapsed(end - self._since[key])

    def frame(self) -> list[str]:
        """The lines of the view as it stands (what is drawn)."""
        lines: list[str] = []
        for pipeline in self._pipelines.values():
            state = pipeline.result if pipeline.done and pipeline.result else (pipeline.state or "unknown")
            lines.append(f"{pipeline_label(pipeline)}  {state}  {self._clock(pipeline.ppl_id)}".rstrip())
            for block in pipeline.blocks:
                block_state = block.result if block.done and block.result else (block.state or "")
                lines.append(f"  {block.name}  {block_state}".rstrip())
                for job in block.jobs:
                    status = _MARKS.get(job.result or "", job.result) if job.finished else (job.status or "")
                    clock = self._clock(f"{pipeline.ppl_id}/{job.job_id}")
                    lines.append(f"    {job.name}  {status}  {clock}".rstrip())
        return lines

    def _erase(self) -> None:
        if self._drawn:
            self.stream.write(_UP * self._drawn + _CLEAR_DOWN)
            self._drawn = 0

    def _draw(self) -> None:
        size = shutil.get_terminal_size()
        width = max(20, size.columns - 1)  # a wrapped line would break the cursor arithmetic
        lines = [line[:width] for line in self.frame()]
        rows = max(3, size.lines - 2)  # the cursor cannot move above the screen's top: the frame must fit
        if len(lines) > rows:
            lines = [*lines[: rows - 1], f"  ... and {len(lines) - rows + 1} more lines"]
        self._erase()
        self.stream.write("".join(line + "\n" for line in lines))
        self.stream.flush()
        self._drawn = len(lines)

    def print_above(self, text: str) -> None:
        """Print ``text`` above the frame (which is drawn again below it)."""
        with self._lock:
            self._erase()
            self.stream.write(text + "\n")
            if self._pipelines:
                self._draw()
            else:
                self.stream.flush()

    def close(self) -> None:
        """Stop the ticker and leave the last frame on the screen."""
        self._stop.set()
        if self._ticker is not None:
            self._ticker.join()
        with self._lock:
            if self._pipelines:
                self._draw()
            self._drawn = 0
