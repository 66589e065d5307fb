"""Pipelines: describe, list, stop, rebuild, topology."""

from __future__ import annotations

import datetime as _dt
import uuid

from ..errors import APIError, ConfigurationError
from ..models import Pipeline, TopologyBlock
from .baseurl import API_PREFIX
from .pagination import LinkPages, paginate
from .params import add, limit_value, page_size_value, segment, unix
from .projects import ProjectEndpoints

__all__ = ["PipelineEndpoints"]

_PATH = f"{API_PREFIX}/pipelines"


class PipelineEndpoints(ProjectEndpoints):
    def describe_pipeline(self, ppl_id: str, detailed: bool = False) -> Pipeline:
        """``GET /pipelines/:id``; ``detailed=True`` adds blocks and jobs (more expensive for the server)."""
        params = [("detailed", "true" if detailed else "false")]
        return self._http.get(_pipeline_path(ppl_id), params=params).decode(Pipeline.from_api)

    def list_pipelines(
        self,
        project: str | None = None,
        *,
        wf_id: str | None = None,
        branch_name: str | None = None,
        yml_file_path: str | None = None,
        created_after: _dt.datetime | float | None = None,
        created_before: _dt.datetime | float | None = None,
        done_after: _dt.datetime | float | None = None,
        done_before: _dt.datetime | float | None = None,
        page_size: int | None = None,
        limit: int | None = None,
    ) -> list[Pipeline]:
        """Pipelines of a project or a workflow (one is required), newest first, every page (or ``limit``)."""
        if not project and not wf_id:
            raise ConfigurationError("list_pipelines needs a project (id or name) or a wf_id")
        params: list[tuple[str, str]] = []  # filters are checked before the project name costs a request
        add(params, "wf_id", wf_id)
        add(params, "branch_name", branch_name)
        add(params, "yml_file_path", yml_file_path)
        add(params, "created_after", unix(created_after, "created_after"))
        add(params, "created_before", unix(created_before, "created_before"))
        add(params, "done_after", unix(done_after, "done_after"))
        add(params, "done_before", unix(done_before, "done_before"))
        add(params, "page_size", page_size_value(page_size))
        cap = limit_value(limit)
        if project:
            params.insert(0, ("project_id", self.resolve_project_id(project)))
        return paginate(self._http, _PATH, params, Pipeline.from_api, LinkPages(), limit=cap)

    def terminate_pipeline(self, ppl_id: str) -> None:
        """``PATCH /pipelines/:id`` with the JSON boolean the server insists on (form encoding gives 400)."""
        self._http.call("PATCH", _pipeline_path(ppl_id), body={"terminate_request": True})

    def partial_rebuild(self, ppl_id: str, request_token: str | None = None) -> str:
        """Rerun a done, not-passed pipeline's failed parts; return the new pipeline's id. Idempotent per token."""
        path = f"{_pipeline_path(ppl_id)}/partial_rebuild"
        token = request_token or str(uuid.uuid4())
        reply = self._http.call("POST", path, params=[("request_token", token)], body={"request_token": token})
        data = reply.json_obj()
        new_id = data.get("pipeline_id") or data.get("ppl_id")
        if not isinstance(new_id, str) or not new_id:
            raise APIError(
                "POST", path, 0, str(data.get("message") or ""), detail=f"HTTP {reply.status} without a pipeline_id"
            )
        return new_id

    def describe_topology(self, ppl_id: str) -> list[TopologyBlock]:
        reply = self._http.get(f"{_pipeline_path(ppl_id)}/describe_topology")
        return [reply.model(TopologyBlock.from_api, item) for item in reply.json_list()]


def _pipeline_path(ppl_id: str) -> str:
    return f"{_PATH}/{segment(ppl_id, 'pipeline id')}"
