"""Promotions: triggers checked as gofer checks them, recorded, and processed after a delay into a new pipeline.

Four ways lead to a promoted pipeline: a manual trigger (``POST /promotions``), a trigger with ``override`` on a
pipeline that did not pass, an ``auto_promote`` condition that holds when the pipeline is done, and a trigger that
arrives before its pipeline is done, which Semaphore processes when the pipeline is done (``early_promotions=
"defer"``, the default) or at once (``"start"``). The world owns the clock and the pipelines; this module only
decides, records and schedules, through the timeline and the ``spawn`` callback the world hands it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from .definitions import PromotionDef
from .records import BadRequest, InternalError, PipelineRecord, PromotionRecord, Refused, Timings
from .timeline import Timeline

__all__ = ["AUTO_TRIGGERER", "Promotions", "promotion_parameters"]

#: Who ``triggered_by`` names on an automatic promotion, as the API shows it.
AUTO_TRIGGERER = "Pipeline Done request"

#: Starts the promoted pipeline for a processed trigger: the parent, the trigger, the target file. Returns ``None``
#: when the project has no such file (the promotion then ends ``failed``).
Spawn = Callable[[PipelineRecord, PromotionRecord, str], PipelineRecord | None]


class Promotions:
    """The promotion rules of one world. Every method runs under the world's lock.

    ``early_promotions`` may change between triggers (a test switching to a server that starts promoted pipelines at
    once); ``timings.promotion`` is read at each trigger.
    """

    def __init__(self, timeline: Timeline, spawn: Spawn, timings: Timings, *, early_promotions: str) -> None:
        self._timeline = timeline
        self._spawn = spawn
        self._timings = timings
        self.early_promotions = early_promotions

    def trigger(
        self,
        pipeline: PipelineRecord,
        name: str,
        *,
        triggered_by: str,
        override: bool = False,
        parameters: Mapping[str, str] | None = None,
        request_token: str | None = None,
    ) -> None:
        """``POST /promotions``: validate as gofer does, record the trigger, process it after a short delay.

        A ``request_token`` seen before on this pipeline is a retry of a trigger that landed: nothing happens.
        """
        definition = pipeline.definition
        if not pipeline.switch_id or definition is None:
            raise BadRequest(f"Switch with id {pipeline.switch_id} not found")
        promotion = next((p for p in definition.promotions if p.name == name), None)
        if promotion is None:
            raise BadRequest(f"Target for switch: {pipeline.switch_id} with name: {name} not found")
        if request_token and request_token in pipeline.promotion_tokens:
            return
        if pipeline.result != "passed" and not override:
            raise Refused("Triggering target when pipeline is not passed requires override confirmation.")
        values = promotion_parameters(promotion, dict(parameters or {}))
        if request_token:
            pipeline.promotion_tokens.add(request_token)
        record = self._record(pipeline, promotion, triggered_by, override, values, auto=False)
        record.request_token = request_token

    def pipeline_done(self, pipeline: PipelineRecord, seen: Mapping[str, str]) -> None:
        """The pipeline just finished: process the triggers that waited for it, then auto-promote where the
        promotion's condition holds on ``seen`` (the pipeline's facts, result included)."""
        deferred, pipeline.deferred_promotions = pipeline.deferred_promotions, []
        for process in deferred:
            process()
        if pipeline.definition is None:
            return
        for promotion in pipeline.definition.promotions:
            if promotion.auto_promote is None or not promotion.auto_promote(seen):
                continue
            try:
                values = promotion_parameters(promotion, {})
            except InternalError:  # a required parameter without a default: gofer does not auto-promote
                continue
            self._record(pipeline, promotion, AUTO_TRIGGERER, False, values, auto=True)

    def _record(
        self,
        pipeline: PipelineRecord,
        promotion: PromotionDef,
        triggered_by: str,
        override: bool,
        values: dict[str, str],
        *,
        auto: bool,
    ) -> PromotionRecord:
        record = PromotionRecord(
            name=promotion.name,
            pipeline_id=pipeline.ppl_id,
            triggered_by=triggered_by,
            override=override,
            triggered_at=self._timeline.now,
            parameters=values,
            auto=auto,
        )
        pipeline.promotions.append(record)
        self._timeline.at(self._timings.promotion, lambda: self._process(pipeline, promotion, record))
        return record

    def _process(self, pipeline: PipelineRecord, promotion: PromotionDef, record: PromotionRecord) -> None:
        if not pipeline.done and self.early_promotions == "defer":  # processed when the parent is done
            pipeline.deferred_promotions.append(lambda: self._process(pipeline, promotion, record))
            return
        scheduled = self._spawn(pipeline, record, promotion.pipeline_file)
        if scheduled is None:
            record.status = "failed"
            return
        record.status, record.scheduled_at, record.scheduled_pipeline_id = (
            "passed",
            self._timeline.now,
            scheduled.ppl_id,
        )


def promotion_parameters(promotion: PromotionDef, given: Mapping[str, str]) -> dict[str, str]:
    """The parameters a trigger records: each given value, else the default; ``InternalError`` (what the server
    answers) for a required one left empty or a value outside the options."""
    values: dict[str, str] = {}
    for parameter in promotion.parameters:
        value = given.get(parameter.name)
        if value is None or value == "":
            value = parameter.default
        if value is None or value == "":
            if parameter.required:
                raise InternalError("Internal error")
            continue
        # Plumber's parameters example: a value must be "either default_value or one of given options".
        if parameter.options and value not in parameter.options and value != parameter.default:
            raise InternalError("Internal error")
        values[parameter.name] = value
    return values
