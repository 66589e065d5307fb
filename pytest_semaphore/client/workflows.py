"""Workflows (``/plumber-workflows``: plain ``/workflows`` is routed to a gateway that has no workflows service)."""

from __future__ import annotations

import datetime as _dt
import functools
import uuid
from collections.abc import Mapping
from typing import Any

from ..models import Workflow, WorkflowStarted
from .baseurl import API_PREFIX
from .pagination import LinkPages, paginate
from .params import add, limit_value, nonempty, page_size_value, param_value, segment, unix
from .projects import ProjectEndpoints
from .reconcile import RECONCILE_WINDOW, branch_of, find_started, start_once

__all__ = ["WorkflowEndpoints"]

_PATH = f"{API_PREFIX}/plumber-workflows"


class WorkflowEndpoints(ProjectEndpoints):
    def describe_workflow(self, wf_id: str) -> Workflow:
        return self._http.get(f"{_PATH}/{segment(wf_id, 'workflow id')}").decode(Workflow.from_api)

    def list_workflows(
        self,
        project: str,
        *,
        branch_name: str | None = None,
        created_after: _dt.datetime | float | None = None,
        created_before: _dt.datetime | float | None = None,
        page_size: int | None = None,
        limit: int | None = None,
    ) -> list[Workflow]:
        """Workflows of a project, newest first, every page (or until ``limit`` were read)."""
        filters: list[tuple[str, str]] = []  # checked before the project name costs a request
        add(filters, "branch_name", branch_name)
        add(filters, "created_after", unix(created_after, "created_after"))
        add(filters, "created_before", unix(created_before, "created_before"))
        add(filters, "page_size", page_size_value(page_size))
        cap = limit_value(limit)
        params = [("project_id", self.resolve_project_id(project)), *filters]
        return paginate(self._http, _PATH, params, Workflow.from_api, LinkPages(), limit=cap)

    def run_workflow(
        self,
        project: str,
        reference: str,
        *,
        commit_sha: str | None = None,
        pipeline_file: str | None = None,
        parameters: Mapping[str, str] | None = None,
        reconcile: bool = False,
    ) -> WorkflowStarted:
        """Start a workflow (``POST /plumber-workflows``). Never resent once it may have reached the server.

        After an ambiguous failure (dropped connection after sending, read timeout, 5xx) this raises
        :class:`~errors.OutcomeUnknown`; with ``reconcile=True`` it first looks for the workflow the request may
        have created (same project, branch, commit, triggered by the API, not present before the request) and
        returns it when exactly one is found.
        """
        body = _run_body(reference, commit_sha, pipeline_file, parameters)  # checked before any request
        project_id = body["project_id"] = self.resolve_project_id(project)
        branch = branch_of(body["reference"])
        recent = functools.partial(
            self.list_workflows, project_id, branch_name=branch, page_size=RECONCILE_WINDOW, limit=RECONCILE_WINDOW
        )
        before = {wf.wf_id for wf in recent()} if reconcile else set()
        started = start_once(self._http, _PATH, body)
        if isinstance(started, WorkflowStarted):
            return started
        if not reconcile:
            raise started.unknown
        return find_started(
            recent, started, before=before, branch=branch, commit_sha=commit_sha, sleep=self._http.backoff.sleep
        )

    def reschedule_workflow(self, wf_id: str, request_token: str | None = None) -> WorkflowStarted:
        """Rerun a workflow (``POST /plumber-workflows/:id/reschedule``); idempotent per ``request_token``."""
        path = f"{_PATH}/{segment(wf_id, 'workflow id')}/reschedule"
        token = request_token or str(uuid.uuid4())
        reply = self._http.call("POST", path, params=[("request_token", token)], body={"request_token": token})
        return reply.decode(WorkflowStarted.from_api)

    def terminate_workflow(self, wf_id: str) -> None:
        """Stop every pipeline of a workflow. Repeating it is harmless, so it is retried like a GET."""
        self._http.call("POST", f"{_PATH}/{segment(wf_id, 'workflow id')}/terminate")


def _run_body(
    reference: str, commit_sha: str | None, pipeline_file: str | None, parameters: Mapping[str, str] | None
) -> dict[str, Any]:
    """The JSON body of a run, its ``project_id`` still to be filled in."""
    body: dict[str, Any] = {"project_id": "", "reference": nonempty(reference, "reference")}
    if commit_sha:
        body["commit_sha"] = commit_sha
    if pipeline_file:
        body["pipeline_file"] = pipeline_file
    if parameters:
        body["parameters"] = {str(k): param_value(v, str(k)) for k, v in parameters.items()}
    return body
