"""plumber-public's routes: workflows, pipelines, YAML validation and promotions.

Answers are JSON without a Content-Type, errors are JSON strings, and pagination follows Scrivener (``routing``).
A pipeline's JSON is cached here until something it shows changes, because waiting loops ask for the same
pipelines again and again.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from . import formats
from .messages import Request, Response, json_bytes
from .records import NotFound, PipelineRecord
from .routing import (
    Route,
    Upload,
    api_route,
    not_found,
    paginate,
    param,
    plumber,
    require_visible,
    strict_bool,
    strict_int,
    visible_pipeline,
    visible_workflow,
)
from .world import World

__all__ = ["PipelineJson", "Plumber"]

#: Keys ``POST /promotions`` reads itself; every other parameter is a promotion parameter.
_PROMOTION_RESERVED = ("switch_id", "name", "user_id", "override", "request_token", "pipeline_id")
_INVALID_PARAMETERS = "Invalid value of 'parameters' param: it must be a JSON object."


class PipelineJson:
    """A pipeline's JSON, cached until something it shows changes.

    Formatting dominates the cost of a pipeline list (30 objects of ~45 fields), and waiting loops ask for the same
    pipelines again and again while they rarely change: every timestamp is set together with a state, so the states,
    results and the few fields set later identify what the JSON shows. Callers hold the world's lock.
    """

    def __init__(self, world: World) -> None:
        self.world = world
        self._cache: dict[tuple[str, str], tuple[tuple[object, ...], bytes]] = {}

    def __call__(self, pipeline: PipelineRecord, shape: str) -> bytes:
        """``shape``: ``"list"``, ``"describe"`` or ``"detailed"`` (describe with blocks and jobs)."""
        key = (pipeline.ppl_id, shape)
        version: tuple[object, ...] = (
            pipeline.state,
            pipeline.result,
            pipeline.result_reason,
            pipeline.partially_rerun_by,
            pipeline.terminate_request,
            pipeline.terminated_by,
            pipeline.error_description,
        )
        if shape == "detailed":
            version += tuple(
                (b.state, b.block_id, b.result, b.result_reason, tuple((j.state, j.result) for j in b.jobs))
                for b in pipeline.blocks
            )
        cached = self._cache.get(key)
        if cached is not None and cached[0] == version:
            return cached[1]
        if shape == "list":
            value: object = formats.list_pipeline(self.world, pipeline)
        else:
            value = formats.describe_pipeline(self.world, pipeline, detailed=shape == "detailed")
        encoded = json_bytes(value)
        self._cache[key] = (version, encoded)
        return encoded


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


class Plumber:
    """The handlers; :meth:`routes` registers them with the route table."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.pipeline_json = PipelineJson(world)

    def routes(self) -> list[Route]:
        return [
            api_route("GET", "/plumber-workflows", self.list_workflows),
            api_route("POST", "/plumber-workflows", self.run_workflow),
            api_route("GET", "/plumber-workflows/{}", self.describe_workflow),
            api_route("POST", "/plumber-workflows/{}/reschedule", self.reschedule_workflow),
            api_route("POST", "/plumber-workflows/{}/terminate", self.terminate_workflow),
            api_route("GET", "/pipelines", self.list_pipelines),
            api_route("GET", "/pipelines/{}", self.describe_pipeline),
            api_route("PATCH", "/pipelines/{}", self.terminate_pipeline),
            api_route("POST", "/pipelines/{}/partial_rebuild", self.partial_rebuild),
            api_route("GET", "/pipelines/{}/describe_topology", self.describe_topology),
            api_route("POST", "/yaml", self.validate_yaml),
            api_route("GET", "/promotions", self.list_promotions),
            api_route("POST", "/promotions", self.trigger_promotion),
        ]

    def _filter_time(self, request: Request, items: list[Any], name: str, when: Callable[[Any], float | None]) -> Any:
        """``{name}_after`` / ``{name}_before`` (Unix seconds, bounds included); a value that is not a number is
        ignored, and items without that moment are left out once either bound is given."""
        after = param(request, f"{name}_after")
        before = param(request, f"{name}_before")
        if not after and not before:
            return items
        kept = []
        for item in items:
            moment = when(item)
            if moment is None:
                continue
            stamp = self.world.timestamp(moment)
            if after and _is_number(after) and stamp < float(after):
                continue
            if before and _is_number(before) and stamp > float(before):
                continue
            kept.append(item)
        return kept

    # ---------------------------------------------------------- workflows

    def list_workflows(self, request: Request) -> Response:
        project_id = param(request, "project_id")
        if not project_id:
            return not_found()
        try:
            project = self.world.project(project_id)
        except NotFound:
            return not_found()
        require_visible(request, project.project_id)
        items = self.world.workflows(project.project_id)
        branch = param(request, "branch_name")
        if branch:
            items = [w for w in items if w.branch_name == branch]
        items = self._filter_time(request, items, "created", lambda w: w.created_at)
        chunk, headers = paginate(request, items, 30, "plumber-workflows")
        body = [formats.list_workflow(self.world, w) for w in chunk]
        return Response(200, json_bytes(body), None, headers)

    def run_workflow(self, request: Request) -> Response:
        project_id = param(request, "project_id")
        if not project_id:
            return plumber(400, "Missing required post parameter project_id.")
        raw_parameters = request.params.get("parameters")
        if isinstance(raw_parameters, str) and raw_parameters:
            try:
                raw_parameters = json.loads(raw_parameters)
            except ValueError:
                return plumber(400, _INVALID_PARAMETERS)
        if raw_parameters is not None and not isinstance(raw_parameters, dict):
            return plumber(400, _INVALID_PARAMETERS)
        parameters = {str(k): str(v) for k, v in (raw_parameters or {}).items()}
        require_visible(request, self.world.project(project_id).project_id)
        reference = param(request, "reference")
        if isinstance(request.params.get("snapshot_archive"), Upload):  # a snapshot runs under its label
            reference = param(request, "label") or reference
        wf_id, ppl_id = self.world.run_workflow(
            project_id,
            reference or "master",
            commit_sha=param(request, "commit_sha") or None,
            pipeline_file=param(request, "pipeline_file") or None,
            parameters=parameters,
        )
        return plumber(200, {"workflow_id": wf_id, "pipeline_id": ppl_id})

    def describe_workflow(self, request: Request, wf_id: str) -> Response:
        return plumber(200, formats.describe_workflow(self.world, visible_workflow(self.world, request, wf_id)))

    def reschedule_workflow(self, request: Request, wf_id: str) -> Response:
        visible_workflow(self.world, request, wf_id)
        new_wf, new_ppl = self.world.reschedule_workflow(wf_id, param(request, "request_token"))
        return plumber(200, {"wf_id": new_wf, "ppl_id": new_ppl})

    def terminate_workflow(self, request: Request, wf_id: str) -> Response:
        visible_workflow(self.world, request, wf_id)
        count = self.world.terminate_workflow(wf_id)
        return plumber(200, f"Termination started for {count} pipelines.")

    # ---------------------------------------------------------- pipelines

    def list_pipelines(self, request: Request) -> Response:
        project_id = param(request, "project_id") or None
        wf_id = param(request, "wf_id") or None
        if project_id is None and wf_id is None:
            return not_found()
        if project_id is not None:
            require_visible(request, project_id)
        if wf_id is not None:
            visible_workflow(self.world, request, wf_id)
        items = self.world.pipelines(project_id=project_id, wf_id=wf_id)
        for name, attribute in (("branch_name", "branch_name"), ("yml_file_path", "yaml_file")):
            wanted = param(request, name)
            if wanted:
                items = [p for p in items if getattr(p, attribute) == wanted]
        items = self._filter_time(request, items, "created", lambda p: p.created_at)
        items = self._filter_time(request, items, "done", lambda p: p.done_at)
        chunk, headers = paginate(request, items, 30, "pipelines")
        body = b"[" + b",".join(self.pipeline_json(p, "list") for p in chunk) + b"]"
        return Response(200, body, None, headers)

    def describe_pipeline(self, request: Request, ppl_id: str) -> Response:
        detailed = request.params.get("detailed") == "true"  # only this exact string counts
        pipeline = visible_pipeline(self.world, request, ppl_id)
        return Response(200, self.pipeline_json(pipeline, "detailed" if detailed else "describe"))

    def terminate_pipeline(self, request: Request, ppl_id: str) -> Response:
        visible_pipeline(self.world, request, ppl_id)
        if request.params.get("terminate_request") is not True:
            return plumber(400, "Value of 'terminate_request' field must be boolean value 'true'.")
        self.world.terminate_pipeline(ppl_id)
        return plumber(200, "Pipeline termination started.")

    def partial_rebuild(self, request: Request, ppl_id: str) -> Response:
        visible_pipeline(self.world, request, ppl_id)
        new_id = self.world.partial_rebuild(ppl_id, param(request, "request_token") or None)
        return plumber(200, {"message": "", "pipeline_id": new_id})

    def describe_topology(self, request: Request, ppl_id: str) -> Response:
        return plumber(200, formats.topology(visible_pipeline(self.world, request, ppl_id)))

    def validate_yaml(self, request: Request) -> Response:
        definition = param(request, "yaml_definition")
        if not definition:
            return plumber(400, "Missing required post parameter yaml_definition.")
        import yaml  # only this route needs it

        try:
            document = yaml.safe_load(definition)
        except yaml.YAMLError as error:
            return plumber(400, f"Invalid YAML: {error}")
        if not isinstance(document, dict) or "blocks" not in document:
            return plumber(400, "Invalid pipeline definition: 'version', 'agent' and 'blocks' are required.")
        return plumber(200, {"message": "YAML definition is valid.", "pipeline_id": param(request, "pipeline_id")})

    # --------------------------------------------------------- promotions

    def list_promotions(self, request: Request) -> Response:
        ppl_id = param(request, "pipeline_id")
        if not ppl_id:
            return not_found()
        pipeline = visible_pipeline(self.world, request, ppl_id)
        page = strict_int(request.params.get("page", 1), "page")
        size = strict_int(request.params.get("page_size", 10), "page_size")
        if not pipeline.switch_id or not 1 <= size < 100 or page < 1:  # gofer's BAD_PARAM
            return plumber(500, "Internal error")
        items = self.world.promotions(ppl_id)
        name = param(request, "name")
        if name:
            items = [p for p in items if p.name == name]
        chunk, headers = paginate(request, items, 10, "promotions")
        body = [formats.list_promotion(self.world, p) for p in chunk]
        return Response(200, json_bytes(body), None, headers)

    def trigger_promotion(self, request: Request) -> Response:
        ppl_id = param(request, "pipeline_id")
        name = param(request, "name")
        if not ppl_id:
            return plumber(400, "Missing required post parameter pipeline_id.")
        if not name:
            return plumber(400, "Missing required post parameter name.")
        override = strict_bool(request.params.get("override", False), "override")
        parameters = {
            key: value if isinstance(value, str) else json.dumps(value)
            for key, value in request.params.items()
            if key not in _PROMOTION_RESERVED
        }
        visible_pipeline(self.world, request, ppl_id)
        self.world.trigger_promotion(
            ppl_id,
            name,
            override=override,
            parameters=parameters,
            request_token=param(request, "request_token") or None,
        )
        return plumber(200, "Promotion successfully triggered.")
