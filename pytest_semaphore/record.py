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
from .verdicts import error_kind, error_message
from .waiting import outcome

__all__ = ["JSON_VERSION", "GateRecord", "PipelineEntry", "duration_text", "excerpt_to_json", "pipeline_to_json"]

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
        self.errors: list[dict[str, Any]] = []

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
            self.errors.append({"kind": kind, "message": message})

    def add_failure(
        self, exc: BaseException, *, kind: str | None = None, base_url: str | None = None
    ) -> dict[str, Any]:
        """An error from the core that ended a gate action, as both faces report it: its ``kind`` (by default
        :func:`~pytest_semaphore.verdicts.error_kind`), its words (:func:`~pytest_semaphore.verdicts.error_message`),
        its ``type`` and ``last_seen``, the last pipeline observed (a timeout's, or the one that failed fast).
        Returns the entry the ``--json`` document lists under ``errors``."""
        last: Pipeline | None = getattr(exc, "last_seen", None) or getattr(exc, "pipeline", None)
        entry = {
            "kind": kind or error_kind(exc),
            "message": error_message(exc),
            "type": type(exc).__name__,
            "last_seen": pipeline_to_json(last, base_url) if isinstance(last, Pipeline) else None,
        }
        with self._lock:
            self.errors.append(entry)
        return entry

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
            verdict = outcome(ppl).value if ppl.done else ppl.state or "unknown"  # failed fast: still running
            line = f"{verdict.upper():8} {ppl.ppl_id} {ppl.name or ''} ({duration_text(ppl)}; {what})"
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
        lines += [f"ERROR ({error['kind']}) {error['message']}" for error in self.errors]
        return lines

    def to_json(self, *, base_url: str | None = None, extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The document for the next job: pipelines with verdicts, promotions with the promoted ``ppl_id``, errors."""
        pipelines = [
            {
                **pipeline_to_json(entry.pipeline, base_url),
                "role": entry.role,
                "nodeid": entry.nodeid,
                "promotion": entry.promotion,
                "failed_jobs": [
                    {"job_id": e.job_id, "name": e.job_name, "command": e.directive, "exit_code": e.exit_code}
                    for e in entry.excerpts
                ],
            }
            for entry in self.latest()
        ]
        return {
            "version": JSON_VERSION,
            **(extra or {}),
            "pipelines": pipelines,
            "promotions": list(self.promotions),
            "errors": [dict(error) for error in self.errors],
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


def pipeline_to_json(pipeline: Pipeline, base_url: str | None = None) -> dict[str, Any]:
    """A pipeline as plain data for the JSON documents: the API's field names, timestamps as ISO 8601, UI URLs, its
    blocks and jobs (when described in detail), and ``outcome`` once done."""
    from .junit import job_url, pipeline_url

    return {
        "ppl_id": pipeline.ppl_id,
        "wf_id": pipeline.wf_id,
        "name": pipeline.name,
        "project_id": pipeline.project_id,
        "branch_name": pipeline.branch_name,
        "commit_sha": pipeline.commit_sha,
        "state": pipeline.state,
        "result": pipeline.result,
        "result_reason": pipeline.result_reason,
        "outcome": outcome(pipeline).value if pipeline.done else None,
        "created_at": _iso(pipeline.created_at),
        "done_at": _iso(pipeline.done_at),
        "promotion_of": pipeline.promotion_of,
        "url": pipeline_url(base_url, pipeline.wf_id, pipeline.ppl_id) if base_url and pipeline.wf_id else None,
        "blocks": [
            {
                "name": block.name,
                "state": block.state,
                "result": block.result,
                "jobs": [
                    {
                        "name": job.name,
                        "job_id": job.job_id,
                        "index": job.index,
                        "status": job.status,
                        "result": job.result,
                        "url": job_url(base_url, job.job_id) if base_url and job.job_id else None,
                    }
                    for job in block.jobs
                ],
            }
            for block in pipeline.blocks
        ],
    }


def excerpt_to_json(excerpt: Excerpt, base_url: str | None = None) -> dict[str, Any]:
    """A failed job's excerpt as plain data: the failing command, its exit code, the last lines, the job's page."""
    from .junit import job_url

    return {
        "job_id": excerpt.job_id,
        "job_name": excerpt.job_name,
        "job_result": excerpt.job_result,
        "command": excerpt.directive,
        "exit_code": excerpt.exit_code,
        "summary": excerpt.summary(),
        "lines": list(excerpt.lines),
        "total_lines": excerpt.total_lines,
        "log_path": excerpt.log_path,
        "url": job_url(base_url, excerpt.job_id) if base_url and excerpt.job_id else None,
    }


def _richness(entry: PipelineEntry) -> int:
    return 2 if entry.excerpts else 1 if entry.pipeline.blocks else 0


def _iso(moment: _dt.datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def entries_from(data: Iterable[Mapping[str, Any]]) -> Sequence[PipelineEntry]:
    """Entries serialised with :meth:`PipelineEntry.to_dict` (from another process)."""
    return [PipelineEntry.from_dict(d) for d in data]
