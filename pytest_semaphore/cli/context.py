"""What one run of a subcommand works with: its settings, client, pacing and output, and the JSON result it builds.

Why an object: every subcommand needs the same four things built the same way (a client for the configured URL and
token, the waiting engine's pacing, the output mode) and reports into the same result document, which ``--json``
prints even when the command ends with an error.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from .. import errors
from ..record import GateRecord, PipelineEntry, excerpt_to_json
from ..settings import Settings
from ..waiting import Pacing
from .exitcodes import exit_code_for
from .output import Output, pipeline_label

if TYPE_CHECKING:
    from ..client import SemaphoreClient
    from ..logs import Excerpt, ExcerptOptions
    from ..models import Pipeline
    from ..waiting import PromoteEvent

__all__ = ["Context"]


class Context:
    """One run: ``args`` as parsed, the resolved ``settings``, the waiting engine's ``pacing``, the ``out``put, the
    ``environ`` (which job this process runs in), ``record`` (what was waited on and promoted, the record the pytest
    face keeps too) and ``result``, what each command adds to the ``--json`` document (:meth:`document`)."""

    def __init__(
        self,
        args: argparse.Namespace,
        settings: Settings,
        pacing: Pacing,
        output: Output,
        environ: Mapping[str, str],
    ) -> None:
        self.args = args
        self.environ = environ
        self.settings = settings
        self.pacing = pacing
        self.out = output
        self.record = GateRecord()
        self.result: dict[str, Any] = {"command": args.command}
        self.told: set[str] = set()
        self._client: SemaphoreClient | None = None

    # ------------------------------------------------------------------------------------------------ building

    @property
    def client(self) -> SemaphoreClient:
        """The API client, built on first use (so ``simulate`` and ``demo`` need no token)."""
        if self._client is None:
            self._client = self.settings.client(sleep=self.pacing.sleep, monotonic=self.pacing.monotonic)
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def waits(self) -> dict[str, Any]:
        """The keyword arguments every wait of this command shares: pacing, progress and the cancel options."""
        return {"on_change": self.out.watch, "pacing": self.pacing, **self.settings.wait_options()}

    def excerpt_options(self) -> ExcerptOptions:
        """How failed jobs' excerpts are made: ``--lines`` of output, full logs into ``--log-dir``."""
        return self.settings.excerpt_options()

    def promotion_events(
        self, ppl_id: str, name: str, parameters: Mapping[str, str], *, indent: str = ""
    ) -> Callable[[PromoteEvent], None]:
        """The ``on_event`` of the promotion core: each step in words, and as a ``--jsonl`` event
        (``promotion_triggered``, or ``promote_step`` with its ``kind``). Remembers what it said in ``self.told``."""

        def report(event: PromoteEvent) -> None:
            self.told.add(event.message)
            self.out.say(indent + event.message)
            record = event.promotion
            self.out.event(
                "promotion_triggered" if event.kind == "triggered" else "promote_step",
                kind=event.kind,
                ppl_id=ppl_id,
                name=name,
                parameters=dict(parameters),
                scheduled_pipeline_id=record.scheduled_pipeline_id if record is not None else None,
            )

        return report

    # ------------------------------------------------------------------------------------------------ verdicts

    def verdict(
        self, pipelines: Sequence[Pipeline], *, role: str, promotion: str | None = None, extra_error: str | None = None
    ) -> int:
        """Report done pipelines: the excerpts of their failed jobs, then the worst outcome; return its exit code.

        Each is recorded with its ``role`` (``wait``, ``run``, ``promoted``) and the ``promotion`` that made it.
        """
        from ..waiting import Outcome, describe_detailed, outcome, worst_outcome

        detailed = describe_detailed(self.client, pipelines, pacing=self.pacing)
        for pipeline in detailed:
            excerpts = self.show_failures([pipeline]) if outcome(pipeline) is not Outcome.PASSED else ()
            self.record.add_pipeline(PipelineEntry(role, pipeline, tuple(excerpts), promotion=promotion))
        worst = Outcome.ERROR if extra_error else worst_outcome(detailed)
        names = ", ".join(f"{pipeline_label(p)} {outcome(p)}" for p in detailed)
        self.finish(worst.value, worst.exit_code, f"{names}" + (f"; {extra_error}" if extra_error else ""))
        return worst.exit_code

    def show_failures(self, pipelines: Iterable[Pipeline]) -> list[Excerpt]:
        """The excerpts of the failed (or stopped) jobs of detailed pipelines: shown, kept for ``--json``
        (``failures``, with their last lines) and returned."""
        from ..logs import fetch_failed_excerpts

        excerpts: dict[str, Excerpt] = {}
        for pipeline in pipelines:
            excerpts.update(fetch_failed_excerpts(self.client, pipeline, options=self.excerpt_options()))
        self.show_excerpts(excerpts.values(), self.client.base_url)
        failures = self.result.setdefault("failures", [])
        failures += [excerpt_to_json(e, self.client.base_url) for e in excerpts.values()]
        return list(excerpts.values())

    def show_excerpts(self, excerpts: Iterable[Excerpt], base_url: str) -> None:
        """Each failure's excerpt (failing command, exit code, last lines) and the job's page in the UI."""
        from ..junit import job_url

        for excerpt in excerpts:
            self.out.say("")
            self.out.say(excerpt.render())
            if excerpt.job_id:
                self.out.say(f"Job: {job_url(base_url, excerpt.job_id)}")

    def finish(self, verdict: str, code: int, detail: str = "") -> None:
        """The last line of every command that judges something, and the ``verdict`` event."""
        self.out.close()
        self.result.update(verdict=verdict, exit_code=code)
        self.out.event("verdict", verdict=verdict, exit_code=code)
        self.out.say(f"Verdict: {verdict} (exit code {code})" + (f": {detail}" if detail else ""))

    def document(self) -> dict[str, Any]:
        """The ``--json`` document: the shared record's (pipelines with verdicts, promotions, errors; the pytest face
        writes the same with ``--semaphore-json``), with what this command adds (``command``, ``verdict``,
        ``exit_code``, ``failures``...)."""
        base_url = self._client.base_url if self._client is not None else None
        return self.record.to_json(base_url=base_url, extra=self.result)

    # ------------------------------------------------------------------------------------------------ endings

    def interrupted(self, what: str, how: str, code: int) -> int:
        """Ctrl-C or SIGTERM: say what became of the pipelines (the waits already applied the cancel options)."""
        if self.settings.flag("cancel_on_interrupt"):
            then = "asked Semaphore to stop what this command started or named"
        else:
            then = "pipelines were left running (--cancel-on-interrupt stops what this command started or named)"
        self.out.close()
        self.out.error(f"semaphore-gate {self.args.command}: {what} ({how}); {then}")
        self.record.add_error("error", f"{what} ({how}); {then}")
        self.result.update(verdict=what, exit_code=code)
        self.out.event("verdict", verdict=what, exit_code=code)
        return code

    def failed(self, error: errors.SemaphoreError) -> int:
        """An error from the core: one line on stderr saying what kind of trouble it is; its exit code."""
        code = exit_code_for(error)
        self.out.close()
        if isinstance(error, errors.PipelineFailed):  # fail-fast: the failed jobs' excerpts, as for a done pipeline
            self.show_failures([error.pipeline])
        base_url = self._client.base_url if self._client is not None else None
        failure = self.record.add_failure(error, base_url=base_url)
        message = failure["message"]
        self.out.error(f"semaphore-gate {self.args.command}: {message}")
        self.result.update(verdict="error", exit_code=code, error={"type": failure["type"], "message": message})
        if failure["last_seen"] is not None:
            self.result["last_seen"] = failure["last_seen"]
        self.out.event("verdict", verdict="error", exit_code=code, error=message)
        return code
