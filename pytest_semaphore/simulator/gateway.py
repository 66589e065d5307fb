"""The jobs API behind grpc-gateway (zebra): describe, list, stop, debug SSH key.

Errors are ``{code, message, details}`` with gRPC status codes; parameters are read from the raw query as
grpc-gateway does (``states`` repeated, ``page_size`` a strict integer, an opaque ``page_token``).
"""

from __future__ import annotations

import base64
import re

from . import formats
from .messages import Request, Response
from .records import NotFound
from .routing import Route, api_route, gateway, gateway_error, visible_job
from .world import World

__all__ = ["Gateway"]

_UUID = re.compile(r"\A[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\Z")
_JOB_STATES = ("PENDING", "QUEUED", "RUNNING", "FINISHED")
#: zebra's largest page.
_MAX_PAGE = 30
_DECIMAL = re.compile(r"[+-]?[0-9]+")


def _int32_problem(raw: str) -> str | None:
    """What Go's ``strconv.ParseInt(raw, 10, 32)`` says of ``raw`` (grpc-gateway's query parsing), or ``None``.

    ASCII digits only (``int()`` would take ``" 5"``, ``"٣"`` or ``"1_0"``), and a range check before ``int()``
    (which refuses more than 4,300 digits).
    """
    if _DECIMAL.fullmatch(raw) is None:
        return "invalid syntax"
    if len(raw.lstrip("+-").lstrip("0")) > 10 or not -(2**31) <= int(raw) < 2**31:
        return "value out of range"
    return None


class Gateway:
    """The handlers; :meth:`routes` registers them with the route table."""

    def __init__(self, world: World) -> None:
        self.world = world

    def routes(self) -> list[Route]:
        return [
            api_route("GET", "/jobs", self.list_jobs),
            api_route("GET", "/jobs/{}", self.describe_job),
            api_route("POST", "/jobs/{}/stop", self.stop_job),
            api_route("GET", "/jobs/{}/debug_ssh_key", self.debug_ssh_key),
        ]

    def describe_job(self, request: Request, job_id: str) -> Response:
        if not _UUID.match(job_id):
            return gateway_error(400, 3, f"Job id {job_id} is invalid")
        try:
            job = visible_job(self.world, request, job_id)
        except NotFound:
            return gateway_error(404, 5, f"Job {job_id} not found")
        return gateway(200, formats.describe_job(self.world, job))

    def list_jobs(self, request: Request) -> Response:
        states = request.query_all.get("states", [])
        for state in states:
            if state not in _JOB_STATES:
                return gateway_error(
                    400, 3, f'type mismatch, parameter: states, error: "{state}" is not valid for enum Job.Status.State'
                )
        raw_size = request.query.get("page_size", "")
        problem = _int32_problem(raw_size) if raw_size else None
        if problem is not None:
            return gateway_error(
                400, 3, f'type mismatch, parameter: page_size, error: strconv.ParseInt: parsing "{raw_size}": {problem}'
            )
        size = int(raw_size) if raw_size else 0
        if size > _MAX_PAGE:
            return gateway_error(400, 9, "Page size can't exceed 30")  # zebra's FAILED_PRECONDITION
        size = size if size > 0 else _MAX_PAGE
        raw_token = request.query.get("page_token", "")
        offset = 0
        if raw_token:
            try:
                offset = int(base64.urlsafe_b64decode(raw_token.encode("ascii")).decode("ascii"))
            except (ValueError, UnicodeError):
                return gateway_error(400, 3, "Invalid page token")
        wanted = {s.lower() for s in states}
        jobs = [
            j
            for j in self.world.jobs()
            if formats.JOB_API_STATES[j.state].lower() in wanted
            and (request.visible is None or j.pipeline.project_id in request.visible)
        ]
        chunk = jobs[offset : offset + size]
        more = offset + size < len(jobs)
        token = base64.urlsafe_b64encode(str(offset + size).encode("ascii")).decode("ascii") if more else ""
        body = {"jobs": [formats.describe_job(self.world, j) for j in chunk], "next_page_token": token}
        return gateway(200, body)

    def stop_job(self, request: Request, job_id: str) -> Response:
        if not _UUID.match(job_id):
            return gateway_error(400, 3, f"Job id {job_id} is invalid")
        try:
            visible_job(self.world, request, job_id)
            self.world.stop_job(job_id)
        except NotFound:
            return gateway_error(404, 5, f"Job {job_id} not found")
        return gateway(200, {})

    def debug_ssh_key(self, request: Request, job_id: str) -> Response:
        try:
            job = visible_job(self.world, request, job_id)
        except NotFound:
            return gateway_error(404, 5, f"Job {job_id} not found")
        if job.state != "running":
            return gateway_error(400, 9, "Job's debug SSH is only available while the job is running")
        return gateway(
            200, {"key": "-----BEGIN OPENSSH PRIVATE KEY-----\nsimulated\n-----END OPENSSH PRIVATE KEY-----\n"}
        )
