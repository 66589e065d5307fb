"""What a gate did, kept for its reports: the pipelines waited on or promoted, the promotions, the errors.

Why one record for both faces: the terminal summary, the ``--json`` result the next job reads and the Markdown/HTML
summary must list the same pipelines with the same verdicts, whether they came from a fixture in an xdist worker,
from a session action, or from ``semaphore-gate``. Entries travel between processes as plain JSON-able dicts
(:meth:`PipelineEntry.to_dict`), since a worker can only hand its controller serialisable data.

The JSON document (``docs/plugin.md`` describes it) is versioned and never contains the token.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import json
import os
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .atomic import AtomicFile
from .logs import Excerpt
from .models import Pipeline
from .waiting import outcome

__all__ = ["JSON_VERSION", "GateRecord", "PipelineEntry", "duration_text"]

#: Version of the ``--json`` document; bumped when a field changes meaning or disappears.
JSON_VERSION = 1


def duration_text(pipeline: Pipeline) -> str:
    """``12m 03s`` from the pipeline's creation to its end (``-`` while either is unknown)."""
    if pipeline.created_at is None or pipeline.done_at is None:
        return "-"
    seconds = int(max((pipeline.done_at - pipeline.created_at).total_seconds(), 0))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h {minutes:02d}m {secs:02d}s"
    return f"{minutes}m {secs:02d}s" if minutes else f"{secs}s"


@dataclass(frozen=True)
class PipelineEntry:
    """A done pipeline a gate waited on: why (``role``: ``wait-for``, ``test`` or ``promoted``), its excerpts, and
    the test (``nodeid``) or promotion (``promotion``) it belongs to."""

    role: str
    pipeline: Pipeline
    excerpts: tuple[Excerpt, ...] = ()
    nodeid: str | None = None
    promotion: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "role": self.role,
            "pipeline": self.pipeline.raw,
            "excerpts": [dataclasses.asdict(e) for e in self.excerpts],
            "nodeid": self.nodeid,
            "promotion": self.promotion,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PipelineEntry:
        excerpts = tuple(Excerpt(**{**e, "lines": tuple(e["lines"])}) for e in data.get("excerpts", ()))
        return cls(
            role=str(data["role"]),
            pipeline=Pipeline.from_api(data["pipeline"]),
            excerpts=excerpts,
            nodeid=data.get("nodeid"),
            promotion=data.get("promotion"),
        )


class GateRecord:
    """Thread-safe record of one gate run (a pytest session, a ``semaphore-gate`` invocation)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.pipelines: list[PipelineEntry] = []
        self.promotions: list[dict[str, Any]] = []
        self.errors: list[tuple[str, str]] = []

    def add_pipeline(self, entry: PipelineEntry) -> None:
        with self._lock:
            self.pipelines.append(entry)

    def add_promotion(self, summary: Mapping[str, Any]) -> None:
        """A promotion, as the gate's ``PromoteResult.to_dict()`` describes it (action, ids, outcome, notes)."""
        with self._lock:
            self.promotions.append(dict(summary))

    def add_error(self, kind: str, message: str) -> None:
        """An error that ended a gate action: ``kind`` from :data:`pytest_semaphore.verdicts.ERROR_KINDS`."""
        with self._lock:
            self.errors.append((kind, message))

    # --------------------------------------------------------------------------------------------------- output

    def latest(self) -> list[PipelineEntry]:
        """One entry per pipeline, in the order first seen: the richest (with excerpts, else described in detail,
        else the last), since the same pipeline waited on by several tests is described in several ways."""
        with self._lock:
            entries = list(self.pipelines)
        by_id: dict[str, PipelineEntry] = {}
        for entry in entries:
            known = by_id.get(entry.pipeline.ppl_id)
            if known is None or _richness(entry) >= _richness(known):
                by_id[entry.pipeline.ppl_id] = entry
        return list(by_id.values())

    def summary_lines(self, base_url: str | None = None) -> list[str]:
        """One line per pipeline (verdict, duration, role, URL) and per promotion, then each error."""
        from .junit import pipeline_url

        lines = []
        for entry in self.latest():
            ppl = entry.pipeline
            what = entry.role if entry.nodeid is None else f"{entry.role} {entry.nodeid}"
            if entry.promotion:
                what = f"promoted by {entry.promotion!r}"
            line = f"{outcome(ppl).value.upper():8} {ppl.ppl_id} {ppl.name or ''} ({duration_text(ppl)}; {what})"
            if base_url and ppl.wf_id:
                line += f" {pipeline_url(base_url, ppl.wf_id, ppl.ppl_id)}"
            lines.append(" ".join(line.split()))
        for promo in self.promotions:
            line = f"PROMOTION {promo['name']!r} of {promo['ppl_id']}: {promo['action']}"
            scheduled = (promo.get("promotion") or {}).get("scheduled_pipeline_id")
            if scheduled:
                line += f" -> {scheduled}"
            if promo.get("outcome"):
                line += f" ({promo['outcome']})"
            lines.append(line)
            lines += [f"  {note}" for note in promo.get("notes", ())]
        lines += [f"ERROR ({kind}) {message}" for kind, message in self.errors]
        return lines

    def to_json(self, *, base_url: str | None = None, extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The document for the next job: pipelines with verdicts, promotions with the promoted ``ppl_id``, errors."""
        from .junit import pipeline_url

        pipelines = []
        for entry in self.latest():
            ppl = entry.pipeline
            pipelines.append(
                {
                    "ppl_id": ppl.ppl_id,
                    "wf_id": ppl.wf_id,
                    "name": ppl.name,
                    "role": entry.role,
                    "nodeid": entry.nodeid,
                    "promotion": entry.promotion,
                    "state": ppl.state,
                    "result": ppl.result,
                    "result_reason": ppl.result_reason,
                    "outcome": outcome(ppl).value,
                    "created_at": _iso(ppl.created_at),
                    "done_at": _iso(ppl.done_at),
                    "url": pipeline_url(base_url, ppl.wf_id, ppl.ppl_id) if base_url and ppl.wf_id else None,
                    "failed_jobs": [
                        {"job_id": e.job_id, "name": e.job_name, "command": e.directive, "exit_code": e.exit_code}
                        for e in entry.excerpts
                    ],
                }
            )
        return {
            "version": JSON_VERSION,
            **(extra or {}),
            "pipelines": pipelines,
            "promotions": list(self.promotions),
            "errors": [{"kind": kind, "message": message} for kind, message in self.errors],
        }

    def write_json(self, path: str | os.PathLike[str], **kwargs: Any) -> Path:
        """Write :meth:`to_json` atomically."""
        target = Path(path)
        with AtomicFile(target, what="JSON result") as out:
            out.file.write((json.dumps(self.to_json(**kwargs), indent=2) + "\n").encode("utf-8"))
        return target

    def write_summary(self, path: str | os.PathLike[str], **kwargs: Any) -> Path:
        """The jinja2 gate summary (``.md`` or ``.html`` by suffix) of every pipeline recorded."""
        from .report import write_summary

        entries = self.latest()
        excerpts = {e.job_id: e for entry in entries for e in entry.excerpts}
        return write_summary(path, [e.pipeline for e in entries], excerpts=excerpts, **kwargs)


def _richness(entry: PipelineEntry) -> int:
    return 2 if entry.excerpts else 1 if entry.pipeline.blocks else 0


def _iso(moment: _dt.datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def entries_from(data: Iterable[Mapping[str, Any]]) -> Sequence[PipelineEntry]:
    """Entries serialised with :meth:`PipelineEntry.to_dict` (from another process)."""
    return [PipelineEntry.from_dict(d) for d in data]
